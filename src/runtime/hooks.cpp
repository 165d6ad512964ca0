// Running one OCI hook: fork + execve with the state on stdin, its stdout
// and stderr collected (reported when it fails), a deadline enforced with
// SIGKILL. The runtime is single-threaded, so fork without exec'ing is safe
// only until execve; the child touches nothing but prepared buffers.
#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/fd.h"
#include "base/log.h"

namespace berth::runtime {
namespace {

constexpr size_t kOutputTail = 4096;

Result<std::pair<Fd, Fd>> make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Error::sys(errno, "pipe2");
  return std::pair<Fd, Fd>{Fd(fds[0]), Fd(fds[1])};
}

// The last kOutputTail bytes, trimmed of whitespace at the ends.
std::string tail_of(const std::string& out) {
  std::string t = out.size() > kOutputTail ? out.substr(out.size() - kOutputTail) : out;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ' || t.back() == '\r')) t.pop_back();
  return t;
}

Result<void> run_hook(const oci::Hook& hook, const std::string& state, const char* kind) {
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  auto [in_r, in_w] = BERTH_TRY(make_pipe());
  auto [out_r, out_w] = BERTH_TRY(make_pipe());

  pid_t pid = fork();
  if (pid < 0) return Error::sys(errno, "{} hook {}: fork", kind, hook.path);
  if (pid == 0) {
    // dup2 clears O_CLOEXEC on 0, 1, 2; everything else closes on exec.
    if (dup2(in_r.get(), 0) < 0 || dup2(out_w.get(), 1) < 0 || dup2(out_w.get(), 2) < 0) _exit(127);
    signal(SIGPIPE, SIG_DFL);
    execve(hook.path.c_str(), argv.data(), envp.data());
    int err = errno;
    const char* msg = "exec failed: ";
    (void)!write(2, msg, strlen(msg));
    const char* text = strerror(err);
    (void)!write(2, text, strlen(text));
    _exit(127);
  }
  in_r.reset();
  out_w.reset();
  fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  // A pidfd becomes readable when the hook exits, so one poll waits for
  // output, stdin space, exit and the deadline together.
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));

  using Clock = std::chrono::steady_clock;
  const bool timed = hook.timeout && *hook.timeout > 0;
  const auto deadline = Clock::now() + std::chrono::seconds(timed ? *hook.timeout : 0);
  size_t written = 0;
  std::string output;
  bool exited = false;
  int status = 0;

  while (true) {
    if (!exited) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) exited = true;
      else if (r < 0 && errno != EINTR) return Error::sys(errno, "{} hook {}: waitpid", kind, hook.path);
    }
    if (exited && !out_r) break;
    if (exited) {
      // Drain what is buffered; a grandchild holding the pipe must not
      // keep us waiting.
      char buf[4096];
      ssize_t n;
      while ((n = read(out_r.get(), buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
      break;
    }

    int wait_ms = -1;
    if (timed) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return Error(ErrorCode::Unavailable, fmt::format("{} hook {}: timed out after {} s", kind,
                                                         hook.path, *hook.timeout));
      }
      wait_ms = static_cast<int>(left);
    }
    if (!pidfd) wait_ms = wait_ms < 0 ? 20 : std::min(wait_ms, 20);  // no pidfd: poll for exit

    pollfd fds[3];
    nfds_t count = 0;
    int in_slot = -1, out_slot = -1;
    if (in_w) { in_slot = static_cast<int>(count); fds[count++] = {in_w.get(), POLLOUT, 0}; }
    if (out_r) { out_slot = static_cast<int>(count); fds[count++] = {out_r.get(), POLLIN, 0}; }
    if (pidfd) fds[count++] = {pidfd.get(), POLLIN, 0};
    int ready = poll(fds, count, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "{} hook {}: poll", kind, hook.path);
    }
    if (in_slot >= 0 && fds[in_slot].revents) {
      // MSG_NOSIGNAL is for sockets; a pipe whose reader is gone raises
      // SIGPIPE, so it is ignored for the write (the hook need not read).
      struct sigaction ign {}, old {};
      ign.sa_handler = SIG_IGN;
      sigaction(SIGPIPE, &ign, &old);
      ssize_t n = write(in_w.get(), state.data() + written, state.size() - written);
      int err = errno;
      sigaction(SIGPIPE, &old, nullptr);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && err != EAGAIN && err != EINTR) || written == state.size()) in_w.reset();
    }
    if (out_slot >= 0 && fds[out_slot].revents) {
      char buf[4096];
      ssize_t n = read(out_r.get(), buf, sizeof buf);
      if (n > 0) {
        output.append(buf, static_cast<size_t>(n));
        if (output.size() > 4 * kOutputTail) output.erase(0, output.size() - kOutputTail);
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        out_r.reset();
      }
    }
  }

  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  std::string how = WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                      : fmt::format("killed by signal {}", WTERMSIG(status));
  std::string tail = tail_of(output);
  return Error(ErrorCode::FailedPrecondition,
               tail.empty() ? fmt::format("{} hook {}: {}", kind, hook.path, how)
                            : fmt::format("{} hook {}: {}: {}", kind, hook.path, how, tail));
}

}  // namespace

Result<void> run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                       const char* kind) {
  for (const auto& hook : hooks) BERTH_TRY(run_hook(hook, state_json, kind));
  return ok();
}

}  // namespace berth::runtime
