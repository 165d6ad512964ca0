#include "runtime/foreground.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/scope_exit.h"

namespace berth::runtime {
namespace {

constexpr int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                              SIGWINCH, SIGCONT, SIGPIPE, SIGALRM};

void copy_winsize(int from, int to) {
  struct winsize ws;
  if (ioctl(from, TIOCGWINSZ, &ws) == 0) ioctl(to, TIOCSWINSZ, &ws);
}

// Copy what is readable; false at EOF or error.
bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += w;
  }
  return true;
}

}  // namespace

sigset_t block_forwarded_signals() {
  sigset_t set, old;
  sigemptyset(&set);
  for (int s : kForwarded) sigaddset(&set, s);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, &old);
  return old;
}

int exit_code_from_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Result<int> wait_foreground(pid_t pid, int pty_master) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : kForwarded) sigaddset(&set, s);
  sigaddset(&set, SIGCHLD);
  Fd sfd(signalfd(-1, &set, SFD_CLOEXEC));
  if (!sfd) return Error::sys(errno, "signalfd");

  struct termios saved;
  bool raw = false;
  if (pty_master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
    struct termios t = saved;
    cfmakeraw(&t);
    raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
    copy_winsize(STDIN_FILENO, pty_master);
  }
  auto restore = ScopeExit([&] {
    if (raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  });

  bool stdin_open = pty_master >= 0;
  bool master_open = pty_master >= 0;
  while (true) {
    pollfd fds[3] = {{sfd.get(), POLLIN, 0},
                     {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                     {master_open ? pty_master : -1, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "poll");
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) master_open = pump(pty_master, STDOUT_FILENO);
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) stdin_open = pump(STDIN_FILENO, pty_master);
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo si;
    if (read(sfd.get(), &si, sizeof si) != sizeof si) continue;
    if (si.ssi_signo == SIGWINCH && pty_master >= 0) {
      copy_winsize(STDIN_FILENO, pty_master);
      continue;
    }
    if (si.ssi_signo != SIGCHLD) {
      kill(pid, static_cast<int>(si.ssi_signo));
      continue;
    }
    // Reap everything: as a subreaper we also inherit the container's orphans.
    int status;
    pid_t r;
    while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
      if (r == pid) {
        // Drain what the terminal still holds.
        if (master_open) {
          pollfd p{pty_master, POLLIN, 0};
          while (poll(&p, 1, 50) > 0 && (p.revents & POLLIN) && pump(pty_master, STDOUT_FILENO)) {}
        }
        return exit_code_from_status(status);
      }
    }
  }
}

}  // namespace berth::runtime
