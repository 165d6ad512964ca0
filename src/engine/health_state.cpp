// The pure half of healthchecks: which check applies, the status state
// machine, State.Health's JSON, output unframing. See health.h.
#include "engine/health.h"

#include <fmt/format.h>

#include <algorithm>

namespace berth::engine {

namespace {

using std::chrono::nanoseconds;

// A field of a Healthcheck object that may be absent or null.
Result<int64_t> duration_field(const Json& hc, const char* key) {
  if (!hc.is_object() || !hc.contains(key) || hc[key].is_null()) return int64_t{0};
  const Json& v = hc[key];
  if (!v.is_number_integer()) return Error::invalid("Healthcheck.{}: expected an integer", key);
  int64_t n = v.get<int64_t>();
  if (n < 0) return Error::invalid("Healthcheck.{}: must not be negative", key);
  return n;
}

Result<std::vector<std::string>> test_field(const Json& hc) {
  std::vector<std::string> out;
  if (!hc.is_object() || !hc.contains("Test") || hc["Test"].is_null()) return out;
  if (!hc["Test"].is_array()) return Error::invalid("Healthcheck.Test: expected array of strings");
  for (const auto& e : hc["Test"]) {
    if (!e.is_string()) return Error::invalid("Healthcheck.Test: expected array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

// "1.5" from 1 and 500 of 1000: the integer, then the fraction without
// trailing zeros (Go's fmtFrac).
std::string with_fraction(int64_t whole, int64_t frac, int64_t unit) {
  std::string s = std::to_string(whole);
  if (frac == 0) return s;
  int digits = 0;
  for (int64_t u = unit; u > 1; u /= 10) ++digits;
  std::string f = fmt::format("{:0{}d}", frac, digits);
  while (!f.empty() && f.back() == '0') f.pop_back();
  return s + "." + f;
}

}  // namespace

Result<std::optional<HealthProbe>> resolve_healthcheck(const Json& container, const Json& image,
                                                      const std::vector<std::string>& shell) {
  // Field by field: what the container leaves empty comes from the image
  // (Docker's daemon merges the image config into the container's so).
  auto test = BERTH_TRY(test_field(container));
  if (test.empty()) test = BERTH_TRY(test_field(image));
  auto pick = [&](const char* key) -> Result<int64_t> {
    int64_t v = BERTH_TRY(duration_field(container, key));
    if (v == 0) v = BERTH_TRY(duration_field(image, key));
    return v;
  };
  int64_t interval = BERTH_TRY(pick("Interval"));
  int64_t timeout = BERTH_TRY(pick("Timeout"));
  int64_t start_period = BERTH_TRY(pick("StartPeriod"));
  int64_t start_interval = BERTH_TRY(pick("StartInterval"));
  int64_t retries = BERTH_TRY(pick("Retries"));

  if (test.empty() || test[0] == "NONE") return std::optional<HealthProbe>();
  HealthProbe p;
  if (test[0] == "CMD") {
    p.argv.assign(test.begin() + 1, test.end());
  } else if (test[0] == "CMD-SHELL") {
    if (test.size() != 2) return Error::invalid("Healthcheck.Test: CMD-SHELL takes one command string");
    p.argv = shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : shell;
    p.argv.push_back(test[1]);
  } else {
    return Error::invalid("Healthcheck.Test: unknown type {:?} (CMD, CMD-SHELL or NONE)", test[0]);
  }
  if (p.argv.empty() || p.argv[0].empty()) return Error::invalid("Healthcheck.Test: no command");
  // A zero means "the default", which HealthProbe already holds.
  if (interval) p.interval = nanoseconds(interval);
  if (timeout) p.timeout = nanoseconds(timeout);
  if (start_period) p.start_period = nanoseconds(start_period);
  if (start_interval) p.start_interval = nanoseconds(start_interval);
  if (retries) p.retries = retries;
  return std::optional<HealthProbe>(std::move(p));
}

bool apply_health_result(HealthState& s, HealthResult r, int64_t retries, bool in_start_period) {
  std::string before = s.status;
  if (r.exit_code == 0) {
    s.failing_streak = 0;
    s.status = "healthy";
  } else if (!(s.status == "starting" && in_start_period)) {
    ++s.failing_streak;
    if (s.failing_streak >= retries) s.status = "unhealthy";
  }
  if (r.output.size() > kMaxHealthOutput) r.output.resize(kMaxHealthOutput);
  s.log.push_back(std::move(r));
  while (s.log.size() > kMaxHealthLog) s.log.pop_front();
  return s.status != before;
}

Json health_json(const HealthState& s) {
  Json log = Json::array();
  for (const auto& r : s.log)
    log.push_back({{"Start", r.start}, {"End", r.end}, {"ExitCode", r.exit_code}, {"Output", r.output}});
  return {{"Status", s.status}, {"FailingStreak", s.failing_streak}, {"Log", std::move(log)}};
}

std::string go_duration(nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  if (ns < 0) ns = -ns;
  if (ns < 1000) return sign + std::to_string(ns) + "ns";
  if (ns < 1000000) return sign + with_fraction(ns / 1000, ns % 1000, 1000) + "µs";
  if (ns < 1000000000) return sign + with_fraction(ns / 1000000, ns % 1000000, 1000000) + "ms";
  int64_t secs = ns / 1000000000, frac = ns % 1000000000;
  int64_t h = secs / 3600, m = secs / 60 % 60, s = secs % 60;
  std::string out = sign;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  return out + with_fraction(s, frac, 1000000000) + "s";
}

void unframe_output(std::string& pending, std::string& out, size_t limit) {
  size_t pos = 0;
  while (pending.size() - pos >= 8) {
    const auto* h = reinterpret_cast<const unsigned char*>(pending.data() + pos);
    size_t len = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | size_t{h[7]};
    if (pending.size() - pos - 8 < len) break;
    if (out.size() < limit) out.append(pending, pos + 8, std::min(len, limit - out.size()));
    pos += 8 + len;
  }
  pending.erase(0, pos);
}

}  // namespace berth::engine
