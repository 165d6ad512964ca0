#include "stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace berth::bench {

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest value with at least p% of samples at or below it.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

double median(const std::vector<double>& sorted) {
  size_t n = sorted.size();
  if (n == 0) return 0;
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

Summary summarize(const std::string& name, const std::string& path, const std::vector<Sample>& samples,
                  int failures, bool dropped) {
  Summary s;
  s.name = name;
  s.path = path;
  s.runs = samples.size();
  s.failures = failures;
  s.dropped = dropped;
  if (samples.empty()) return s;
  std::vector<double> wall, cpu, rss;
  for (const auto& x : samples) {
    wall.push_back(x.wall_ms);
    cpu.push_back(x.cpu_ms);
    rss.push_back(static_cast<double>(x.maxrss_kib));
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  std::sort(rss.begin(), rss.end());
  s.median_ms = median(wall);
  s.min_ms = wall.front();
  s.p90_ms = percentile(wall, 90);
  s.max_ms = wall.back();
  s.mean_ms = std::accumulate(wall.begin(), wall.end(), 0.0) / static_cast<double>(wall.size());
  s.cpu_median_ms = median(cpu);
  s.rss_median_kib = static_cast<long>(median(rss));
  s.rss_max_kib = static_cast<long>(rss.back());
  return s;
}

namespace {

const Summary* find(const std::vector<Summary>& sums, const char* name) {
  for (const auto& s : sums)
    if (s.name == name && s.runs > 0) return &s;
  return nullptr;
}

double round3(double v) { return std::round(v * 1000) / 1000; }

}  // namespace

void print_report(const std::vector<Summary>& sums, int runs, int warmup, bool unified_detached,
                  const std::string& load_start, const std::string& load_end) {
  std::printf("\n`<runtime> run` of /bin/true, %d runs each (after %d warm-up), interleaved;\n"
              "namespaces pid,net,ipc,uts,mount,cgroup; %s;\n"
              "load average %s at start, %s at end, on %ld CPUs\n\n",
              runs, warmup,
              unified_detached ? "private mount ns with /sys/fs/cgroup/unified detached (cgroup v1 only)"
                               : "host cgroup layout",
              load_start.c_str(), load_end.c_str(), sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("%-7s %5s %5s %9s %9s %9s %9s %10s %13s %13s\n", "runtime", "runs", "fail", "median", "min",
              "p90", "max", "cpu med", "maxrss med", "maxrss max");
  for (const auto& s : sums) {
    if (s.runs == 0) {
      std::printf("%-7s %5zu %5d   (no successful run%s)\n", s.name.c_str(), s.runs, s.failures,
                  s.dropped ? "; dropped, see its error above" : "");
      continue;
    }
    std::printf("%-7s %5zu %5d %6.1f ms %6.1f ms %6.1f ms %6.1f ms %7.1f ms %8.2f MiB %8.2f MiB\n",
                s.name.c_str(), s.runs, s.failures, s.median_ms, s.min_ms, s.p90_ms, s.max_ms,
                s.cpu_median_ms, static_cast<double>(s.rss_median_kib) / 1024.0,
                static_cast<double>(s.rss_max_kib) / 1024.0);
  }

  nlohmann::json ratios = nlohmann::json::object();
  const Summary* berth = find(sums, "berth");
  std::printf("\n");
  for (const char* peer : {"crun", "runc"}) {
    const Summary* other = find(sums, peer);
    if (!berth || !other) continue;
    double med = berth->median_ms / other->median_ms;
    double mn = berth->min_ms / other->min_ms;
    double cpu = berth->cpu_median_ms / other->cpu_median_ms;
    double rss = static_cast<double>(berth->rss_median_kib) / static_cast<double>(other->rss_median_kib);
    std::printf("berth/%s: median %.2fx, min %.2fx, cpu %.2fx, maxrss %.2fx\n", peer, med, mn, cpu, rss);
    ratios[std::string("berth/") + peer] = {
        {"median", round3(med)}, {"min", round3(mn)}, {"cpu_median", round3(cpu)}, {"maxrss", round3(rss)}};
  }
  std::printf(
      "\nmaxrss: ru_maxrss from wait4() on the runtime process the benchmark forked. Linux\n"
      "reports the larger of that process's own peak RSS and the peaks of every descendant it\n"
      "reaped, so for `run` it also covers the container process (a fork of the runtime until it\n"
      "execs /bin/true, a static busybox) and helpers such as runc's `runc init`. cpu: user+sys\n"
      "time of the same tree. Wall time: fork() of the runtime to wait4() returning.\n\n");

  nlohmann::json j;
  j["benchmark"] = "runtime_run";
  j["runs"] = runs;
  j["warmup"] = warmup;
  j["cgroup_unified_detached"] = unified_detached;
  j["loadavg_start"] = load_start;
  j["loadavg_end"] = load_end;
  j["cpus"] = sysconf(_SC_NPROCESSORS_ONLN);
  j["runtimes"] = nlohmann::json::object();
  for (const auto& s : sums) {
    j["runtimes"][s.name] = {{"path", s.path},
                             {"runs", s.runs},
                             {"failures", s.failures},
                             {"median_ms", round3(s.median_ms)},
                             {"min_ms", round3(s.min_ms)},
                             {"p90_ms", round3(s.p90_ms)},
                             {"max_ms", round3(s.max_ms)},
                             {"mean_ms", round3(s.mean_ms)},
                             {"cpu_median_ms", round3(s.cpu_median_ms)},
                             {"maxrss_median_kib", s.rss_median_kib},
                             {"maxrss_max_kib", s.rss_max_kib}};
  }
  j["ratios"] = ratios;
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

}  // namespace berth::bench
