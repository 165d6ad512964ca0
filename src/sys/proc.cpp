#include "sys/proc.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "base/fd.h"

namespace berth::sys {
namespace {

// Returns the text after the ")" that closes the comm field.
std::optional<std::string> stat_tail(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  Fd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  buf[n] = 0;
  const char* close = strrchr(buf, ')');
  if (!close || close[1] == 0) return std::nullopt;
  return std::string(close + 2);
}

}  // namespace

std::optional<uint64_t> process_start_time(pid_t pid) {
  auto tail = stat_tail(pid);
  if (!tail) return std::nullopt;
  // tail starts at field 3 (state); start time is field 22.
  const char* p = tail->c_str();
  for (int field = 3; field < 22; ++field) {
    p = strchr(p, ' ');
    if (!p) return std::nullopt;
    ++p;
  }
  return strtoull(p, nullptr, 10);
}

bool process_alive(pid_t pid, std::optional<uint64_t> start_time) {
  if (pid <= 0) return false;
  auto tail = stat_tail(pid);
  if (!tail || tail->empty()) return false;
  char state = (*tail)[0];
  if (state == 'Z' || state == 'X' || state == 'x') return false;
  if (start_time) {
    auto st = process_start_time(pid);
    if (!st || *st != *start_time) return false;
  }
  return true;
}

}  // namespace berth::sys
