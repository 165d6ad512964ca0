#include "sys/fd_passing.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace berth::sys {

Result<Fd> connect_unix(const std::string& path) {
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::sys(errno, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error::invalid("socket path too long: {}", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  while (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno == EINTR) continue;
    return Error::sys(errno, "connect {}", path);
  }
  return s;
}

Result<void> send_fd(int sock, int fd, std::string_view name) {
  std::string payload(name.empty() ? std::string_view("fd") : name);
  iovec iov{payload.data(), payload.size()};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno == EINTR) continue;
    return Error::sys(errno, "send descriptor");
  }
  return {};
}

Result<Message> recv_message(int sock) {
  char data[512];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno == EINTR) continue;
    return Error::sys(errno, "receive descriptor");
  }
  Message out;
  out.payload.assign(data, static_cast<size_t>(n));
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      out.fd = Fd(fd);
    }
  }
  return out;
}

Result<Fd> recv_fd(int sock) {
  auto m = BERTH_TRY(recv_message(sock));
  if (!m.fd) return Error::internal("receive descriptor: message carried none");
  return std::move(m.fd);
}

}  // namespace berth::sys
