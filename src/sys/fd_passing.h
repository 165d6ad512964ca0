// Passing descriptors over Unix sockets (SCM_RIGHTS) and connecting to a
// socket path: the console socket of the runc contract sends the pty master
// this way.
#pragma once

#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace berth::sys {

Result<Fd> connect_unix(const std::string& path);
// Send one descriptor with a short name as the payload (runc sends the pty's name).
Result<void> send_fd(int sock, int fd, std::string_view name);
Result<Fd> recv_fd(int sock);
// One message: its payload and the descriptor it carried, if any (a reply
// that may or may not carry one, as the shim's attach).
struct Message {
  std::string payload;
  Fd fd;
};
Result<Message> recv_message(int sock);

}  // namespace berth::sys
