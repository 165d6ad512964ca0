// linux.resources (and `update --resources FILE`): the cgroup settings.
// Values are only type- and range-checked here; whether the kernel has the
// controller is the cgroup manager's question.
#include "oci/fields.h"
#include "oci/spec.h"

namespace berth::oci {
namespace {

using detail::opt_object;
using detail::opt_u16;
using detail::opt_u32;
using detail::req_int;

Result<DeviceRule> parse_device_rule(const JsonReader& r) {
  DeviceRule d;
  auto allow = BERTH_TRY(r.opt_bool("allow"));
  if (!allow) return detail::missing(r, "allow");
  d.allow = *allow;
  auto type = BERTH_TRY(r.opt_str("type"));
  if (type && !type->empty()) d.type.swap(*type);  // else the default "a"
  if (d.type != "a" && d.type != "c" && d.type != "b")
    return Error::invalid("{}: device rule type must be a, c or b, got \"{}\"", r.field("type"),
                          d.type);
  d.major = BERTH_TRY(r.opt_int("major"));
  d.minor = BERTH_TRY(r.opt_int("minor"));
  // The cgroup files read "*" for any; -1 is the way Go callers spell it too.
  if (d.major && *d.major == -1) d.major.reset();
  if (d.minor && *d.minor == -1) d.minor.reset();
  if ((d.major && *d.major < 0) || (d.minor && *d.minor < 0))
    return Error::invalid("{}: device numbers must not be negative",
                          r.field(d.major && *d.major < 0 ? "major" : "minor"));
  auto access = BERTH_TRY(r.opt_str("access"));
  if (access && !access->empty()) d.access.swap(*access);  // else the default "rwm"
  for (char c : d.access)
    if (c != 'r' && c != 'w' && c != 'm')
      return Error::invalid("{}: access \"{}\" is not a subset of \"rwm\"", r.field("access"),
                            d.access);
  return d;
}

Result<MemoryResources> parse_memory(const JsonReader& r) {
  MemoryResources m;
  m.limit = BERTH_TRY(r.opt_int("limit"));
  m.reservation = BERTH_TRY(r.opt_int("reservation"));
  m.swap = BERTH_TRY(r.opt_int("swap"));
  m.kernel = BERTH_TRY(r.opt_int("kernel"));
  m.kernel_tcp = BERTH_TRY(r.opt_int("kernelTCP"));
  // memory.swappiness accepts 0..100.
  m.swappiness = BERTH_TRY(detail::opt_uint_max(r, "swappiness", 100));
  m.disable_oom_killer = BERTH_TRY(r.opt_bool("disableOOMKiller"));
  m.use_hierarchy = BERTH_TRY(r.opt_bool("useHierarchy"));
  m.check_before_update = BERTH_TRY(r.opt_bool("checkBeforeUpdate"));
  return m;
}

Result<CpuResources> parse_cpu(const JsonReader& r) {
  CpuResources c;
  c.shares = BERTH_TRY(r.opt_uint("shares"));
  c.quota = BERTH_TRY(r.opt_int("quota"));
  if (auto burst = BERTH_TRY(detail::opt_uint_max(r, "burst", INT64_MAX)))
    c.burst = static_cast<int64_t>(*burst);
  c.period = BERTH_TRY(r.opt_uint("period"));
  c.realtime_runtime = BERTH_TRY(r.opt_int("realtimeRuntime"));
  c.realtime_period = BERTH_TRY(r.opt_uint("realtimePeriod"));
  c.cpus = BERTH_TRY(r.opt_str("cpus")).value_or("");
  c.mems = BERTH_TRY(r.opt_str("mems")).value_or("");
  c.idle = BERTH_TRY(r.opt_int("idle"));
  return c;
}

Result<std::vector<ThrottleDevice>> parse_throttle(const JsonReader& r, const char* key) {
  std::vector<ThrottleDevice> out;
  for (const auto& e : BERTH_TRY(r.obj_array(key))) {
    ThrottleDevice t;
    t.major = BERTH_TRY(req_int(e, "major"));
    t.minor = BERTH_TRY(req_int(e, "minor"));
    t.rate = BERTH_TRY(detail::req_uint(e, "rate"));
    out.push_back(t);
  }
  return out;
}

Result<BlockIoResources> parse_block_io(const JsonReader& r) {
  BlockIoResources b;
  b.weight = BERTH_TRY(opt_u16(r, "weight"));
  b.leaf_weight = BERTH_TRY(opt_u16(r, "leafWeight"));
  for (const auto& e : BERTH_TRY(r.obj_array("weightDevice"))) {
    WeightDevice w;
    w.major = BERTH_TRY(req_int(e, "major"));
    w.minor = BERTH_TRY(req_int(e, "minor"));
    w.weight = BERTH_TRY(opt_u16(e, "weight"));
    w.leaf_weight = BERTH_TRY(opt_u16(e, "leafWeight"));
    b.weight_device.push_back(w);
  }
  b.throttle_read_bps_device = BERTH_TRY(parse_throttle(r, "throttleReadBpsDevice"));
  b.throttle_write_bps_device = BERTH_TRY(parse_throttle(r, "throttleWriteBpsDevice"));
  b.throttle_read_iops_device = BERTH_TRY(parse_throttle(r, "throttleReadIOPSDevice"));
  b.throttle_write_iops_device = BERTH_TRY(parse_throttle(r, "throttleWriteIOPSDevice"));
  return b;
}

Result<NetworkResources> parse_network(const JsonReader& r) {
  NetworkResources n;
  n.class_id = BERTH_TRY(opt_u32(r, "classID"));
  for (const auto& e : BERTH_TRY(r.obj_array("priorities"))) {
    NetworkPriority p;
    p.name = BERTH_TRY(e.str("name"));
    p.priority = BERTH_TRY(detail::req_u32(e, "priority"));
    n.priorities.push_back(std::move(p));
  }
  return n;
}

}  // namespace

Result<Resources> parse_resources(const JsonReader& r) {
  Resources res;
  for (const auto& e : BERTH_TRY(r.obj_array("devices")))
    res.devices.push_back(BERTH_TRY(parse_device_rule(e)));
  if (auto m = BERTH_TRY(opt_object(r, "memory"))) res.memory = BERTH_TRY(parse_memory(*m));
  if (auto c = BERTH_TRY(opt_object(r, "cpu"))) res.cpu = BERTH_TRY(parse_cpu(*c));
  if (auto p = BERTH_TRY(opt_object(r, "pids"))) {
    PidsResources pids;
    pids.limit = BERTH_TRY(req_int(*p, "limit"));
    res.pids = pids;
  }
  if (auto b = BERTH_TRY(opt_object(r, "blockIO"))) res.block_io = BERTH_TRY(parse_block_io(*b));
  for (const auto& e : BERTH_TRY(r.obj_array("hugepageLimits"))) {
    HugepageLimit h;
    h.page_size = BERTH_TRY(e.str("pageSize"));
    if (h.page_size.empty())
      return Error::invalid("{}: must not be empty", e.field("pageSize"));
    h.limit = BERTH_TRY(detail::req_uint(e, "limit"));
    res.hugepage_limits.push_back(std::move(h));
  }
  if (auto n = BERTH_TRY(opt_object(r, "network"))) res.network = BERTH_TRY(parse_network(*n));
  if (auto rdma = BERTH_TRY(opt_object(r, "rdma"))) {
    for (const auto& [dev, v] : rdma->json().items()) {
      std::string path = rdma->field(dev.c_str());
      if (!v.is_object())
        return Error::invalid("{}: expected object, got {}", path, json_type_name(v));
      JsonReader e(v, path);
      RdmaLimit l;
      l.hca_handles = BERTH_TRY(opt_u32(e, "hcaHandles"));
      l.hca_objects = BERTH_TRY(opt_u32(e, "hcaObjects"));
      res.rdma.emplace(dev, l);
    }
  }
  res.unified = BERTH_TRY(detail::str_map(r, "unified"));
  for (const auto& [k, v] : res.unified)
    if (k.empty() || k.find('/') != std::string::npos)
      return Error::invalid("{}: \"{}\" is not a cgroup file name", r.field("unified"), k);
  return res;
}

}  // namespace berth::oci
