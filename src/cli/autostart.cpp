#include "cli/autostart.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/fd.h"
#include "base/file.h"
#include "sys/fd_passing.h"

namespace berth::cli {
namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(30);

bool executable(const std::string& path) { return !path.empty() && ::access(path.c_str(), X_OK) == 0; }

// The log's last lines, for the error when berthd does not come up.
std::string log_tail(const std::string& path) {
  auto text = read_file(path);
  if (!text) return "";
  std::string_view s = *text;
  size_t pos = s.size();
  for (int lines = 0; lines < 6 && pos > 0; ++lines) {
    size_t nl = s.rfind('\n', pos - 1);
    if (nl == std::string_view::npos) {
      pos = 0;
      break;
    }
    pos = nl;
  }
  return std::string(s.substr(pos));
}

// systemd runs the daemon when it has a unit for it: then the daemon is
// the service manager's, with its logs and its restarts.
bool systemd_has_unit() {
  struct stat st;
  if (::stat("/run/systemd/system", &st) != 0) return false;
  for (const char* dir : {"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system",
                          "/usr/lib/systemd/system", "/usr/local/lib/systemd/system"})
    if (::access((std::string(dir) + "/berth.service").c_str(), F_OK) == 0) return true;
  return false;
}

// Runs argv, waits for it, returns its exit status (-1: could not run).
int run_wait(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Moves the calling process into a cgroup of its own in the hierarchies
// that track sessions (cgroup v2, and v1's name=systemd): logging out or
// closing the terminal kills a session's cgroup, and the daemon and its
// shims must outlive it. Resource hierarchies of v1 are left as they are.
void own_cgroup() {
  const std::string pid = std::to_string(::getpid());
  std::vector<std::string> roots;
  if (::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) roots.push_back("/sys/fs/cgroup");
  else if (::access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0) roots.push_back("/sys/fs/cgroup/unified");
  if (::access("/sys/fs/cgroup/systemd/cgroup.procs", F_OK) == 0) roots.push_back("/sys/fs/cgroup/systemd");
  for (const auto& root : roots) {
    std::string dir = root + "/berthd";
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      std::fprintf(stderr, "berth: cgroup %s: %s\n", dir.c_str(), std::strerror(errno));
      continue;
    }
    if (auto w = write_file(dir + "/cgroup.procs", pid); !w)
      std::fprintf(stderr, "berth: %s\n", w.error().message().c_str());
  }
}

// The daemon's process: a new session (no controlling terminal, no
// SIGHUP when the terminal closes), its own cgroup, stdio to the log,
// nothing inherited but the environment. Never returns.
[[noreturn]] void exec_detached(const std::string& berthd, int log_fd) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, 0);
  ::dup2(log_fd, 1);
  ::dup2(log_fd, 2);
  ::close_range(3, ~0U, 0);
  own_cgroup();
  if (::chdir("/") != 0) ::_exit(127);
  ::umask(022);
  const char* argv[] = {berthd.c_str(), nullptr};
  ::execv(berthd.c_str(), const_cast<char* const*>(argv));
  std::fprintf(stderr, "berth: exec %s: %s\n", berthd.c_str(), std::strerror(errno));
  ::_exit(127);
}

// Double fork: the daemon is a grandchild in a new session, reparented to
// init (or the nearest subreaper) as soon as the middle process exits.
// Returns the daemon's PID.
Result<pid_t> spawn_detached(const std::string& berthd, int log_fd) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Error::sys(errno, "pipe");
  Fd rd(pipefd[0]), wr(pipefd[1]);
  pid_t mid = ::fork();
  if (mid < 0) return Error::sys(errno, "fork");
  if (mid == 0) {
    ::setsid();
    pid_t daemon = ::fork();
    if (daemon == 0) exec_detached(berthd, log_fd);
    (void)!::write(wr.get(), &daemon, sizeof daemon);
    ::_exit(daemon < 0 ? 1 : 0);
  }
  wr.reset();
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  pid_t daemon = -1;
  if (::read(rd.get(), &daemon, sizeof daemon) != sizeof daemon || daemon <= 0)
    return Error::make(ErrorCode::Internal, "could not start {}: fork failed", berthd);
  return daemon;
}

