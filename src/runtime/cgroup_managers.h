// The three Cgroup implementations (see cgroup.h for the contract).
// Internal: the runtime goes through Cgroup::open / Cgroup::from_json.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/cgroup.h"

namespace berth::runtime {

// One mounted v1 hierarchy; co-mounted controllers share one ("cpu,cpuacct").
struct V1Hierarchy {
  std::string mount;                     // <root>/cpu,cpuacct
  std::vector<std::string> controllers;  // cpu, cpuacct ("systemd" for name=systemd)
  std::string dir;                       // mount + the container's cgroup path
};

// The v1 hierarchies under root, found by directory name (symlinks such as
// cpu -> cpu,cpuacct are skipped; "unified" is the v2 hierarchy of hybrid).
std::vector<V1Hierarchy> discover_v1(const std::string& root);

class V1Cgroup : public Cgroup {
 public:
  V1Cgroup(CgroupOptions opts, std::vector<V1Hierarchy> hierarchies, std::string path);

  CgroupMode mode() const override { return CgroupMode::V1; }
  Result<void> create() override;
  Result<void> apply(const oci::Resources& res, bool update) override;
  Result<void> add_process(pid_t pid) override;
  Result<void> freeze() override;
  Result<void> thaw() override;
  Result<bool> frozen() override;
  Result<std::vector<pid_t>> pids() override;
  Result<Json> stats() override;
  Result<uint64_t> oom_kills() override;
  Result<void> destroy() override;
  Json to_json() const override;
  std::string path() const override { return path_; }

  // The container's directory in the hierarchy carrying `controller`; "" if
  // the machine has no such hierarchy.
  std::string dir_of(std::string_view controller) const;

 protected:
  // Write one control file of a controller, failing if it is not mounted.
  Result<void> set(std::string_view controller, const std::string& file, std::string_view value);
  Result<void> apply_devices(const std::vector<oci::DeviceRule>& rules);
  Result<void> apply_memory(const oci::MemoryResources& m, bool update);
  Result<void> apply_cpu(const oci::CpuResources& c);
  Result<void> apply_block_io(const oci::BlockIoResources& b);
  Result<void> apply_hugetlb(const std::vector<oci::HugepageLimit>& limits);
  Result<void> apply_network(const oci::NetworkResources& n);
  // The hierarchy whose cgroup.procs lists the container's processes.
  std::string tracking_dir() const;

  CgroupOptions opts_;
  std::vector<V1Hierarchy> hierarchies_;
  std::string path_;
};

// v1 controllers for the limits, plus the container's directory in the v2
// hierarchy at <root>/unified: it tracks the processes and carries the
// controllers that only v2 offers (on this kind of machine: hugetlb).
class HybridCgroup : public V1Cgroup {
 public:
  HybridCgroup(CgroupOptions opts, std::vector<V1Hierarchy> hierarchies, std::string path,
               std::string unified_mount, std::string unified_path);

  CgroupMode mode() const override { return CgroupMode::Hybrid; }
  Result<void> create() override;
  Result<void> apply(const oci::Resources& res, bool update) override;
  Result<void> add_process(pid_t pid) override;
  Result<std::vector<pid_t>> pids() override;
  Result<Json> stats() override;
  Result<void> destroy() override;
  Json to_json() const override;
  std::string path() const override { return unified_path_; }

 private:
  std::string unified_mount_, unified_path_, unified_dir_;
};

class V2Cgroup : public Cgroup {
 public:
  V2Cgroup(CgroupOptions opts, std::string mount, std::string path);

  CgroupMode mode() const override { return CgroupMode::V2; }
  Result<void> create() override;
  Result<void> apply(const oci::Resources& res, bool update) override;
  Result<void> add_process(pid_t pid) override;
  Result<void> freeze() override;
  Result<void> thaw() override;
  Result<bool> frozen() override;
  Result<std::vector<pid_t>> pids() override;
  Result<Json> stats() override;
  Result<uint64_t> oom_kills() override;
  Result<void> destroy() override;
  Json to_json() const override;
  std::string path() const override { return path_; }

 private:
  CgroupOptions opts_;
  std::string mount_, path_, dir_;
};

namespace cg {

// v2 helpers shared by V2Cgroup and HybridCgroup's unified directory.
//
// mkdir -p mount/path, enabling in each ancestor's cgroup.subtree_control
// the controllers it offers (cgroup.controllers) among the ones we use.
Result<void> create_v2_dirs(const std::string& mount, const std::string& path);
// Limits other than devices; files that are absent are errors naming them.
Result<void> apply_v2_limits(const std::string& dir, const oci::Resources& res);
Result<void> apply_v2_hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits);
Result<void> apply_v2_unified(const std::string& dir, const std::map<std::string, std::string>& unified);
// Write cgroup.kill if the kernel has it (5.14+), else freeze, SIGKILL, thaw;
// then wait until empty and remove the tree.
Result<void> destroy_v2(const std::string& dir);

// runc `events --stats` "data" objects.
Json stats_v1(const V1Cgroup& cg);
Json stats_v2(const std::string& dir);
Json hugetlb_stats_v2(const std::string& dir);

}  // namespace cg
}  // namespace berth::runtime
