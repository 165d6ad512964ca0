// create and run: the runtime's side of making a container (init.h is the
// container's side). The order of the steps is the OCI lifecycle's.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "base/file.h"
#include "base/strings.h"
#include "base/log.h"
#include "base/scope_exit.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/lifecycle_common.h"
#include "runtime/process_setup.h"
#include "runtime/sync.h"
#include "sys/fd_passing.h"
#include "sys/proc.h"

namespace berth::runtime {
namespace {

Result<std::string> absolute_dir(const std::string& path, const char* what) {
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) return Error::sys(errno, "{} {}", what, path);
  struct stat st;
  if (stat(buf, &st) < 0) return Error::sys(errno, "{} {}", what, buf);
  if (!S_ISDIR(st.st_mode)) return Error::invalid("{} {} is not a directory", what, buf);
  return std::string(buf);
}

// The host uid that the container's root maps to (for the fifo's owner).
uid_t host_id_of_root(const std::vector<oci::IdMapping>& maps, uid_t fallback) {
  for (const auto& m : maps)
    if (m.container_id == 0) return m.host_id;
  return fallback;
}

Result<void> validate_for_create(const oci::Spec& spec) {
  if (!spec.process) return Error::invalid("process: required to create a container");
  if (spec.process->args.empty()) return Error::invalid("process.args: must not be empty");
  if (!spec.root) return Error::invalid("root: required on Linux");
  if (!spec.linux_) return Error::invalid("linux: required on Linux");
  return {};
}

pid_t clone_child(int flags) {
  // fork semantics (no new stack) with namespace flags; raw syscall because
  // glibc's fork() takes no flags and clone() wants a function and a stack.
  return static_cast<pid_t>(syscall(SYS_clone, static_cast<unsigned long>(flags) | SIGCHLD, nullptr,
                                    nullptr, nullptr, nullptr));
}

}  // namespace

