// start, kill, delete, pause, resume, update, ps, state, events: the
// operations on a container that already exists.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "base/fd.h"
#include "base/log.h"
#include "base/strings.h"
#include "runtime/container.h"
#include "runtime/lifecycle_common.h"
#include "sys/proc.h"

namespace berth::runtime {
namespace {

Error wrong_status(const std::string& id, Status s, const char* action) {
  return Error(ErrorCode::FailedPrecondition,
               fmt::format("cannot {} container {}: container is {}", action, id, status_name(s)));
}

// Signal the init through a pidfd checked against the recorded start time,
// so a recycled pid is never signalled.
Result<void> signal_init(const ContainerState& st, int sig) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, st.pid, 0));
  if (pidfd < 0) {
    if (errno == ESRCH) return Error::not_found("container not running");
    return Error::sys(errno, "pidfd_open {}", st.pid);
  }
  Fd guard(pidfd);
  if (!init_alive(st)) return Error::not_found("container not running");
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0) {
    if (errno == ESRCH) return Error::not_found("process already finished");
    return Error::sys(errno, "send signal {} to {}", sig, st.pid);
  }
  return {};
}

}  // namespace

Result<int> parse_signal(const std::string& s) {
  if (auto n = parse_int(s); n) {
    if (*n <= 0 || *n > SIGRTMAX) return Error::invalid("invalid signal {:?}", s);
    return static_cast<int>(*n);
  }
  std::string name = s;
  for (auto& c : name) c = static_cast<char>(toupper(c));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int i = 1; i < NSIG; ++i) {
    const char* abbrev = sigabbrev_np(i);
    if (abbrev && name == abbrev) return i;
  }
  if (name.rfind("RTMIN+", 0) == 0) {
    if (auto n = parse_int(name.substr(6)); n && SIGRTMIN + *n <= SIGRTMAX) return SIGRTMIN + static_cast<int>(*n);
  }
  if (name == "RTMIN") return SIGRTMIN;
  if (name == "RTMAX") return SIGRTMAX;
  return Error::invalid("unknown signal {:?}", s);
}

