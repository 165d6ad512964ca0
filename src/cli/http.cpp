#include "cli/http.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cctype>
#include <cstring>

#include "base/strings.h"
#include "cli/autostart.h"
#include "sys/fd_passing.h"

namespace berth::cli {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// send(2) with MSG_NOSIGNAL: a daemon that hangs up is an error, not SIGPIPE.
Result<void> send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "write to the daemon");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

std::string request_text(std::string_view method, std::string_view target, std::string_view body,
                         std::string_view content_type, const Headers& extra, bool chunked) {
  std::string t = fmt::format("{} /v1.41{} HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-cli/0.1.0\r\n", method, target);
  if (chunked) {
    t += "Transfer-Encoding: chunked\r\n";
  } else if (!body.empty() || method == "POST" || method == "PUT") {
    t += fmt::format("Content-Length: {}\r\n", body.size());
  }
  if (!body.empty() || chunked) t += fmt::format("Content-Type: {}\r\n", content_type);
  for (const auto& [k, v] : extra) t += fmt::format("{}: {}\r\n", k, v);
  t += "\r\n";
  t += body;
  return t;
}

ErrorCode code_for_status(int status) {
  switch (status) {
    case 400: return ErrorCode::InvalidArgument;
    case 403: return ErrorCode::PermissionDenied;
    case 404: return ErrorCode::NotFound;
    case 409: return ErrorCode::Conflict;
    case 501: return ErrorCode::NotImplemented;
    case 503: return ErrorCode::Unavailable;
    default: return ErrorCode::Internal;
  }
}

}  // namespace

Result<ResponseHead> parse_response_head(std::string_view text) {
  ResponseHead head;
  size_t eol = text.find("\r\n");
  if (eol == std::string_view::npos) return Error::invalid("malformed HTTP response: no status line");
  std::string_view line = text.substr(0, eol);
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ')
    return Error::invalid("malformed HTTP status line: {:?}", std::string(line));
  auto code = parse_int(line.substr(9, 3));
  if (!code || *code < 100 || *code > 999) return Error::invalid("malformed HTTP status line: {:?}", std::string(line));
  head.status = static_cast<int>(*code);
  if (line.size() > 13) head.reason = std::string(line.substr(13));
  text.remove_prefix(eol + 2);
  while (!text.empty()) {
    eol = text.find("\r\n");
    if (eol == std::string_view::npos) return Error::invalid("malformed HTTP header: no CRLF");
    line = text.substr(0, eol);
    text.remove_prefix(eol + 2);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return Error::invalid("malformed HTTP header: {:?}", std::string(line));
    head.headers[lower(line.substr(0, colon))] = std::string(trim(line.substr(colon + 1)));
  }
  return head;
}

Result<size_t> ChunkedDecoder::feed(std::string_view in, std::string& out) {
  size_t used = 0;
  while (used < in.size() && state_ != State::Done) {
    switch (state_) {
      case State::Size:
      case State::DataCrlf:
      case State::Trailer: {
        char c = in[used++];
        if (c != '\n') {
          if (line_.size() > 4096) return Error::invalid("malformed chunked body: line too long");
          line_ += c;
          break;
        }
        std::string_view l = line_;
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        if (state_ == State::DataCrlf) {
          if (!l.empty()) return Error::invalid("malformed chunked body: no CRLF after data");
          state_ = State::Size;
        } else if (state_ == State::Trailer) {
          if (l.empty()) state_ = State::Done;
        } else {
          l = l.substr(0, l.find(';'));
          auto size = parse_uint(trim(l), 16);
          if (!size) return Error::invalid("malformed chunk size {:?}", std::string(l));
          left_ = *size;
          state_ = left_ == 0 ? State::Trailer : State::Data;
        }
        line_.clear();
        break;
      }
      case State::Data: {
        size_t n = std::min<uint64_t>(left_, in.size() - used);
        out.append(in.substr(used, n));
        used += n;
        left_ -= n;
        if (left_ == 0) state_ = State::DataCrlf;
        break;
      }
      case State::Done:
        break;
    }
  }
  return used;
}

