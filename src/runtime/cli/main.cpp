#include <seccomp.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "base/log.h"
#include "runtime/cli/commands.h"
#include "runtime/self_protect.h"

namespace berth::runtime::cli {

void register_lifecycle_commands(std::vector<Command>& out);
void register_control_commands(std::vector<Command>& out);
void register_info_commands(std::vector<Command>& out);

namespace {

const std::vector<FlagDef> kGlobalFlags = {
    {"root", true, "root directory for storage of container state (default /run/berth-runtime)"},
    {"log", true, "log file path (default stderr)"},
    {"log-format", true, "log format: text or json"},
    {"debug", false, "enable debug logging"},
    {"systemd-cgroup", false, "use systemd's cgroup driver (not supported)"},
    {"rootless", true, "ignore cgroup permission errors (true, false or auto)"},
    {"criu", true, "path to the criu binary (checkpoint/restore is not supported)"},
    {"help,h", false, "show help"},
    {"version,v", false, "print the version"},
};

void print_help() {
  std::cout << "berth-runtime: the OCI runtime of Berth (runc command line)\n\n"
               "USAGE:\n   berth-runtime [global options] command [command options] [arguments...]\n\n"
               "COMMANDS:\n";
  for (const auto& c : commands()) std::cout << fmt::format("   {:<12} {}\n", c.name, c.summary);
  std::cout << "\nGLOBAL OPTIONS:\n" << usage_flags(kGlobalFlags);
}

void print_command_help(const Command& c) {
  std::cout << "USAGE:\n   berth-runtime " << c.usage << "\n\n" << c.summary << "\n";
  if (!c.flags.empty()) std::cout << "\nOPTIONS:\n" << usage_flags(c.flags);
}

void print_version() {
  const scmp_version* v = seccomp_version();
  std::cout << fmt::format("berth-runtime version {}\nspec: 1.2.0\nlibseccomp: {}.{}.{}\n", BERTH_VERSION, v->major,
                           v->minor, v->micro);
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table = [] {
    std::vector<Command> t;
    register_lifecycle_commands(t);
    register_control_commands(t);
    register_info_commands(t);
    return t;
  }();
  return table;
}

const Command* find_command(std::string_view name) {
  if (name == "ls") name = "list";
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

Result<std::string> container_id_arg(const Args& args, std::string_view command) {
  if (args.positional().size() != 1)
    return Error::invalid("{}: requires exactly one argument, the container id", command);
  BERTH_TRY(StateDir::validate_id(args.positional()[0]));
  return args.positional()[0];
}

int runtime_main(int argc, char** argv, char** envp) {
  // The shim's notify socket is not for the container (runc contract).
  unsetenv("NOTIFY_SOCKET");
  std::vector<std::string> all(argv + 1, argv + argc);
  auto globals = Args::parse(kGlobalFlags, all);
  if (!globals) {
    std::cerr << "berth-runtime: " << globals.error().message() << "\n";
    return 2;
  }
  Globals g;
  g.root = globals->get_or("root", StateDir::default_root());
  g.debug = globals->flag("debug");
  g.systemd_cgroup = globals->flag("systemd-cgroup");
  if (auto f = globals->get("log-format")) {
    if (*f == "json") log::set_format(log::Format::Json);
    else if (*f != "text") {
      std::cerr << "berth-runtime: --log-format: unknown format " << *f << " (text or json)\n";
      return 2;
    }
  }
  bool to_file = false;
  if (auto l = globals->get("log"); l && !l->empty()) {
    if (!log::set_file(*l)) {
      std::cerr << "berth-runtime: cannot open log file " << *l << ": " << strerror(errno) << "\n";
      return 2;
    }
    to_file = true;
  }
  if (g.debug) log::set_level(log::Level::Debug);
  if (globals->flag("version")) {
    print_version();
    return 0;
  }
  const auto& pos = globals->positional();
  if (pos.empty() || globals->flag("help") || pos[0] == "help") {
    if (pos.size() > 1 && pos[0] == "help") {
      if (const Command* c = find_command(pos[1])) {
        print_command_help(*c);
        return 0;
      }
    }
    print_help();
    return pos.empty() && !globals->flag("help") ? 1 : 0;
  }
  const Command* cmd = find_command(pos[0]);
  if (!cmd) {
    std::cerr << "berth-runtime: no such command: " << pos[0] << "\n";
    return 2;
  }
  std::vector<std::string> rest(pos.begin() + 1, pos.end());
  if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
    print_command_help(*cmd);
    return 0;
  }
  auto args = Args::parse(cmd->flags, rest);
  Result<int> r = args ? Result<int>(0) : Result<int>(args.error());
  if (args) {
    if (g.systemd_cgroup && cmd->enters_container && cmd->name != "exec") {
      r = Error(ErrorCode::NotImplemented, "--systemd-cgroup is not supported: berth-runtime manages cgroupfs directly");
    } else {
      if (cmd->enters_container) ensure_readonly_self(argv, envp);
      try {
        r = cmd->run(g, *args);
      } catch (const std::exception& e) {
        r = Error::internal("{}: {}", cmd->name, e.what());
      }
    }
  }
  if (r) return *r;
  log::error("{}", r.error().message());
  if (to_file) std::cerr << "berth-runtime: " << r.error().message() << "\n";
  return 1;
}

}  // namespace berth::runtime::cli
