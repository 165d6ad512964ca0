// cgroup v1: one hierarchy per controller (or per co-mounted group).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <set>

#include "base/fd.h"
#include "base/strings.h"
#include "runtime/cgroup_common.h"
#include "runtime/cgroup_managers.h"

namespace berth::runtime {

using cg::join_path;
using cg::write_control;

std::vector<V1Hierarchy> discover_v1(const std::string& root) {
  static const std::set<std::string> known = {
      "cpu",     "cpuacct", "cpuset",   "memory",     "devices", "freezer", "blkio", "pids",
      "hugetlb", "net_cls", "net_prio", "perf_event", "rdma",    "misc",    "systemd"};
  std::vector<V1Hierarchy> out;
  DIR* d = ::opendir(root.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == "unified") continue;
    std::string mount = join_path(root, name);
    struct stat st;
    // cpu -> cpu,cpuacct style links would list a hierarchy twice.
    if (::lstat(mount.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    V1Hierarchy h;
    h.mount = mount;
    for (auto c : split(name, ',')) {
      if (c.rfind("name=", 0) == 0) c = c.substr(5);
      if (known.count(c)) h.controllers.push_back(c);
    }
    if (!h.controllers.empty()) out.push_back(std::move(h));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.mount < b.mount; });
  return out;
}

V1Cgroup::V1Cgroup(CgroupOptions opts, std::vector<V1Hierarchy> hierarchies, std::string path)
    : opts_(std::move(opts)), hierarchies_(std::move(hierarchies)), path_(std::move(path)) {}

std::string V1Cgroup::dir_of(std::string_view controller) const {
  for (const auto& h : hierarchies_)
    for (const auto& c : h.controllers)
      if (c == controller) return h.dir;
  return {};
}

std::string V1Cgroup::tracking_dir() const {
  for (const char* c : {"memory", "pids", "freezer", "cpu", "devices"})
    if (auto d = dir_of(c); !d.empty()) return d;
  return hierarchies_.empty() ? std::string() : hierarchies_.front().dir;
}

Result<void> V1Cgroup::set(std::string_view controller, const std::string& file, std::string_view value) {
  std::string dir = dir_of(controller);
  if (dir.empty())
    return Error(ErrorCode::FailedPrecondition,
                 fmt::format("write {} to {}: the {} cgroup controller is not mounted under {}", value,
                             file, controller, opts_.root));
  return write_control(dir, file, value);
}

Result<void> V1Cgroup::create() {
  for (const auto& h : hierarchies_) {
    bool cpuset = std::find(h.controllers.begin(), h.controllers.end(), "cpuset") != h.controllers.end();
    std::string rel = h.dir.substr(h.mount.size());
    std::vector<std::string> copy_down;
    if (cpuset) copy_down = {"cpuset.cpus", "cpuset.mems"};
    BERTH_TRY_CTX(cg::make_cgroup_dirs(h.mount, rel, copy_down), "create cgroup {}", rel);
  }
  return {};
}

Result<void> V1Cgroup::apply(const oci::Resources& res, bool update) {
  if (!res.unified.empty())
    return Error::invalid("cgroup v1 has no unified hierarchy for linux.resources.unified ({} keys)",
                          res.unified.size());
  if (!update || !res.devices.empty()) BERTH_TRY(apply_devices(res.devices));
  if (res.memory) BERTH_TRY(apply_memory(*res.memory, update));
  if (res.cpu) BERTH_TRY(apply_cpu(*res.cpu));
  if (res.pids) BERTH_TRY(set("pids", "pids.max", cg::max_or_value(res.pids->limit > 0 ? res.pids->limit : -1)));
  if (res.block_io) BERTH_TRY(apply_block_io(*res.block_io));
  if (!res.hugepage_limits.empty()) BERTH_TRY(apply_hugetlb(res.hugepage_limits));
  if (res.network) BERTH_TRY(apply_network(*res.network));
  return {};
}

Result<void> V1Cgroup::apply_devices(const std::vector<oci::DeviceRule>& config) {
  auto rules = cg::effective_device_rules(config);
  // rules[0] is the deny-all default; "a" is its v1 spelling.
  BERTH_TRY(set("devices", "devices.deny", "a"));
  // One descriptor per file for all rules (the kernel takes one rule per
  // write): this runs on every container start.
  std::string dir = dir_of("devices");
  if (dir.empty()) return {};
  Fd allow, deny;
  for (size_t i = 1; i < rules.size(); ++i) {
    const auto& r = rules[i];
    Fd& fd = r.allow ? allow : deny;
    const char* file = r.allow ? "devices.allow" : "devices.deny";
    std::string path = cg::join_path(dir, file);
    if (!fd) fd.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    std::string rule = cg::device_rule_string(r);
    if (!fd || ::write(fd.get(), rule.data(), rule.size()) < 0)
      return Error::sys(errno, "write {} to {}", rule, path);
  }
  return {};
}

Result<void> V1Cgroup::apply_memory(const oci::MemoryResources& m, bool update) {
  std::string dir = dir_of("memory");
  bool has_swap = m.swap.has_value() && *m.swap != 0;
  int64_t swap = has_swap ? *m.swap : 0;
  // Docker passes swap by default; without swap accounting (no memsw file)
  // there is nothing to limit, as with runc.
  if (has_swap && !dir.empty() && !cg::has_control(dir, "memory.memsw.limit_in_bytes")) has_swap = false;
  if (m.limit && has_swap) {
    // memory.memsw.limit_in_bytes may never drop below memory.limit_in_bytes:
    // raise memsw first when it grows, lower the limit first when it shrinks.
    uint64_t want = swap < 0 ? UINT64_MAX : static_cast<uint64_t>(swap);
    auto cur = cg::read_u64(dir, "memory.memsw.limit_in_bytes");
    bool memsw_first = !cur || want >= *cur;
    if (memsw_first) {
      BERTH_TRY(set("memory", "memory.memsw.limit_in_bytes", std::to_string(swap)));
      BERTH_TRY(set("memory", "memory.limit_in_bytes", std::to_string(*m.limit)));
    } else {
      BERTH_TRY(set("memory", "memory.limit_in_bytes", std::to_string(*m.limit)));
      BERTH_TRY(set("memory", "memory.memsw.limit_in_bytes", std::to_string(swap)));
    }
  } else if (m.limit) {
    BERTH_TRY(set("memory", "memory.limit_in_bytes", std::to_string(*m.limit)));
  } else if (has_swap) {
    BERTH_TRY(set("memory", "memory.memsw.limit_in_bytes", std::to_string(swap)));
  }
  if (m.reservation) BERTH_TRY(set("memory", "memory.soft_limit_in_bytes", std::to_string(*m.reservation)));
  if (m.kernel_tcp) BERTH_TRY(set("memory", "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp)));
  if (m.swappiness) {
    if (*m.swappiness > 100)
      return Error::invalid("memory.swappiness {}: must be between 0 and 100", *m.swappiness);
    BERTH_TRY(set("memory", "memory.swappiness", std::to_string(*m.swappiness)));
  }
  if (m.disable_oom_killer && (*m.disable_oom_killer || update))
    BERTH_TRY(set("memory", "memory.oom_control", *m.disable_oom_killer ? "1" : "0"));
  // memory.kmem.limit_in_bytes (m.kernel) is refused by kernels >= 5.16 and
  // ignored by runc: not written.
  return {};
}

Result<void> V1Cgroup::apply_cpu(const oci::CpuResources& c) {
  if (c.shares && *c.shares) BERTH_TRY(set("cpu", "cpu.shares", std::to_string(*c.shares)));
  // The period first: a quota is checked against the period in force.
  if (c.period && *c.period) BERTH_TRY(set("cpu", "cpu.cfs_period_us", std::to_string(*c.period)));
  if (c.quota && *c.quota) BERTH_TRY(set("cpu", "cpu.cfs_quota_us", std::to_string(*c.quota)));
  if (c.burst) BERTH_TRY(set("cpu", "cpu.cfs_burst_us", std::to_string(*c.burst)));
  if (c.realtime_period && *c.realtime_period)
    BERTH_TRY(set("cpu", "cpu.rt_period_us", std::to_string(*c.realtime_period)));
  if (c.realtime_runtime && *c.realtime_runtime)
    BERTH_TRY(set("cpu", "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime)));
  if (c.idle) BERTH_TRY(set("cpu", "cpu.idle", std::to_string(*c.idle)));
  if (!c.cpus.empty()) BERTH_TRY(set("cpuset", "cpuset.cpus", c.cpus));
  if (!c.mems.empty()) BERTH_TRY(set("cpuset", "cpuset.mems", c.mems));
  return {};
}

Result<void> V1Cgroup::apply_block_io(const oci::BlockIoResources& b) {
  std::string dir = dir_of("blkio");
  // Without CFQ, kernels offer only the BFQ files (blkio.bfq.weight*).
  auto weight_file = [&](const char* plain, const char* bfq) -> std::string {
    if (!dir.empty() && !cg::has_control(dir, plain) && cg::has_control(dir, bfq)) return bfq;
    return plain;
  };
  // A weight of 0 means "not set" (Docker always sends the field).
  if (b.weight && *b.weight) BERTH_TRY(set("blkio", weight_file("blkio.weight", "blkio.bfq.weight"), std::to_string(*b.weight)));
  if (b.leaf_weight && *b.leaf_weight) BERTH_TRY(set("blkio", "blkio.leaf_weight", std::to_string(*b.leaf_weight)));
  for (const auto& d : b.weight_device) {
    if (d.weight && *d.weight)
      BERTH_TRY(set("blkio", weight_file("blkio.weight_device", "blkio.bfq.weight_device"),
                    fmt::format("{}:{} {}", d.major, d.minor, *d.weight)));
    if (d.leaf_weight && *d.leaf_weight)
      BERTH_TRY(set("blkio", "blkio.leaf_weight_device", fmt::format("{}:{} {}", d.major, d.minor, *d.leaf_weight)));
  }
  auto throttle = [&](const std::vector<oci::ThrottleDevice>& v, const char* file) -> Result<void> {
    for (const auto& t : v) BERTH_TRY(set("blkio", file, fmt::format("{}:{} {}", t.major, t.minor, t.rate)));
    return {};
  };
  BERTH_TRY(throttle(b.throttle_read_bps_device, "blkio.throttle.read_bps_device"));
  BERTH_TRY(throttle(b.throttle_write_bps_device, "blkio.throttle.write_bps_device"));
  BERTH_TRY(throttle(b.throttle_read_iops_device, "blkio.throttle.read_iops_device"));
  BERTH_TRY(throttle(b.throttle_write_iops_device, "blkio.throttle.write_iops_device"));
  return {};
}

Result<void> V1Cgroup::apply_hugetlb(const std::vector<oci::HugepageLimit>& limits) {
  for (const auto& l : limits)
    BERTH_TRY(set("hugetlb", fmt::format("hugetlb.{}.limit_in_bytes", l.page_size), std::to_string(l.limit)));
  return {};
}

Result<void> V1Cgroup::apply_network(const oci::NetworkResources& n) {
  if (n.class_id) BERTH_TRY(set("net_cls", "net_cls.classid", std::to_string(*n.class_id)));
  // The kernel takes one "ifname priority" pair per write.
  for (const auto& p : n.priorities)
    BERTH_TRY(set("net_prio", "net_prio.ifpriomap", fmt::format("{} {}", p.name, p.priority)));
  return {};
}

Result<void> V1Cgroup::add_process(pid_t pid) {
  for (const auto& h : hierarchies_)
    BERTH_TRY(write_control(h.dir, "cgroup.procs", std::to_string(pid)));
  return {};
}

Result<void> V1Cgroup::freeze() {
  std::string dir = dir_of("freezer");
  if (dir.empty()) return Error(ErrorCode::NotImplemented, "freeze: no freezer cgroup controller is mounted");
  BERTH_TRY(write_control(dir, "freezer.state", "FROZEN"));
  // The state reads FREEZING until every task has stopped; a task in an
  // uninterruptible sleep can hold it there, and writing FROZEN again
  // makes the kernel retry.
  int tries = 0;
  bool done = cg::poll_until([&] {
    auto s = cg::read_control(dir, "freezer.state");
    if (s && *s == "FROZEN") return true;
    if (++tries % 20 == 0) (void)write_control(dir, "freezer.state", "FROZEN");
    return false;
  }, 5000);
  if (!done) {
    (void)write_control(dir, "freezer.state", "THAWED");
    return Error(ErrorCode::Unavailable, fmt::format("freeze {}: still FREEZING after 5 s", dir));
  }
  return {};
}

Result<void> V1Cgroup::thaw() {
  std::string dir = dir_of("freezer");
  if (dir.empty()) return Error(ErrorCode::NotImplemented, "thaw: no freezer cgroup controller is mounted");
  return write_control(dir, "freezer.state", "THAWED");
}

Result<bool> V1Cgroup::frozen() {
  std::string dir = dir_of("freezer");
  if (dir.empty()) return false;
  auto s = BERTH_TRY(cg::read_control(dir, "freezer.state"));
  return s == "FROZEN" || s == "FREEZING";
}

Result<std::vector<pid_t>> V1Cgroup::pids() {
  std::string dir = tracking_dir();
  if (!cg::file_exists(dir)) return Error::not_found("cgroup {} does not exist", dir);
  return cg::read_pids_recursive(dir);
}

Result<Json> V1Cgroup::stats() { return cg::stats_v1(*this); }

Result<uint64_t> V1Cgroup::oom_kills() {
  std::string dir = dir_of("memory");
  if (dir.empty()) return Error(ErrorCode::NotImplemented, "oom_kills: no memory cgroup controller is mounted");
  auto text = BERTH_TRY(cg::read_control(dir, "memory.oom_control"));
  auto kv = cg::parse_flat_keyed(text);
  return kv.count("oom_kill") ? kv["oom_kill"] : 0;
}

Result<void> V1Cgroup::destroy() {
  std::string freezer = dir_of("freezer");
  // Freeze first so that no process can fork between reading the pid list
  // and the SIGKILLs; thaw so that the signals are delivered.
  for (int round = 0; round < 5; ++round) {
    // The common case (the container has exited): one empty hierarchy says
    // enough; scan all of them only when something is left.
    if (round == 0 && cg::read_pids_recursive(tracking_dir()).value_or({0}).empty()) break;
    std::vector<pid_t> all;
    for (const auto& h : hierarchies_) {
      auto p = cg::read_pids_recursive(h.dir).value_or({});
      all.insert(all.end(), p.begin(), p.end());
    }
    if (all.empty()) break;
    bool froze = !freezer.empty() && cg::file_exists(freezer) && freeze().ok();
    if (froze) {
      all.clear();
      for (const auto& h : hierarchies_) {
        auto p = cg::read_pids_recursive(h.dir).value_or({});
        all.insert(all.end(), p.begin(), p.end());
      }
    }
    cg::kill_pids(all);
    if (froze) (void)thaw();
    if (cg::wait_empty(tracking_dir(), 2000).ok()) break;
  }
  for (const auto& h : hierarchies_) BERTH_TRY_CTX(cg::remove_tree(h.dir), "destroy cgroup {}", path_);
  return {};
}

Json V1Cgroup::to_json() const {
  Json hs = Json::array();
  for (const auto& h : hierarchies_)
    hs.push_back({{"mount", h.mount}, {"controllers", h.controllers}, {"dir", h.dir}});
  return {{"mode", "v1"},
          {"root", opts_.root},
          {"id", opts_.id},
          {"path", path_},
          {"skip_device_program", opts_.skip_device_program},
          {"hierarchies", hs}};
}

}  // namespace berth::runtime
