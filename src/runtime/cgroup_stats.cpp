// stats(): the "data" object of `runc events --stats`, with runc's field
// names (cpu.usage.total, cpu.throttling.throttledPeriods, memory.kernelTCP,
// blkio.ioServiceBytesRecursive, hugetlb.<size>.failcnt ...). Values are
// bytes and nanoseconds; a file the kernel lacks leaves its field at 0.
#include <dirent.h>
#include <unistd.h>

#include "base/strings.h"
#include "runtime/cgroup_common.h"
#include "runtime/cgroup_managers.h"

namespace berth::runtime::cg {
namespace {

uint64_t u64(const std::string& dir, const std::string& file) {
  if (dir.empty()) return 0;
  return read_u64(dir, file).value_or(0);
}

std::map<std::string, uint64_t> keyed(const std::string& dir, const std::string& file) {
  if (dir.empty()) return {};
  auto text = read_control(dir, file);
  return text ? parse_flat_keyed(*text) : std::map<std::string, uint64_t>{};
}

// Page sizes with a file hugetlb.<size><suffix> in dir ("2MB", "1GB").
std::vector<std::string> hugetlb_sizes(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> out;
  DIR* d = dir.empty() ? nullptr : ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.rfind("hugetlb.", 0) != 0 || n.size() <= 8 + suffix.size() ||
        n.substr(n.size() - suffix.size()) != suffix)
      continue;
    auto size = n.substr(8, n.size() - 8 - suffix.size());
    if (size.find('.') == std::string_view::npos) out.emplace_back(size);  // not .rsvd.
  }
  ::closedir(d);
  return out;
}

Json memory_entry(const std::string& dir, const std::string& prefix) {
  return {{"limit", u64(dir, prefix + "limit_in_bytes")},
          {"usage", u64(dir, prefix + "usage_in_bytes")},
          {"max", u64(dir, prefix + "max_usage_in_bytes")},
          {"failcnt", u64(dir, prefix + "failcnt")}};
}

// blkio v1: "8:0 Read 4096" lines; the "Total N" line is skipped.
Json blkio_v1_entries(const std::string& dir, const std::string& file) {
  Json out = Json::array();
  auto text = dir.empty() ? Result<std::string>(Error::not_found("")) : read_control(dir, file);
  if (!text) return out;
  for (const auto& line : split(*text, '\n')) {
    auto f = split(trim(line), ' ');
    if (f.size() != 3) continue;
    auto mm = split(f[0], ':');
    auto v = parse_uint(f[2]);
    if (mm.size() != 2 || !v) continue;
    out.push_back({{"major", parse_uint(mm[0]).value_or(0)},
                   {"minor", parse_uint(mm[1]).value_or(0)},
                   {"op", f[1]},
                   {"value", *v}});
  }
  return out;
}

Json blkio_v1_stat(const std::string& dir, const std::string& name) {
  // CFQ's blkio.<name>_recursive is absent without CFQ; the throttle
  // layer's counters are always there.
  Json e = blkio_v1_entries(dir, "blkio." + name + "_recursive");
  if (e.empty()) e = blkio_v1_entries(dir, "blkio.throttle." + name + "_recursive");
  return e;
}

}  // namespace

Json stats_v1(const V1Cgroup& cgroup) {
  Json s;
  std::string acct = cgroup.dir_of("cpuacct"), cpu = cgroup.dir_of("cpu");
  // cpuacct.stat counts USER_HZ ticks.
  uint64_t tick_ns = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  auto acct_stat = keyed(acct, "cpuacct.stat");
  Json percpu = Json::array();
  if (auto t = acct.empty() ? Result<std::string>(Error::not_found("")) : read_control(acct, "cpuacct.usage_percpu"))
    for (const auto& w : split(*t, ' '))
      if (auto v = parse_uint(trim(w))) percpu.push_back(*v);
  s["cpu"]["usage"] = {{"total", u64(acct, "cpuacct.usage")},
                       {"percpu", percpu},
                       {"kernel", acct_stat["system"] * tick_ns},
                       {"user", acct_stat["user"] * tick_ns}};
  auto cs = keyed(cpu, "cpu.stat");
  s["cpu"]["throttling"] = {{"periods", cs["nr_periods"]},
                            {"throttledPeriods", cs["nr_throttled"]},
                            {"throttledTime", cs["throttled_time"]}};

  std::string mem = cgroup.dir_of("memory");
  auto raw = keyed(mem, "memory.stat");
  s["memory"] = {{"cache", raw["cache"]},
                 {"usage", memory_entry(mem, "memory.")},
                 {"swap", memory_entry(mem, "memory.memsw.")},
                 {"kernel", memory_entry(mem, "memory.kmem.")},
                 {"kernelTCP", memory_entry(mem, "memory.kmem.tcp.")},
                 {"raw", raw}};

  std::string pids = cgroup.dir_of("pids");
  uint64_t limit = u64(pids, "pids.max");
  s["pids"] = {{"current", u64(pids, "pids.current")}, {"limit", limit == UINT64_MAX ? 0 : limit}};

  std::string blk = cgroup.dir_of("blkio");
  s["blkio"] = {{"ioServiceBytesRecursive", blkio_v1_stat(blk, "io_service_bytes")},
                {"ioServicedRecursive", blkio_v1_stat(blk, "io_serviced")}};

  std::string huge = cgroup.dir_of("hugetlb");
  s["hugetlb"] = Json::object();
  for (const auto& size : hugetlb_sizes(huge, ".limit_in_bytes")) {
    std::string p = "hugetlb." + size + ".";
    s["hugetlb"][size] = {{"usage", u64(huge, p + "usage_in_bytes")},
                          {"max", u64(huge, p + "max_usage_in_bytes")},
                          {"failcnt", u64(huge, p + "failcnt")}};
  }
  return s;
}

