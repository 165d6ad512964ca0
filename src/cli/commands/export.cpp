// export (container export): a container's filesystem as a tar, streamed
// from GET /containers/{id}/export to stdout or to -o FILE.
#include <cstdio>

#include "cli/commands/commands.h"
#include "cli/go_compat.h"
#include "cli/transfer.h"

namespace berth::cli {
namespace {

int export_container(Context& ctx, const std::string& name, const std::string& output) {
  // As docker: the terminal and the output path are checked before the
  // daemon is asked.
  auto out = OutputFile::open(output, "failed to export container");
  if (!out) return report(out.error());
  auto id = trim_id("container", name);
  if (!id) return report(id.error());
  Client c = ctx.client();
  if (auto r = download(c, fmt::format("/containers/{}/export", *id), *out); !r) return report(r.error());
  return 0;
}

}  // namespace

void register_export(CLI::App& app, Context& ctx) {
  struct O { std::vector<std::string> args; std::string output; };
  auto o = std::make_shared<O>();
  auto* cmd = add_command(app, "export", "Export a container's filesystem as a tar archive");
  cmd->add_option("-o,--output", o->output, "Write to a file, instead of STDOUT");
  cmd->add_option("CONTAINER", o->args, "Container");
  set_action(cmd, ctx, [&ctx, o, cmd] {
    if (!check_arg_count(*cmd, "[OPTIONS] CONTAINER", o->args.size(), 1, 1)) return 1;
    return export_container(ctx, o->args[0], o->output);
  });
}

}  // namespace berth::cli
