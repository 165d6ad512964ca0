#include "oci/fields.h"

namespace berth::oci::detail {

Error missing(const JsonReader& r, const char* key) {
  return Error::invalid("{}: required field is missing", r.field(key));
}

Result<std::optional<uint64_t>> opt_uint_max(const JsonReader& r, const char* key, uint64_t max) {
  auto v = BERTH_TRY(r.opt_uint(key));
  if (v && *v > max)
    return Error::invalid("{}: value {} is out of range (at most {})", r.field(key), *v, max);
  return v;
}

Result<std::optional<int64_t>> opt_int_range(const JsonReader& r, const char* key, int64_t min,
                                             int64_t max) {
  auto v = BERTH_TRY(r.opt_int(key));
  if (v && (*v < min || *v > max))
    return Error::invalid("{}: value {} is out of range ({} to {})", r.field(key), *v, min, max);
  return v;
}

Result<uint64_t> req_uint(const JsonReader& r, const char* key) {
  auto v = BERTH_TRY(r.opt_uint(key));
  if (!v) return missing(r, key);
  return *v;
}

Result<uint32_t> req_u32(const JsonReader& r, const char* key) {
  auto v = BERTH_TRY(opt_u32(r, key));
  if (!v) return missing(r, key);
  return *v;
}

Result<int64_t> req_int(const JsonReader& r, const char* key) {
  auto v = BERTH_TRY(r.opt_int(key));
  if (!v) return missing(r, key);
  return *v;
}

Result<std::map<std::string, std::string>> str_map(const JsonReader& r, const char* key) {
  std::map<std::string, std::string> out;
  if (!r.has(key)) return out;
  const Json& m = r.json().at(key);
  if (!m.is_object()) return r.type_error(key, "object of strings");
  for (const auto& [k, v] : m.items()) {
    if (!v.is_string())
      return Error::invalid("{}.{}: expected string, got {}", r.field(key), k, json_type_name(v));
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

Result<std::vector<uint32_t>> u32_array(const JsonReader& r, const char* key) {
  std::vector<uint32_t> out;
  if (!r.has(key)) return out;
  const Json& a = r.json().at(key);
  if (!a.is_array()) return r.type_error(key, "array of unsigned integers");
  for (size_t i = 0; i < a.size(); ++i) {
    const Json& v = a[i];
    bool ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
    if (!ok)
      return Error::invalid("{}[{}]: expected unsigned integer, got {}", r.field(key), i,
                            json_type_name(v));
    uint64_t n = v.get<uint64_t>();
    if (n > UINT32_MAX)
      return Error::invalid("{}[{}]: value {} is out of range (at most {})", r.field(key), i, n,
                            UINT32_MAX);
    out.push_back(static_cast<uint32_t>(n));
  }
  return out;
}

Result<std::optional<JsonReader>> opt_object(const JsonReader& r, const char* key) {
  if (!r.has(key)) return std::optional<JsonReader>();
  return std::optional<JsonReader>(BERTH_TRY(r.object(key)));
}

bool is_absolute(const std::string& path) { return !path.empty() && path[0] == '/'; }

Result<std::vector<IdMapping>> parse_id_mappings(const JsonReader& r, const char* key) {
  std::vector<IdMapping> out;
  for (const auto& m : BERTH_TRY(r.obj_array(key))) {
    IdMapping id;
    id.container_id = BERTH_TRY(req_u32(m, "containerID"));
    id.host_id = BERTH_TRY(req_u32(m, "hostID"));
    id.size = BERTH_TRY(req_u32(m, "size"));
    if (id.size == 0) return Error::invalid("{}: must be greater than zero", m.field("size"));
    out.push_back(id);
  }
  return out;
}

}  // namespace berth::oci::detail
