#include "engine/cgroup_stats.h"

#include <unistd.h>

#include <limits>

#include "base/file.h"
#include "base/strings.h"

namespace berth::engine {

namespace {

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

// A file holding one number; "max" (v2's no limit) reads as UINT64_MAX.
std::optional<uint64_t> read_number(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  std::string_view t = trim(*text);
  if (t == "max") return std::numeric_limits<uint64_t>::max();
  return parse_uint(t);
}

std::vector<std::string> words_of(std::string_view line) {
  std::vector<std::string> out;
  for (auto& w : split(line, ' '))
    if (!trim(w).empty()) out.emplace_back(trim(w));
  return out;
}

// "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
std::map<std::string, uint64_t> read_flat_keyed(const std::string& path) {
  std::map<std::string, uint64_t> out;
  auto text = read_file(path);
  if (!text) return out;
  for (auto& line : split(*text, '\n')) {
    auto w = words_of(line);
    if (w.size() != 2) continue;
    if (auto v = parse_uint(w[1])) out[w[0]] = *v;
  }
  return out;
}

bool parse_device(std::string_view dev, uint64_t& major, uint64_t& minor) {
  auto colon = dev.find(':');
  if (colon == std::string_view::npos) return false;
  auto ma = parse_uint(dev.substr(0, colon)), mi = parse_uint(dev.substr(colon + 1));
  if (!ma || !mi) return false;
  major = *ma;
  minor = *mi;
  return true;
}

// v1 blkio: "8:0 Read 4096" lines and a closing "Total N" line (skipped).
std::vector<BlkioEntry> read_blkio_v1(const std::string& path) {
  std::vector<BlkioEntry> out;
  auto text = read_file(path);
  if (!text) return out;
  for (auto& line : split(*text, '\n')) {
    auto w = words_of(line);
    BlkioEntry e;
    if (w.size() != 3 || !parse_device(w[0], e.major, e.minor)) continue;
    auto v = parse_uint(w[2]);
    if (!v) continue;
    e.op = w[1];
    e.value = *v;
    out.push_back(e);
  }
  return out;
}

// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0".
void read_io_stat_v2(const std::string& path, CgroupSample& s) {
  auto text = read_file(path);
  if (!text) return;
  for (auto& line : split(*text, '\n')) {
    auto w = words_of(line);
    uint64_t major = 0, minor = 0;
    if (w.empty() || !parse_device(w[0], major, minor)) continue;
    for (size_t i = 1; i < w.size(); i++) {
      auto eq = w[i].find('=');
      if (eq == std::string::npos) continue;
      std::string key = w[i].substr(0, eq);
      auto v = parse_uint(std::string_view(w[i]).substr(eq + 1));
      if (!v) continue;
      if (key == "rbytes") s.io_service_bytes.push_back({major, minor, "read", *v});
      else if (key == "wbytes") s.io_service_bytes.push_back({major, minor, "write", *v});
      else if (key == "rios") s.io_serviced.push_back({major, minor, "read", *v});
      else if (key == "wios") s.io_serviced.push_back({major, minor, "write", *v});
    }
  }
}

// cpuacct.stat counts USER_HZ ticks.
uint64_t ticks_to_ns(uint64_t ticks) {
  long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0) hz = 100;
  return ticks * (1000000000ull / static_cast<uint64_t>(hz));
}

void read_cpu_v1(const std::string& acct, const std::string& cpu, CgroupSample& s) {
  if (!acct.empty()) {
    if (auto total = read_number(acct + "/cpuacct.usage")) {
      s.has_cpu = true;
      s.cpu_total_ns = *total;
    }
    auto st = read_flat_keyed(acct + "/cpuacct.stat");
    s.cpu_user_ns = ticks_to_ns(st["user"]);
    s.cpu_kernel_ns = ticks_to_ns(st["system"]);
    if (auto text = read_file(acct + "/cpuacct.usage_percpu"))
      for (auto& w : words_of(trim(*text)))
        if (auto v = parse_uint(w)) s.cpu_percpu_ns.push_back(*v);
  }
  if (!cpu.empty()) {
    auto st = read_flat_keyed(cpu + "/cpu.stat");
    s.throttle_periods = st["nr_periods"];
    s.throttled_periods = st["nr_throttled"];
    s.throttled_time_ns = st["throttled_time"];
  }
}

void read_cpu_v2(const std::string& dir, CgroupSample& s) {
  if (!exists(dir + "/cpu.stat")) return;
  auto st = read_flat_keyed(dir + "/cpu.stat");
  s.has_cpu = true;
  s.cpu_total_ns = st["usage_usec"] * 1000;
  s.cpu_user_ns = st["user_usec"] * 1000;
  s.cpu_kernel_ns = st["system_usec"] * 1000;
  s.throttle_periods = st["nr_periods"];
  s.throttled_periods = st["nr_throttled"];
  s.throttled_time_ns = st["throttled_usec"] * 1000;
}

void read_memory_v1(const std::string& dir, CgroupSample& s) {
  auto usage = read_number(dir + "/memory.usage_in_bytes");
  if (!usage) return;
  s.has_memory = true;
  s.mem_usage = *usage;
  s.mem_max_usage = read_number(dir + "/memory.max_usage_in_bytes").value_or(0);
  s.mem_failcnt = read_number(dir + "/memory.failcnt").value_or(0);
  s.mem_limit = read_number(dir + "/memory.limit_in_bytes").value_or(0);
  s.mem_stat = read_flat_keyed(dir + "/memory.stat");
}

void read_memory_v2(const std::string& dir, CgroupSample& s) {
  auto usage = read_number(dir + "/memory.current");
  if (!usage) return;
  s.has_memory = true;
  s.v2 = true;
  s.mem_usage = *usage;
  s.mem_limit = read_number(dir + "/memory.max").value_or(std::numeric_limits<uint64_t>::max());
  s.mem_stat = read_flat_keyed(dir + "/memory.stat");
}

void read_pids(const std::string& dir, CgroupSample& s) {
  auto cur = read_number(dir + "/pids.current");
  if (!cur) return;
  s.has_pids = true;
  s.pids_current = *cur;
  auto max = read_number(dir + "/pids.max");
  s.pids_limit = !max || *max == std::numeric_limits<uint64_t>::max() ? 0 : *max;
}

}  // namespace

