// Turning the seccomp table (or a user's Docker-format profile) into the OCI
// linux.seccomp object for one container. Conditions on capabilities and
// architecture are decided here, once, so the runtime sees plain rules.
#include <sys/utsname.h>

#include <algorithm>
#include <map>

#include "engine/seccomp_profile.h"
#include "oci/known.h"

namespace berth::engine {
namespace {

bool has(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// The seccomp architectures a filter for a native architecture must cover:
// a 64-bit kernel also runs that family's 32-bit binaries.
std::vector<std::string> filter_arches(std::string_view arch) {
  static const std::map<std::string_view, std::vector<std::string>> table = {
      {"amd64", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"x86", {"SCMP_ARCH_X86"}},
      {"arm64", {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}},
      {"arm", {"SCMP_ARCH_ARM"}},
      {"ppc64le", {"SCMP_ARCH_PPC64LE"}},
      {"s390x", {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"}},
      {"riscv64", {"SCMP_ARCH_RISCV64"}},
      {"loong64", {"SCMP_ARCH_LOONGARCH64"}},
  };
  auto it = table.find(arch);
  return it == table.end() ? std::vector<std::string>{} : it->second;
}

bool gate_open(const SeccompGate& g, const std::vector<std::string>& caps, std::string_view arch) {
  auto in = [&](const std::vector<std::string_view>& v) {
    return std::find(v.begin(), v.end(), arch) != v.end();
  };
  if (!g.arches.empty() && !in(g.arches)) return false;
  if (in(g.except_arches)) return false;
  if (!g.with_cap.empty() && !has(caps, g.with_cap)) return false;
  if (!g.without_cap.empty() && has(caps, g.without_cap)) return false;
  return true;
}

Json rule(const std::vector<std::string_view>& names, std::string_view action, uint32_t errno_ret) {
  Json r = {{"names", Json::array()}, {"action", action}};
  for (auto n : names) r["names"].push_back(n);
  if (action == "SCMP_ACT_ERRNO" && errno_ret != 0) r["errnoRet"] = errno_ret;
  return r;
}

}  // namespace

std::string native_seccomp_arch() {
  struct utsname u {};
  if (uname(&u) != 0) return "amd64";
  std::string_view m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m.substr(0, 3) == "arm") return "arm";
  if (m.size() == 4 && m[0] == 'i' && m.substr(2) == "86") return "x86";
  if (m == "loongarch64") return "loong64";
  return std::string(m);  // ppc64le s390x riscv64 keep their names
}

Json default_seccomp_profile(const std::vector<std::string>& caps, std::string_view arch) {
  Json out = {{"defaultAction", "SCMP_ACT_ERRNO"},
              {"defaultErrnoRet", 1},  // EPERM, what a missing capability would give
              {"architectures", filter_arches(arch)},
              {"syscalls", Json::array()}};
  for (const SeccompGroup& g : default_seccomp_groups()) {
    if (!gate_open(g.gate, caps, arch)) continue;
    if (g.any_of.empty()) {
      out["syscalls"].push_back(rule(g.names, g.action, g.errno_ret));
      continue;
    }
    for (const SeccompArgTest& t : g.any_of) {
      Json r = rule(g.names, g.action, g.errno_ret);
      Json a = {{"index", t.index}, {"value", t.value}, {"op", t.op}};
      if (t.value_two != 0) a["valueTwo"] = t.value_two;
      r["args"] = Json::array({a});
      out["syscalls"].push_back(std::move(r));
    }
  }
  return out;
}

namespace {

// includes/excludes of a Docker-format rule: {"caps": [...], "arches": [...],
// "minKernel": "x.y"} (minKernel is ignored: every supported kernel is newer
// than any value moby's profiles use).
Result<bool> docker_filter_matches(const JsonReader& r, const char* key, bool want,
                                   const std::vector<std::string>& caps, std::string_view arch) {
  if (!r.has(key)) return true;
  auto f = BERTH_TRY(r.object(key));
  auto fcaps = BERTH_TRY(f.str_array("caps"));
  auto farches = BERTH_TRY(f.str_array("arches"));
  for (const auto& c : fcaps) {
    if (has(caps, c) != want) return false;
  }
  if (!farches.empty() && has(farches, std::string(arch)) != want) return false;
  return true;
}

}  // namespace

Result<Json> seccomp_from_docker_profile(std::string_view text,
                                         const std::vector<std::string>& caps,
                                         std::string_view arch) {
  Json doc = BERTH_TRY(parse_json(text, "seccomp profile"));
  if (!doc.is_object()) return Error::invalid("seccomp profile: expected object, got {}", json_type_name(doc));
  JsonReader r(doc, "");
  Json out = Json::object();
  auto def = BERTH_TRY(r.str("defaultAction"));
  if (!oci::contains(oci::known_seccomp_actions(), def))
    return Error::invalid("defaultAction: unknown action {:?}", def);
  out["defaultAction"] = def;
  if (auto e = BERTH_TRY(r.opt_uint("defaultErrnoRet"))) out["defaultErrnoRet"] = *e;

  std::vector<std::string> arches = BERTH_TRY(r.str_array("architectures"));
  if (arches.empty()) {
    // archMap: [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": [...]}]
    for (const JsonReader& m : BERTH_TRY(r.obj_array("archMap"))) {
      auto a = BERTH_TRY(m.str("architecture"));
      auto subs = BERTH_TRY(m.str_array("subArchitectures"));
      auto native = filter_arches(arch);
      if (native.empty() || native.front() != a) continue;
      arches.push_back(a);
      arches.insert(arches.end(), subs.begin(), subs.end());
    }
  }
  for (const auto& a : arches) {
    if (!oci::contains(oci::known_seccomp_archs(), a))
      return Error::invalid("architectures: unknown architecture {:?}", a);
  }
  out["architectures"] = arches;
  auto flags = BERTH_TRY(r.str_array("flags"));
  for (const auto& f : flags) {
    if (!oci::contains(oci::known_seccomp_flags(), f))
      return Error::invalid("flags: unknown flag {:?}", f);
  }
  if (!flags.empty()) out["flags"] = flags;

  out["syscalls"] = Json::array();
  for (const JsonReader& s : BERTH_TRY(r.obj_array("syscalls"))) {
    if (!BERTH_TRY(docker_filter_matches(s, "includes", true, caps, arch))) continue;
    if (!BERTH_TRY(docker_filter_matches(s, "excludes", false, caps, arch))) continue;
    Json o = Json::object();
    auto names = BERTH_TRY(s.str_array("names"));
    if (auto n = BERTH_TRY(s.opt_str("name"))) names.push_back(*n);  // the old singular form
    if (names.empty()) return Error::invalid("{}: names: at least one syscall name is required", s.path());
    o["names"] = names;
    auto action = BERTH_TRY(s.str("action"));
    if (!oci::contains(oci::known_seccomp_actions(), action))
      return Error::invalid("{}.action: unknown action {:?}", s.path(), action);
    o["action"] = action;
    if (auto e = BERTH_TRY(s.opt_uint("errnoRet"))) o["errnoRet"] = *e;
    Json args = Json::array();
    for (const JsonReader& a : BERTH_TRY(s.obj_array("args"))) {
      auto op = BERTH_TRY(a.str("op"));
      if (!oci::contains(oci::known_seccomp_operators(), op))
        return Error::invalid("{}.op: unknown operator {:?}", a.path(), op);
      auto index = BERTH_TRY(a.opt_uint("index")).value_or(0);
      if (index > 5) return Error::invalid("{}.index: {} is past the sixth argument", a.path(), index);
      Json aj = {{"index", index}, {"value", BERTH_TRY(a.opt_uint("value")).value_or(0)}, {"op", op}};
      if (auto v2 = BERTH_TRY(a.opt_uint("valueTwo")); v2 && *v2 != 0) aj["valueTwo"] = *v2;
      args.push_back(std::move(aj));
    }
    if (!args.empty()) o["args"] = std::move(args);
    out["syscalls"].push_back(std::move(o));
  }
  return out;
}

}  // namespace berth::engine
