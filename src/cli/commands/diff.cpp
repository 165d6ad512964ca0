// diff (container diff): the files a container changed, added or deleted
// against its image, from GET /containers/{id}/changes, one "C /etc" line
// each in the daemon's order.
#include <cstdio>

#include "cli/commands/commands.h"
#include "cli/go_compat.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

int diff(Context& ctx, const std::string& name) {
  if (name.empty()) {
    std::fprintf(stderr, "Container name cannot be empty\n");
    return 1;
  }
  auto id = trim_id("container", name);
  if (!id) return report(id.error());
  Client c = ctx.client();
  auto changes = get_json(c, fmt::format("/containers/{}/changes", *id));
  if (!changes) return report(changes.error());
  // Kind as the API numbers it: 0 modified, 1 added, 2 deleted. The daemon
  // answers null when nothing changed.
  static const char* kKinds[] = {"C", "A", "D"};
  std::vector<Json> rows;
  if (changes->is_array())
    for (const auto& ch : *changes) {
      auto kind = ch.value("Kind", -1);
      rows.push_back(Json{{"Type", kind >= 0 && kind <= 2 ? kKinds[kind] : "?"}, {"Path", ch.value("Path", "")}});
    }
  auto out = render("{{.Type}} {{.Path}}", "", Json::object(), rows);
  if (!out) return report(out.error());
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}

}  // namespace

void register_diff(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<std::vector<std::string>>();
  auto* cmd = add_command(app, "diff", "Inspect changes to files or directories on a container's filesystem");
  cmd->add_option("CONTAINER", *args, "Container");
  set_action(cmd, ctx, [&ctx, args, cmd] {
    if (!check_arg_count(*cmd, "CONTAINER", args->size(), 1, 1)) return 1;
    return diff(ctx, (*args)[0]);
  });
}

}  // namespace berth::cli
