#include "api/server.h"

#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <system_error>
#include <thread>

#include "base/log.h"
#include "base/strings.h"

namespace berth::api {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace {

// A connection as Beast's blocking stream: readv(2) and sendmsg(2) on its
// descriptor, which it owns. An asio socket opened an epoll instance, an
// eventfd and a timerfd for every connection (nine system calls before the
// request was read, four more after) for I/O that blocks anyway.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  int native_handle() const { return fd_.get(); }

  template <class Buffers>
  size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
    Iov v(buffers);
    return transfer(v, ec, [&] { return ::readv(fd_.get(), v.iov, v.count); });
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
    Iov v(buffers);
    msghdr m{};
    m.msg_iov = v.iov;
    m.msg_iovlen = static_cast<size_t>(v.count);
    return transfer(v, ec, [&] { return ::sendmsg(fd_.get(), &m, MSG_NOSIGNAL); });
  }
  template <class Buffers>
  size_t read_some(const Buffers& buffers) {
    return or_throw([&](boost::system::error_code& ec) { return read_some(buffers, ec); });
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers) {
    return or_throw([&](boost::system::error_code& ec) { return write_some(buffers, ec); });
  }

 private:
  // The first buffers of a sequence (a partial transfer is the caller's to
  // continue, as with any stream).
  struct Iov {
    template <class Buffers>
    explicit Iov(const Buffers& buffers) {
      for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers) && count < 64; ++it) {
        auto b = *it;
        if (b.size() == 0) continue;
        iov[count++] = {const_cast<void*>(static_cast<const void*>(b.data())), b.size()};
        bytes += b.size();
      }
    }
    iovec iov[64];
    int count = 0;
    size_t bytes = 0;
  };
  template <class Io>
  static size_t transfer(const Iov& v, boost::system::error_code& ec, Io io) {
    ec = {};
    if (v.bytes == 0) return 0;
    for (;;) {
      ssize_t n = io();
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) {
        ec = net::error::eof;
        return 0;
      }
      if (errno != EINTR) {
        ec.assign(errno, boost::system::system_category());
        return 0;
      }
    }
  }
  template <class Op>
  static size_t or_throw(Op op) {
    boost::system::error_code ec;
    size_t n = op(ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  Fd fd_;
};


constexpr size_t kHeaderLimit = 64 << 10;

std::string percent_decode(std::string_view s, bool* ok) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    auto v = i + 2 < s.size() ? parse_uint(s.substr(i + 1, 2), 16) : std::nullopt;
    if (!v) {
      *ok = false;
      return out;
    }
    out.push_back(static_cast<char>(*v));
    i += 2;
  }
  return out;
}

std::string query_decode(std::string_view s, bool* ok) {
  std::string plus(s);
  for (auto& c : plus)
    if (c == '+') c = ' ';
  return percent_decode(plus, ok);
}

void add_common_headers(http::fields& f) {
  f.set("Api-Version", kMaxApiVersion);
  f.set("Docker-Experimental", "false");
  f.set("Ostype", "linux");
  f.set(http::field::server, "Berth/0.1.0 (linux)");
}

class BeastRequest final : public Request {
 public:
  BeastRequest(Socket& sock, boost::beast::flat_buffer& buf,
               http::request_parser<http::buffer_body>& parser)
      : sock_(sock), buf_(buf), parser_(parser) {}

  std::optional<std::string> header(std::string_view name) const override {
    auto it = parser_.get().find(boost::beast::string_view(name.data(), name.size()));
    if (it == parser_.get().end()) return std::nullopt;
    return std::string(it->value());
  }

  Result<size_t> read_body(void* out, size_t len) override {
    if (len == 0 || parser_.is_done()) return size_t{0};
    for (;;) {
      auto& body = parser_.get().body();
      body.data = out;
      body.size = len;
      boost::system::error_code ec;
      http::read(sock_, buf_, parser_, ec);
      size_t n = len - body.size;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return Error::invalid("read request body: {}", ec.message());
      if (n > 0 || parser_.is_done()) return n;
    }
  }

 private:
  Socket& sock_;
  boost::beast::flat_buffer& buf_;
  http::request_parser<http::buffer_body>& parser_;
};

