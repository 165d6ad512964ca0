// The HTTP surface handlers see: a request (method, path, query, headers,
// the caller's identity, a body pulled on demand) and a response (a whole
// body, a chunked stream, or — for attach and exec — the raw connection).
// Boost.Beast stays inside server.cpp; handlers compile without it.
//
// Usage in a handler:
//   void tag(Request& req, Response& res) {
//     auto repo = req.query_value("repo");
//     ...
//     res.empty(201);
//   }
//   res.json(200, j);                 // Content-Type: application/json
//   res.error(err);                   // {"message": ...} with err's status
//   BERTH_TRY(res.begin_stream(200, "application/x-tar")); res.write(...); res.end_stream();
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace berth::api {

// Who is on the other end of the socket (SO_PEERCRED), taken when the
// connection is accepted: the kernel's word, not anything the client says.
struct Caller {
  pid_t pid = -1;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  bool is_root() const { return uid == 0; }
};

class Request {
 public:
  virtual ~Request() = default;

  std::string method;       // "GET"
  std::string path;         // without the /vX.Y prefix, percent-decoded
  std::string api_version;  // "1.41": the prefix's, or the newest we speak
  std::map<std::string, std::vector<std::string>> query;
  std::map<std::string, std::string> params;  // from the route pattern
  Caller caller;

  virtual std::optional<std::string> header(std::string_view name) const = 0;
  // Up to len bytes of the body (chunked or not); 0 at its end.
  virtual Result<size_t> read_body(void* buf, size_t len) = 0;

  Result<std::string> read_body_all(size_t max);
  // The body as JSON; an empty body is an empty object.
  Result<Json> read_json(size_t max = 4 << 20);
  std::optional<std::string> query_value(const std::string& key) const;
  std::vector<std::string> query_values(const std::string& key) const;
  // moby's BoolValue: "", "0", "no", "false", "none" (any case) are false.
  bool query_bool(const std::string& key) const;
  Result<std::optional<int64_t>> query_int(const std::string& key) const;
  // filters=, in both shapes clients send: {"k":{"v":true}} and {"k":["v"]}.
  Result<std::map<std::string, std::vector<std::string>>> filters() const;
};

class Response {
 public:
  virtual ~Response() = default;

  virtual void send(int status, std::string_view content_type, std::string_view body) = 0;
  void json(int status, const Json& j) { send(status, "application/json", j.dump() + "\n"); }
  void empty(int status) { send(status, "", ""); }
  void error(const Error& e);

  // A chunked response: headers now, then any number of writes.
  virtual Result<void> begin_stream(int status, std::string_view content_type) = 0;
  virtual Result<void> write(std::string_view data) = 0;
  virtual Result<void> end_stream() = 0;
  // A JSON-lines stream (load, import, events): one object per write.
  Result<void> write_json(const Json& j) { return write(j.dump() + "\n"); }

  // Attach and exec start: the response head (101 UPGRADED when the client
  // asked to upgrade, else a bare 200), then the raw connection is the
  // handler's until it returns; it is never reused. `pending` holds bytes
  // the client sent past the request (stdin typed before the container
  // started). The descriptor stays the server's, which closes it.
  struct Hijacked {
    int fd = -1;
    std::string pending;
  };
  virtual Result<Hijacked> hijack(std::string_view content_type) = 0;

  virtual bool started() const = 0;
  // The client closed its end (for long streams: events, logs -f).
  virtual bool client_gone() const = 0;
};

int http_status(ErrorCode code);

// `s` as a JSON string, quotes included, appended to `out`: for answers
// written as text rather than built as a Json (a list of hundreds of
// containers). Bytes of 0x80 and up pass as they are: `s` must be UTF-8.
void append_json_string(std::string& out, std::string_view s);

}  // namespace berth::api
