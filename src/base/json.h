// JSON glue over nlohmann::json: parse with errors that name the input, and
// typed field access whose errors name the field path ("process.user.uid:
// expected unsigned integer, got string"), so a bad config.json says where.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth {

using Json = nlohmann::json;

// Parse text; `what` names the source in the error ("config.json").
Result<Json> parse_json(std::string_view text, std::string_view what);
Result<Json> read_json_file(const std::string& path);
// The wanted members of one object, each as the JSON text of its value
// ("" where the object has none); what is not wanted is only stepped over.
class RawObject {
 public:
  explicit RawObject(std::span<const std::string_view> wanted) : wanted_(wanted), values_(wanted.size()) {}
  std::string_view operator[](std::string_view name) const {
    for (size_t i = 0; i < wanted_.size(); ++i)
      if (wanted_[i] == name) return values_[i];
    return {};
  }

 private:
  friend Result<void> for_each_object(std::string_view, std::string_view, std::span<const std::string_view>,
                                      const std::function<Result<void>(const RawObject&)>&);
  std::span<const std::string_view> wanted_;
  std::vector<std::string_view> values_;
};

// Hand the objects of a JSON array to `each` one by one, with only the
// `wanted` members (checked as JSON) read: a list of hundreds of
// containers is never built, and of each only what is printed is looked
// at. After the first error from `each` the rest is only checked for
// syntax. An element that is not an object is an error.
Result<void> for_each_object(std::string_view text, std::string_view what, std::span<const std::string_view> wanted,
                             const std::function<Result<void>(const RawObject&)>& each);
// A raw value's meaning: a string's text, an integer, an array of strings
// (nullopt for another type), or the whole value (null for "").
std::optional<std::string> raw_string(std::string_view raw);
std::optional<int64_t> raw_int(std::string_view raw);
std::optional<std::vector<std::string>> raw_strings(std::string_view raw);
Json raw_json(std::string_view raw);

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
