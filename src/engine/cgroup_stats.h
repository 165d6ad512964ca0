// Reading a container's resource usage and processes from its cgroup, for
// `docker stats` and `docker top`. Read-only: the runtime creates, limits
// and removes the cgroup; berthd only looks.
//
// Usage:
//   CgroupReader cg("/sys/fs/cgroup", "/berth/<id>");   // root injectable for tests
//   auto s = BERTH_TRY(cg.sample());      // cpu, memory, pids, block I/O
//   auto pids = BERTH_TRY(cg.pids());     // cgroup.procs
//   uint64_t sys = BERTH_TRY(system_cpu_usage_ns("/proc/stat"));
//
// Layouts, as the runtime (src/runtime/cgroup.h) knows them:
//   v2      <root>/cgroup.controllers exists; the cgroup is <root><path>
//           with memory.current, memory.max, memory.stat, cpu.stat,
//           pids.current, pids.max, io.stat.
//   v1      one hierarchy per controller: <root>/memory<path>,
//           <root>/cpuacct<path> (or cpu,cpuacct), <root>/pids<path>,
//           <root>/blkio<path>.
//   hybrid  v1 plus <root>/unified: a controller missing from v1 is read
//           from the unified hierarchy when it has it there.
// Each controller is read on its own: one that is absent leaves its part of
// the sample at zero (`has_*` false) rather than failing the whole sample,
// as a container may lack a controller the host did not enable.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::engine {

// One row of Docker's blkio_stats lists: device, operation, value.
struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // v1: "Read", "Write", "Sync", "Async", "Discard", "Total"; v2: "read", "write"
  uint64_t value = 0;
};

struct CgroupSample {
  bool v2 = false;  // which layout the memory numbers come from

  bool has_cpu = false;
  uint64_t cpu_total_ns = 0, cpu_user_ns = 0, cpu_kernel_ns = 0;
  std::vector<uint64_t> cpu_percpu_ns;  // v1 only
  uint64_t throttle_periods = 0, throttled_periods = 0, throttled_time_ns = 0;

  bool has_memory = false;
  uint64_t mem_usage = 0, mem_max_usage = 0, mem_failcnt = 0;
  uint64_t mem_limit = 0;  // as the cgroup says; "max" (v2) is UINT64_MAX
  std::map<std::string, uint64_t> mem_stat;

  bool has_pids = false;
  uint64_t pids_current = 0, pids_limit = 0;  // limit 0: none

  std::vector<BlkioEntry> io_service_bytes, io_serviced;
};

class CgroupReader {
 public:
  // `path` is the cgroupsPath of the container's config.json ("/berth/ID").
  CgroupReader(std::string root, std::string path);

  Result<CgroupSample> sample() const;
  // The processes in the cgroup; NotFound when the cgroup is gone.
  Result<std::vector<int64_t>> pids() const;

 private:
  // The directory of `controller` for this cgroup, or "" when no
  // hierarchy has it.
  std::string dir_of(const std::string& controller) const;

  std::string root_, path_;
  bool v2_ = false;
};

// The "cpu" line of /proc/stat (user to softirq, in clock ticks) in ns: Docker's
// system_cpu_usage.
Result<uint64_t> system_cpu_usage_ns(const std::string& proc_stat = "/proc/stat");
// MemTotal of /proc/meminfo in bytes (0 when unreadable).
uint64_t host_memory_bytes(const std::string& meminfo = "/proc/meminfo");

}  // namespace berth::engine
