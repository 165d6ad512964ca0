// Internal to src/oci: typed field access beyond JsonReader's basics (sized
// integers, required numbers, string maps) and the section parsers that
// spec.cpp stitches together. Every error starts with the field's path.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "oci/spec.h"

namespace berth::oci::detail {

Error missing(const JsonReader& r, const char* key);

// Unsigned values that must fit a narrower type (uid_t, errno...).
Result<std::optional<uint64_t>> opt_uint_max(const JsonReader& r, const char* key, uint64_t max);
Result<std::optional<int64_t>> opt_int_range(const JsonReader& r, const char* key, int64_t min,
                                             int64_t max);

inline Result<std::optional<uint32_t>> opt_u32(const JsonReader& r, const char* key) {
  auto v = BERTH_TRY(opt_uint_max(r, key, std::numeric_limits<uint32_t>::max()));
  if (!v) return std::optional<uint32_t>();
  return std::optional<uint32_t>(static_cast<uint32_t>(*v));
}
inline Result<std::optional<uint16_t>> opt_u16(const JsonReader& r, const char* key) {
  auto v = BERTH_TRY(opt_uint_max(r, key, std::numeric_limits<uint16_t>::max()));
  if (!v) return std::optional<uint16_t>();
  return std::optional<uint16_t>(static_cast<uint16_t>(*v));
}

// Required numbers: a missing field is an error naming it.
Result<uint64_t> req_uint(const JsonReader& r, const char* key);
Result<uint32_t> req_u32(const JsonReader& r, const char* key);
Result<int64_t> req_int(const JsonReader& r, const char* key);

// {"k": "v", ...}; missing → empty.
Result<std::map<std::string, std::string>> str_map(const JsonReader& r, const char* key);
// [1, 2, ...] of uint32; missing → empty.
Result<std::vector<uint32_t>> u32_array(const JsonReader& r, const char* key);
// Optional object; missing → nullopt.
Result<std::optional<JsonReader>> opt_object(const JsonReader& r, const char* key);

bool is_absolute(const std::string& path);

// Sections (spec_process.cpp, spec_linux.cpp, spec_resources.cpp).
Result<std::vector<IdMapping>> parse_id_mappings(const JsonReader& r, const char* key);
Result<Linux> parse_linux(const JsonReader& r);

}  // namespace berth::oci::detail
