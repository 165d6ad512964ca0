#include "engine/shim_spawn.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <unistd.h>

namespace berth::engine {

Result<std::pair<Fd, Fd>> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return Error::sys(errno, "pipe");
  return std::pair<Fd, Fd>{Fd(p[0]), Fd(p[1])};
}

Result<Fd> listen_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error::invalid("socket path too long: {}", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) return Error::sys(errno, "socket");
  ::unlink(path.c_str());
  // The umask makes the socket 0600 from birth: no window where another
  // user could connect before a chmod.
  mode_t old = ::umask(077);
  int rc = ::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc < 0) return Error::sys(err, "bind {}", path);
  if (::listen(s.get(), 16) < 0) return Error::sys(errno, "listen {}", path);
  return s;
}

}  // namespace berth::engine
