#include "cli/attach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "base/strings.h"

namespace berth::cli {
namespace {

// Signals reach the poll loop through this pipe, one byte (the signal
// number) each: SIGWINCH always, the proxied ones with --sig-proxy.
int g_winch_pipe[2] = {-1, -1};
constexpr int kProxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
// The terminal to restore when a signal ends us in raw mode.
int g_raw_fd = -1;
termios g_saved{};

void on_signal(int sig) {
  int saved = errno;
  char c = static_cast<char>(sig);
  if (g_winch_pipe[1] >= 0 && ::write(g_winch_pipe[1], &c, 1) < 0) {
  }
  errno = saved;
}

void on_fatal(int sig) {
  if (g_raw_fd >= 0) ::tcsetattr(g_raw_fd, TCSANOW, &g_saved);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

bool write_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool send_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Result<std::string> parse_detach_keys(const std::string& spec) {
  std::string keys;
  for (const auto& part : split(spec.empty() ? "ctrl-p,ctrl-q" : spec, ',')) {
    std::string k(trim(part));
    if (k.size() == 1) {
      keys += k;
    } else if (k.size() == 6 && k.starts_with("ctrl-")) {
      char c = k[5];
      if (c >= 'a' && c <= 'z') keys += static_cast<char>(c - 'a' + 1);
      else if (c == '@') keys += '\0';
      else if (c >= '[' && c <= '_') keys += static_cast<char>(c - '[' + 27);
      else return Error::invalid("Invalid escape keys ({}) provided", spec);
    } else {
      return Error::invalid("Invalid escape keys ({}) provided", spec);
    }
  }
  return keys;
}

void FrameDemux::feed(std::string_view data) {
  buf_.append(data);
  size_t off = 0;
  while (buf_.size() - off >= 8) {
    auto* h = reinterpret_cast<const unsigned char*>(buf_.data() + off);
    size_t len = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | h[7];
    if (buf_.size() - off - 8 < len) break;
    write_(h[0], std::string_view(buf_).substr(off + 8, len));
    off += 8 + len;
  }
  buf_.erase(0, off);
}

bool terminal_size(int fd, int& rows, int& cols) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return false;
  rows = ws.ws_row;
  cols = ws.ws_col;
  return true;
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  termios t{};
  if (!::isatty(fd) || ::tcgetattr(fd, &t) != 0) return;
  g_saved = t;
  g_raw_fd = fd;
  for (int sig : {SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV}) ::signal(sig, on_fatal);
  ::cfmakeraw(&t);
  if (::tcsetattr(fd, TCSANOW, &t) == 0) active_ = true;
}

RawTerminal::~RawTerminal() {
  if (active_) ::tcsetattr(fd_, TCSANOW, &g_saved);
  g_raw_fd = -1;
}

Result<AttachEnd> run_attach(Hijacked& conn, const AttachOptions& opts) {
  int sock = conn.fd.get();
  std::string keys = BERTH_TRY(parse_detach_keys(opts.detach_keys));
  std::string system_error;
  FrameDemux demux([&](int stream, std::string_view data) {
    if (stream == 3) system_error.append(data);
    else write_fd(stream == 2 ? 2 : 1, data);
  });
  auto output = [&](std::string_view data) {
    if (opts.tty) write_fd(1, data);
    else demux.feed(data);
  };
  if (!conn.buffered.empty()) output(conn.buffered);

  bool input = opts.attach_stdin;
  if (!input) ::shutdown(sock, SHUT_WR);

  bool resize = opts.tty && opts.resize;
  if ((resize || opts.forward_signal) && ::pipe2(g_winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    if (resize) ::sigaction(SIGWINCH, &sa, nullptr);
    if (opts.forward_signal)
      for (int sig : kProxied) ::sigaction(sig, &sa, nullptr);
  }
  if (resize) {
    int r, c;
    if (terminal_size(1, r, c) || terminal_size(0, r, c)) opts.resize(r, c);
  }

  std::string held;  // input bytes that may be the start of the detach keys
  AttachEnd end = AttachEnd::Eof;
  char buf[32768];
  for (;;) {
    pollfd fds[3] = {{sock, POLLIN, 0}, {input ? 0 : -1, POLLIN, 0}, {g_winch_pipe[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "poll");
    }
    if (fds[2].revents & POLLIN) {
      ssize_t n;
      bool winch = false;
      while ((n = ::read(g_winch_pipe[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; ++i) {
          if (buf[i] == SIGWINCH) winch = true;
          else if (opts.forward_signal) opts.forward_signal(buf[i]);
        }
      }
      int r, c;
      if (winch && opts.resize && (terminal_size(1, r, c) || terminal_size(0, r, c))) opts.resize(r, c);
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // End of input: half-close so the container sees EOF on its stdin,
        // and keep reading its output.
        if (!held.empty()) send_fd(sock, held);
        ::shutdown(sock, SHUT_WR);
        input = false;
      } else if (opts.tty) {
        std::string out;
        for (ssize_t i = 0; i < n; ++i) {
          char ch = buf[i];
          if (ch == keys[held.size()]) {
            held += ch;
            if (held.size() == keys.size()) {
              end = AttachEnd::Detached;
              break;
            }
          } else {
            out += held;
            held.clear();
            if (ch == keys[0]) held += ch;
            else out += ch;
          }
        }
        if (!out.empty() && !send_fd(sock, out)) input = false;
        if (end == AttachEnd::Detached) break;
      } else if (!send_fd(sock, std::string_view(buf, static_cast<size_t>(n)))) {
        input = false;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(sock, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != ECONNRESET) return Error::sys(errno, "read the container's output");
      if (n <= 0) break;
      output(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  if (g_winch_pipe[0] >= 0) {
    ::signal(SIGWINCH, SIG_DFL);
    if (opts.forward_signal)
      for (int sig : kProxied) ::signal(sig, g_raw_fd >= 0 && sig != SIGINT && sig != SIGUSR1 && sig != SIGUSR2 ? on_fatal : SIG_DFL);
    ::close(g_winch_pipe[0]);
    ::close(g_winch_pipe[1]);
    g_winch_pipe[0] = g_winch_pipe[1] = -1;
  }
  if (!system_error.empty()) return Error::internal("{}", system_error);
  return end;
}

}  // namespace berth::cli
