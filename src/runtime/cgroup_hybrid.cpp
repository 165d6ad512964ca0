// Hybrid: v1 controllers plus a v2 hierarchy at <root>/unified.
//
// The v1 hierarchies carry the limits. The container also gets a directory
// in the unified hierarchy: systemd and other tools track processes there,
// cgroup.kill/cgroup.freeze work on it, and controllers that the kernel
// bound to v2 rather than v1 (hugetlb on this kind of machine) live there.
#include "runtime/cgroup_common.h"
#include "runtime/cgroup_managers.h"
#include "runtime/devices_bpf.h"

namespace berth::runtime {

HybridCgroup::HybridCgroup(CgroupOptions opts, std::vector<V1Hierarchy> hierarchies, std::string path,
                           std::string unified_mount, std::string unified_path)
    : V1Cgroup(std::move(opts), std::move(hierarchies), std::move(path)),
      unified_mount_(std::move(unified_mount)),
      unified_path_(std::move(unified_path)),
      unified_dir_(cg::join_path(unified_mount_, unified_path_)) {}

Result<void> HybridCgroup::create() {
  BERTH_TRY(V1Cgroup::create());
  BERTH_TRY_CTX(cg::create_v2_dirs(unified_mount_, unified_path_), "create cgroup {}", unified_path_);
  return {};
}

Result<void> HybridCgroup::apply(const oci::Resources& res, bool update) {
  oci::Resources v1 = res;
  v1.unified.clear();
  bool hugetlb_v2 = dir_of("hugetlb").empty();
  if (hugetlb_v2) v1.hugepage_limits.clear();
  bool devices_v2 = dir_of("devices").empty();
  if (devices_v2) {
    // No v1 devices controller: the eBPF filter on the unified directory
    // does the same job (the kernel consults both).
    v1.devices.clear();
    if ((!update || !res.devices.empty()) && !opts_.skip_device_program) {
      auto fd = BERTH_TRY_CTX(load_device_program(device_program(cg::effective_device_rules(res.devices))),
                              "device rules of cgroup {}", unified_dir_);
      BERTH_TRY(replace_device_program(unified_dir_, fd.get()));
    }
    // V1Cgroup::apply would write devices.deny; keep it from doing so.
    update = true;
  }
  BERTH_TRY(V1Cgroup::apply(v1, update));
  if (hugetlb_v2) BERTH_TRY(cg::apply_v2_hugetlb(unified_dir_, res.hugepage_limits));
  BERTH_TRY(cg::apply_v2_unified(unified_dir_, res.unified));
  return {};
}

Result<void> HybridCgroup::add_process(pid_t pid) {
  BERTH_TRY(V1Cgroup::add_process(pid));
  return cg::write_control(unified_dir_, "cgroup.procs", std::to_string(pid));
}

Result<std::vector<pid_t>> HybridCgroup::pids() {
  if (!cg::file_exists(unified_dir_)) return V1Cgroup::pids();
  return cg::read_pids_recursive(unified_dir_);
}

Result<Json> HybridCgroup::stats() {
  Json s = cg::stats_v1(*this);
  if (dir_of("hugetlb").empty()) s["hugetlb"] = cg::hugetlb_stats_v2(unified_dir_);
  return s;
}

Result<void> HybridCgroup::destroy() {
  BERTH_TRY(V1Cgroup::destroy());
  BERTH_TRY_CTX(cg::destroy_v2(unified_dir_), "destroy cgroup {}", unified_path_);
  return {};
}

Json HybridCgroup::to_json() const {
  Json j = V1Cgroup::to_json();
  j["mode"] = "hybrid";
  j["unified_mount"] = unified_mount_;
  j["unified_path"] = unified_path_;
  return j;
}

}  // namespace berth::runtime
