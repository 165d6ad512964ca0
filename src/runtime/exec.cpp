// exec: run another process inside a running container. The process starts
// from the container's own process settings (config.json saved at create) or
// from --process, joins every namespace of the init that differs from ours,
// and the container's cgroup, then gets the same seccomp filter.
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/lifecycle_common.h"
#include "runtime/process_setup.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "sys/fd_passing.h"

namespace berth::runtime {
namespace {

struct NsToJoin {
  const char* name;
  int flag;
};
// The user namespace first: joining it grants the rights to join the others.
constexpr NsToJoin kNamespaces[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},   {"net", CLONE_NEWNET},
                                    {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},  {"cgroup", CLONE_NEWCGROUP}};

bool same_namespace(pid_t pid, const char* name) {
  struct stat a, b;
  if (stat(fmt::format("/proc/{}/ns/{}", pid, name).c_str(), &a) < 0) return true;
  if (stat(fmt::format("/proc/self/ns/{}", name).c_str(), &b) < 0) return true;
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

Result<oci::Process> build_process(const ExecOptions& o, const oci::Spec& spec) {
  if (o.process_file) {
    auto j = BERTH_TRY(read_json_file(*o.process_file));
    return oci::parse_process(JsonReader(j, "process"));
  }
  if (o.args.empty()) return Error::invalid("exec: a command is required");
  oci::Process p = spec.process.value_or(oci::Process{});
  p.args = o.args;
  p.terminal = o.tty;
  for (const auto& e : o.env) p.env.push_back(e);
  if (o.cwd) p.cwd = *o.cwd;
  if (o.no_new_privs) p.no_new_privileges = true;
  if (o.user) {
    auto parts = split(*o.user, ':');
    auto uid = parse_uint(parts[0]);
    if (!uid) return Error::invalid("--user: invalid uid {:?}", parts[0]);
    p.user.uid = static_cast<uint32_t>(*uid);
    if (parts.size() > 1) {
      auto gid = parse_uint(parts[1]);
      if (!gid) return Error::invalid("--user: invalid gid {:?}", parts[1]);
      p.user.gid = static_cast<uint32_t>(*gid);
    }
  }
  for (const auto& g : o.additional_gids) {
    auto gid = parse_uint(g);
    if (!gid) return Error::invalid("--additional-gids: invalid gid {:?}", g);
    p.user.additional_gids.push_back(static_cast<uint32_t>(*gid));
  }
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities = oci::Capabilities{};
    for (const auto& c : o.caps) {
      for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
        set->push_back(c);
    }
  }
  return p;
}

struct ExecChild {
  oci::Process process;
  std::optional<SeccompProgram> seccomp;
  std::vector<std::pair<int, Fd>> join;
  int sync_fd;
  int console_fd;
  int preserve_fds;
  sigset_t mask;
};

Result<void> exec_steps(ExecChild& c) {
  // No container process may open our /proc/PID/exe or ptrace us before execve.
  prctl(PR_SET_DUMPABLE, 0);
  BERTH_TRY(sync_expect(c.sync_fd, SyncMsg::Go, "the runtime to place the process"));
  for (auto& [flag, fd] : c.join)
    if (setns(fd.get(), flag) < 0) return Error::sys(errno, "join the container's namespace {:#x}", flag);
  if (chdir("/") < 0) return Error::sys(errno, "chdir /");
  if (c.process.terminal) {
    auto pty = BERTH_TRY_CTX(open_pty(), "create the terminal");
    if (c.console_fd < 0) return Error::invalid("a terminal needs --console-socket");
    BERTH_TRY(sys::send_fd(c.console_fd, pty.master.get(), pty.slave_path));
    BERTH_TRY(become_terminal_owner(pty, c.process.console_size));
  }
  if (c.console_fd >= 0) close(c.console_fd);
  BERTH_TRY(find_executable(c.process.args.front(), c.process.env));
  // A detached exec outlives the runtime: do not die with it.
  prctl(PR_SET_PDEATHSIG, 0);
  BERTH_TRY(sync_send(c.sync_fd, SyncMsg::Exec, {}, getpid()));
  close(c.sync_fd);
  c.sync_fd = -1;
  return finalize_and_exec(c.process, c.seccomp ? &*c.seccomp : nullptr, c.preserve_fds);
}

[[noreturn]] void exec_child(ExecChild& c) noexcept {
  sigprocmask(SIG_SETMASK, &c.mask, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  Result<void> r = Error::internal("exec did not run");
  try {
    r = exec_steps(c);
  } catch (const std::exception& e) {
    r = Error::internal("exec: {}", e.what());
  }
  if (c.sync_fd >= 0)
    (void)sync_send(c.sync_fd, SyncMsg::Error, r.error().message(), r.error().sys_errno());
  else
    log::error("{}", r.error().message());
  _exit(r.error().sys_errno() == ENOENT ? 127 : 126);
}

}  // namespace

Result<int> exec_container(const StateDir& dir, const ExecOptions& o) {
  auto c = BERTH_TRY(load_container(dir, o.id));
  if (c.status == Status::Paused && !o.ignore_paused)
    return Error(ErrorCode::FailedPrecondition, "cannot exec in a paused container (use --ignore-paused to override)");
  // runc allows exec into a created container (its namespaces exist).
  if (c.status == Status::Stopped)
    return Error(ErrorCode::FailedPrecondition, fmt::format("cannot exec in a container that is {}", status_name(c.status)));
  oci::Spec spec = BERTH_TRY(load_saved_spec(dir, o.id));
  ExecChild ch;
  ch.process = BERTH_TRY(build_process(o, spec));
  if (ch.process.args.empty()) return Error::invalid("process.args: must not be empty");
  if (spec.linux_ && spec.linux_->seccomp)
    ch.seccomp = BERTH_TRY_CTX(compile_seccomp(*spec.linux_->seccomp, dir.root() + "/@seccomp"), "linux.seccomp");
  ch.preserve_fds = o.preserve_fds;
  pid_t init = c.state.pid;

  for (const auto& ns : kNamespaces) {
    if (same_namespace(init, ns.name)) continue;
    Fd fd(open(fmt::format("/proc/{}/ns/{}", init, ns.name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::sys(errno, "open the container's {} namespace", ns.name);
    ch.join.emplace_back(ns.flag, std::move(fd));
  }
  // pid and time namespaces take effect for our children.
  for (const auto& [name, flag] : {std::pair{"pid", CLONE_NEWPID}, std::pair{"time", CLONE_NEWTIME}}) {
    if (same_namespace(init, name)) continue;
    Fd fd(open(fmt::format("/proc/{}/ns/{}", init, name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::sys(errno, "open the container's {} namespace", name);
    if (setns(fd.get(), flag) < 0) return Error::sys(errno, "join the container's {} namespace", name);
  }

  Fd console, console_peer;
  if (!o.console_socket.empty()) {
    console = BERTH_TRY_CTX(sys::connect_unix(o.console_socket), "--console-socket");
  } else if (ch.process.terminal) {
    if (o.detach) return Error::invalid("a terminal with --detach needs --console-socket");
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return Error::sys(errno, "socketpair");
    console_peer.reset(sp[0]);
    console.reset(sp[1]);
  }
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return Error::sys(errno, "socketpair");
  Fd sync(sp[0]), sync_child(sp[1]);
  ch.sync_fd = sync_child.get();
  ch.console_fd = console.get();
  ch.mask = block_forwarded_signals();

  pid_t pid = fork();
  if (pid < 0) return Error::sys(errno, "fork");
  if (pid == 0) {
    sync.reset();
    exec_child(ch);
  }
  sync_child.reset();
  console.reset();
  auto fail = [&](Error e) -> Error {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return e;
  };
  if (c.cgroup) {
    if (auto r = c.cgroup->add_process(pid); !r) return fail(r.error().context("join the container's cgroup"));
  }
  if (ch.process.oom_score_adj) {
    if (auto r = set_oom_score_adj(pid, *ch.process.oom_score_adj); !r) return fail(r.error());
  }
  if (auto r = sync_send(sync.get(), SyncMsg::Go); !r) return fail(r.error());
  if (auto r = sync_expect(sync.get(), SyncMsg::Exec, "the process to start"); !r) {
    int status = 0;
    waitpid(pid, &status, 0);
    return r.error();
  }
  Fd pty_master;
  if (console_peer) {
    auto m = sys::recv_fd(console_peer.get());
    if (!m) return fail(m.error());
    pty_master = std::move(*m);
  }
  if (!o.pid_file.empty()) BERTH_TRY(write_pid_file(o.pid_file, pid));
  if (o.detach) return 0;
  return wait_foreground(pid, pty_master.get());
}

}  // namespace berth::runtime
