// linux.sysctl: only the sysctls that a namespace of the container's own
// scopes; writing any other would change the host.
#include <algorithm>
#include <string_view>

#include "runtime/mount_ops.h"
#include "runtime/rootfs.h"

namespace berth::runtime {
namespace {

// IPC namespace (ipc_namespace.c and mqueue's sysctls).
constexpr std::string_view kIpcSysctls[] = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",  "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool has_namespace(const oci::Spec& spec, std::string_view type) {
  if (!spec.linux_) return false;
  const auto& nss = spec.linux_->namespaces;
  return std::any_of(nss.begin(), nss.end(), [&](const oci::Namespace& n) { return n.type == type; });
}

}  // namespace

SysctlNamespaces sysctl_namespaces(const oci::Spec& spec) {
  return {has_namespace(spec, "ipc"), has_namespace(spec, "network"), has_namespace(spec, "uts")};
}

Result<void> validate_sysctl(const std::string& key, const SysctlNamespaces& ns) {
  auto bad = [&](std::string_view why) {
    return Error::invalid("linux.sysctl \"{}\": {}", key, why);
  };
  if (key.empty() || key.find("..") != std::string::npos || key.front() == '.' ||
      key.front() == '/' || key.find("//") != std::string::npos) {
    return bad("not a sysctl name");
  }
  bool ipc = std::find(std::begin(kIpcSysctls), std::end(kIpcSysctls), key) != std::end(kIpcSysctls) ||
             starts_with(key, "fs.mqueue.");
  if (ipc) {
    if (!ns.ipc) return bad("needs the container's own IPC namespace");
    return ok();
  }
  if (starts_with(key, "net.")) {
    if (!ns.net) return bad("needs the container's own network namespace");
    return ok();
  }
  if (key == "kernel.hostname" || key == "kernel.domainname") {
    if (!ns.uts) return bad("needs the container's own UTS namespace");
    return ok();
  }
  return bad("not namespaced: setting it would change the host");
}

Result<void> apply_sysctls(const std::map<std::string, std::string>& sysctl,
                           const SysctlNamespaces& ns, MountOps& ops) {
  // Check all first: a refused key leaves nothing half-applied.
  for (const auto& [key, value] : sysctl) BERTH_TRY(validate_sysctl(key, ns));
  for (const auto& [key, value] : sysctl) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    BERTH_TRY_CTX(ops.write_file(path, value), "set sysctl {}={}", key, value);
  }
  return ok();
}

Result<void> apply_sysctls(const std::map<std::string, std::string>& sysctl) {
  return apply_sysctls(sysctl, SysctlNamespaces{}, real_mount_ops());
}

Result<void> apply_sysctls(const oci::Spec& spec) {
  if (!spec.linux_) return ok();
  return apply_sysctls(spec.linux_->sysctl, sysctl_namespaces(spec), real_mount_ops());
}

}  // namespace berth::runtime
