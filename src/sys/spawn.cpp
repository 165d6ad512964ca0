#include "sys/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/fd.h"

extern char** environ;

namespace berth::sys {

namespace {

struct Child {
  const char* path;  // or "" with exec_fd
  int exec_fd;
  char** argv;
  int stdio[3];
  sigset_t parent_mask;
  int error = 0;  // set by the child when exec fails (memory is shared)
};

// Runs on its own stack in the parent's memory until execveat replaces it
// (CLONE_VM | CLONE_VFORK: the parent sleeps meanwhile). Raw system calls
// only, and nothing that touches the parent's state.
int child_main(void* arg) {
  auto* c = static_cast<Child*>(arg);
  // Every signal back to its default: no handler of the parent's may run
  // here, and what the parent ignores (the shim SIGPIPE and SIGHUP; a
  // daemon started from a script's background job SIGINT and SIGQUIT)
  // must not reach the runtime and the container.
  struct sigaction dfl{};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction cur{};
    if (::sigaction(sig, nullptr, &cur) == 0 && cur.sa_handler != SIG_DFL) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int i = 0; i < 3; ++i) {
    int fd = c->stdio[i];
    if (fd == i ? ::fcntl(i, F_SETFD, 0) < 0 : ::dup2(fd, i) < 0) {
      c->error = errno;
      ::_exit(127);
    }
  }
  ::syscall(SYS_execveat, c->exec_fd >= 0 ? c->exec_fd : AT_FDCWD, c->path, c->argv, environ,
            c->exec_fd >= 0 ? AT_EMPTY_PATH : 0);
  c->error = errno;
  ::_exit(127);
}

}  // namespace

Result<pid_t> spawn(const std::vector<std::string>& argv, SpawnStdio stdio, int exec_fd) {
  if (argv.empty()) return Error::invalid("spawn: no program");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Fd null;
  if (stdio.in < 0 || stdio.out < 0 || stdio.err < 0) {
    null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) return Error::sys(errno, "open /dev/null");
  }
  Child c{exec_fd >= 0 ? "" : argv[0].c_str(), exec_fd, args.data(),
          {stdio.in >= 0 ? stdio.in : null.get(), stdio.out >= 0 ? stdio.out : null.get(),
           stdio.err >= 0 ? stdio.err : null.get()},
          {}};
  // All signals blocked across the clone: none may be delivered to the
  // child before it has reset the handlers it shares with us.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &c.parent_mask);
  // The child runs on this array: we sleep until it has exec'd.
  alignas(16) char stack[16 << 10];
  pid_t pid = ::clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &c.parent_mask, nullptr);
  if (pid < 0) return Error::sys(clone_errno, "spawn {}", argv[0]);
  if (c.error != 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return Error::sys(c.error, "exec {}", argv[0]);
  }
  return pid;
}

Result<int> wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::sys(errno, "wait for pid {}", pid);
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

Result<int> run_and_wait(const std::vector<std::string>& argv, SpawnStdio stdio, int exec_fd) {
  return wait_exit(BERTH_TRY(spawn(argv, stdio, exec_fd)));
}

}  // namespace berth::sys
