// config.json "linux": namespaces, id mappings, devices, seccomp and the
// smaller Linux-only settings. Cross-field rules live in validate_spec().
#include <set>

#include "oci/fields.h"
#include "oci/known.h"
#include "oci/spec.h"

namespace berth::oci::detail {
namespace {

Result<std::vector<Namespace>> parse_namespaces(const JsonReader& r) {
  std::vector<Namespace> out;
  std::set<std::string> seen;
  for (const auto& e : BERTH_TRY(r.obj_array("namespaces"))) {
    Namespace ns;
    ns.type = BERTH_TRY(e.str("type"));
    if (namespace_flag(ns.type) == 0)
      return Error::invalid("{}: unknown namespace type \"{}\"", e.field("type"), ns.type);
    if (!seen.insert(ns.type).second)
      return Error::invalid("{}: duplicate namespace type \"{}\"", e.field("type"), ns.type);
    ns.path = BERTH_TRY(e.opt_str("path")).value_or("");
    if (!ns.path.empty() && !is_absolute(ns.path))
      return Error::invalid("{}: \"{}\" is not an absolute path", e.field("path"), ns.path);
    out.push_back(std::move(ns));
  }
  return out;
}

Result<DeviceNode> parse_device(const JsonReader& r) {
  DeviceNode d;
  d.path = BERTH_TRY(r.str("path"));
  if (!is_absolute(d.path))
    return Error::invalid("{}: \"{}\" is not an absolute path", r.field("path"), d.path);
  d.type = BERTH_TRY(r.str("type"));
  if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
    return Error::invalid("{}: device type must be c, b, u or p, got \"{}\"", r.field("type"),
                          d.type);
  // A FIFO has no device numbers; every other kind needs both.
  if (d.type != "p") {
    d.major = BERTH_TRY(req_int(r, "major"));
    d.minor = BERTH_TRY(req_int(r, "minor"));
  } else {
    d.major = BERTH_TRY(r.opt_int("major")).value_or(0);
    d.minor = BERTH_TRY(r.opt_int("minor")).value_or(0);
  }
  d.file_mode = BERTH_TRY(opt_u32(r, "fileMode"));
  d.uid = BERTH_TRY(opt_u32(r, "uid"));
  d.gid = BERTH_TRY(opt_u32(r, "gid"));
  return d;
}

Result<std::string> seccomp_action(const JsonReader& r, const char* key) {
  auto a = BERTH_TRY(r.str(key));
  if (!contains(known_seccomp_actions(), a))
    return Error::invalid("{}: unknown seccomp action \"{}\"", r.field(key), a);
  return a;
}

Result<SeccompSyscall> parse_syscall(const JsonReader& r) {
  SeccompSyscall s;
  if (!r.has("names")) return missing(r, "names");
  s.names = BERTH_TRY(r.str_array("names"));
  if (s.names.empty()) return Error::invalid("{}: must not be empty", r.field("names"));
  s.action = BERTH_TRY(seccomp_action(r, "action"));
  s.errno_ret = BERTH_TRY(opt_u32(r, "errnoRet"));
  for (const auto& a : BERTH_TRY(r.obj_array("args"))) {
    SeccompArg arg;
    // A syscall has at most six arguments.
    auto index = BERTH_TRY(opt_uint_max(a, "index", 5));
    if (!index) return missing(a, "index");
    arg.index = static_cast<uint32_t>(*index);
    arg.value = BERTH_TRY(req_uint(a, "value"));
    arg.value_two = BERTH_TRY(a.opt_uint("valueTwo")).value_or(0);
    arg.op = BERTH_TRY(a.str("op"));
    if (!contains(known_seccomp_operators(), arg.op))
      return Error::invalid("{}: unknown seccomp operator \"{}\"", a.field("op"), arg.op);
    s.args.push_back(std::move(arg));
  }
  return s;
}

Result<Seccomp> parse_seccomp(const JsonReader& r) {
  Seccomp s;
  s.default_action = BERTH_TRY(seccomp_action(r, "defaultAction"));
  // The kernel would hand every syscall to a supervisor that might not
  // answer; the spec forbids it.
  if (s.default_action == "SCMP_ACT_NOTIFY")
    return Error::invalid("{}: SCMP_ACT_NOTIFY cannot be the default action",
                          r.field("defaultAction"));
  s.default_errno_ret = BERTH_TRY(opt_u32(r, "defaultErrnoRet"));
  s.architectures = BERTH_TRY(r.str_array("architectures"));
  for (size_t i = 0; i < s.architectures.size(); ++i)
    if (!contains(known_seccomp_archs(), s.architectures[i]))
      return Error::invalid("{}[{}]: unknown seccomp architecture \"{}\"",
                            r.field("architectures"), i, s.architectures[i]);
  s.flags = BERTH_TRY(r.str_array("flags"));
  for (size_t i = 0; i < s.flags.size(); ++i)
    if (!contains(known_seccomp_flags(), s.flags[i]))
      return Error::invalid("{}[{}]: unknown seccomp flag \"{}\"", r.field("flags"), i,
                            s.flags[i]);
  s.listener_path = BERTH_TRY(r.opt_str("listenerPath")).value_or("");
  s.listener_metadata = BERTH_TRY(r.opt_str("listenerMetadata")).value_or("");
  bool notify = false;
  for (const auto& e : BERTH_TRY(r.obj_array("syscalls"))) {
    s.syscalls.push_back(BERTH_TRY(parse_syscall(e)));
    notify |= s.syscalls.back().action == "SCMP_ACT_NOTIFY";
  }
  if (notify && s.listener_path.empty())
    return Error::invalid("{}: required when a syscall uses SCMP_ACT_NOTIFY",
                          r.field("listenerPath"));
  if (!s.listener_path.empty() && !is_absolute(s.listener_path))
    return Error::invalid("{}: \"{}\" is not an absolute path", r.field("listenerPath"),
                          s.listener_path);
  return s;
}

Result<std::vector<std::string>> absolute_paths(const JsonReader& r, const char* key) {
  auto paths = BERTH_TRY(r.str_array(key));
  for (size_t i = 0; i < paths.size(); ++i)
    if (!is_absolute(paths[i]))
      return Error::invalid("{}[{}]: \"{}\" is not an absolute path", r.field(key), i, paths[i]);
  return paths;
}

Result<std::map<std::string, Linux::TimeOffset>> parse_time_offsets(const JsonReader& r) {
  std::map<std::string, Linux::TimeOffset> out;
  auto obj = BERTH_TRY(opt_object(r, "timeOffsets"));
  if (!obj) return out;
  for (const auto& [clock, v] : obj->json().items()) {
    std::string path = obj->field(clock.c_str());
    // Only these two clocks can be offset in a time namespace (time_namespaces(7)).
    if (clock != "monotonic" && clock != "boottime")
      return Error::invalid("{}: unknown clock (monotonic or boottime)", path);
    if (!v.is_object())
      return Error::invalid("{}: expected object, got {}", path, json_type_name(v));
    JsonReader e(v, path);
    Linux::TimeOffset off;
    off.secs = BERTH_TRY(e.opt_int("secs")).value_or(0);
    auto ns = BERTH_TRY(opt_uint_max(e, "nanosecs", 999'999'999));
    off.nanosecs = static_cast<uint32_t>(ns.value_or(0));
    out.emplace(clock, off);
  }
  return out;
}

}  // namespace

Result<Linux> parse_linux(const JsonReader& r) {
  Linux l;
  l.uid_mappings = BERTH_TRY(parse_id_mappings(r, "uidMappings"));
  l.gid_mappings = BERTH_TRY(parse_id_mappings(r, "gidMappings"));
  l.sysctl = BERTH_TRY(str_map(r, "sysctl"));
  for (const auto& [k, v] : l.sysctl)
    if (k.empty()) return Error::invalid("{}: empty sysctl name", r.field("sysctl"));
  if (auto res = BERTH_TRY(opt_object(r, "resources"))) l.resources = BERTH_TRY(parse_resources(*res));
  l.cgroups_path = BERTH_TRY(r.opt_str("cgroupsPath")).value_or("");
  l.namespaces = BERTH_TRY(parse_namespaces(r));
  for (const auto& e : BERTH_TRY(r.obj_array("devices"))) l.devices.push_back(BERTH_TRY(parse_device(e)));
  if (auto s = BERTH_TRY(opt_object(r, "seccomp"))) l.seccomp = BERTH_TRY(parse_seccomp(*s));
  l.rootfs_propagation = BERTH_TRY(r.opt_str("rootfsPropagation")).value_or("");
  if (!l.rootfs_propagation.empty() && !contains(known_propagations(), l.rootfs_propagation))
    return Error::invalid("{}: unknown propagation \"{}\" (shared, slave, private, unbindable "
                          "or their r-variants)",
                          r.field("rootfsPropagation"), l.rootfs_propagation);
  l.masked_paths = BERTH_TRY(absolute_paths(r, "maskedPaths"));
  l.readonly_paths = BERTH_TRY(absolute_paths(r, "readonlyPaths"));
  l.mount_label = BERTH_TRY(r.opt_str("mountLabel")).value_or("");
  l.time_offsets = BERTH_TRY(parse_time_offsets(r));
  if (auto p = BERTH_TRY(opt_object(r, "personality"))) {
    auto domain = BERTH_TRY(p->str("domain"));
    if (domain != "LINUX" && domain != "LINUX32")
      return Error::invalid("{}: unknown personality domain \"{}\" (LINUX or LINUX32)",
                            p->field("domain"), domain);
    l.personality_domain = domain;
    l.personality_flags = BERTH_TRY(p->str_array("flags"));
  }
  if (auto rdt = BERTH_TRY(opt_object(r, "intelRdt"))) {
    Linux::IntelRdt i;
    i.clos_id = BERTH_TRY(rdt->opt_str("closID")).value_or("");
    i.l3_cache_schema = BERTH_TRY(rdt->opt_str("l3CacheSchema")).value_or("");
    i.mem_bw_schema = BERTH_TRY(rdt->opt_str("memBwSchema")).value_or("");
    i.schemata = BERTH_TRY(rdt->str_array("schemata"));
    i.enable_cmt = BERTH_TRY(rdt->opt_bool("enableCMT")).value_or(false);
    i.enable_mbm = BERTH_TRY(rdt->opt_bool("enableMBM")).value_or(false);
    i.enable_monitoring = BERTH_TRY(rdt->opt_bool("enableMonitoring")).value_or(false);
    l.intel_rdt = std::move(i);
  }
  if (auto nd = BERTH_TRY(opt_object(r, "netDevices"))) {
    for (const auto& [host, v] : nd->json().items()) {
      std::string path = nd->field(host.c_str());
      if (!v.is_object())
        return Error::invalid("{}: expected object, got {}", path, json_type_name(v));
      JsonReader e(v, path);
      l.net_devices.emplace(host, BERTH_TRY(e.opt_str("name")).value_or(""));
    }
  }
  return l;
}

}  // namespace berth::oci::detail
