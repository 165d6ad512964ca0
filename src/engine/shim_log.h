// Docker's json-file log format, written by berth-shim.
//
// One JSON object per line:
//   {"log":"hello\n","stream":"stdout","time":"2026-11-23T05:00:00.123456789Z"}
// Output is split at '\n' (the newline stays in "log"). A line without its
// newline is held until the newline arrives, and written as it is (no '\n'
// at the end of "log") when it grows past kMaxPartial bytes or when the
// stream ends, the way dockerd's copier treats long and unterminated lines.
//
// Rotation follows `--log-opt max-size=N --log-opt max-file=M`: when the next
// entry would take the file past max-size, file.(M-2) → file.(M-1), ...,
// file → file.1 and a new file is opened; with M = 1 the file is truncated.
// max-size 0 means no rotation.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"

namespace berth::engine {

class JsonFileLog {
 public:
  static constexpr size_t kMaxPartial = 16 * 1024;
  using Clock = std::function<std::string()>;  // RFC 3339 nano timestamps

  // Opens (appending to) `path`. A null clock uses the current time.
  static Result<JsonFileLog> open(std::string path, uint64_t max_size, int max_file,
                                  Clock clock = nullptr);

  // Feed bytes read from a stream ("stdout" or "stderr").
  Result<void> write(std::string_view stream, std::string_view data);
  // Write out held partial lines (the stream ended or the container exited).
  Result<void> flush();

  // One encoded entry, without the trailing newline.
  static std::string encode(std::string_view stream, std::string_view text, const std::string& time);

 private:
  JsonFileLog(std::string path, uint64_t max_size, int max_file, Clock clock)
      : path_(std::move(path)), max_size_(max_size), max_file_(max_file), clock_(std::move(clock)) {}
  Result<void> emit(std::string_view stream, std::string_view text);
  Result<void> rotate();
  Result<void> open_file();
  std::string& partial_for(std::string_view stream) { return stream == "stderr" ? err_partial_ : out_partial_; }

  std::string path_;
  uint64_t max_size_;
  int max_file_;
  Clock clock_;
  Fd fd_;
  uint64_t size_ = 0;
  std::string out_partial_;
  std::string err_partial_;
};

// "10m", "512k", "1g", "100" (bytes) → bytes; nullopt on junk.
std::optional<uint64_t> parse_log_size(std::string_view s);

}  // namespace berth::engine