Result<int> create_container(const StateDir& dir, const CreateOptions& opts) {
  BERTH_TRY(StateDir::validate_id(opts.id));
  std::string bundle = BERTH_TRY(absolute_dir(opts.bundle.empty() ? "." : opts.bundle, "bundle"));
  std::string config_text = BERTH_TRY(read_file(bundle + "/config.json"));
  oci::Spec spec = BERTH_TRY_CTX(oci::parse_spec(config_text), "{}/config.json", bundle);
  BERTH_TRY_CTX(validate_for_create(spec), "{}/config.json", bundle);
  std::string root_path = spec.root->path.front() == '/' ? spec.root->path : bundle + "/" + spec.root->path;
  std::string rootfs = BERTH_TRY_CTX(absolute_dir(root_path, "root.path"), "{}/config.json", bundle);
  NamespacePlan plan = BERTH_TRY(plan_namespaces(spec));

  // The state directory is the lock on the id: mkdir fails if it exists.
  BERTH_TRY(mkdir_all(dir.root(), 0700));
  std::string sdir = dir.dir(opts.id);
  if (mkdir(sdir.c_str(), 0711) < 0) {
    if (errno == EEXIST) return Error(ErrorCode::AlreadyExists, fmt::format("container with id {} already exists", opts.id));
    return Error::sys(errno, "create state directory {}", sdir);
  }
  pid_t child = -1;
  std::unique_ptr<Cgroup> cgroup;
  auto undo = ScopeExit([&] {
    if (child > 0) {
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
    }
    if (cgroup) {
      if (auto r = cgroup->destroy(); !r) log::warn("cleanup: {}", r.error().message());
    }
    if (auto r = dir.remove(opts.id); !r) log::warn("cleanup: {}", r.error().message());
  });
  BERTH_TRY(write_file(sdir + "/config.json", config_text, 0600));

  CgroupOptions cgo;
  cgo.path = spec.linux_->cgroups_path;
  cgo.id = opts.id;
  cgroup = BERTH_TRY(Cgroup::open(cgo));
  BERTH_TRY(cgroup->create());
  BERTH_TRY_CTX(cgroup->apply(spec.linux_->resources.value_or(oci::Resources{})), "linux.resources");

  Fd console, console_peer;
  bool foreground_tty = false;
  if (!opts.console_socket.empty()) {
    console = BERTH_TRY_CTX(sys::connect_unix(opts.console_socket), "--console-socket");
  } else if (spec.process->terminal) {
    if (opts.mode != CreateMode::Run)
      return Error::invalid("process.terminal is set: --console-socket is required for {}",
                            opts.mode == CreateMode::Create ? "create" : "a detached run");
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return Error::sys(errno, "socketpair");
    console_peer.reset(sp[0]);
    console.reset(sp[1]);
    foreground_tty = true;
  }

  Fd state_dir_fd;
  if (opts.mode == CreateMode::Create) {
    std::string fifo = dir.fifo(opts.id);
    if (mkfifo(fifo.c_str(), 0622) < 0) return Error::sys(errno, "mkfifo {}", fifo);
    if (plan.new_user) {
      uid_t uid = host_id_of_root(spec.linux_->uid_mappings, 0);
      gid_t gid = host_id_of_root(spec.linux_->gid_mappings, 0);
      if (chown(fifo.c_str(), uid, gid) < 0) return Error::sys(errno, "chown {}", fifo);
    }
    state_dir_fd.reset(open(sdir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!state_dir_fd) return Error::sys(errno, "open {}", sdir);
  }

  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return Error::sys(errno, "socketpair");
  Fd sync(sp[0]), sync_child(sp[1]);

  // pid and time namespaces apply to the children of the caller of setns/unshare.
  if (plan.join_pid.valid() && setns(plan.join_pid.get(), CLONE_NEWPID) < 0)
    return Error::sys(errno, "linux.namespaces: join pid namespace");
  if (plan.join_time.valid() && setns(plan.join_time.get(), CLONE_NEWTIME) < 0)
    return Error::sys(errno, "linux.namespaces: join time namespace");
  if (plan.new_time) {
    if (unshare(CLONE_NEWTIME) < 0) return Error::sys(errno, "linux.namespaces: unshare time namespace");
    BERTH_TRY(write_time_offsets(*spec.linux_));
  }
  bool reaper = opts.mode == CreateMode::Run && !opts.no_subreaper;
  if (reaper) prctl(PR_SET_CHILD_SUBREAPER, 1);

  InitContext ctx;
  ctx.spec = &spec;
  ctx.plan = &plan;
  ctx.rootfs = RootfsOptions{bundle, opts.no_pivot, plan.new_user};
  ctx.rootfs_path = rootfs;
  ctx.sync_fd = sync_child.get();
  ctx.state_dir_fd = state_dir_fd.get();
  ctx.console_fd = console.get();
  ctx.preserve_fds = opts.preserve_fds;
  // Compiled (or taken from the cache) here, not in the container after
  // `start`: a bad profile fails create, and start does not wait for it.
  std::optional<SeccompProgram> seccomp;
  if (spec.linux_->seccomp)
    seccomp = BERTH_TRY_CTX(compile_seccomp(*spec.linux_->seccomp, dir.root() + "/@seccomp"), "linux.seccomp");
  ctx.seccomp = seccomp ? &*seccomp : nullptr;
  ctx.original_sigmask = block_forwarded_signals();

  child = clone_child(plan.two_stage ? 0 : plan.clone_flags);
  if (child < 0) return Error::sys(errno, "clone with namespaces {:#x}", plan.clone_flags);
  if (child == 0) {
    sync.reset();
    container_init(ctx);
  }
  sync_child.reset();
  console.reset();
  state_dir_fd.reset();

  pid_t init_pid = child;
  ContainerState st;
  auto setup = [&]() -> Result<void> {
    if (plan.two_stage) {
      auto m = BERTH_TRY(sync_expect(sync.get(), SyncMsg::Pid, "the container's pid"));
      init_pid = static_cast<pid_t>(m.value);
      int status;
      waitpid(child, &status, 0);  // the intermediate exits; init is reparented to us or our reaper
      child = init_pid;
    }
    BERTH_TRY(cgroup->add_process(init_pid));
    if (plan.new_user) BERTH_TRY(write_id_mappings(init_pid, *spec.linux_));
    if (spec.process->oom_score_adj)
      BERTH_TRY_CTX(set_oom_score_adj(init_pid, *spec.process->oom_score_adj), "process.oomScoreAdj");
    BERTH_TRY(sync_send(sync.get(), SyncMsg::Go));
    BERTH_TRY(sync_expect(sync.get(), SyncMsg::HooksReady, "the container's mounts"));

    st.id = opts.id;
    st.pid = init_pid;
    st.pid_start = sys::process_start_time(init_pid).value_or(0);
    st.bundle = bundle;
    st.rootfs = rootfs;
    st.created = now_rfc3339();
    st.owner = current_owner();
    st.annotations = spec.annotations;
    st.cgroup = cgroup->to_json();
    st.no_pivot = opts.no_pivot;
    st.oci_version = spec.oci_version;
    // The state hooks see: "created", as crun reports and runtime-tools expects.
    std::string creating = oci_state(st, Status::Created).dump();
    if (spec.hooks) {
      BERTH_TRY(run_hooks(spec.hooks->prestart, creating, "prestart"));
      BERTH_TRY(run_hooks(spec.hooks->create_runtime, creating, "createRuntime"));
    }
    BERTH_TRY(sync_send(sync.get(), SyncMsg::HooksDone, creating));
    BERTH_TRY(sync_expect(sync.get(), SyncMsg::Created, "the container to be created"));
    return {};
  };
  if (auto r = setup(); !r) {
    // An init that dies during setup under a tight memory limit was OOM-killed:
    // say so, rather than "init exited".
    auto ooms = cgroup->oom_kills();
    if (ooms && *ooms > 0)
      return Error::invalid("linux.resources.memory.limit: the container's init was killed by the OOM killer "
                            "while being set up (the memory limit is too low)");
    return r.error();
  }

  Fd pty_master;
  if (foreground_tty) pty_master = BERTH_TRY_CTX(sys::recv_fd(console_peer.get()), "receive the terminal");
  BERTH_TRY(dir.save(st));
  if (!opts.pid_file.empty()) BERTH_TRY(write_pid_file(opts.pid_file, init_pid));

  if (opts.mode == CreateMode::Create) {
    undo.dismiss();
    return 0;
  }
  BERTH_TRY(sync_send(sync.get(), SyncMsg::Start));
  sync.reset();
  if (spec.hooks) run_poststart_hooks(spec, st);
  undo.dismiss();
  if (opts.mode == CreateMode::RunDetached) return 0;

  auto code = wait_foreground(init_pid, pty_master.get());
  if (!opts.keep) {
    if (auto r = destroy_container(dir, st, &spec); !r) log::warn("{}", r.error().message());
  }
  return code;
}

}  // namespace berth::runtime
