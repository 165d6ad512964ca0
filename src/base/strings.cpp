#include "base/strings.h"

#include <cctype>
#include <ctime>

#include <fmt/format.h>
#include <time.h>

#include <charconv>
#include <chrono>

namespace berth {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::optional<int64_t> parse_int(std::string_view s, int base) {
  int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_uint(std::string_view s, int base) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string rfc3339_utc(int64_t seconds_since_epoch, long nanoseconds) {
  // Calendar arithmetic, not gmtime_r or strftime: their first call reads
  // the zone file (tzset), and a short process such as the shim or the
  // runtime logs only once or twice.
  using namespace std::chrono;
  sys_seconds t{seconds{seconds_since_epoch}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{t - day};
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:09d}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count(), nanoseconds);
}

std::string now_rfc3339() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return rfc3339_utc(ts.tv_sec, ts.tv_nsec);
}

std::optional<int64_t> parse_rfc3339_seconds(std::string_view s) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  auto num = [&](size_t pos, size_t len) { return parse_int(s.substr(pos, len)).value_or(-1); };
  std::tm tm{};
  tm.tm_year = static_cast<int>(num(0, 4)) - 1900;
  tm.tm_mon = static_cast<int>(num(5, 2)) - 1;
  tm.tm_mday = static_cast<int>(num(8, 2));
  tm.tm_hour = static_cast<int>(num(11, 2));
  tm.tm_min = static_cast<int>(num(14, 2));
  tm.tm_sec = static_cast<int>(num(17, 2));
  if (num(0, 4) < 0 || tm.tm_mon < 0 || tm.tm_mday <= 0 || tm.tm_hour < 0 ||
      tm.tm_min < 0 || tm.tm_sec < 0)
    return std::nullopt;
  int64_t t = timegm(&tm);
  size_t i = 19;
  if (i < s.size() && s[i] == '.')
    for (i++; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); i++) {
    }
  if (i + 6 <= s.size() && (s[i] == '+' || s[i] == '-')) {
    int64_t off = num(i + 1, 2) * 3600 + num(i + 4, 2) * 60;
    t += s[i] == '+' ? -off : off;
  }
  return t;
}

}  // namespace berth
