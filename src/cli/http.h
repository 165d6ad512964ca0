// A small HTTP/1.1 client for the Docker Engine API over a Unix socket.
//
// Written by hand rather than with Boost.Beast: the CLI sends one request a
// connection and must start in a few milliseconds, and the three body shapes
// it meets (Content-Length, chunked, read-to-EOF) plus the 101 hijack are a
// few hundred lines.
//
// Usage:
//   Client c("/run/berth/berth.sock");
//   auto r = BERTH_TRY(c.call("GET", "/containers/json?all=1"));   // whole body
//   auto s = BERTH_TRY(c.open("GET", "/containers/x/logs?follow=1")); // streamed
//   while (auto n = BERTH_TRY(s.read(buf, sizeof buf))) ...
//   auto h = BERTH_TRY(c.hijack("POST", "/containers/x/attach?stream=1", ""));
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/json.h"
#include "base/result.h"

namespace berth::cli {

// Header names are kept lower-case.
using Headers = std::map<std::string, std::string>;

struct ResponseHead {
  int status = 0;
  std::string reason;
  Headers headers;
};

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n" (the text up to and
// including the blank line). Grammar accepted:
//   status-line = "HTTP/1." DIGIT SP 3DIGIT [SP reason] CRLF
//   header      = name ":" OWS value OWS CRLF
Result<ResponseHead> parse_response_head(std::string_view text);

// Incremental decoder of a chunked body:
//   chunk = hex-size [";" ext] CRLF data CRLF ; last-chunk = "0" CRLF [trailers] CRLF
// feed() consumes what it can of `in` and appends payload to `out`.
class ChunkedDecoder {
 public:
  // Returns the number of bytes of `in` consumed; error on a malformed size.
  Result<size_t> feed(std::string_view in, std::string& out);
  bool done() const { return state_ == State::Done; }

 private:
  enum class State { Size, Data, DataCrlf, Trailer, Done };
  State state_ = State::Size;
  std::string line_;
  uint64_t left_ = 0;
};

// A response whose body is read as it arrives.
class BodyStream {
 public:
  BodyStream(Fd fd, ResponseHead head, std::string buffered, bool head_request);
  BodyStream(BodyStream&&) = default;

  const ResponseHead& head() const { return head_; }
  int status() const { return head_.status; }
  // Up to `max` bytes of body appended to `out`; 0 at the end of the body.
  Result<size_t> read(std::string& out, size_t max = 65536);
  Result<std::string> read_all();
  // Calls `line` for each '\n'-terminated line (JSON-lines progress streams).
  template <typename F>
  Result<void> each_line(F&& line) {
    std::string buf;
    for (;;) {
      size_t n = BERTH_TRY(read(buf));
      size_t pos;
      while ((pos = buf.find('\n')) != std::string::npos) {
        BERTH_TRY(line(std::string_view(buf).substr(0, pos)));
        buf.erase(0, pos + 1);
      }
      if (n == 0) break;
    }
    if (!trim_empty(buf)) BERTH_TRY(line(std::string_view(buf)));
    return ok();
  }
  int fd() const { return fd_.get(); }

 private:
  static bool trim_empty(const std::string& s) { return s.find_first_not_of(" \r\n\t") == std::string::npos; }
  Result<size_t> fill();  // more raw bytes into raw_; 0 at EOF

  Fd fd_;
  ResponseHead head_;
  std::string raw_;  // bytes read from the socket, not yet decoded
  bool chunked_ = false;
  bool has_length_ = false;
  uint64_t length_left_ = 0;
  bool eof_ = false;
  ChunkedDecoder chunks_;
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
  // The daemon's {"message": ...} when there is one, else the body.
  std::string message() const;
  Result<Json> json() const;
};

// A hijacked connection: the socket after "101 UPGRADED", and whatever bytes
// of the raw stream arrived with the response head.
struct Hijacked {
  Fd fd;
  std::string buffered;
};

class Client {
 public:
  // With `autostart`, a connection that finds nothing listening starts
  // berthd (see autostart.h) and tries once more.
  explicit Client(std::string socket_path, bool autostart = false)
      : path_(std::move(socket_path)), autostart_(autostart) {}
  const std::string& socket_path() const { return path_; }

  Result<BodyStream> open(std::string_view method, std::string_view target,
                          std::string_view body = {}, std::string_view content_type = "application/json",
                          Headers extra = {});
  // The request body is read from `body_fd` and sent chunked (load, import).
  Result<BodyStream> open_upload(std::string_view method, std::string_view target, int body_fd,
                                 std::string_view content_type);
  Result<Response> call(std::string_view method, std::string_view target, std::string_view body = {});
  Result<Response> call_json(std::string_view method, std::string_view target, const Json& body) {
    return call(method, target, body.dump());
  }
  Result<Hijacked> hijack(std::string_view method, std::string_view target, std::string_view body);

  // A request sent, its answer not yet read: several can be on their way
  // at once (run's attach and waits), each on its own connection.
  struct Sent {
    Fd fd;
    bool head_request = false;
  };
  Result<Sent> send(std::string_view method, std::string_view target, std::string_view body = {});
  Result<Sent> send_hijack(std::string_view method, std::string_view target, std::string_view body);
  Result<BodyStream> receive(Sent sent);
  Result<Hijacked> receive_hijack(Sent sent);

 private:
  Result<Fd> connect_socket() const;
  Result<std::pair<ResponseHead, std::string>> read_head(int fd) const;
  std::string path_;
  bool autostart_;
};

// "Error response from daemon: <message>" from a non-2xx response.
Error daemon_error(const Response& r);
std::string url_escape(std::string_view s);

}  // namespace berth::cli
