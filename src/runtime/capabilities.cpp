#include "runtime/capabilities.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstdlib>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "runtime/process_setup.h"

namespace berth::runtime {
namespace {

// The name of capability `n` as the config spells it ("CAP_CHOWN").
std::string cap_name(int n) {
  char* s = cap_to_name(static_cast<cap_value_t>(n));
  if (s == nullptr) return fmt::format("capability {}", n);
  std::string name = s;
  cap_free(s);
  for (auto& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return name;
}

// This process's bounding set: what it can ever hand on.
uint64_t own_bounding_set() {
  uint64_t mask = 0;
  int last = last_capability();
  for (int n = 0; n <= last && n < 64; ++n) {
    if (prctl(PR_CAPBSET_READ, n, 0, 0, 0) == 1) mask |= uint64_t{1} << n;
  }
  return mask;
}

}  // namespace

int last_capability() {
  static int cached = -1;
  if (cached >= 0) return cached;
  auto text = read_file("/proc/sys/kernel/cap_last_cap");
  if (text.ok()) {
    if (auto v = parse_int(trim(*text)); v && *v >= 0 && *v < 64) cached = static_cast<int>(*v);
  }
  if (cached < 0) {
    // Without /proc (unusual), probe the bounding set: PR_CAPBSET_READ fails
    // with EINVAL past the last capability.
    int n = 0;
    while (n < 63 && prctl(PR_CAPBSET_READ, n + 1, 0, 0, 0) >= 0) ++n;
    cached = n;
  }
  return cached;
}

Result<uint64_t> capability_mask(const std::vector<std::string>& names, const std::string& field) {
  const int last = last_capability();
  const uint64_t own = own_bounding_set();
  uint64_t mask = 0;
  for (const auto& name : names) {
    cap_value_t value = 0;
    // cap_from_name also takes numbers; the spec only has CAP_ names.
    bool named = name.size() > 4 && (name.compare(0, 4, "CAP_") == 0 || name.compare(0, 4, "cap_") == 0);
    if (!named || cap_from_name(name.c_str(), &value) != 0 || value > last) {
      log::warn("{}: ignoring {}: not a capability this kernel knows", field, name);
      continue;
    }
    uint64_t bit = uint64_t{1} << value;
    if ((own & bit) == 0) {
      return Error(ErrorCode::FailedPrecondition,
                   fmt::format("{}: {} is not in the runtime's bounding set", field, name));
    }
    mask |= bit;
  }
  return mask;
}

Result<CapabilitySets> current_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (capget(&header, data) != 0) return Error::sys(errno, "capget");
  CapabilitySets sets;
  sets.effective = data[0].effective | (uint64_t{data[1].effective} << 32);
  sets.permitted = data[0].permitted | (uint64_t{data[1].permitted} << 32);
  sets.inheritable = data[0].inheritable | (uint64_t{data[1].inheritable} << 32);
  return sets;
}

Result<void> apply_bounding_set(const oci::Capabilities& caps) {
  uint64_t keep = BERTH_TRY(capability_mask(caps.bounding, "process.capabilities.bounding"));
  const int last = last_capability();
  for (int n = 0; n <= last; ++n) {
    if (keep & (uint64_t{1} << n)) continue;
    if (prctl(PR_CAPBSET_READ, n, 0, 0, 0) != 1) continue;  // already gone
    if (prctl(PR_CAPBSET_DROP, n, 0, 0, 0) != 0) {
      return Error::sys(errno, "drop {} from the bounding set", cap_name(n));
    }
  }
  return ok();
}

Result<void> apply_capability_sets(const oci::Capabilities& caps) {
  uint64_t effective = BERTH_TRY(capability_mask(caps.effective, "process.capabilities.effective"));
  uint64_t permitted = BERTH_TRY(capability_mask(caps.permitted, "process.capabilities.permitted"));
  uint64_t inheritable =
      BERTH_TRY(capability_mask(caps.inheritable, "process.capabilities.inheritable"));
  uint64_t ambient = BERTH_TRY(capability_mask(caps.ambient, "process.capabilities.ambient"));

  // The kernel rejects an effective cap outside permitted with a bare EPERM;
  // name the culprit instead.
  for (int n = 0; n < 64; ++n) {
    uint64_t bit = uint64_t{1} << n;
    if ((effective & bit) && !(permitted & bit)) {
      return Error::invalid("process.capabilities.effective: {} is not in the permitted set",
                            cap_name(n));
    }
  }

  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  data[0].effective = static_cast<uint32_t>(effective);
  data[1].effective = static_cast<uint32_t>(effective >> 32);
  data[0].permitted = static_cast<uint32_t>(permitted);
  data[1].permitted = static_cast<uint32_t>(permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(inheritable);
  data[1].inheritable = static_cast<uint32_t>(inheritable >> 32);
  if (capset(&header, data) != 0) return Error::sys(errno, "capset");

  // Ambient caps survive execve of an unprivileged binary; the kernel takes
  // only those in both permitted and inheritable. Start from empty so that
  // nothing inherited from the runtime leaks through.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return Error::sys(errno, "clear the ambient set");
  }
  for (int n = 0; n < 64; ++n) {
    if (!(ambient & (uint64_t{1} << n))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n, 0, 0) != 0) {
      int err = errno;
      if (err == EPERM) {
        // The kernel raises only caps both permitted and inheritable. Configs
        // from `crun spec` and older `runc spec` list ambient caps without
        // inheritable ones; runc and crun skip those, and so do we.
        log::debug("process.capabilities.ambient: {} skipped: not in both the permitted and inheritable sets",
                  cap_name(n));
        continue;
      }
      return Error::sys(err, "raise ambient {}", cap_name(n));
    }
  }
  return ok();
}

Result<void> apply_capabilities(const oci::Capabilities& caps) {
  BERTH_TRY(apply_bounding_set(caps));
  return apply_capability_sets(caps);
}

Result<void> drop_all_capabilities() { return apply_capabilities(oci::Capabilities{}); }

}  // namespace berth::runtime
