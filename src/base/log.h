// Logging. One process-wide sink: stderr by default, or a file given with
// --log. Format "text" ("time level msg") or "json" (runc's log lines:
// {"level":"error","msg":"...","time":"2006-01-02T15:04:05Z"}), which
// containerd's shim reads back to report a runtime failure.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace berth::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };
enum class Format { Text, Json };

// Log to this path (appending) instead of stderr. Returns false if it cannot
// be opened (the caller reports that on stderr).
bool set_file(const std::string& path);
void set_format(Format f);
void set_level(Level l);
Level level();

void write(Level l, std::string_view msg);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::Debug) write(Level::Debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::Info) write(Level::Info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::Warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::Error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace berth::log
