// Server: the Docker Engine API on a Unix socket.
//
// Usage:
//   Router r;  register_system_routes(r, ...);  register_image_routes(r, ...);
//   auto s = BERTH_TRY(Server::listen("/run/berth/berth.sock", {}));
//   s->serve(r);   // blocks; stop() from another thread (signal handler thread)
//
// One thread per connection, blocking I/O: the handlers block (a load
// streams hundreds of MiB into the image store; attach and exec hold their
// connection for the container's life), and a thread per connection keeps
// each of them a straight line of code. Idle connections cost a parked
// thread; the client count of a container engine is small.
//
// HTTP/1.1 with keep-alive, chunked request bodies pulled by the handler
// as it needs them, headers up to 64 KiB (431 beyond), and the headers the
// docker CLI expects on every answer (Api-Version, Ostype, Server).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "api/router.h"
#include "base/fd.h"
#include "base/result.h"

namespace berth::api {

struct Acceptors;

struct ListenOptions {
  mode_t mode = 0660;
  // Group owner of the socket, when that group exists ("berth").
  std::string group = "berth";
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> listen(const std::string& path, const ListenOptions& opts);
  ~Server();
  // Accept until stop(); each connection in a thread of its own (a new
  // one, or one of a few kept waiting in accept from finished connections).
  void serve(const Router& router);
  void stop();
  const std::string& path() const { return path_; }

 private:
  Server(std::string path, Fd fd);
  std::string path_;
  Fd fd_;
  std::shared_ptr<Acceptors> acceptors_;  // the serving threads' state, which may outlive the server
};

}  // namespace berth::api
