// Docker's stats object from cgroup samples (the shape of moby's
// api/types/container.StatsResponse, field names as the clients read them).
#include "engine/container_ops.h"

namespace berth::engine {

namespace {

constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";

Json cpu_json(const StatsPoint* p) {
  Json usage = {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}};
  Json cpu = {{"cpu_usage", usage}, {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
  if (!p) return cpu;
  const auto& s = p->cgroup;
  cpu["cpu_usage"] = {{"total_usage", s.cpu_total_ns},
                      {"usage_in_kernelmode", s.cpu_kernel_ns},
                      {"usage_in_usermode", s.cpu_user_ns}};
  if (!s.cpu_percpu_ns.empty()) cpu["cpu_usage"]["percpu_usage"] = s.cpu_percpu_ns;
  cpu["system_cpu_usage"] = p->system_cpu_ns;
  cpu["online_cpus"] = p->online_cpus;
  cpu["throttling_data"] = {{"periods", s.throttle_periods},
                            {"throttled_periods", s.throttled_periods},
                            {"throttled_time", s.throttled_time_ns}};
  return cpu;
}

Json blkio_list(const std::vector<BlkioEntry>& entries) {
  if (entries.empty()) return nullptr;  // Docker sends null for an empty list
  Json out = Json::array();
  for (const auto& e : entries)
    out.push_back({{"major", e.major}, {"minor", e.minor}, {"op", e.op}, {"value", e.value}});
  return out;
}

}  // namespace

Json stats_json(const ContainerRecord& rec, const StatsPoint* cur, const StatsPoint* pre, uint64_t host_memory) {
  Json blkio = {{"io_service_bytes_recursive", nullptr}, {"io_serviced_recursive", nullptr},
                {"io_queue_recursive", nullptr},         {"io_service_time_recursive", nullptr},
                {"io_wait_time_recursive", nullptr},     {"io_merged_recursive", nullptr},
                {"io_time_recursive", nullptr},          {"sectors_recursive", nullptr}};
  Json j = {{"read", cur ? cur->read : kZeroTime},
            {"preread", pre ? pre->read : kZeroTime},
            {"pids_stats", Json::object()},
            {"blkio_stats", blkio},
            {"num_procs", 0},
            {"storage_stats", Json::object()},
            {"cpu_stats", cpu_json(cur)},
            {"precpu_stats", cpu_json(pre)},
            {"memory_stats", Json::object()},
            {"name", "/" + rec.name},
            {"id", rec.id}};
  if (!cur) return j;
  const auto& s = cur->cgroup;
  if (s.has_pids) {
    j["pids_stats"]["current"] = s.pids_current;
    if (s.pids_limit) j["pids_stats"]["limit"] = s.pids_limit;
  }
  j["blkio_stats"]["io_service_bytes_recursive"] = blkio_list(s.io_service_bytes);
  j["blkio_stats"]["io_serviced_recursive"] = blkio_list(s.io_serviced);
  if (s.has_memory) {
    // No limit (v1's huge number, v2's "max") reads as the host's memory,
    // as Docker reports it.
    uint64_t limit = s.mem_limit;
    if (host_memory > 0 && limit > host_memory) limit = host_memory;
    Json stats = Json::object();
    for (const auto& [k, v] : s.mem_stat) stats[k] = v;
    Json mem = {{"usage", s.mem_usage}, {"stats", stats}, {"limit", limit}};
    if (!s.v2) {
      mem["max_usage"] = s.mem_max_usage;
      mem["failcnt"] = s.mem_failcnt;
    }
    j["memory_stats"] = mem;
  }
  return j;
}

}  // namespace berth::engine
