// cgroup v2: the unified hierarchy.
#include <sys/stat.h>

#include <set>

#include "base/strings.h"
#include "runtime/cgroup_common.h"
#include "runtime/cgroup_managers.h"
#include "runtime/devices_bpf.h"

namespace berth::runtime {

using cg::join_path;
using cg::write_control;

namespace cg {
namespace {

std::set<std::string> words(const std::string& dir, const char* file) {
  std::set<std::string> out;
  auto text = read_control(dir, file);
  if (!text) return out;
  for (auto w : split(*text, ' ')) {
    if (!w.empty() && w[0] == '+') w = w.substr(1);
    w = std::string(trim(w));
    if (!w.empty()) out.insert(w);
  }
  return out;
}

// What a container's cgroup may be limited by; each ancestor delegates the
// ones it has.
const char* const kControllers[] = {"cpu", "cpuset", "io", "memory", "pids", "hugetlb", "misc", "rdma"};

void enable_controllers(const std::string& dir) {
  auto offered = words(dir, "cgroup.controllers");
  auto enabled = words(dir, "cgroup.subtree_control");
  std::vector<std::string> missing;
  for (const char* c : kControllers)
    if (offered.count(c) && !enabled.count(c)) missing.push_back(std::string("+") + c);
  if (missing.empty()) return;
  if (write_control(dir, "cgroup.subtree_control", join(missing, " "))) return;
  // One at a time, so that one refusal (a cgroup with processes of its own
  // cannot delegate some controllers) does not cost the others.
  for (const auto& m : missing) (void)write_control(dir, "cgroup.subtree_control", m);
}

}  // namespace

Result<void> create_v2_dirs(const std::string& mount, const std::string& path) {
  std::string cur = mount;
  for (const auto& c : split(path, '/')) {
    if (c.empty()) continue;
    enable_controllers(cur);
    cur = join_path(cur, c);
    if (::mkdir(cur.c_str(), 0755) < 0 && errno != EEXIST) return Error::sys(errno, "mkdir {}", cur);
  }
  return {};
}

Result<void> apply_v2_hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
  for (const auto& l : limits)
    BERTH_TRY(write_control(dir, fmt::format("hugetlb.{}.max", l.page_size), std::to_string(l.limit)));
  return {};
}

Result<void> apply_v2_unified(const std::string& dir, const std::map<std::string, std::string>& unified) {
  for (const auto& [key, value] : unified) {
    // Keys name a file of this cgroup, never a path elsewhere.
    if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
      return Error::invalid("linux.resources.unified: invalid key {:?}", key);
    BERTH_TRY(write_control(dir, key, value));
  }
  return {};
}

static Result<void> apply_v2_memory(const std::string& dir, const oci::MemoryResources& m) {
  auto swap = BERTH_TRY(swap_to_v2(m.swap, m.limit));
  // Without swap accounting the kernel has no memory.swap.max; Docker asks
  // for swap by default, so only an explicit finite limit is an error there.
  if (swap && (has_control(dir, "memory.swap.max") || *swap > 0))
    BERTH_TRY(write_control(dir, "memory.swap.max", max_or_value(*swap)));
  if (m.limit) BERTH_TRY(write_control(dir, "memory.max", max_or_value(*m.limit)));
  if (m.reservation) BERTH_TRY(write_control(dir, "memory.low", max_or_value(*m.reservation)));
  return {};
}

static Result<void> apply_v2_cpu(const std::string& dir, const oci::CpuResources& c) {
  if (c.shares && *c.shares) BERTH_TRY(write_control(dir, "cpu.weight", std::to_string(shares_to_weight(*c.shares))));
  bool quota = c.quota && *c.quota != 0;
  bool period = c.period && *c.period != 0;
  if (quota || period) {
    // "max" or a quota, then the period if given (the kernel keeps the
    // current period otherwise).
    std::string v = quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
    if (period) v += " " + std::to_string(*c.period);
    BERTH_TRY(write_control(dir, "cpu.max", v));
  }
  if (c.burst) BERTH_TRY(write_control(dir, "cpu.max.burst", std::to_string(*c.burst)));
  if ((c.realtime_runtime && *c.realtime_runtime) || (c.realtime_period && *c.realtime_period))
    return Error::invalid("cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU controls");
  if (c.idle) BERTH_TRY(write_control(dir, "cpu.idle", std::to_string(*c.idle)));
  if (!c.cpus.empty()) BERTH_TRY(write_control(dir, "cpuset.cpus", c.cpus));
  if (!c.mems.empty()) BERTH_TRY(write_control(dir, "cpuset.mems", c.mems));
  return {};
}

static Result<void> apply_v2_io(const std::string& dir, const oci::BlockIoResources& b) {
  // BFQ takes the OCI weight [10, 1000] as is; io.weight has its own scale.
  bool bfq = has_control(dir, "io.bfq.weight");
  if (b.weight && *b.weight) {  // 0: not set
    if (bfq)
      BERTH_TRY(write_control(dir, "io.bfq.weight", std::to_string(*b.weight)));
    else
      BERTH_TRY(write_control(dir, "io.weight", fmt::format("default {}", blkio_weight_to_io_weight(*b.weight))));
  }
  for (const auto& d : b.weight_device) {
    if (!d.weight || !*d.weight) continue;
    if (bfq)
      BERTH_TRY(write_control(dir, "io.bfq.weight", fmt::format("{}:{} {}", d.major, d.minor, *d.weight)));
    else
      BERTH_TRY(write_control(dir, "io.weight",
                              fmt::format("{}:{} {}", d.major, d.minor, blkio_weight_to_io_weight(*d.weight))));
  }
  auto throttle = [&](const std::vector<oci::ThrottleDevice>& v, const char* key) -> Result<void> {
    for (const auto& t : v)
      BERTH_TRY(write_control(dir, "io.max", fmt::format("{}:{} {}={}", t.major, t.minor, key, t.rate)));
    return {};
  };
  BERTH_TRY(throttle(b.throttle_read_bps_device, "rbps"));
  BERTH_TRY(throttle(b.throttle_write_bps_device, "wbps"));
  BERTH_TRY(throttle(b.throttle_read_iops_device, "riops"));
  BERTH_TRY(throttle(b.throttle_write_iops_device, "wiops"));
  return {};
}

Result<void> apply_v2_limits(const std::string& dir, const oci::Resources& res) {
  if (res.memory) BERTH_TRY(apply_v2_memory(dir, *res.memory));
  if (res.cpu) BERTH_TRY(apply_v2_cpu(dir, *res.cpu));
  if (res.pids) BERTH_TRY(write_control(dir, "pids.max", max_or_value(res.pids->limit > 0 ? res.pids->limit : -1)));
  if (res.block_io) BERTH_TRY(apply_v2_io(dir, *res.block_io));
  BERTH_TRY(apply_v2_hugetlb(dir, res.hugepage_limits));
  if (res.network && (res.network->class_id || !res.network->priorities.empty()))
    return Error::invalid("linux.resources.network: cgroup v2 has no net_cls/net_prio controllers");
  BERTH_TRY(apply_v2_unified(dir, res.unified));
  return {};
}

Result<void> destroy_v2(const std::string& dir) {
  if (!file_exists(dir)) return {};
  for (int round = 0; round < 5; ++round) {
    if (read_pids_recursive(dir).value_or({}).empty()) break;
    // cgroup.kill (5.14+) kills the whole subtree atomically, forks included.
    if (!has_control(dir, "cgroup.kill") || !write_control(dir, "cgroup.kill", "1")) {
      bool froze = has_control(dir, "cgroup.freeze") && write_control(dir, "cgroup.freeze", "1").ok();
      kill_pids(read_pids_recursive(dir).value_or({}));
      if (froze) (void)write_control(dir, "cgroup.freeze", "0");
    }
    if (wait_empty(dir, 2000)) break;
  }
  return remove_tree(dir);
}

}  // namespace cg

