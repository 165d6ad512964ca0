#include "api/http.h"

#include "base/log.h"

#include <algorithm>

#include "base/strings.h"

namespace berth::api {

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::NotFound: return 404;
    case ErrorCode::InvalidArgument: return 400;
    case ErrorCode::AlreadyExists: return 409;
    case ErrorCode::Conflict: return 409;
    case ErrorCode::FailedPrecondition: return 409;
    case ErrorCode::PermissionDenied: return 403;
    case ErrorCode::Unavailable: return 503;
    case ErrorCode::NotImplemented: return 501;
    case ErrorCode::Internal: return 500;
  }
  return 500;
}

void Response::error(const Error& e) {
  if (started()) return;  // a stream in progress cannot change its status
  int status = http_status(e.code());
  if (status >= 500) log::warn("api: answered {}: {}", status, e.message());
  else log::debug("api: answered {}: {}", status, e.message());
  json(status, Json{{"message", e.message()}});
}

Result<std::string> Request::read_body_all(size_t max) {
  std::string out;
  char buf[64 << 10];
  for (;;) {
    size_t n = BERTH_TRY(read_body(buf, sizeof buf));
    if (n == 0) break;
    if (out.size() + n > max)
      return Error::invalid("request body is larger than {} bytes", max);
    out.append(buf, n);
  }
  return out;
}

Result<Json> Request::read_json(size_t max) {
  std::string body = BERTH_TRY(read_body_all(max));
  if (trim(body).empty()) return Json::object();
  auto j = parse_json(body, "request body");
  if (!j) return Error::invalid("{}", j.error().message());
  return j;
}

std::optional<std::string> Request::query_value(const std::string& key) const {
  auto it = query.find(key);
  if (it == query.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

std::vector<std::string> Request::query_values(const std::string& key) const {
  auto it = query.find(key);
  return it == query.end() ? std::vector<std::string>{} : it->second;
}

bool Request::query_bool(const std::string& key) const {
  auto v = query_value(key);
  if (!v) return false;
  std::string s = *v;
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return !(s.empty() || s == "0" || s == "no" || s == "false" || s == "none");
}

Result<std::optional<int64_t>> Request::query_int(const std::string& key) const {
  auto v = query_value(key);
  if (!v || v->empty()) return std::optional<int64_t>{};
  auto n = parse_int(*v);
  if (!n) return Error::invalid("invalid value for {}: {:?}", key, *v);
  return std::optional<int64_t>{*n};
}

Result<std::map<std::string, std::vector<std::string>>> Request::filters() const {
  std::map<std::string, std::vector<std::string>> out;
  auto raw = query_value("filters");
  if (!raw || raw->empty()) return out;
  auto j = parse_json(*raw, "filters");
  if (!j || !j->is_object()) return Error::invalid("invalid filter: {}", *raw);
  for (const auto& [k, v] : j->items()) {
    if (v.is_array()) {
      for (const auto& e : v) {
        if (!e.is_string()) return Error::invalid("invalid filter {:?}", k);
        out[k].push_back(e.get<std::string>());
      }
    } else if (v.is_object()) {
      for (const auto& [val, on] : v.items())
        if (on.is_boolean() && on.get<bool>()) out[k].push_back(val);
    } else {
      return Error::invalid("invalid filter {:?}", k);
    }
  }
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace berth::api
