// Rules that span sections of config.json. Each mirrors a refusal of the
// kernel or of runc, so that a config fails here with the field's name rather
// than half-way through container setup.
#include <algorithm>

#include "oci/known.h"
#include "oci/spec.h"

namespace berth::oci {
namespace {

const Namespace* find_ns(const Linux* l, std::string_view type) {
  if (!l) return nullptr;
  for (const auto& ns : l->namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Which namespace makes a sysctl private to the container; "" when the
// kernel keeps it global (writing it would change the host).
std::string_view sysctl_namespace(std::string_view key) {
  if (starts_with(key, "net.")) return "network";
  if (starts_with(key, "fs.mqueue.")) return "ipc";
  static const std::string_view ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                              "kernel.sem",    "kernel.shmall", "kernel.shmmax",
                                              "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (auto k : ipc_keys)
    if (key == k) return "ipc";
  if (key == "kernel.hostname" || key == "kernel.domainname") return "uts";
  return "";
}

Result<void> check_user_namespace(const Linux* l) {
  const Namespace* user = find_ns(l, "user");
  bool has_maps = l && (!l->uid_mappings.empty() || !l->gid_mappings.empty());
  if (!user) {
    if (has_maps)
      return Error::invalid(
          "linux.uidMappings: id mappings need a user namespace in linux.namespaces");
    return ok();
  }
  if (!user->path.empty()) {
    // A joined namespace already has its maps; they cannot be written twice.
    if (has_maps)
      return Error::invalid(
          "linux.uidMappings: must not be set when the user namespace is joined by path ({})",
          user->path);
    return ok();
  }
  if (l->uid_mappings.empty())
    return Error::invalid("linux.uidMappings: a new user namespace needs uid mappings");
  if (l->gid_mappings.empty())
    return Error::invalid("linux.gidMappings: a new user namespace needs gid mappings");
  return ok();
}

}  // namespace

Result<void> validate_spec(const Spec& s) {
  // Every runtime-spec platform but Windows VMs needs a root file system.
  if (!s.root) return Error::invalid("root: required field is missing");
  if (s.root->path.empty()) return Error::invalid("root.path: must not be empty");
  const Linux* l = s.linux_ ? &*s.linux_ : nullptr;

  for (const auto& [k, v] : s.annotations)
    if (k.empty()) return Error::invalid("annotations: empty key");

  // sethostname(2) in the host's UTS namespace would rename the host.
  if (!s.hostname.empty() && !find_ns(l, "uts"))
    return Error::invalid("hostname: setting a hostname needs a uts namespace in linux.namespaces");
  if (!s.domainname.empty() && !find_ns(l, "uts"))
    return Error::invalid(
        "domainname: setting a domainname needs a uts namespace in linux.namespaces");

  BERTH_TRY(check_user_namespace(l));
  if (!l) return ok();

  for (const auto& [key, value] : l->sysctl) {
    auto ns = sysctl_namespace(key);
    if (ns.empty())
      return Error::invalid("linux.sysctl.{}: not a namespaced sysctl; setting it would change "
                            "the host",
                            key);
    if (!find_ns(l, ns))
      return Error::invalid("linux.sysctl.{}: needs a {} namespace in linux.namespaces", key, ns);
  }

  if (!l->time_offsets.empty()) {
    const Namespace* time = find_ns(l, "time");
    if (!time)
      return Error::invalid("linux.timeOffsets: needs a time namespace in linux.namespaces");
    // Offsets can only be written before the first process enters the namespace.
    if (!time->path.empty())
      return Error::invalid("linux.timeOffsets: cannot be set for a joined time namespace ({})",
                            time->path);
  }
  return ok();
}

}  // namespace berth::oci
