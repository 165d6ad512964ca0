// config.json → Spec. The top level (version, root, mounts, hooks,
// annotations) is read here; process, linux and resources have their own
// files. validate_spec() holds the rules that span sections.
#include "oci/spec.h"

#include <set>

#include "base/file.h"
#include "base/strings.h"
#include "oci/fields.h"
#include "oci/known.h"

namespace berth::oci {
namespace {

using detail::is_absolute;

// SemVer 2.0.0: MAJOR.MINOR.PATCH, then an optional -prerelease and
// +build (e.g. "1.0.2-dev"). Only the major number decides compatibility:
// the spec stays compatible within a major version.
Result<void> check_version(const JsonReader& r) {
  auto v = BERTH_TRY(r.str("ociVersion"));
  std::string_view core = v;
  core = core.substr(0, core.find_first_of("-+"));
  auto parts = split(core, '.');
  bool well_formed = parts.size() == 3;
  for (const auto& p : parts) well_formed = well_formed && !p.empty() && parse_uint(p).has_value();
  if (!well_formed)
    return Error::invalid("ociVersion: \"{}\" is not a semantic version (MAJOR.MINOR.PATCH)", v);
  uint64_t major = *parse_uint(parts[0]);
  if (major != 1)
    return Error::invalid("ociVersion: unsupported major version {} in \"{}\"", major, v);
  return ok();
}

Result<Mount> parse_mount(const JsonReader& r) {
  Mount m;
  m.destination = BERTH_TRY(r.str("destination"));
  if (m.destination.empty()) return Error::invalid("{}: must not be empty", r.field("destination"));
  // runtime-spec 1.1 relaxed "MUST be absolute": a relative destination is
  // deprecated but means relative to "/". Normalize so the runtime only ever
  // sees absolute paths.
  if (!is_absolute(m.destination)) m.destination = std::string("/").append(m.destination);
  m.type = BERTH_TRY(r.opt_str("type")).value_or("");
  m.source = BERTH_TRY(r.opt_str("source")).value_or("");
  m.options = BERTH_TRY(r.str_array("options"));
  m.uid_mappings = BERTH_TRY(detail::parse_id_mappings(r, "uidMappings"));
  m.gid_mappings = BERTH_TRY(detail::parse_id_mappings(r, "gidMappings"));
  // An idmapped mount needs both maps to build its user namespace.
  if (m.uid_mappings.empty() != m.gid_mappings.empty())
    return Error::invalid("{}: uidMappings and gidMappings must be given together",
                          r.path());
  return m;
}

Result<std::vector<Hook>> parse_hook_list(const JsonReader& r, const char* key) {
  std::vector<Hook> out;
  for (const auto& e : BERTH_TRY(r.obj_array(key))) {
    Hook h;
    h.path = BERTH_TRY(e.str("path"));
    if (!is_absolute(h.path))
      return Error::invalid("{}: \"{}\" is not an absolute path", e.field("path"), h.path);
    h.args = BERTH_TRY(e.str_array("args"));
    h.env = BERTH_TRY(e.str_array("env"));
    if (auto t = BERTH_TRY(detail::opt_int_range(e, "timeout", INT32_MIN, INT32_MAX))) {
      if (*t <= 0) return Error::invalid("{}: must be greater than zero", e.field("timeout"));
      h.timeout = static_cast<int>(*t);
    }
    out.push_back(std::move(h));
  }
  return out;
}

Result<Hooks> parse_hooks(const JsonReader& r) {
  Hooks h;
  h.prestart = BERTH_TRY(parse_hook_list(r, "prestart"));
  h.create_runtime = BERTH_TRY(parse_hook_list(r, "createRuntime"));
  h.create_container = BERTH_TRY(parse_hook_list(r, "createContainer"));
  h.start_container = BERTH_TRY(parse_hook_list(r, "startContainer"));
  h.poststart = BERTH_TRY(parse_hook_list(r, "poststart"));
  h.poststop = BERTH_TRY(parse_hook_list(r, "poststop"));
  return h;
}

}  // namespace

Result<Spec> spec_from_json(const Json& doc) {
  if (!doc.is_object())
    return Error::invalid("config.json: expected object, got {}", json_type_name(doc));
  JsonReader r(doc, "");
  Spec s;
  BERTH_TRY(check_version(r));
  s.oci_version = doc.at("ociVersion").get<std::string>();
  if (auto p = BERTH_TRY(detail::opt_object(r, "process"))) s.process = BERTH_TRY(parse_process(*p));
  if (auto root = BERTH_TRY(detail::opt_object(r, "root"))) {
    Root rt;
    rt.path = BERTH_TRY(root->str("path"));
    if (rt.path.empty()) return Error::invalid("root.path: must not be empty");
    rt.readonly = BERTH_TRY(root->opt_bool("readonly")).value_or(false);
    s.root = std::move(rt);
  }
  s.hostname = BERTH_TRY(r.opt_str("hostname")).value_or("");
  s.domainname = BERTH_TRY(r.opt_str("domainname")).value_or("");
  for (const auto& m : BERTH_TRY(r.obj_array("mounts"))) s.mounts.push_back(BERTH_TRY(parse_mount(m)));
  if (auto h = BERTH_TRY(detail::opt_object(r, "hooks"))) s.hooks = BERTH_TRY(parse_hooks(*h));
  s.annotations = BERTH_TRY(detail::str_map(r, "annotations"));
  if (auto l = BERTH_TRY(detail::opt_object(r, "linux"))) s.linux_ = BERTH_TRY(detail::parse_linux(*l));
  BERTH_TRY(validate_spec(s));
  s.raw = doc;
  return s;
}

Result<Spec> parse_spec(std::string_view text) {
  auto doc = BERTH_TRY(parse_json(text, "config.json"));
  return spec_from_json(doc);
}

Result<Spec> load_spec(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  auto text = BERTH_TRY(read_file(path));
  auto doc = BERTH_TRY(parse_json(text, path));
  return BERTH_TRY_CTX(spec_from_json(doc), "{}", path);
}

}  // namespace berth::oci
