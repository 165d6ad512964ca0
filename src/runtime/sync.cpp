#include "runtime/sync.h"

#include <sys/socket.h>

#include <cstring>
#include <algorithm>

namespace berth::runtime {

namespace {
struct Header {
  uint32_t type;
  uint32_t pad;
  int64_t value;
};
constexpr size_t kMaxMessage = 256 * 1024;
}  // namespace

Result<void> sync_send(int fd, SyncMsg type, std::string_view text, int64_t value) {
  std::string buf(sizeof(Header) + text.size(), '\0');
  Header h{static_cast<uint32_t>(type), 0, value};
  std::memcpy(buf.data(), &h, sizeof h);
  std::memcpy(buf.data() + sizeof h, text.data(), text.size());
  while (::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL) < 0) {
    if (errno == EINTR) continue;
    return Error::sys(errno, "sync send");
  }
  return {};
}

Result<SyncMessage> sync_recv(int fd, const char* waiting_for) {
  // Peek at the datagram's length first: most messages are 16 bytes, and a
  // fixed 256 KiB buffer costs page faults on every step of every start.
  char probe;
  ssize_t len;
  while ((len = ::recv(fd, &probe, 1, MSG_PEEK | MSG_TRUNC)) < 0) {
    if (errno == EINTR) continue;
    return Error::sys(errno, "waiting for {}", waiting_for);
  }
  if (len == 0) return Error::internal("container init exited while waiting for {}", waiting_for);
  std::string buf(static_cast<size_t>(std::min<ssize_t>(len, kMaxMessage)), '\0');
  ssize_t n;
  while ((n = ::recv(fd, buf.data(), buf.size(), 0)) < 0) {
    if (errno == EINTR) continue;
    return Error::sys(errno, "waiting for {}", waiting_for);
  }
  if (n == 0) return Error::internal("container init exited while waiting for {}", waiting_for);
  if (static_cast<size_t>(n) < sizeof(Header)) return Error::internal("short sync message");
  Header h;
  std::memcpy(&h, buf.data(), sizeof h);
  SyncMessage m;
  m.type = static_cast<SyncMsg>(h.type);
  m.value = h.value;
  m.text.assign(buf.data() + sizeof h, static_cast<size_t>(n) - sizeof h);
  return m;
}

Result<SyncMessage> sync_expect(int fd, SyncMsg want, const char* waiting_for) {
  auto m = BERTH_TRY(sync_recv(fd, waiting_for));
  if (m.type == SyncMsg::Error) return Error(ErrorCode::Internal, m.text, static_cast<int>(m.value));
  if (m.type != want)
    return Error::internal("unexpected sync message {} while waiting for {}", static_cast<int>(m.type),
                           waiting_for);
  return m;
}

}  // namespace berth::runtime