class BeastResponse final : public Response {
 public:
  BeastResponse(Socket& sock, bool head, bool keep_alive, unsigned version, BeastRequest& req,
                boost::beast::flat_buffer& buf)
      : sock_(sock), head_(head), keep_alive_(keep_alive), version_(version), req_(req), buf_(buf) {}

  Result<Hijacked> hijack(std::string_view content_type) override {
    if (started_) return Error::internal("response already started");
    // What is left of the body goes first; what follows it is the stream's.
    char sink[16 << 10];
    for (;;) {
      auto n = BERTH_TRY(req_.read_body(sink, sizeof sink));
      if (n == 0) break;
    }
    started_ = true;
    hijacked_ = true;
    std::string head;
    auto upgrade = req_.header("Upgrade");
    if (upgrade) {
      head = fmt::format(
          "HTTP/1.1 101 UPGRADED\r\nContent-Type: {}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
          "Api-Version: {}\r\n\r\n",
          content_type, kMaxApiVersion);
    } else {
      head = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: {}\r\nApi-Version: {}\r\n\r\n", content_type,
                         kMaxApiVersion);
    }
    boost::system::error_code ec;
    net::write(sock_, net::buffer(head), ec);
    if (ec) {
      broken_ = true;
      return Error::make(ErrorCode::Unavailable, "client went away: {}", ec.message());
    }
    Hijacked h;
    h.fd = sock_.native_handle();
    auto data = buf_.data();
    h.pending.assign(static_cast<const char*>(data.data()), data.size());
    buf_.consume(buf_.size());
    return h;
  }

  void send(int status, std::string_view content_type, std::string_view body) override {
    if (started_) return;
    started_ = true;
    http::response<http::string_body> res{static_cast<http::status>(status), version_};
    add_common_headers(res.base());
    if (!content_type.empty()) res.set(http::field::content_type, std::string(content_type));
    res.keep_alive(keep_alive_);
    if (!head_) res.body() = std::string(body);
    res.content_length(body.size());
    boost::system::error_code ec;
    if (head_) {
      http::response_serializer<http::string_body> sr{res};
      http::write_header(sock_, sr, ec);
    } else {
      http::write(sock_, res, ec);
    }
    if (ec) broken_ = true;
  }

  Result<void> begin_stream(int status, std::string_view content_type) override {
    if (started_) return Error::internal("response already started");
    started_ = true;
    streaming_ = true;
    http::response<http::empty_body> res{static_cast<http::status>(status), version_};
    add_common_headers(res.base());
    res.set(http::field::content_type, std::string(content_type));
    res.keep_alive(keep_alive_);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    boost::system::error_code ec;
    http::write_header(sock_, sr, ec);
    if (ec) {
      broken_ = true;
      return Error::make(ErrorCode::Unavailable, "client went away: {}", ec.message());
    }
    return ok();
  }

  Result<void> write(std::string_view data) override {
    if (!streaming_) return Error::internal("write without begin_stream");
    if (data.empty()) return ok();
    boost::system::error_code ec;
    net::write(sock_, http::make_chunk(net::const_buffer(data.data(), data.size())), ec);
    if (ec) {
      broken_ = true;
      return Error::make(ErrorCode::Unavailable, "client went away: {}", ec.message());
    }
    return ok();
  }

  Result<void> end_stream() override {
    if (!streaming_) return ok();
    streaming_ = false;
    boost::system::error_code ec;
    net::write(sock_, http::make_chunk_last(), ec);
    if (ec) broken_ = true;
    return ok();
  }

  bool started() const override { return started_; }
  bool client_gone() const override {
    pollfd p{sock_.native_handle(), POLLRDHUP, 0};
    return broken_ || (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0);
  }
  bool broken() const { return broken_ || hijacked_; }
  bool streaming() const { return streaming_; }

 private:
  Socket& sock_;
  bool head_, keep_alive_;
  unsigned version_;
  bool started_ = false, streaming_ = false, broken_ = false, hijacked_ = false;
  BeastRequest& req_;
  boost::beast::flat_buffer& buf_;
};

