#include "runtime/namespaces.h"

#include <fcntl.h>
#include <sched.h>

#include "base/file.h"
#include "base/strings.h"

namespace berth::runtime {
namespace {

std::string format_mappings(const std::vector<oci::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return out;
}

}  // namespace

Result<NamespacePlan> plan_namespaces(const oci::Spec& spec) {
  NamespacePlan plan;
  if (!spec.linux_) return plan;
  for (const auto& ns : spec.linux_->namespaces) {
    int flag = oci::namespace_flag(ns.type);
    if (flag == 0) return Error::invalid("linux.namespaces: unknown namespace type {:?}", ns.type);
    if (!ns.path.empty()) {
      Fd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) return Error::sys(errno, "linux.namespaces: open {} namespace {}", ns.type, ns.path);
      if (flag == CLONE_NEWUSER)
        plan.join_user = std::move(fd);
      else if (flag == CLONE_NEWPID)
        plan.join_pid = std::move(fd);
      else if (flag == CLONE_NEWTIME)
        plan.join_time = std::move(fd);
      else
        plan.join.emplace_back(flag, std::move(fd));
      continue;
    }
    switch (flag) {
      case CLONE_NEWCGROUP: plan.new_cgroup = true; break;
      case CLONE_NEWTIME: plan.new_time = true; break;
      default: plan.clone_flags |= flag; break;
    }
  }
  plan.new_user = plan.clone_flags & CLONE_NEWUSER;
  plan.new_pid = plan.clone_flags & CLONE_NEWPID;
  plan.new_mount = plan.clone_flags & CLONE_NEWNS;
  plan.new_uts = plan.clone_flags & CLONE_NEWUTS;
  plan.new_net = plan.clone_flags & CLONE_NEWNET;
  plan.two_stage = plan.join_user.valid() && plan.clone_flags != 0;
  return plan;
}

Result<void> write_id_mappings(pid_t pid, const oci::Linux& lx) {
  std::string base = fmt::format("/proc/{}/", pid);
  if (!lx.uid_mappings.empty())
    BERTH_TRY_CTX(write_file(base + "uid_map", format_mappings(lx.uid_mappings)), "linux.uidMappings");
  if (!lx.gid_mappings.empty())
    BERTH_TRY_CTX(write_file(base + "gid_map", format_mappings(lx.gid_mappings)), "linux.gidMappings");
  return {};
}

Result<void> write_time_offsets(const oci::Linux& lx) {
  std::string text;
  for (const auto& [clock, off] : lx.time_offsets) {
    if (clock != "monotonic" && clock != "boottime")
      return Error::invalid("linux.timeOffsets: unknown clock {:?}", clock);
    text += fmt::format("{} {} {}\n", clock, off.secs, off.nanosecs);
  }
  if (text.empty()) return {};
  // One write per line: the kernel parses a single offset per write.
  for (const auto& line : split(text, '\n')) {
    if (line.empty()) continue;
    BERTH_TRY_CTX(write_file("/proc/self/timens_offsets", line), "linux.timeOffsets");
  }
  return {};
}

}  // namespace berth::runtime
