// commit (container commit): a new image from a container's changes,
// POST /commit, the new image's ID printed as docker does ("sha256:...").
#include <cstdio>

#include "cli/commands/commands.h"
#include "cli/go_compat.h"

namespace berth::cli {
namespace {

struct CommitOptions {
  bool pause = true;
  std::string message, author;
  std::vector<std::string> changes, args;
};

int commit(Context& ctx, const CommitOptions& o) {
  auto container = trim_id("container", o.args[0]);
  if (!container) return report(container.error());
  std::string q = "/commit?container=" + url_escape(*container);
  if (o.args.size() > 1) {
    // The docker client sends the familiar name and the tag apart, "latest"
    // when none is given; a digest cannot be a tag.
    const std::string& ref = o.args[1];
    if (ref.find('@') != std::string::npos) {
      std::fprintf(stderr, "refusing to create a tag with a digest reference\n");
      return 1;
    }
    auto [repo, tag] = split_ref(ref);
    q += "&repo=" + url_escape(repo) + "&tag=" + url_escape(tag);
  }
  if (!o.message.empty()) q += "&comment=" + url_escape(o.message);
  if (!o.author.empty()) q += "&author=" + url_escape(o.author);
  for (const auto& ch : o.changes) q += "&changes=" + url_escape(ch);
  if (!o.pause) q += "&pause=0";
  Client c = ctx.client();
  auto r = c.call("POST", q);
  if (!r) return report(r.error());
  if (r->status >= 300) return report(daemon_error(*r));
  auto j = r->json();
  if (!j || !j->is_object()) return report(Error::internal("commit: unexpected answer from the daemon: {}", r->body));
  std::printf("%s\n", j->value("Id", "").c_str());
  return 0;
}

}  // namespace

void register_commit(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<CommitOptions>();
  auto* cmd = add_command(app, "commit", "Create a new image from a container's changes");
  // As docker's (SetInterspersed(false)): flags come before the container;
  // after it every word is an argument.
  cmd->positionals_at_end();
  cmd->add_option("-a,--author", o->author, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")");
  cmd->add_option("-c,--change", o->changes, "Apply Dockerfile instruction to the created image")
      ->allow_extra_args(false);
  cmd->add_option("-m,--message", o->message, "Commit message");
  cmd->add_flag("-p,--pause", o->pause, "Pause container during commit (default true)");
  cmd->add_option("CONTAINER", o->args, "CONTAINER [REPOSITORY[:TAG]]");
  set_action(cmd, ctx, [&ctx, o, cmd] {
    if (!check_arg_count(*cmd, "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", o->args.size(), 1, 2)) return 1;
    return commit(ctx, *o);
  });
}

}  // namespace berth::cli
