#include "api/policy.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"

namespace berth::api {

namespace {

// Docker's default capability set: adding one of these changes nothing.
const std::vector<std::string> kDefaultCaps = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};

std::string cap_name(std::string c) {
  std::transform(c.begin(), c.end(), c.begin(), ::toupper);
  return c.rfind("CAP_", 0) == 0 || c == "ALL" ? c : "CAP_" + c;
}

Error denied(std::string_view rule, std::string_view what) {
  return Error(ErrorCode::PermissionDenied,
               fmt::format("authorization denied by policy rule {}: callers other than root may not {}",
                           rule, what));
}

std::string str_field(const Json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return "";
  return obj[key].get<std::string>();
}

// Lexically clean an absolute path; "" when it is not absolute.
std::string clean_path(std::string_view p) {
  if (p.empty() || p[0] != '/') return "";
  std::vector<std::string> parts;
  for (auto& s : split(p, '/')) {
    if (s.empty() || s == ".") continue;
    if (s == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(s));
  }
  return "/" + join(parts, "/");
}

bool bind_allowed(const Policy& p, std::string_view source) {
  std::string src = clean_path(source);
  if (src.empty()) return true;  // a named volume, not a host path
  for (const auto& allowed : p.allowed_bind_paths) {
    std::string a = clean_path(allowed);
    if (a.empty()) continue;
    if (src == a || (a == "/" ) || src.rfind(a + "/", 0) == 0) return true;
  }
  return false;
}

}  // namespace

Result<Policy> parse_policy(const Json& j) {
  Policy p;
  if (j.is_null()) return p;
  if (!j.is_object()) return Error::invalid("policy: expected an object");
  JsonReader r(j, "policy");
  p.allow_privileged = BERTH_TRY(r.opt_bool("allow_privileged")).value_or(false);
  p.allow_host_namespaces = BERTH_TRY(r.opt_bool("allow_host_namespaces")).value_or(false);
  p.allow_devices = BERTH_TRY(r.opt_bool("allow_devices")).value_or(false);
  p.allow_unconfined = BERTH_TRY(r.opt_bool("allow_unconfined")).value_or(false);
  for (auto& c : BERTH_TRY(r.str_array("allowed_capabilities"))) p.allowed_capabilities.push_back(cap_name(c));
  p.allowed_bind_paths = BERTH_TRY(r.str_array("allowed_bind_paths"));
  for (const auto& b : p.allowed_bind_paths)
    if (clean_path(b).empty()) return Error::invalid("policy.allowed_bind_paths: {:?} is not absolute", b);
  return p;
}

Result<void> check_create(const Policy& p, const Caller& caller, const Json& body) {
  if (caller.is_root()) return ok();
  const Json empty = Json::object();
  const Json& hc = body.is_object() && body.contains("HostConfig") && body["HostConfig"].is_object()
                       ? body["HostConfig"]
                       : empty;
  if (!p.allow_privileged && hc.contains("Privileged") && hc["Privileged"].is_boolean() &&
      hc["Privileged"].get<bool>())
    return denied("allow_privileged", "run privileged containers");
  if (!p.allow_host_namespaces) {
    for (const char* mode : {"NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode"})
      if (str_field(hc, mode) == "host")
        return denied("allow_host_namespaces", fmt::format("share the host's namespaces ({}=host)", mode));
  }
  if (!p.allow_devices) {
    for (const char* key : {"Devices", "DeviceCgroupRules", "DeviceRequests"})
      if (hc.contains(key) && hc[key].is_array() && !hc[key].empty())
        return denied("allow_devices", "give containers host devices");
  }
  if (hc.contains("CapAdd") && hc["CapAdd"].is_array()) {
    for (const auto& c : hc["CapAdd"]) {
      if (!c.is_string()) continue;
      std::string name = cap_name(c.get<std::string>());
      bool is_default = std::find(kDefaultCaps.begin(), kDefaultCaps.end(), name) != kDefaultCaps.end();
      bool allowed = std::find(p.allowed_capabilities.begin(), p.allowed_capabilities.end(), name) !=
                     p.allowed_capabilities.end();
      if (!is_default && !allowed)
        return denied("allowed_capabilities", fmt::format("add capability {}", name));
    }
  }
  if (!p.allow_unconfined && hc.contains("SecurityOpt") && hc["SecurityOpt"].is_array()) {
    for (const auto& o : hc["SecurityOpt"]) {
      if (!o.is_string()) continue;
      std::string opt = o.get<std::string>();
      std::replace(opt.begin(), opt.end(), ':', '=');
      if (opt == "seccomp=unconfined" || opt == "apparmor=unconfined" || opt == "label=disable" ||
          opt == "systempaths=unconfined" || (opt.rfind("seccomp=", 0) == 0 && opt != "seccomp=default"))
        return denied("allow_unconfined", fmt::format("weaken confinement ({})", o.get<std::string>()));
    }
  }
  if (hc.contains("Binds") && hc["Binds"].is_array()) {
    for (const auto& b : hc["Binds"]) {
      if (!b.is_string()) continue;
      std::string spec = b.get<std::string>();
      std::string source = spec.substr(0, spec.find(':'));
      if (!bind_allowed(p, source))
        return denied("allowed_bind_paths", fmt::format("bind-mount {} from the host", source));
    }
  }
  if (hc.contains("Mounts") && hc["Mounts"].is_array()) {
    for (const auto& m : hc["Mounts"]) {
      if (str_field(m, "Type") != "bind") continue;
      std::string source = str_field(m, "Source");
      if (!bind_allowed(p, source.empty() ? "/" : source))
        return denied("allowed_bind_paths", fmt::format("bind-mount {} from the host", source));
    }
  }
  return ok();
}

}  // namespace berth::api