V2Cgroup::V2Cgroup(CgroupOptions opts, std::string mount, std::string path)
    : opts_(std::move(opts)), mount_(std::move(mount)), path_(std::move(path)), dir_(join_path(mount_, path_)) {}

Result<void> V2Cgroup::create() {
  BERTH_TRY_CTX(cg::create_v2_dirs(mount_, path_), "create cgroup {}", path_);
  return {};
}

Result<void> V2Cgroup::apply(const oci::Resources& res, bool update) {
  if ((!update || !res.devices.empty()) && !opts_.skip_device_program) {
    auto prog = device_program(cg::effective_device_rules(res.devices));
    auto fd = BERTH_TRY_CTX(load_device_program(prog), "device rules of cgroup {}", dir_);
    BERTH_TRY(replace_device_program(dir_, fd.get()));
  }
  return cg::apply_v2_limits(dir_, res);
}

Result<void> V2Cgroup::add_process(pid_t pid) { return write_control(dir_, "cgroup.procs", std::to_string(pid)); }

Result<void> V2Cgroup::freeze() {
  BERTH_TRY(write_control(dir_, "cgroup.freeze", "1"));
  bool done = cg::poll_until([&] {
    auto ev = cg::read_control(dir_, "cgroup.events");
    return ev && cg::parse_flat_keyed(*ev)["frozen"] == 1;
  }, 5000);
  if (!done) {
    (void)write_control(dir_, "cgroup.freeze", "0");
    return Error(ErrorCode::Unavailable, fmt::format("freeze {}: cgroup.events not frozen after 5 s", dir_));
  }
  return {};
}

Result<void> V2Cgroup::thaw() { return write_control(dir_, "cgroup.freeze", "0"); }

Result<bool> V2Cgroup::frozen() {
  auto v = BERTH_TRY(cg::read_control(dir_, "cgroup.freeze"));
  return trim(v) == "1";
}

Result<std::vector<pid_t>> V2Cgroup::pids() {
  if (!cg::file_exists(dir_)) return Error::not_found("cgroup {} does not exist", dir_);
  return cg::read_pids_recursive(dir_);
}

Result<Json> V2Cgroup::stats() { return cg::stats_v2(dir_); }

Result<uint64_t> V2Cgroup::oom_kills() {
  auto text = BERTH_TRY(cg::read_control(dir_, "memory.events"));
  return cg::parse_flat_keyed(text)["oom_kill"];
}

Result<void> V2Cgroup::destroy() {
  BERTH_TRY_CTX(cg::destroy_v2(dir_), "destroy cgroup {}", path_);
  return {};
}

Json V2Cgroup::to_json() const {
  return {{"mode", "v2"},
          {"root", opts_.root},
          {"id", opts_.id},
          {"path", path_},
          {"skip_device_program", opts_.skip_device_program}};
}

}  // namespace berth::runtime