void write_plain_error(Socket& sock, http::status status, std::string_view msg) {
  http::response<http::string_body> res{status, 11};
  add_common_headers(res.base());
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = Json{{"message", std::string(msg)}}.dump() + "\n";
  res.prepare_payload();
  boost::system::error_code ec;
  http::write(sock, res, ec);
  // The client may still be sending the request we refused: closing with
  // its bytes unread would reset the connection, and it would see a broken
  // pipe instead of our answer. Half-close, then discard what it sends for
  // a bounded time and size (the "lingering close" of RFC 9112 9.6).
  int fd = sock.native_handle();
  ::shutdown(fd, SHUT_WR);
  timeval tv{0, 200'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char sink[16 << 10];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (std::size_t total = 0; total < (4u << 20) && std::chrono::steady_clock::now() < deadline;) {
    ssize_t n = ::read(fd, sink, sizeof sink);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
}

void serve_connection(int fd, const Router& router) {
  Socket sock(fd);
  boost::system::error_code ec;
  Caller caller;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    caller.pid = cred.pid;
    caller.uid = cred.uid;
    caller.gid = cred.gid;
  }
  boost::beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read_header(sock, buf, parser, ec);
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset)
      return;
    if (ec == http::error::header_limit) {
      write_plain_error(sock, http::status::request_header_fields_too_large,
                        "request headers are larger than 64 KiB");
      return;
    }
    if (ec) {
      write_plain_error(sock, http::status::bad_request, "malformed request: " + ec.message());
      return;
    }
    auto& msg = parser.get();
    BeastRequest req(sock, buf, parser);
    req.method = std::string(msg.method_string());
    req.caller = caller;
    std::string target(msg.target());
    auto qpos = target.find('?');
    bool ok_decode = true;
    std::string raw_path = target.substr(0, qpos);
    // Decode each segment on its own: an encoded slash stays inside its
    // segment instead of becoming a separator.
    std::vector<std::string> segs;
    for (auto& s : split(raw_path, '/')) {
      std::string d = percent_decode(s, &ok_decode);
      // ".." and encoded slashes have no business in an API path: refuse
      // them rather than guess which object the client meant.
      if (d == ".." || d.find('/') != std::string::npos || d.find('\0') != std::string::npos)
        ok_decode = false;
      segs.push_back(std::move(d));
    }
    req.path = join(segs, "/");
    if (qpos != std::string::npos) {
      for (auto& kv : split(std::string_view(target).substr(qpos + 1), '&')) {
        if (kv.empty()) continue;
        auto eq = kv.find('=');
        std::string k = query_decode(kv.substr(0, eq), &ok_decode);
        std::string v = eq == std::string::npos ? "" : query_decode(kv.substr(eq + 1), &ok_decode);
        req.query[k].push_back(std::move(v));
      }
    }
    bool keep_alive = msg.keep_alive();
    BeastResponse res(sock, req.method == "HEAD", keep_alive, msg.version(), req, buf);
    if (!ok_decode || raw_path.empty() || raw_path[0] != '/') {
      res.error(Error::invalid("malformed request path"));
    } else {
      try {
        log::debug("api: {} {} (uid {})", req.method, req.path, caller.uid);
        router.dispatch(req, res);
        log::debug("api: {} {} done", req.method, req.path);
      } catch (const std::exception& e) {
        // A handler bug must cost one request, never the daemon.
        log::error("api: {} {}: {}", req.method, req.path, e.what());
        if (!res.started()) res.error(Error::internal("internal error: {}", e.what()));
      }
      if (!res.started()) res.error(Error::internal("handler sent no response"));
      if (res.streaming()) (void)res.end_stream();
    }
    if (res.broken() || !keep_alive) return;
    // Whatever body the handler did not read must go before the next request.
    char sink[16 << 10];
    for (;;) {
      auto n = req.read_body(sink, sizeof sink);
      if (!n) return;
      if (*n == 0) break;
    }
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::listen(const std::string& path, const ListenOptions& opts) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error::invalid("socket path too long: {}", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::sys(errno, "socket");
  // A socket file left by a daemon that died: nobody answers on it.
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
    return Error::make(ErrorCode::AlreadyExists, "another daemon is listening on {}", path);
  fd.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ::unlink(path.c_str());
  // Create the socket with the final mode: no window in which it is wider.
  mode_t old = umask(0777 & ~opts.mode);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int e = errno;
  umask(old);
  if (rc != 0) return Error::sys(e, "bind {}", path);
  if (!opts.group.empty()) {
    if (group* g = getgrnam(opts.group.c_str()); g != nullptr) {
      if (chown(path.c_str(), 0, g->gr_gid) != 0) return Error::sys(errno, "chown {}", path);
    }
  }
  if (chmod(path.c_str(), opts.mode) != 0) return Error::sys(errno, "chmod {}", path);
  if (::listen(fd.get(), 128) != 0) return Error::sys(errno, "listen {}", path);
  return std::unique_ptr<Server>(new Server(path, std::move(fd)));
}

