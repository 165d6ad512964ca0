// berth-shim's core: one container, its exec processes, their stdio, the
// log, the exit records and the control socket, in one single-threaded
// epoll loop (signalfd for SIGCHLD). docs/design/shim.md has the protocol.
//
// Usage (cmd/berth-shim/main.cpp):
//   Shim shim(opts);                  // after daemonizing, as a subreaper
//   BERTH_TRY(shim.setup());          // runtime create, control socket up
//   ... tell the starter "ready" ...
//   BERTH_TRY(shim.run());            // until {"op":"delete"}
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/json.h"
#include "base/result.h"
#include "engine/shim_exit.h"
#include "engine/shim_log.h"

namespace berth::engine {

struct ShimOptions {
  std::string id;
  std::string bundle;
  std::string runtime;
  std::string runtime_root;
  std::string state_dir;
  bool tty = false;
  bool stdin = false;       // keep a pipe to the container's stdin
  bool stdin_once = false;  // close it when an attached client half-closes
  // Create and start in one runtime call (`run --detach`) at setup; the
  // start op then only marks the container started. Output before it is
  // kept for the first attach, so a client attached between the two sees
  // all of it.
  bool start = false;
  std::string log_path;     // json-file log; empty: output is not logged
  uint64_t log_max_size = 0;
  int log_max_file = 1;
  // Serve in the process that was started (berthd's way): no foreground
  // half that waits and exits; the outcome line goes to stdout as it is,
  // and whoever started the shim reaps it once it has exited.
  bool no_fork = false;
};

class Shim {
 public:
  explicit Shim(ShimOptions opts);
  ~Shim();

  Result<void> setup();
  Result<void> run();
  pid_t init_pid() const;

 private:
  struct Proc;
  struct Watch;
  struct Conn;
  struct Attach;

  // Runtime invocations.
  std::vector<std::string> runtime_cmd(std::initializer_list<std::string> args) const;
  Result<void> run_runtime(std::vector<std::string> argv, int out_fd = -1);
  std::string runtime_error_text() const;
  // The part of setup() that runs while the runtime creates the container:
  // config checks, the log file, the control socket.
  Result<void> prepare_while_runtime_runs();

  // Process stdio: pipes or a pty master received on a console socket.
  struct ProcIo;
  Result<void> prepare_io(Proc& p, ProcIo& io, const std::string& tag);
  Result<void> finish_io(Proc& p, ProcIo& io);

  // Event loop plumbing.
  void watch(int fd, uint32_t events, Watch w);
  void unwatch(int fd);
  void on_event(int fd, uint32_t events);
  void on_sigchld();
  void on_output(Proc& p, int fd, int stream);
  void deliver(Proc& p, int stream, std::string_view data);
  void on_exit(Proc& p, int status);
  void flush_stdin(Proc& p);
  void close_stdin(Proc& p);
  int stdin_fd(const Proc& p) const;

  // Attached clients.
  void on_attach_event(int fd, uint32_t events);
  void attach_send(Attach& a, std::string_view data);
  void update_attach(Attach& a);
  void drop_attach(int fd);

  // Control connections.
  void on_accept();
  void on_conn_event(int fd);
  void handle_request(Conn& c, const std::string& line);
  Result<Json> dispatch(Conn& c, const Json& req, bool& deferred);
  Result<Json> op_start();
  Result<Json> op_state();
  Result<Json> op_kill(const JsonReader& r);
  Result<Json> op_resize(const JsonReader& r);
  Result<Json> op_attach(Conn& c, const JsonReader& r, bool& deferred);
  Result<Json> op_exec(const JsonReader& r);
  Result<Json> op_delete(const JsonReader& r);
  Result<Proc*> find_proc(const JsonReader& r);
  void reply(int fd, const Json& j);

  ShimOptions opts_;
  std::optional<JsonFileLog> log_;
  std::string cgroups_path_;
  // The runtime's binary as a read-only detached mount (sys::readonly_clone),
  // run from for every command: the runtime then need not re-execute itself
  // to be safe from the container. Invalid where the kernel refuses: the
  // runtime's path is run and protects itself.
  Fd runtime_exe_;
  Fd epoll_;
  Fd signal_fd_;
  Fd listen_;
  std::map<std::string, std::unique_ptr<Proc>> procs_;  // "" = the container's init
  std::map<int, Watch> watches_;
  std::map<int, std::unique_ptr<Conn>> conns_;
  std::map<int, std::unique_ptr<Attach>> attaches_;
  bool started_ = false;
  bool quit_ = false;
  unsigned console_seq_ = 0;
};

}  // namespace berth::engine
