#include "api/stream_proxy.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/strings.h"

namespace berth::api {

namespace {

bool write_all_fd(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      pollfd pf{fd, POLLOUT, 0};
      ::poll(&pf, 1, 1000);
      continue;
    }
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

bool peer_closed(int fd) {
  pollfd p{fd, 0, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

bool parse_detach_keys(std::string_view spec, std::string* out) {
  out->clear();
  if (spec.empty()) return true;
  for (auto& k : split(spec, ',')) {
    std::string key(trim(k));
    if (key.size() == 1) {
      out->push_back(key[0]);
    } else if (key.rfind("ctrl-", 0) == 0 && key.size() == 6) {
      char c = key[5];
      if (c >= 'a' && c <= 'z') out->push_back(static_cast<char>(c - 'a' + 1));
      else if (c == '@') out->push_back(0);
      else if (c >= '[' && c <= '_') out->push_back(static_cast<char>(c - '[' + 27));
      else return false;
    } else {
      return false;
    }
  }
  return true;
}

void proxy_stream(int client_fd, std::string pending, int stream_fd, const ProxyOptions& opts) {
  size_t matched = 0;  // how much of the detach sequence the input has ended with
  // Input goes through here: detach keys end the stream without passing on.
  auto input = [&](const char* p, size_t n) -> bool {
    std::string out;
    for (size_t i = 0; i < n; i++) {
      if (!opts.detach_keys.empty()) {
        if (p[i] == opts.detach_keys[matched]) {
          if (++matched == opts.detach_keys.size()) return false;
          continue;
        }
        // Not the sequence after all: what was held back goes on.
        out.append(opts.detach_keys, 0, matched);
        matched = 0;
        if (p[i] == opts.detach_keys[0]) {
          matched = 1;
          if (matched == opts.detach_keys.size()) return false;
          continue;
        }
      }
      out.push_back(p[i]);
    }
    if (opts.forward_stdin && !out.empty()) (void)write_all_fd(stream_fd, out.data(), out.size());
    return true;
  };
  if (!pending.empty() && !input(pending.data(), pending.size())) return;
  bool client_open = true;
  char buf[32 << 10];
  for (;;) {
    pollfd p[2] = {{stream_fd, POLLIN, 0}, {client_fd, static_cast<short>(client_open ? POLLIN : 0), 0}};
    int n = ::poll(p, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = ::read(stream_fd, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        // The process's output has ended: so has the client's stream.
        ::shutdown(client_fd, SHUT_WR);
        return;
      }
      if (!write_all_fd(client_fd, buf, static_cast<size_t>(r))) return;
    }
    if (p[1].revents & POLLIN) {
      ssize_t r = ::read(client_fd, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        client_open = false;
        ::shutdown(stream_fd, SHUT_WR);
      } else if (!input(buf, static_cast<size_t>(r))) {
        return;
      }
    } else if (p[1].revents & (POLLHUP | POLLERR)) {
      return;
    }
  }
}

void wait_until_read(int client_fd, int limit_ms) {
  // SIOCOUTQ: bytes sent and not yet read by the peer.
  for (int waited_us = 0; waited_us < limit_ms * 1000; waited_us += 100) {
    int unread = 0;
    if (::ioctl(client_fd, SIOCOUTQ, &unread) < 0 || unread == 0) return;
    ::usleep(100);
  }
}

}  // namespace berth::api
