#include "base/json.h"

#include <cctype>

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
// does not want is stepped over at the speed of a memchr, and only what it
// keeps is parsed in full. Structure is checked (brackets, strings, commas,
// the characters of a scalar); the kept values are checked by the parser.
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
  // A string from its opening quote; `plain`: it has no escapes.
  bool string(bool* plain = nullptr) {
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
      if ((q - b) % 2 == 0) break;
    }
    if (plain) *plain = s_.substr(from, i_ - 1 - from).find('\\') == std::string_view::npos;
    return true;
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
    size_t from = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '+' || s_[i_] == '.'))
      ++i_;
    std::string_view tok = s_.substr(from, i_ - from);
    if (tok == "true" || tok == "false" || tok == "null") return true;
    return !tok.empty() && tok.find_first_not_of("0123456789-+.eE") == std::string_view::npos;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// A kept member's value: plain strings and small integers directly, the
// rest through the parser (which checks it).
std::optional<Json> member_value(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.find('\\') == std::string_view::npos)
    return Json(std::string(v.substr(1, v.size() - 2)));
  if (!v.empty() && v.size() < 19 && v.find_first_not_of("0123456789") == std::string_view::npos &&
      (v.size() == 1 || v[0] != '0'))
    return Json(static_cast<uint64_t>(std::stoull(std::string(v))));
  Json j = Json::parse(v, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace

Result<void> for_each_element(std::string_view text, std::string_view what,
                              const std::function<Result<void>(Json&)>& each,
                              const std::function<bool(const std::string&)>& keep) {
  Skimmer sk(text);
  auto invalid = [&] { return Error::invalid("{}: invalid JSON", what); };
  if (!sk.eat('[')) {
    Json top = Json::parse(text, nullptr, false);
    if (top.is_discarded()) return invalid();
    return Error::invalid("{}: expected an array, got {}", what, json_type_name(top));
  }
  std::optional<Error> failed;
  if (!sk.eat(']')) {
    do {
      Json element;
      if (keep && sk.peek('{')) {
        // An object: its members one by one, the refused ones skipped.
        element = Json::object();
        sk.eat('{');
        if (!sk.eat('}')) {
          do {
            if (!sk.peek('"')) return invalid();
            size_t k = sk.pos();
            bool plain;
            if (!sk.string(&plain) || !sk.eat(':')) return invalid();
            std::string_view raw = text.substr(k, sk.pos() - k);
            raw = raw.substr(0, raw.rfind('"') + 1);
            std::string key;
            if (plain) {
              key = std::string(raw.substr(1, raw.size() - 2));
            } else {
              Json parsed = Json::parse(raw, nullptr, false);
              if (parsed.is_discarded()) return invalid();
              key = parsed.get<std::string>();
            }
            sk.space();
            size_t v = sk.pos();
            if (!sk.value()) return invalid();
            if (failed || !keep(key)) continue;
            auto parsed = member_value(text.substr(v, sk.pos() - v));
            if (!parsed) return invalid();
            element[key] = std::move(*parsed);
          } while (sk.eat(','));
          if (!sk.eat('}')) return invalid();
        }
      } else {
        sk.space();
        size_t v = sk.pos();
        if (!sk.value()) return invalid();
        if (!failed) {
          element = Json::parse(text.substr(v, sk.pos() - v), nullptr, false);
          if (element.is_discarded()) return invalid();
        }
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
