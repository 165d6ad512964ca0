#include "base/json.h"

#include <algorithm>
#include <charconv>

#include "base/file.h"

namespace berth {

const char* json_type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer: return "integer";
    case Json::value_t::number_unsigned: return "unsigned integer";
    case Json::value_t::number_float: return "number";
    default: return "value";
  }
}

Result<Json> parse_json(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return Error::invalid("{}: invalid JSON: {}", what, e.what());
  }
}

namespace {

// Finds where JSON values end without building them: what a list's reader
// does not want is stepped over at the speed of a memchr. Structure is
// checked (brackets, strings, commas, literals, the number grammar); the
// escapes inside strings are left to the parser, for the values kept.
class Skimmer {
 public:
  explicit Skimmer(std::string_view s) : s_(s) {}

  size_t pos() const { return i_; }
  bool at_end() {
    space();
    return i_ == s_.size();
  }
  bool eat(char c) {
    space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    space();
    return i_ < s_.size() && s_[i_] == c;
  }
  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  // A string from its opening quote.
  bool string() {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    size_t from = ++i_;
    // The next quote not escaped: an odd run of backslashes before it
    // escapes it. (find, not find_first_of: the latter is a memchr per
    // character of the text.)
    for (;;) {
      size_t q = s_.find('"', i_);
      if (q == std::string_view::npos) return false;
      size_t b = q;
      while (b > from && s_[b - 1] == '\\') --b;
      i_ = q + 1;
      if ((q - b) % 2 == 0) return true;
    }
  }
  bool value(int depth = 0) {
    space();
    if (i_ >= s_.size() || depth > 256) return false;
    char c = s_[i_];
    if (c == '"') return string();
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      ++i_;
      if (eat(close)) return true;
      do {
        if (c == '{') {
          space();
          if (!string() || !eat(':')) return false;
        }
        if (!value(depth + 1)) return false;
      } while (eat(','));
      return eat(close);
    }
    for (std::string_view literal : {"true", "false", "null"})
      if (s_.substr(i_, literal.size()) == literal) {
        i_ += literal.size();
        return true;
      }
    return number();
  }

 private:
  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number() {
    auto digits = [&] {
      size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ - from;
    };
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    size_t from = i_;
    size_t n = digits();
    if (n == 0 || (n > 1 && s_[from] == '0')) return false;
    if (i_ < s_.size() && s_[i_] == '.' && (++i_, digits() == 0)) return false;
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (digits() == 0) return false;
    }
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Skimmed text is JSON unless it holds an escape or a control character,
// which only the parser checks.
bool plain(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) { return c == '\\' || static_cast<unsigned char>(c) < 0x20; });
}

}  // namespace

Result<void> for_each_object(std::string_view text, std::string_view what, std::span<const std::string_view> wanted,
                             const std::function<Result<void>(const RawObject&)>& each) {
  Skimmer sk(text);
  auto invalid = [&] { return Error::invalid("{}: invalid JSON", what); };
  if (!sk.eat('[')) {
    Json top = Json::parse(text, nullptr, false);
    if (top.is_discarded()) return invalid();
    return Error::invalid("{}: expected an array, got {}", what, json_type_name(top));
  }
  std::optional<Error> failed;
  RawObject element(wanted);
  if (!sk.eat(']')) {
    do {
      if (!sk.eat('{')) {
        sk.space();
        size_t v = sk.pos();
        if (!sk.value()) return invalid();
        Json j = Json::parse(text.substr(v, sk.pos() - v), nullptr, false);
        if (j.is_discarded()) return invalid();
        return Error::invalid("{}: expected an array of objects, got {} in it", what, json_type_name(j));
      }
      std::fill(element.values_.begin(), element.values_.end(), std::string_view());
      if (!sk.eat('}')) {
        do {
          if (!sk.peek('"')) return invalid();
          size_t k = sk.pos();
          if (!sk.string()) return invalid();
          std::string_view key = text.substr(k + 1, sk.pos() - k - 2);
          std::string decoded;
          if (!plain(key)) {
            Json parsed = Json::parse(text.substr(k, sk.pos() - k), nullptr, false);
            if (parsed.is_discarded()) return invalid();
            key = decoded = parsed.get<std::string>();
          }
          if (!sk.eat(':')) return invalid();
          sk.space();
          size_t v = sk.pos();
          if (!sk.value()) return invalid();
          if (failed) continue;
          auto at = std::find(wanted.begin(), wanted.end(), key);
          if (at == wanted.end()) continue;
          std::string_view raw = text.substr(v, sk.pos() - v);
          if (!plain(raw) && !Json::accept(raw)) return invalid();
          element.values_[static_cast<size_t>(at - wanted.begin())] = raw;
        } while (sk.eat(','));
        if (!sk.eat('}')) return invalid();
      }
      if (!failed)
        if (auto r = each(element); !r) failed = r.error();
    } while (sk.eat(','));
    if (!sk.eat(']')) return invalid();
  }
  if (!sk.at_end()) return invalid();
  if (failed) return *failed;
  return ok();
}

