#include "runtime/init.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/hooks.h"
#include "runtime/process_setup.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "sys/fd_passing.h"

namespace berth::runtime {
namespace {

Result<void> become_userns_root(const oci::Spec& spec) {
  // After the maps are written we are in the namespace but still carry the
  // host ids (unmapped, shown as overflow ids); take the namespace's root.
  bool zero_uid = false, zero_gid = false;
  for (const auto& m : spec.linux_->uid_mappings) zero_uid |= m.container_id == 0;
  for (const auto& m : spec.linux_->gid_mappings) zero_gid |= m.container_id == 0;
  if (zero_gid && setresgid(0, 0, 0) < 0) return Error::sys(errno, "setresgid 0 in the user namespace");
  if (zero_uid && setresuid(0, 0, 0) < 0) return Error::sys(errno, "setresuid 0 in the user namespace");
  return {};
}

Result<void> join_namespaces(NamespacePlan& plan) {
  if (plan.join_user.valid() && setns(plan.join_user.get(), CLONE_NEWUSER) < 0)
    return Error::sys(errno, "join user namespace");
  for (auto& [flag, fd] : plan.join) {
    if (setns(fd.get(), flag) < 0) return Error::sys(errno, "join namespace (flag {:#x})", flag);
  }
  return {};
}

Result<void> setup_terminal(const InitContext& ctx, bool own_mounts) {
  const auto& proc = *ctx.spec->process;
  auto pty = BERTH_TRY_CTX(open_pty(), "create the container's terminal");
  if (ctx.console_fd < 0) return Error::invalid("process.terminal is set but no --console-socket was given");
  BERTH_TRY_CTX(sys::send_fd(ctx.console_fd, pty.master.get(), pty.slave_path), "send the pty master to the console socket");
  if (own_mounts) BERTH_TRY(mount_console(pty.slave_path));
  BERTH_TRY(become_terminal_owner(pty, proc.console_size));
  return {};
}

Result<void> wait_start_barrier(const InitContext& ctx) {
  if (ctx.state_dir_fd < 0) {
    BERTH_TRY(sync_expect(ctx.sync_fd, SyncMsg::Start, "start"));
    return {};
  }
  // Blocks until `start` opens the fifo for reading. The fifo is reached
  // through a descriptor of the state directory opened before pivot_root,
  // closed on exec.
  int fd;
  while ((fd = openat(ctx.state_dir_fd, "exec.fifo", O_WRONLY | O_CLOEXEC)) < 0) {
    if (errno != EINTR) return Error::sys(errno, "open exec.fifo");
  }
  ssize_t n;
  while ((n = write(fd, "0", 1)) < 0 && errno == EINTR) {}
  if (n != 1) return Error::sys(errno, "write exec.fifo");
  // The write end stays open until execve closes it (O_CLOEXEC): `start`
  // waits for that EOF, so it returns once the user's process runs, and a
  // signal sent right after `start` reaches it rather than the runtime.
  return {};
}

Result<void> init_steps(InitContext& ctx) {
  const oci::Spec& spec = *ctx.spec;
  NamespacePlan& plan = *ctx.plan;
  BERTH_TRY(sync_expect(ctx.sync_fd, SyncMsg::Go, "the runtime to place the container"));
  if (plan.new_user) BERTH_TRY(become_userns_root(spec));
  BERTH_TRY(join_namespaces(plan));
  if (plan.new_cgroup && unshare(CLONE_NEWCGROUP) < 0) return Error::sys(errno, "unshare cgroup namespace");
  if (!spec.hostname.empty() && sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
    return Error::sys(errno, "set hostname {:?}", spec.hostname);
  if (!spec.domainname.empty() && setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
    return Error::sys(errno, "set domainname {:?}", spec.domainname);

  // Without a mount namespace of its own the container shares its mounts:
  // nothing is mounted, the process is only chrooted (as crun does).
  const bool own_mounts = plan.new_mount;
  if (own_mounts) BERTH_TRY(prepare_rootfs(spec, ctx.rootfs));
  BERTH_TRY(sync_send(ctx.sync_fd, SyncMsg::HooksReady));
  auto state = BERTH_TRY(sync_expect(ctx.sync_fd, SyncMsg::HooksDone, "createRuntime hooks"));
  if (spec.hooks) BERTH_TRY(run_hooks(spec.hooks->create_container, state.text, "createContainer"));
  // Sysctls before enter_rootfs makes /proc/sys read-only; namespaced
  // sysctls follow the writer's namespaces, so the host's /proc/sys serves.
  BERTH_TRY(apply_sysctls(spec));
  if (own_mounts) {
    BERTH_TRY(enter_rootfs(spec, ctx.rootfs));
  } else {
    if (chroot(ctx.rootfs_path.c_str()) < 0) return Error::sys(errno, "chroot {}", ctx.rootfs_path);
    if (chdir("/") < 0) return Error::sys(errno, "chdir / in {}", ctx.rootfs_path);
  }
  if (spec.process->terminal) BERTH_TRY(setup_terminal(ctx, own_mounts));
  if (ctx.console_fd >= 0) close(ctx.console_fd);
  // Fail at create, not at start, when the program is missing.
  BERTH_TRY(find_executable(spec.process->args.front(), spec.process->env));

  // From here the runtime may exit (create returns): do not die with it.
  prctl(PR_SET_PDEATHSIG, 0);
  BERTH_TRY(sync_send(ctx.sync_fd, SyncMsg::Created));
  BERTH_TRY(wait_start_barrier(ctx));
  close(ctx.sync_fd);
  ctx.sync_fd = -1;
  if (spec.hooks) BERTH_TRY(run_hooks(spec.hooks->start_container, state.text, "startContainer"));
  return finalize_and_exec(*spec.process, ctx.seccomp, ctx.preserve_fds);
}

// A user namespace joined by path owns the namespaces created after joining
// it, so they are unshared here; a new pid namespace then needs one more
// fork for its pid 1. The intermediate reports the init's pid and exits.
[[noreturn]] void two_stage(InitContext& ctx) noexcept {
  NamespacePlan& plan = *ctx.plan;
  auto fail = [&](const Error& e) {
    (void)sync_send(ctx.sync_fd, SyncMsg::Error, e.message(), e.sys_errno());
    _exit(1);
  };
  if (setns(plan.join_user.get(), CLONE_NEWUSER) < 0) fail(Error::sys(errno, "join user namespace"));
  plan.join_user.reset();
  for (auto& [flag, fd] : plan.join)
    if (setns(fd.get(), flag) < 0) fail(Error::sys(errno, "join namespace (flag {:#x})", flag));
  plan.join.clear();
  if (unshare(plan.clone_flags) < 0) fail(Error::sys(errno, "unshare namespaces {:#x}", plan.clone_flags));
  if (plan.clone_flags & CLONE_NEWPID) {
    pid_t child = fork();
    if (child < 0) fail(Error::sys(errno, "fork the container's pid 1"));
    if (child == 0) {
      plan.new_user = false;  // joined, not created: no maps to take
      container_init(ctx);
    }
    (void)sync_send(ctx.sync_fd, SyncMsg::Pid, {}, child);
    _exit(0);
  }
  (void)sync_send(ctx.sync_fd, SyncMsg::Pid, {}, getpid());
  plan.new_user = false;
  container_init(ctx);
}

}  // namespace

void container_init(InitContext& ctx) noexcept {
  static bool first = true;
  if (first && ctx.plan->two_stage) {
    first = false;
    two_stage(ctx);
  }
  sigprocmask(SIG_SETMASK, &ctx.original_sigmask, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  Result<void> r = Error::internal("init did not run");
  try {
    r = init_steps(ctx);
  } catch (const std::exception& e) {
    r = Error::internal("container init: {}", e.what());
  }
  if (ctx.sync_fd >= 0) {
    (void)sync_send(ctx.sync_fd, SyncMsg::Error, r.error().message(), r.error().sys_errno());
  } else {
    // After the barrier the runtime may be gone: stderr is all we have.
    log::error("{}", r.error().message());
  }
  _exit(r.error().sys_errno() == ENOENT ? 127 : 1);
}

}  // namespace berth::runtime
