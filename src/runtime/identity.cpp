// The container process's user and groups, and its OOM score.
#include <grp.h>
#include <sys/types.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <cerrno>

#include "base/file.h"
#include "base/strings.h"
#include "runtime/process_setup.h"

namespace berth::runtime {
namespace {

// In a user namespace whose gid map was written without CAP_SETGID in the
// parent namespace, /proc/self/setgroups is "deny" and setgroups fails with
// EPERM (the kernel's defence against dropping a group to gain access,
// CVE-2014-8989). The supplementary groups are then those inherited.
bool setgroups_denied() {
  auto text = read_file("/proc/self/setgroups");
  return text.ok() && trim(*text) == "deny";
}

}  // namespace

Result<void> set_identity(const oci::User& user) {
  if (!setgroups_denied()) {
    std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
    if (setgroups(groups.size(), groups.empty() ? nullptr : groups.data()) != 0) {
      return Error::sys(errno, "setgroups {}", fmt::join(groups, ","));
    }
  }
  // Group first: after setresuid to a non-root uid we could no longer change it.
  if (setresgid(user.gid, user.gid, user.gid) != 0) {
    return Error::sys(errno, "setresgid {}", user.gid);
  }
  if (setresuid(user.uid, user.uid, user.uid) != 0) {
    return Error::sys(errno, "setresuid {}", user.uid);
  }
  return ok();
}

Result<void> set_oom_score_adj(pid_t pid, int value) {
  if (value < -1000 || value > 1000) {
    return Error::invalid("process.oomScoreAdj: {} is out of range -1000..1000", value);
  }
  std::string path = fmt::format("/proc/{}/oom_score_adj", pid);
  return write_file(path, std::to_string(value));
}

}  // namespace berth::runtime