std::optional<std::string> raw_string(std::string_view raw) {
  if (raw.size() >= 2 && raw.front() == '"' && plain(raw)) return std::string(raw.substr(1, raw.size() - 2));
  Json j = raw_json(raw);
  if (!j.is_string()) return std::nullopt;
  return j.get<std::string>();
}

std::optional<int64_t> raw_int(std::string_view raw) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), n);
  if (ec == std::errc() && end == raw.data() + raw.size() && !raw.empty()) return n;
  Json j = raw_json(raw);
  if (!j.is_number_integer() || (j.is_number_unsigned() && j.get<uint64_t>() > INT64_MAX)) return std::nullopt;
  return j.get<int64_t>();
}

std::optional<std::vector<std::string>> raw_strings(std::string_view raw) {
  std::vector<std::string> out;
  // ["a","b"] without escapes or spaces, as daemons write it: cut apart.
  if (raw == "[]") return out;
  if (raw.size() >= 2 && raw.front() == '[' && raw.back() == ']' && plain(raw) && raw.find(' ') == std::string_view::npos) {
    for (std::string_view rest = raw.substr(1, raw.size() - 2);;) {
      size_t end = rest.size() > 1 && rest.front() == '"' ? rest.find('"', 1) : std::string_view::npos;
      if (end == std::string_view::npos) break;
      out.emplace_back(rest.substr(1, end - 1));
      if (end + 1 == rest.size()) return out;
      if (rest[end + 1] != ',' || end + 2 == rest.size()) break;
      rest.remove_prefix(end + 2);
    }
    out.clear();
  }
  Json j = raw_json(raw);
  if (!j.is_array()) return std::nullopt;
  for (const auto& e : j) {
    if (!e.is_string()) return std::nullopt;
    out.push_back(e.get<std::string>());
  }
  return out;
}

Json raw_json(std::string_view raw) {
  if (raw.empty()) return nullptr;
  Json j = Json::parse(raw, nullptr, false);
  return j.is_discarded() ? Json() : j;
}

Result<Json> read_json_file(const std::string& path) {
  auto text = BERTH_TRY(read_file(path));
  return parse_json(text, path);
}

Error JsonReader::type_error(const char* key, const char* expected) const {
  return Error::invalid("{}: expected {}, got {}", field(key), expected, json_type_name(j_.at(key)));
}

Result<JsonReader> JsonReader::object(const char* key) const {
  if (!has(key)) return Error::invalid("{}: required field is missing", field(key));
  if (!j_.at(key).is_object()) return type_error(key, "object");
  return JsonReader(j_.at(key), field(key));
}

Result<std::string> JsonReader::str(const char* key) const {
  if (!has(key)) return Error::invalid("{}: required field is missing", field(key));
  if (!j_.at(key).is_string()) return type_error(key, "string");
  return j_.at(key).get<std::string>();
}

Result<std::optional<std::string>> JsonReader::opt_str(const char* key) const {
  if (!has(key)) return std::optional<std::string>();
  if (!j_.at(key).is_string()) return type_error(key, "string");
  return std::optional<std::string>(j_.at(key).get<std::string>());
}

Result<std::optional<int64_t>> JsonReader::opt_int(const char* key) const {
  if (!has(key)) return std::optional<int64_t>();
  const Json& v = j_.at(key);
  if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX))
    return std::optional<int64_t>(v.get<int64_t>());
  return type_error(key, "integer");
}

Result<std::optional<uint64_t>> JsonReader::opt_uint(const char* key) const {
  if (!has(key)) return std::optional<uint64_t>();
  const Json& v = j_.at(key);
  if (v.is_number_unsigned()) return std::optional<uint64_t>(v.get<uint64_t>());
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return std::optional<uint64_t>(static_cast<uint64_t>(v.get<int64_t>()));
  return type_error(key, "unsigned integer");
}

Result<std::optional<bool>> JsonReader::opt_bool(const char* key) const {
  if (!has(key)) return std::optional<bool>();
  if (!j_.at(key).is_boolean()) return type_error(key, "boolean");
  return std::optional<bool>(j_.at(key).get<bool>());
}

Result<std::vector<std::string>> JsonReader::str_array(const char* key) const {
  std::vector<std::string> out;
  if (!has(key)) return out;
  const Json& a = j_.at(key);
  if (!a.is_array()) return type_error(key, "array of strings");
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string())
      return Error::invalid("{}[{}]: expected string, got {}", field(key), i, json_type_name(a[i]));
    out.push_back(a[i].get<std::string>());
  }
  return out;
}

Result<std::vector<JsonReader>> JsonReader::obj_array(const char* key) const {
  std::vector<JsonReader> out;
  if (!has(key)) return out;
  const Json& a = j_.at(key);
  if (!a.is_array()) return type_error(key, "array of objects");
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_object())
      return Error::invalid("{}[{}]: expected object, got {}", field(key), i, json_type_name(a[i]));
    out.emplace_back(a[i], fmt::format("{}[{}]", field(key), i));
  }
  return out;
}

}  // namespace berth
