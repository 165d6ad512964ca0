#include "engine/shim_log.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>

#include "base/file.h"
#include "base/json.h"
#include "base/strings.h"

namespace berth::engine {

Result<JsonFileLog> JsonFileLog::open(std::string path, uint64_t max_size, int max_file, Clock clock) {
  if (!clock) clock = [] { return now_rfc3339(); };
  JsonFileLog log(std::move(path), max_size, max_file < 1 ? 1 : max_file, std::move(clock));
  BERTH_TRY(log.open_file());
  return log;
}

Result<void> JsonFileLog::open_file() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_) return Error::sys(errno, "open log {}", path_);
  struct stat st;
  if (::fstat(fd_.get(), &st) < 0) return Error::sys(errno, "stat log {}", path_);
  size_ = static_cast<uint64_t>(st.st_size);
  return {};
}

std::string JsonFileLog::encode(std::string_view stream, std::string_view text, const std::string& time) {
  // Output is arbitrary bytes; invalid UTF-8 becomes U+FFFD as in dockerd
  // (Go's json encoder does the same) instead of failing the whole entry.
  Json j = {{"log", std::string(text)}, {"stream", std::string(stream)}, {"time", time}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<void> JsonFileLog::write(std::string_view stream, std::string_view data) {
  std::string& partial = partial_for(stream);
  while (!data.empty()) {
    size_t nl = data.find('\n');
    size_t take = nl == std::string_view::npos ? data.size() : nl + 1;
    // A long line is cut into kMaxPartial pieces so memory stays bounded.
    size_t room = kMaxPartial - partial.size();
    bool complete = nl != std::string_view::npos && take <= room;
    take = std::min(take, room);
    partial.append(data.substr(0, take));
    data.remove_prefix(take);
    if (complete || partial.size() >= kMaxPartial) {
      BERTH_TRY(emit(stream, partial));
      partial.clear();
    }
  }
  return {};
}

Result<void> JsonFileLog::flush() {
  if (!out_partial_.empty()) BERTH_TRY(emit("stdout", out_partial_));
  if (!err_partial_.empty()) BERTH_TRY(emit("stderr", err_partial_));
  out_partial_.clear();
  err_partial_.clear();
  return {};
}

Result<void> JsonFileLog::emit(std::string_view stream, std::string_view text) {
  std::string line = encode(stream, text, clock_());
  line.push_back('\n');
  if (max_size_ > 0 && size_ > 0 && size_ + line.size() > max_size_) BERTH_TRY(rotate());
  BERTH_TRY_CTX(write_all(fd_.get(), line), "write log {}", path_);
  size_ += line.size();
  return {};
}

Result<void> JsonFileLog::rotate() {
  if (max_file_ <= 1) {
    if (::ftruncate(fd_.get(), 0) < 0) return Error::sys(errno, "truncate log {}", path_);
    size_ = 0;
    return {};
  }
  for (int i = max_file_ - 1; i >= 1; --i) {
    std::string from = i == 1 ? path_ : fmt::format("{}.{}", path_, i - 1);
    std::string to = fmt::format("{}.{}", path_, i);
    if (::rename(from.c_str(), to.c_str()) < 0 && errno != ENOENT)
      return Error::sys(errno, "rotate log {} to {}", from, to);
  }
  return open_file();
}

std::optional<uint64_t> parse_log_size(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t mult = 1;
  switch (s.back()) {
    case 'k': case 'K': mult = 1024; break;
    case 'm': case 'M': mult = 1024 * 1024; break;
    case 'g': case 'G': mult = 1024ull * 1024 * 1024; break;
    default: break;
  }
  if (mult != 1) s.remove_suffix(1);
  auto n = parse_uint(s);
  if (!n) return std::nullopt;
  return *n * mult;
}

}  // namespace berth::engine
