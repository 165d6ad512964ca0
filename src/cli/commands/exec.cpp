// exec: create the exec instance, start it over a hijacked connection (or
// detached), then its ExitCode is ours.
#include <unistd.h>

#include <cstdio>

#include "cli/attach.h"
#include "cli/commands/commands.h"

namespace berth::cli {
namespace {

struct ExecOptions {
  bool interactive = false, tty = false, detach = false, privileged = false;
  std::string user, workdir, detach_keys;
  std::vector<std::string> env;
};

int exec(Context& ctx, const ExecOptions& o, const std::vector<std::string>& args) {
  if (args.size() < 2) {
    std::fprintf(stderr, "\"berth exec\" requires at least 2 arguments.\nSee 'berth exec --help'.\n\n"
                 "Usage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]\n");
    return 1;
  }
  if (o.tty && o.interactive && !o.detach && !::isatty(0)) {
    std::fprintf(stderr, "the input device is not a TTY\n");
    return 1;
  }
  Client c = ctx.client();
  Json body = {{"User", o.user},
               {"Privileged", o.privileged},
               {"Tty", o.tty},
               {"AttachStdin", o.interactive && !o.detach},
               {"AttachStdout", !o.detach},
               {"AttachStderr", !o.detach},
               {"Detach", o.detach},
               {"DetachKeys", o.detach_keys},
               {"Env", o.env.empty() ? Json() : Json(o.env)},
               {"WorkingDir", o.workdir},
               {"Cmd", std::vector<std::string>(args.begin() + 1, args.end())}};
  auto r = c.call_json("POST", fmt::format("/containers/{}/exec", args[0]), body);
  if (!r) return report(r.error());
  if (r->status >= 300) return report(daemon_error(*r));
  auto created = r->json();
  if (!created) return report(created.error());
  std::string id = created->value("Id", "");
  Json start = {{"Detach", o.detach}, {"Tty", o.tty}};
  if (o.detach) {
    auto s = post(c, "POST", fmt::format("/exec/{}/start", id), &start);
    return s ? 0 : report(s.error());
  }
  auto conn = c.hijack("POST", fmt::format("/exec/{}/start", id), start.dump());
  if (!conn) return report(conn.error());
  AttachEnd end;
  {
    std::optional<RawTerminal> raw;
    if (o.tty && o.interactive && ::isatty(0)) raw.emplace(0);
    AttachOptions opts;
    opts.attach_stdin = o.interactive;
    opts.tty = o.tty;
    opts.detach_keys = o.detach_keys;
    if (o.tty)
      opts.resize = [&](int rows, int cols) {
        (void)c.call("POST", fmt::format("/exec/{}/resize?h={}&w={}", id, rows, cols));
      };
    auto a = run_attach(*conn, opts);
    if (!a) {
      raw.reset();
      return report(a.error());
    }
    end = *a;
  }
  if (end == AttachEnd::Detached) {
    std::fprintf(stderr, "\nread escape sequence\n");
    return 0;
  }
  auto info = get_json(c, fmt::format("/exec/{}/json", id));
  if (!info) return report(info.error());
  const Json& code = (*info)["ExitCode"];
  return code.is_number() ? code.get<int>() : 0;
}

}  // namespace

void register_exec(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ExecOptions>();
  auto* cmd = add_command(app, "exec", "Execute a command in a running container");
  cmd->add_flag("-i,--interactive", o->interactive, "Keep STDIN open even if not attached");
  cmd->add_flag("-t,--tty", o->tty, "Allocate a pseudo-TTY");
  cmd->add_flag("-d,--detach", o->detach, "Detached mode: run command in the background");
  cmd->add_flag("--privileged", o->privileged, "Give extended privileges to the command");
  cmd->add_option("-e,--env", o->env, "Set environment variables")->allow_extra_args(false);
  cmd->add_option("-u,--user", o->user, "Username or UID (format: \"<name|uid>[:<group|gid>]\")");
  cmd->add_option("-w,--workdir", o->workdir, "Working directory inside the container");
  cmd->add_option("--detach-keys", o->detach_keys, "Override the key sequence for detaching a container");
  cmd->prefix_command();
  set_action(cmd, ctx, [&ctx, o, cmd] { return exec(ctx, *o, cmd->remaining()); });
}

}  // namespace berth::cli
