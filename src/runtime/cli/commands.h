// The runc-compatible command table of berth-runtime.
#pragma once

#include <string_view>
#include <vector>

#include "runtime/cli/args.h"
#include "runtime/state.h"

namespace berth::runtime::cli {

struct Globals {
  std::string root;
  bool systemd_cgroup = false;
  bool debug = false;
};

struct Command {
  std::string_view name;
  std::string_view usage;  // "create [command options] <container-id>"
  std::string_view summary;
  std::vector<FlagDef> flags;
  // Returns the process exit code; errors are reported by the caller.
  Result<int> (*run)(const Globals& g, const Args& args);
  bool enters_container = false;  // re-exec from a read-only binary first (self_protect.h)
};

const std::vector<Command>& commands();
const Command* find_command(std::string_view name);

// The single <container-id> argument most commands take.
Result<std::string> container_id_arg(const Args& args, std::string_view command);

// Entry point of cmd/berth-runtime.
int runtime_main(int argc, char** argv, char** envp);

}  // namespace berth::runtime::cli
