#include "base/json.h"

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

Result<void> for_each_element(std::string_view text, std::string_view what,
                              const std::function<Result<void>(Json&)>& each,
                              const std::function<bool(const std::string&)>& keep) {
  std::optional<Error> failed;
  // nlohmann calls back at depth 1 for a whole element of the top array;
  // answering false drops it from the array being built. A key at depth 2
  // is a member of an element: answering false skips that member.
  auto element = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth == 2 && event == Json::parse_event_t::key && keep) return keep(parsed.get_ref<const std::string&>());
    bool done = event == Json::parse_event_t::object_end || event == Json::parse_event_t::array_end ||
                event == Json::parse_event_t::value;
    if (depth != 1 || !done) return true;
    if (!failed)
      if (auto r = each(parsed); !r) failed = r.error();
    return false;
  };
  Json top = Json::parse(text, element, false);
  if (top.is_discarded()) return Error::invalid("{}: invalid JSON", what);
  if (!top.is_array()) return Error::invalid("{}: expected an array, got {}", what, json_type_name(top));
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
