// create, run, start, exec.
#include "base/strings.h"
#include "runtime/cli/commands.h"
#include "runtime/container.h"

namespace berth::runtime::cli {
namespace {

Result<int> preserve_fds(const Args& a) {
  auto v = a.get("preserve-fds");
  if (!v) return 0;
  auto n = parse_int(*v);
  if (!n || *n < 0) return Error::invalid("--preserve-fds: invalid number {:?}", *v);
  return static_cast<int>(*n);
}

Result<CreateOptions> create_options(const Args& a, std::string_view cmd) {
  CreateOptions o;
  o.id = BERTH_TRY(container_id_arg(a, cmd));
  o.bundle = a.get_or("bundle", "");
  o.console_socket = a.get_or("console-socket", "");
  o.pid_file = a.get_or("pid-file", "");
  o.no_pivot = a.flag("no-pivot");
  o.no_new_keyring = a.flag("no-new-keyring");
  o.no_subreaper = a.flag("no-subreaper");
  o.keep = a.flag("keep");
  o.preserve_fds = BERTH_TRY(preserve_fds(a));
  return o;
}

Result<int> cmd_create(const Globals& g, const Args& a) {
  auto o = BERTH_TRY(create_options(a, "create"));
  o.mode = CreateMode::Create;
  return create_container(StateDir(g.root), o);
}

Result<int> cmd_run(const Globals& g, const Args& a) {
  auto o = BERTH_TRY(create_options(a, "run"));
  o.mode = a.flag("detach") ? CreateMode::RunDetached : CreateMode::Run;
  return create_container(StateDir(g.root), o);
}

Result<int> cmd_start(const Globals& g, const Args& a) {
  auto id = BERTH_TRY(container_id_arg(a, "start"));
  BERTH_TRY(start_container(StateDir(g.root), id));
  return 0;
}

Result<int> cmd_exec(const Globals& g, const Args& a) {
  ExecOptions o;
  if (a.positional().empty()) return Error::invalid("exec: requires a container id");
  o.id = a.positional()[0];
  o.args.assign(a.positional().begin() + 1, a.positional().end());
  if (auto p = a.get("process")) o.process_file = *p;
  if (!o.process_file && o.args.empty()) return Error::invalid("exec: a command or --process is required");
  o.env = a.all("env");
  if (auto c = a.get("cwd")) o.cwd = *c;
  if (auto u = a.get("user")) o.user = *u;
  for (const auto& g2 : a.all("additional-gids")) o.additional_gids.push_back(g2);
  o.caps = a.all("cap");
  o.tty = a.flag("tty");
  o.detach = a.flag("detach");
  o.no_new_privs = a.flag("no-new-privs");
  o.ignore_paused = a.flag("ignore-paused");
  o.console_socket = a.get_or("console-socket", "");
  o.pid_file = a.get_or("pid-file", "");
  o.preserve_fds = BERTH_TRY(preserve_fds(a));
  return exec_container(StateDir(g.root), o);
}

const std::vector<FlagDef> kCreateFlags = {
    {"bundle,b", true, "path to the root of the bundle directory (default: current directory)"},
    {"console-socket", true, "path to an AF_UNIX socket which will receive the pty master"},
    {"pid-file", true, "file to write the process id to"},
    {"no-pivot", false, "do not use pivot_root (for a rootfs on a ramdisk)"},
    {"no-new-keyring", false, "do not create a new session keyring"},
    {"preserve-fds", true, "pass N additional file descriptors to the container"},
};

std::vector<FlagDef> run_flags() {
  auto f = kCreateFlags;
  f.push_back({"detach,d", false, "detach from the container's process"});
  f.push_back({"no-subreaper", false, "disable the use of the subreaper used to reap reparented processes"});
  f.push_back({"keep", false, "do not delete the container after it exits"});
  return f;
}

}  // namespace

void register_lifecycle_commands(std::vector<Command>& out) {
  out.push_back({"create", "create [command options] <container-id>", "create a container", kCreateFlags, cmd_create, true});
  out.push_back({"run", "run [command options] <container-id>", "create and run a container", run_flags(), cmd_run, true});
  out.push_back({"start", "start <container-id>", "execute the user defined process in a created container", {}, cmd_start});
  out.push_back({"exec",
                 "exec [command options] <container-id> <command> [command options]",
                 "execute new process inside the container",
                 {
                     {"console-socket", true, "path to an AF_UNIX socket which will receive the pty master"},
                     {"cwd", true, "current working directory in the container"},
                     {"env,e", true, "set environment variables (repeatable)"},
                     {"tty,t", false, "allocate a pseudo-TTY"},
                     {"user,u", true, "UID (format: <uid>[:<gid>])"},
                     {"additional-gids,g", true, "additional gids (repeatable)"},
                     {"process,p", true, "path to the process.json"},
                     {"detach,d", false, "detach from the container's process"},
                     {"pid-file", true, "file to write the process id to"},
                     {"process-label", true, "set the asm process label (ignored: no SELinux)"},
                     {"apparmor", true, "set the apparmor profile (ignored: no AppArmor)"},
                     {"no-new-privs", false, "set the no new privileges value for the process"},
                     {"cap,c", true, "add a capability to the bounding set (repeatable)"},
                     {"preserve-fds", true, "pass N additional file descriptors to the container"},
                     {"ignore-paused", false, "allow exec in a paused container"},
                     {"cgroup", true, "run the process in a sub-cgroup (not supported)"},
                 },
                 cmd_exec,
                 true});
}

}  // namespace berth::runtime::cli