Server::~Server() { stop(); }

// Threads wait in accept() and serve the connection they take themselves:
// a request wakes one sleeping thread, where a hand-over from an acceptor
// to a worker woke two (on this kind of VM a wake-up of an idle CPU is a
// tenth of a millisecond, and `berth ps` is a few). Every connection still
// has a thread of its own (attach and wait hold theirs for the life of a
// container): the thread that takes the last waiting place starts another,
// and one whose connection ends waits again unless kIdleWorkers do.
struct Acceptors {
  // Close-on-exec like the server's own: no shim or container inherits it.
  explicit Acceptors(int fd) : listener(::fcntl(fd, F_DUPFD_CLOEXEC, 0)) {}
  Fd listener;  // the threads' own: they may outlive the server and its fd
  std::atomic<size_t> waiting{0};
  std::atomic<bool> stopping{false};  // stop() was called
  std::atomic<bool> trim_due{false};  // connections ended since the last heap check
};

namespace {
// Free heap bytes above which a quiet daemon trims the heap.
constexpr size_t kTrimAbove = size_t{4} << 20;
// Threads that wait for the next connection once theirs is done.
constexpr size_t kIdleWorkers = 4;

// A load or a save leaves megabytes free in a thread's arena: give them
// back, an idle daemon should stay small. Only then: a trim after every
// request costs each next one its page faults. And only once things are
// quiet: mallinfo2 walks every arena, which is a tenth of the daemon's
// time in a `docker run` when done after each of its connections.
void trim_heap_if_large() {
  if (mallinfo2().fordblks > kTrimAbove) malloc_trim(0);
}

// A second without a new connection: then the heap check that is due.
void trim_when_quiet(Acceptors& a) {
  if (!a.trim_due.exchange(false)) return;
  pollfd p{a.listener.get(), POLLIN, 0};
  if (::poll(&p, 1, 1000) == 0)
    trim_heap_if_large();
  else
    a.trim_due = true;
}

void accept_and_serve(const std::shared_ptr<Acceptors>& a, const Router& router, bool keep) {
  for (;;) {
    trim_when_quiet(*a);
    int c = accept4(a->listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (a->stopping.load()) break;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        usleep(10000);
        continue;
      }
      log::error("api: accept: {}", Error::errno_text(errno));
      break;
    }
    if (a->waiting.fetch_sub(1) == 1) {
      a->waiting++;  // the new thread's place, taken now: one start, not two
      try {
        std::thread([a, &router] { accept_and_serve(a, router, false); }).detach();
      } catch (const std::system_error& e) {
        a->waiting--;
        log::error("api: no thread for the next connection: {}", e.what());
      }
    }
    serve_connection(c, router);
    a->trim_due = true;
    if (!keep && a->waiting.load() >= kIdleWorkers) return;
    a->waiting++;
  }
  a->waiting--;
}
}  // namespace

Server::Server(std::string path, Fd fd)
    : path_(std::move(path)), fd_(std::move(fd)), acceptors_(std::make_shared<Acceptors>(fd_.get())) {}

void Server::serve(const Router& router) {
  if (acceptors_->stopping.load()) return;
  acceptors_->waiting++;
  accept_and_serve(acceptors_, router, true);
}

void Server::stop() {
  if (acceptors_->stopping.exchange(true)) return;
  ::shutdown(fd_.get(), SHUT_RDWR);
  ::unlink(path_.c_str());
}

}  // namespace berth::api
