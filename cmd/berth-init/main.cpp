// berth-init: the small init that `docker run --init` puts at
// /sbin/docker-init as the container's PID 1. docs/design/init.md has the
// design.
//
// Invocation:
//   berth-init [-g] [--] CMD [ARG...]
//   berth-init --version
//
// It starts CMD as its only child (in a process group of its own, which
// takes the terminal's foreground when stdin is one), forwards every signal
// it can catch to that child (-g: to the child's process group), reaps every
// process that ends up parented to it, and exits as the child did: its exit
// code, or 128+N when signal N killed it. 127 when CMD cannot be found, 126
// when it cannot be run, 2 on a usage error.
//
// Why it exists: a process that is PID 1 in a pid namespace gets no default
// signal actions (a SIGTERM it installed no handler for does nothing) and
// inherits every orphan, which most programs never wait for. Outside a pid
// namespace it marks itself a child subreaper so that orphans still come to
// it, which is also how the tests run it.
//
// Deliberately libc only (no libstdc++ streams, no exceptions): it is bind
// mounted into every --init container and statically linked.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef BERTH_INIT_VERSION
#define BERTH_INIT_VERSION "0.1.0"
#endif

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitCannotRun = 126;
constexpr int kExitNotFound = 127;

// Signals that report a fault in this very process: they must keep their
// default action or a bug here would spin instead of dying.
constexpr int kSynchronous[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS};

void say(const char* a, const char* b = "", const char* c = "", const char* d = "") {
  // One write, so that the line is not interleaved with the child's output.
  char line[512];
  int n = snprintf(line, sizeof line, "berth-init: %s%s%s%s\n", a, b, c, d);
  if (n > 0) (void)!write(STDERR_FILENO, line, static_cast<size_t>(n) < sizeof line ? n : sizeof line - 1);
}

int exit_status_of(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 1;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void run_child(char** argv, const sigset_t& original_mask) {
  // A process group of its own, as the foreground of the terminal if this
  // init holds it, so that ^C on `docker run -it --init` reaches the child
  // through the terminal and job control inside it works.
  setpgid(0, 0);
  if (isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgid(getppid())) {
    // tcsetpgrp from a background group raises SIGTTOU; it is blocked here.
    (void)tcsetpgrp(STDIN_FILENO, getpgrp());
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGTTIN, &dfl, nullptr);
  sigaction(SIGTTOU, &dfl, nullptr);
  sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  execvp(argv[0], argv);
  int err = errno;
  say("exec ", argv[0], ": ", strerror(err));
  // The shell's convention: 127 not found, 126 found but not runnable.
  _exit(err == ENOENT || err == ENOTDIR ? kExitNotFound : kExitCannotRun);
}

// Reap every exited child; returns true once `child` is among them and
// stores its status. Orphans reparented to us are reaped and forgotten.
bool reap(pid_t child, int* child_status) {
  bool child_done = false;
  for (;;) {
    int st = 0;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p > 0) {
      if (p == child) {
        *child_status = st;
        child_done = true;
      }
      continue;
    }
    if (p < 0 && errno == EINTR) continue;
    return child_done;  // 0: children left, none exited; -1 ECHILD: none left
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool to_group = false;
  int i = 1;
  for (; i < argc; ++i) {
    const char* a = argv[i];
    if (strcmp(a, "--") == 0) {
      ++i;
      break;
    }
    if (strcmp(a, "--version") == 0) {
      printf("berth-init version %s\n", BERTH_INIT_VERSION);
      return 0;
    }
    if (strcmp(a, "-g") == 0) {
      to_group = true;
      continue;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      printf("usage: berth-init [-g] [--] CMD [ARG...]\n");
      return 0;
    }
    if (a[0] == '-') {
      say("unknown option ", a);
      return kExitUsage;
    }
    break;
  }
  if (i >= argc) {
    say("no command given (usage: berth-init [-g] [--] CMD [ARG...])");
    return kExitUsage;
  }
  char** cmd = argv + i;

  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    say("cannot become a child subreaper: ", strerror(errno));

  // Block everything but the fault signals before the child exists: what
  // arrives from then on waits in the pending set for sigwaitinfo, SIGCHLD
  // included, so no exit can slip between fork and the loop. A PID 1 only
  // receives signals it has a handler for or blocks, so blocking is also
  // what lets `docker stop`'s SIGTERM in at all.
  sigset_t all, original;
  sigfillset(&all);
  for (int s : kSynchronous) sigdelset(&all, s);
  if (sigprocmask(SIG_SETMASK, &all, &original) != 0) {
    say("sigprocmask: ", strerror(errno));
    return 1;
  }
  // When the child's group takes the terminal this process is in the
  // background; terminal reads and writes must not stop it.
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGTTIN, &ign, nullptr);
  sigaction(SIGTTOU, &ign, nullptr);

  pid_t child = fork();
  if (child < 0) {
    say("fork: ", strerror(errno));
    return 1;
  }
  if (child == 0) run_child(cmd, original);
  // Both sides call setpgid so that the group exists before a forwarded
  // signal can go to it, whichever runs first.
  (void)setpgid(child, child);

  int child_status = 0;
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      say("sigwaitinfo: ", strerror(errno));
      return 1;
    }
    if (sig == SIGCHLD) {
      if (reap(child, &child_status)) break;
      continue;
    }
    // Forward. ESRCH: the child is gone and its SIGCHLD is on its way.
    (void)kill(to_group ? -child : child, sig);
  }
  // Orphans that had already exited; in a pid namespace the rest are
  // killed by the kernel when this process exits.
  int ignored;
  (void)reap(-1, &ignored);
  return exit_status_of(child_status);
}
