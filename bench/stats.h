// Summary statistics and the report (table + one JSON line) of runtime_run.
#pragma once

#include <string>
#include <vector>

namespace berth::bench {

// One measured `run`: wall time, and what wait4() reported for the runtime.
struct Sample {
  double wall_ms = 0;
  long maxrss_kib = 0;  // ru_maxrss: KiB on Linux
  double cpu_ms = 0;    // user + system time of the runtime and its reaped children
};

struct Summary {
  std::string name;
  std::string path;
  size_t runs = 0;
  int failures = 0;
  bool dropped = false;
  double median_ms = 0, min_ms = 0, p90_ms = 0, max_ms = 0, mean_ms = 0;
  double cpu_median_ms = 0;
  long rss_median_kib = 0, rss_max_kib = 0;
};

// Nearest-rank percentile (p in [0, 100]) of an ascending vector.
double percentile(const std::vector<double>& sorted, double p);
double median(const std::vector<double>& sorted);

Summary summarize(const std::string& name, const std::string& path, const std::vector<Sample>& samples,
                  int failures, bool dropped);

// Human table, notes and ratios on stdout, then a single JSON line.
void print_report(const std::vector<Summary>& sums, int runs, int warmup, bool unified_detached,
                  const std::string& load_start, const std::string& load_end);

}  // namespace berth::bench