BodyStream::BodyStream(Fd fd, ResponseHead head, std::string buffered, bool head_request)
    : fd_(std::move(fd)), head_(std::move(head)), raw_(std::move(buffered)) {
  auto te = head_.headers.find("transfer-encoding");
  auto cl = head_.headers.find("content-length");
  if (head_request || head_.status == 204 || head_.status == 304) {
    has_length_ = true;
    length_left_ = 0;
  } else if (te != head_.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
    chunked_ = true;
  } else if (cl != head_.headers.end()) {
    has_length_ = true;
    length_left_ = parse_uint(cl->second).value_or(0);
  }
}

Result<size_t> BodyStream::fill() {
  if (eof_) return 0;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys(errno, "read from the daemon");
    if (n == 0) eof_ = true;
    raw_.append(buf, static_cast<size_t>(n));
    return static_cast<size_t>(n);
  }
}

Result<size_t> BodyStream::read(std::string& out, size_t max) {
  for (;;) {
    if (has_length_) {
      if (length_left_ == 0) return 0;
      if (raw_.empty() && BERTH_TRY(fill()) == 0)
        return Error(ErrorCode::Unavailable, "the daemon closed the connection before the end of the response");
      size_t n = std::min<uint64_t>({length_left_, raw_.size(), max});
      out.append(raw_, 0, n);
      raw_.erase(0, n);
      length_left_ -= n;
      return n;
    }
    if (chunked_) {
      if (chunks_.done()) return 0;
      size_t before = out.size();
      size_t used = BERTH_TRY(chunks_.feed(raw_, out));
      raw_.erase(0, used);
      if (out.size() > before) return out.size() - before;
      if (chunks_.done()) return 0;
      if (BERTH_TRY(fill()) == 0)
        return Error(ErrorCode::Unavailable, "the daemon closed the connection in the middle of a response");
      continue;
    }
    // Neither length nor chunks: the body ends with the connection.
    if (raw_.empty() && BERTH_TRY(fill()) == 0) return 0;
    size_t n = std::min(raw_.size(), max);
    out.append(raw_, 0, n);
    raw_.erase(0, n);
    return n;
  }
}

Result<std::string> BodyStream::read_all() {
  std::string out;
  if (has_length_ && length_left_ <= (64u << 20)) {
    // Straight into the answer: no bounce through raw_, no regrowing.
    size_t have = std::min<size_t>(raw_.size(), length_left_);
    out.assign(raw_, 0, have);
    raw_.erase(0, have);
    out.resize(length_left_);
    while (have < out.size()) {
      ssize_t n = ::read(fd_.get(), out.data() + have, out.size() - have);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::sys(errno, "read from the daemon");
      if (n == 0)
        return Error(ErrorCode::Unavailable, "the daemon closed the connection before the end of the response");
      have += static_cast<size_t>(n);
    }
    length_left_ = 0;
    return out;
  }
  while (BERTH_TRY(read(out)) > 0) {
  }
  return out;
}

std::string Response::message() const {
  auto j = Json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  return std::string(trim(body));
}

Result<Json> Response::json() const { return parse_json(body, "the daemon's response"); }

Error daemon_error(const Response& r) {
  return Error(code_for_status(r.status), "Error response from daemon: " + r.message());
}

std::string url_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Result<Fd> Client::connect_socket() const {
  auto fd = sys::connect_unix(path_);
  int err = fd ? 0 : fd.error().sys_errno();
  if ((err == ENOENT || err == ECONNREFUSED) && autostart_) {
    // Started once per berth process at most: a second failure is reported.
    static bool tried = false;
    if (!tried) {
      tried = true;
      if (auto started = start_daemon(path_); !started)
        return Error(ErrorCode::Unavailable,
                     fmt::format("Cannot connect to the berth daemon at unix://{}: {}", path_,
                                 started.error().message()));
      fd = sys::connect_unix(path_);
      err = fd ? 0 : fd.error().sys_errno();
    }
  }
  if (fd) return fd;
  if (err == EACCES || err == EPERM)
    return Error(ErrorCode::PermissionDenied,
                 fmt::format("permission denied while trying to connect to the berth daemon socket at "
                             "unix://{}: run as root or join the group \"berth\"",
                             path_),
                 err);
  return Error(ErrorCode::Unavailable,
               fmt::format("Cannot connect to the berth daemon at unix://{}. Is berthd running? "
                           "Start it with `berth daemon` (as root), or point -H/BERTH_HOST at a running one.",
                           path_),
               err);
}