CgroupReader::CgroupReader(std::string root, std::string path) : root_(std::move(root)), path_(std::move(path)) {
  // A relative cgroupsPath is taken under the runtime's cgroup, which for
  // berthd's containers is the root; keep it absolute below the mount.
  if (path_.empty() || path_.front() != '/') path_ = "/" + path_;
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  v2_ = exists(root_ + "/cgroup.controllers");
}

std::string CgroupReader::dir_of(const std::string& controller) const {
  if (v2_) return exists(root_ + path_) ? root_ + path_ : "";
  // v1 mounts: one per controller, or co-mounted (cpu,cpuacct).
  std::vector<std::string> names = {controller};
  if (controller == "cpu" || controller == "cpuacct") {
    names.push_back("cpu,cpuacct");
    names.push_back("cpuacct,cpu");
  }
  for (const auto& n : names)
    if (exists(root_ + "/" + n + path_)) return root_ + "/" + n + path_;
  // Hybrid: the unified hierarchy, when it holds this controller.
  std::string unified = root_ + "/unified";
  if (controller == "procs" && exists(unified + path_)) return unified + path_;
  auto enabled = read_file(unified + "/cgroup.controllers");
  if (enabled && exists(unified + path_))
    for (auto& w : words_of(trim(*enabled)))
      if (w == controller || (controller == "blkio" && w == "io") || (controller == "cpuacct" && w == "cpu"))
        return unified + path_;
  return "";
}

Result<CgroupSample> CgroupReader::sample() const {
  CgroupSample s;
  if (v2_) {
    std::string dir = dir_of("memory");
    if (dir.empty()) return Error::not_found("cgroup {} not found under {}", path_, root_);
    read_cpu_v2(dir, s);
    read_memory_v2(dir, s);
    read_pids(dir, s);
    read_io_stat_v2(dir + "/io.stat", s);
    return s;
  }
  auto v2_dir = [&](const std::string& d) { return d.rfind(root_ + "/unified/", 0) == 0; };
  std::string acct = dir_of("cpuacct"), cpu = dir_of("cpu");
  if (!acct.empty() && v2_dir(acct)) read_cpu_v2(acct, s);
  else read_cpu_v1(acct, cpu, s);
  std::string mem = dir_of("memory");
  if (!mem.empty()) {
    if (v2_dir(mem)) read_memory_v2(mem, s);
    else read_memory_v1(mem, s);
  }
  if (std::string p = dir_of("pids"); !p.empty()) read_pids(p, s);
  if (std::string b = dir_of("blkio"); !b.empty()) {
    if (v2_dir(b)) {
      read_io_stat_v2(b + "/io.stat", s);
    } else {
      // The throttle files count every device; the CFQ ones (blkio.io_*)
      // are empty under other schedulers, as Docker also prefers these.
      s.io_service_bytes = read_blkio_v1(b + "/blkio.throttle.io_service_bytes_recursive");
      s.io_serviced = read_blkio_v1(b + "/blkio.throttle.io_serviced_recursive");
    }
  }
  if (!s.has_cpu && !s.has_memory && !s.has_pids)
    return Error::not_found("cgroup {} not found under {}", path_, root_);
  return s;
}

Result<std::vector<int64_t>> CgroupReader::pids() const {
  // Any hierarchy the container was placed in lists the same processes.
  for (const char* c : {"pids", "memory", "freezer", "cpuacct", "procs"}) {
    std::string dir = dir_of(c);
    if (dir.empty()) continue;
    auto text = read_file(dir + "/cgroup.procs");
    if (!text) continue;
    std::vector<int64_t> out;
    for (auto& line : split(*text, '\n'))
      if (auto v = parse_int(trim(line))) out.push_back(*v);
    return out;
  }
  return Error::not_found("cgroup {} not found under {}", path_, root_);
}

Result<uint64_t> system_cpu_usage_ns(const std::string& proc_stat) {
  auto text = BERTH_TRY(read_file(proc_stat));
  for (auto& line : split(text, '\n')) {
    auto w = words_of(line);
    if (w.empty() || w[0] != "cpu") continue;
    if (w.size() < 8) break;
    uint64_t ticks = 0;
    for (size_t i = 1; i <= 7; i++) ticks += parse_uint(w[i]).value_or(0);
    return ticks_to_ns(ticks);
  }
  return Error::internal("{}: no cpu line", proc_stat);
}

uint64_t host_memory_bytes(const std::string& meminfo) {
  auto text = read_file(meminfo);
  if (!text) return 0;
  for (auto& line : split(*text, '\n')) {
    auto w = words_of(line);
    if (w.size() >= 2 && w[0] == "MemTotal:") return parse_uint(w[1]).value_or(0) * 1024;
  }
  return 0;
}

}  // namespace berth::engine
