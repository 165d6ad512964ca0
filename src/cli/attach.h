// The terminal side of a hijacked attach/exec stream: copies stdin to the
// container and its output to stdout/stderr, demultiplexing docker's 8-byte
// frames when there is no TTY, puts the terminal in raw mode for a TTY
// (restored on every exit path, signals included), forwards window size
// changes, and watches the input for the detach keys.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "cli/http.h"

namespace berth::cli {

struct AttachOptions {
  bool attach_stdin = false;
  bool tty = false;
  std::string detach_keys;  // "ctrl-p,ctrl-q" when empty
  // Called once the stream runs and on every SIGWINCH, with rows, columns.
  std::function<void(int, int)> resize;
  // --sig-proxy: called with SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 or
  // SIGUSR2 when berth receives it (docker forwards them as /kill).
  std::function<void(int)> forward_signal;
};

enum class AttachEnd { Eof, Detached };

// Parses docker's detach-key syntax: "ctrl-p,ctrl-q", "a,ctrl-@".
Result<std::string> parse_detach_keys(const std::string& spec);

// Splits a multiplexed stream: feed() bytes as they come, complete frames
// go to `write(stream, data)`. Stream 1 stdout, 2 stderr, 3 a system error.
class FrameDemux {
 public:
  explicit FrameDemux(std::function<void(int, std::string_view)> write) : write_(std::move(write)) {}
  void feed(std::string_view data);
  bool pending() const { return !buf_.empty(); }

 private:
  std::function<void(int, std::string_view)> write_;
  std::string buf_;
};

// The terminal size of fd, or nothing if it is not a terminal.
bool terminal_size(int fd, int& rows, int& cols);

// Raw mode for the life of the object; also restored by a fatal signal.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  bool active_ = false;
};

Result<AttachEnd> run_attach(Hijacked& conn, const AttachOptions& opts);

}  // namespace berth::cli