Result<void> start_container(const StateDir& dir, const std::string& id) {
  auto c = BERTH_TRY(load_container(dir, id));
  if (c.status == Status::Stopped) return Error(ErrorCode::FailedPrecondition, "cannot start a container that has stopped");
  if (c.status != Status::Created) return Error(ErrorCode::FailedPrecondition, "cannot start an already running container");
  std::string fifo = dir.fifo(id);
  Fd fd(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return Error::sys(errno, "open {}", fifo);
  // The init is blocked opening the fifo for writing; once it has, it writes
  // one byte. Keep checking that it is alive so a dead init cannot hang us.
  // Then the init holds the write end until its execve closes it: EOF means
  // the user's process is running (or the init died; the status tells).
  bool started = false;
  for (int waited_ms = 0;; waited_ms += 100) {
    pollfd p{fd.get(), POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r < 0 && errno != EINTR) return Error::sys(errno, "poll {}", fifo);
    if (r > 0) {
      char b;
      ssize_t n = read(fd.get(), &b, 1);
      if (n == 1) {
        started = true;
        unlink(fifo.c_str());
        continue;
      }
      if (n == 0 && started) break;
      if (n == 0 || (n < 0 && errno != EAGAIN)) return Error::internal("cannot start container {}: the init exited", id);
    }
    // startContainer hooks run between the byte and the exec; do not wait
    // forever on a slow one.
    if (started && waited_ms > 10000) break;
    if (!init_alive(c.state)) return Error::internal("cannot start container {}: the init exited", id);
  }
  auto spec = load_saved_spec(dir, id);
  if (spec) run_poststart_hooks(*spec, c.state);
  return {};
}

Result<void> kill_container(const StateDir& dir, const std::string& id, int sig, bool all) {
  auto c = BERTH_TRY(load_container(dir, id));
  if (c.status == Status::Stopped) return Error::not_found("container not running");
  if (all && c.cgroup) {
    auto pids = BERTH_TRY(c.cgroup->pids());
    for (pid_t p : pids) kill(p, sig);
    if (c.status == Status::Paused && sig == SIGKILL) (void)c.cgroup->thaw();
    return {};
  }
  BERTH_TRY(signal_init(c.state, sig));
  if (c.status == Status::Paused && sig == SIGKILL && c.cgroup) (void)c.cgroup->thaw();
  return {};
}

Result<void> delete_container(const StateDir& dir, const std::string& id, bool force) {
  auto loaded = load_container(dir, id);
  if (!loaded) {
    if (loaded.error().code() == ErrorCode::NotFound) {
      // A create that died before writing state.json leaves only the directory.
      (void)dir.remove(id);
      if (force) return {};
    }
    return loaded.error();
  }
  auto& c = *loaded;
  // The runtime-spec: deleting a container that is not stopped is an error
  // (created included, as crun does); --force kills it first.
  if (c.status != Status::Stopped && !force)
    return Error(ErrorCode::FailedPrecondition,
                 fmt::format("cannot delete container {} that is not stopped: {}", id, status_name(c.status)));
  auto spec = load_saved_spec(dir, id);
  return destroy_container(dir, c.state, spec ? &*spec : nullptr);
}

Result<void> pause_container(const StateDir& dir, const std::string& id) {
  auto c = BERTH_TRY(load_container(dir, id));
  if (c.status != Status::Running && c.status != Status::Created) return wrong_status(id, c.status, "pause");
  if (!c.cgroup) return Error::internal("container {} has no cgroup", id);
  return c.cgroup->freeze();
}

Result<void> resume_container(const StateDir& dir, const std::string& id) {
  auto c = BERTH_TRY(load_container(dir, id));
  if (c.status != Status::Paused) return wrong_status(id, c.status, "resume");
  return c.cgroup->thaw();
}

Result<void> update_container(const StateDir& dir, const std::string& id, const oci::Resources& res) {
  auto c = BERTH_TRY(load_container(dir, id));
  if (c.status == Status::Stopped) return wrong_status(id, c.status, "update");
  if (!c.cgroup) return Error::internal("container {} has no cgroup", id);
  return c.cgroup->apply(res, /*update=*/true);
}

Result<std::vector<pid_t>> container_pids(const StateDir& dir, const std::string& id) {
  auto c = BERTH_TRY(load_container(dir, id));
  if (!c.cgroup || c.status == Status::Stopped) return std::vector<pid_t>{};
  return c.cgroup->pids();
}

Result<Json> container_state(const StateDir& dir, const std::string& id) {
  auto c = BERTH_TRY(load_container(dir, id));
  return oci_state(c.state, c.status);
}

Result<Json> container_stats(const StateDir& dir, const std::string& id) {
  auto c = BERTH_TRY(load_container(dir, id));
  if (c.status == Status::Stopped) return Error::not_found("container not running");
  if (!c.cgroup) return Error::internal("container {} has no cgroup", id);
  auto data = BERTH_TRY(c.cgroup->stats());
  return Json{{"type", "stats"}, {"id", id}, {"data", data}};
}

Result<void> stream_events(const StateDir& dir, const std::string& id, int interval_ms) {
  uint64_t ooms = 0;
  {
    auto c = BERTH_TRY(load_container(dir, id));
    if (c.cgroup) ooms = c.cgroup->oom_kills().value_or(0);
  }
  while (true) {
    auto c = BERTH_TRY(load_container(dir, id));
    if (c.status == Status::Stopped || !c.cgroup) return {};
    if (auto n = c.cgroup->oom_kills(); n && *n > ooms) {
      ooms = *n;
      std::cout << Json{{"type", "oom"}, {"id", id}}.dump() << std::endl;
    }
    if (auto s = c.cgroup->stats(); s)
      std::cout << Json{{"type", "stats"}, {"id", id}, {"data", *s}}.dump() << std::endl;
    usleep(static_cast<useconds_t>(interval_ms) * 1000);
  }
}

}  // namespace berth::runtime