Json hugetlb_stats_v2(const std::string& dir) {
  Json out = Json::object();
  for (const auto& size : hugetlb_sizes(dir, ".max")) {
    std::string p = "hugetlb." + size + ".";
    uint64_t max = u64(dir, p + "max");
    out[size] = {{"usage", u64(dir, p + "current")},
                 {"max", max == UINT64_MAX ? 0 : max},
                 {"failcnt", keyed(dir, p + "events")["max"]}};
  }
  return out;
}

Json stats_v2(const std::string& dir) {
  Json s;
  auto cs = keyed(dir, "cpu.stat");
  s["cpu"]["usage"] = {{"total", cs["usage_usec"] * 1000},
                       {"percpu", Json::array()},
                       {"kernel", cs["system_usec"] * 1000},
                       {"user", cs["user_usec"] * 1000}};
  s["cpu"]["throttling"] = {{"periods", cs["nr_periods"]},
                            {"throttledPeriods", cs["nr_throttled"]},
                            {"throttledTime", cs["throttled_usec"] * 1000}};

  auto raw = keyed(dir, "memory.stat");
  auto events = keyed(dir, "memory.events");
  auto swap_events = keyed(dir, "memory.swap.events");
  s["memory"] = {{"cache", raw["file"]},
                 {"usage",
                  {{"limit", u64(dir, "memory.max")},
                   {"usage", u64(dir, "memory.current")},
                   {"max", u64(dir, "memory.peak")},
                   {"failcnt", events["max"]}}},
                 {"swap",
                  {{"limit", u64(dir, "memory.swap.max")},
                   {"usage", u64(dir, "memory.swap.current")},
                   {"max", u64(dir, "memory.swap.peak")},
                   {"failcnt", swap_events["max"]}}},
                 {"kernel", {{"limit", 0}, {"usage", raw["kernel"]}, {"max", 0}, {"failcnt", 0}}},
                 {"kernelTCP", {{"limit", 0}, {"usage", raw["sock"]}, {"max", 0}, {"failcnt", 0}}},
                 {"raw", raw}};

  uint64_t limit = u64(dir, "pids.max");
  s["pids"] = {{"current", u64(dir, "pids.current")}, {"limit", limit == UINT64_MAX ? 0 : limit}};

  // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0"
  Json bytes = Json::array(), ios = Json::array();
  if (auto text = read_control(dir, "io.stat")) {
    for (const auto& line : split(*text, '\n')) {
      auto f = split(trim(line), ' ');
      if (f.empty()) continue;
      auto mm = split(f[0], ':');
      if (mm.size() != 2) continue;
      uint64_t maj = parse_uint(mm[0]).value_or(0), min = parse_uint(mm[1]).value_or(0);
      for (size_t i = 1; i < f.size(); ++i) {
        auto kv = split(f[i], '=');
        if (kv.size() != 2) continue;
        uint64_t v = parse_uint(kv[1]).value_or(0);
        auto entry = [&](const char* op) { return Json{{"major", maj}, {"minor", min}, {"op", op}, {"value", v}}; };
        if (kv[0] == "rbytes") bytes.push_back(entry("Read"));
        if (kv[0] == "wbytes") bytes.push_back(entry("Write"));
        if (kv[0] == "rios") ios.push_back(entry("Read"));
        if (kv[0] == "wios") ios.push_back(entry("Write"));
      }
    }
  }
  s["blkio"] = {{"ioServiceBytesRecursive", bytes}, {"ioServicedRecursive", ios}};
  s["hugetlb"] = hugetlb_stats_v2(dir);
  return s;
}

}  // namespace berth::runtime::cg
