// JSON glue over nlohmann::json: parse with errors that name the input, and
// typed field access whose errors name the field path ("process.user.uid:
// expected unsigned integer, got string"), so a bad config.json says where.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/result.h"

namespace berth {

using Json = nlohmann::json;

// Parse text; `what` names the source in the error ("config.json").
Result<Json> parse_json(std::string_view text, std::string_view what);
Result<Json> read_json_file(const std::string& path);
// Parse a JSON array and hand its elements to `each` one by one, as each
// is parsed: only one element is held at a time (a list of hundreds of
// containers is never built). `each` may move from its argument. After
// the first error from `each` the rest is only checked for syntax.
// `keep`, when given, is asked for each key of an element that is an
// object: a member it refuses is skipped, not built.
Result<void> for_each_element(std::string_view text, std::string_view what,
                              const std::function<Result<void>(Json&)>& each,
                              const std::function<bool(const std::string&)>& keep = nullptr);

// A cursor over a JSON object that remembers its path for error messages.
class JsonReader {
 public:
  JsonReader(const Json& j, std::string path) : j_(j), path_(std::move(path)) {}

  const Json& json() const { return j_; }
  const std::string& path() const { return path_; }
  bool has(const char* key) const { return j_.is_object() && j_.contains(key) && !j_.at(key).is_null(); }
  std::string field(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  Result<JsonReader> object(const char* key) const;  // required object
  Result<std::string> str(const char* key) const;    // required string
  Result<std::optional<std::string>> opt_str(const char* key) const;
  Result<std::optional<int64_t>> opt_int(const char* key) const;
  Result<std::optional<uint64_t>> opt_uint(const char* key) const;
  Result<std::optional<bool>> opt_bool(const char* key) const;
  Result<std::vector<std::string>> str_array(const char* key) const;  // missing → empty
  Result<std::vector<JsonReader>> obj_array(const char* key) const;  // missing → empty

  Error type_error(const char* key, const char* expected) const;

 private:
  const Json& j_;
  std::string path_;
};

const char* json_type_name(const Json& j);

}  // namespace berth