Result<std::pair<ResponseHead, std::string>> Client::read_head(int fd) const {
  std::string buf;
  // Small reads: what comes after the head is left for the body's reader,
  // which puts it where it belongs without a copy.
  char tmp[4096];
  for (;;) {
    size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto head = BERTH_TRY(parse_response_head(std::string_view(buf).substr(0, end + 4)));
      return std::make_pair(std::move(head), buf.substr(end + 4));
    }
    if (buf.size() > 1 << 20) return Error::invalid("the daemon's response headers are too large");
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys(errno, "read from the daemon");
    if (n == 0) return Error(ErrorCode::Unavailable, "the daemon closed the connection without an answer");
    buf.append(tmp, static_cast<size_t>(n));
  }
}

Result<BodyStream> Client::open(std::string_view method, std::string_view target, std::string_view body,
                                std::string_view content_type, Headers extra) {
  Fd fd = BERTH_TRY(connect_socket());
  BERTH_TRY(send_all(fd.get(), request_text(method, target, body, content_type, extra, false)));
  return receive(Sent{std::move(fd), method == "HEAD"});
}

Result<Client::Sent> Client::send(std::string_view method, std::string_view target, std::string_view body) {
  Fd fd = BERTH_TRY(connect_socket());
  BERTH_TRY(send_all(fd.get(), request_text(method, target, body, "application/json", {}, false)));
  return Sent{std::move(fd), method == "HEAD"};
}

Result<BodyStream> Client::receive(Sent sent) {
  auto [head, rest] = BERTH_TRY(read_head(sent.fd.get()));
  return BodyStream(std::move(sent.fd), std::move(head), std::move(rest), sent.head_request);
}

Result<BodyStream> Client::open_upload(std::string_view method, std::string_view target, int body_fd,
                                       std::string_view content_type) {
  Fd fd = BERTH_TRY(connect_socket());
  BERTH_TRY(send_all(fd.get(), request_text(method, target, {}, content_type, {}, true)));
  std::string buf(1 << 16, '\0');
  for (;;) {
    ssize_t n = ::read(body_fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys(errno, "read the upload");
    // The daemon may answer early (an error) and close: stop sending then.
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) break;
    std::string chunk = fmt::format("{:x}\r\n", n);
    chunk.append(buf.data(), static_cast<size_t>(n));
    chunk += "\r\n";
    if (n == 0) chunk += "\r\n";
    if (auto w = send_all(fd.get(), chunk); !w) break;  // the answer says why
    if (n == 0) break;
  }
  auto [head, rest] = BERTH_TRY(read_head(fd.get()));
  return BodyStream(std::move(fd), std::move(head), std::move(rest), false);
}

Result<Response> Client::call(std::string_view method, std::string_view target, std::string_view body) {
  auto s = BERTH_TRY(open(method, target, body));
  Response r;
  r.status = s.status();
  r.headers = s.head().headers;
  r.body = BERTH_TRY(s.read_all());
  return r;
}

Result<Hijacked> Client::hijack(std::string_view method, std::string_view target, std::string_view body) {
  return receive_hijack(BERTH_TRY(send_hijack(method, target, body)));
}

Result<Client::Sent> Client::send_hijack(std::string_view method, std::string_view target,
                                         std::string_view body) {
  Fd fd = BERTH_TRY(connect_socket());
  Headers h{{"Connection", "Upgrade"}, {"Upgrade", "tcp"}};
  BERTH_TRY(send_all(fd.get(), request_text(method, target, body, "application/json", h, false)));
  return Sent{std::move(fd), false};
}

Result<Hijacked> Client::receive_hijack(Sent sent) {
  Fd fd = std::move(sent.fd);
  auto [head, rest] = BERTH_TRY(read_head(fd.get()));
  if (head.status != 101) {
    BodyStream s(std::move(fd), head, std::move(rest), false);
    Response r;
    r.status = head.status;
    r.body = s.read_all().value_or("");
    if (r.status >= 400) return daemon_error(r);
    return Error::internal("unable to upgrade to tcp, received {}", head.status);
  }
  return Hijacked{std::move(fd), std::move(rest)};
}

}  // namespace berth::cli
