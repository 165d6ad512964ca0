// process.rlimits. setrlimit may lower any limit and raise a soft limit up to
// the hard one; raising a hard limit needs CAP_SYS_RESOURCE in the initial
// user namespace. Without it the kernel answers a bare EPERM, so the check
// is made here first and the error names the limit and both values.
#include <linux/capability.h>
#include <sys/resource.h>

#include <cerrno>
#include <map>

#include "base/log.h"
#include "runtime/capabilities.h"
#include "runtime/process_setup.h"

namespace berth::runtime {
namespace {

std::optional<int> rlimit_resource(const std::string& type) {
  static const std::map<std::string, int> types = {
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
      {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
  };
  auto it = types.find(type);
  if (it == types.end()) return std::nullopt;
  return it->second;
}

std::string limit_text(uint64_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

bool may_raise_hard_limits() {
  auto caps = current_capabilities();
  return caps.ok() && (caps->effective & (uint64_t{1} << CAP_SYS_RESOURCE)) != 0;
}

}  // namespace

Result<void> apply_rlimits(const std::vector<oci::Rlimit>& rlimits) {
  const bool privileged = may_raise_hard_limits();
  for (const auto& rl : rlimits) {
    auto resource = rlimit_resource(rl.type);
    if (!resource) return Error::invalid("process.rlimits: unknown rlimit type \"{}\"", rl.type);
    if (rl.soft > rl.hard) {
      return Error::invalid("process.rlimits: {} soft {} exceeds hard {}", rl.type,
                            limit_text(rl.soft), limit_text(rl.hard));
    }
    struct rlimit current {};
    if (prlimit(0, static_cast<__rlimit_resource>(*resource), nullptr, &current) != 0) {
      return Error::sys(errno, "getrlimit {}", rl.type);
    }
    auto too_high = [&] {
      return Error(ErrorCode::PermissionDenied,
                   fmt::format("process.rlimits: {} hard {} exceeds the allowed {}", rl.type,
                               limit_text(rl.hard), limit_text(current.rlim_max)));
    };
    if (!privileged && rl.hard > current.rlim_max) return too_high();
    struct rlimit wanted {rl.soft, rl.hard};
    if (prlimit(0, static_cast<__rlimit_resource>(*resource), &wanted, nullptr) != 0) {
      int err = errno;
      // In a user namespace CAP_SYS_RESOURCE does not count: same answer.
      if (err == EPERM && rl.hard > current.rlim_max) return too_high();
      return Error::sys(err, "setrlimit {} soft {} hard {}", rl.type, limit_text(rl.soft),
                        limit_text(rl.hard));
    }
  }
  return ok();
}

}  // namespace berth::runtime
