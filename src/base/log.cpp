#include "base/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace berth::log {
namespace {

int g_fd = STDERR_FILENO;
Format g_format = Format::Text;
Level g_level = Level::Info;

const char* level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warning";
    case Level::Error: return "error";
  }
  return "info";
}

}  // namespace

bool set_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  if (g_fd != STDERR_FILENO) ::close(g_fd);
  g_fd = fd;
  return true;
}

void set_format(Format f) { g_format = f; }
void set_level(Level l) { g_level = l; }
Level level() { return g_level; }

void write(Level l, std::string_view msg) {
  if (l < g_level) return;
  std::string line;
  if (g_format == Format::Json) {
    nlohmann::json j = {{"level", level_name(l)}, {"msg", msg}, {"time", now_rfc3339()}};
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    line = fmt::format("{} {}: {}\n", now_rfc3339(), level_name(l), msg);
  }
  // One write per line so that concurrent writers do not interleave.
  [[maybe_unused]] ssize_t n = ::write(g_fd, line.data(), line.size());
}

}  // namespace berth::log