// Running, not a zombie that nobody has reaped yet.
bool alive(pid_t pid) {
  auto stat = read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) return false;
  size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] != 'Z';
}

bool answers(const std::string& socket) { return sys::connect_unix(socket).ok(); }

}  // namespace

bool autostart_allowed(bool default_address) {
  if (!default_address || ::geteuid() != 0) return false;
  const char* off = std::getenv("BERTH_NO_AUTOSTART");
  return !off || !*off || std::strcmp(off, "0") == 0;
}

std::string find_berthd() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir = parent_dir(std::string(self, static_cast<size_t>(n)));
    // Installed side by side; in a build tree, cmd/berth/ and cmd/berthd/.
    for (const std::string& c : {dir + "/berthd", parent_dir(dir) + "/berthd/berthd"})
      if (executable(c)) return c;
  }
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string c = std::string(rest.substr(0, colon)) + "/berthd";
    if (executable(c)) return c;
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  return "";
}

Result<void> start_daemon(const std::string& socket) {
  const std::string dir = parent_dir(socket);
  BERTH_TRY(mkdir_all(dir, 0711));
  const std::string lock_path = dir + "/autostart.lock";
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return Error::sys(errno, "open {}", lock_path);
  // The holder waits at most kReadyTimeout, so this wait is bounded too.
  while (::flock(lock.get(), LOCK_EX) != 0)
    if (errno != EINTR) return Error::sys(errno, "lock {}", lock_path);
  if (answers(socket)) return ok();  // another berth started it meanwhile

  std::fprintf(stderr, "berth: berthd is not running; starting it");
  pid_t daemon = -1;
  const bool systemd = systemd_has_unit();
  if (systemd) {
    std::fprintf(stderr, " (systemctl start berth)\n");
    if (run_wait({"systemctl", "start", "berth.service"}) != 0)
      return Error::make(ErrorCode::Unavailable,
                         "could not start berthd: `systemctl start berth` failed; see `journalctl -u berth`");
  } else {
    std::string berthd = find_berthd();
    if (berthd.empty())
      return Error::make(ErrorCode::Unavailable,
                         "Cannot connect to the berth daemon at unix://{} and no berthd binary was found "
                         "beside berth or in PATH to start it",
                         socket);
    BERTH_TRY(mkdir_all(parent_dir(kAutostartLog), 0755));
    Fd log(::open(kAutostartLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!log) return Error::sys(errno, "open {}", kAutostartLog);
    std::fprintf(stderr, " (log: %s)\n", kAutostartLog);
    daemon = BERTH_TRY(spawn_detached(berthd, log.get()));
  }
  auto why = [&] {
    return systemd ? std::string("see `journalctl -u berth`")
                   : fmt::format("its log, {}, ends:\n{}", kAutostartLog, log_tail(kAutostartLog));
  };
  auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  for (auto delay = std::chrono::milliseconds(2);; delay = std::min(delay * 2, std::chrono::milliseconds(50))) {
    if (answers(socket)) return ok();
    if (daemon > 0 && !alive(daemon))
      return Error::make(ErrorCode::Unavailable, "berthd exited while starting; {}", why());
    if (std::chrono::steady_clock::now() > deadline)
      return Error::make(ErrorCode::Unavailable, "berthd did not answer on unix://{} within {} s; {}", socket,
                         kReadyTimeout.count(), why());
    std::this_thread::sleep_for(delay);
  }
}

int exec_daemon(const std::vector<std::string>& args) {
  std::string berthd = find_berthd();
  if (berthd.empty()) {
    std::fprintf(stderr, "berth: no berthd binary beside berth or in PATH\n");
    return 125;
  }
  std::vector<char*> argv{const_cast<char*>(berthd.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(berthd.c_str(), argv.data());
  std::fprintf(stderr, "berth: exec %s: %s\n", berthd.c_str(), std::strerror(errno));
  return 125;
}

}  // namespace berth::cli
