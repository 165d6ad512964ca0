// Container lifecycle operations behind the runc command line. Each takes the
// state directory (--root) and returns a Result; the CLI maps errors to exit
// codes and log lines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"
#include "runtime/state.h"

namespace berth::runtime {

enum class CreateMode { Create, Run, RunDetached };

struct CreateOptions {
  std::string id;
  std::string bundle;          // default: the current directory
  std::string console_socket;  // --console-socket
  std::string pid_file;
  bool no_pivot = false;
  bool no_new_keyring = false;
  bool no_subreaper = false;
  bool keep = false;           // run --keep: do not delete after exit
  int preserve_fds = 0;
  CreateMode mode = CreateMode::Create;
};

// create: returns 0 once the init waits at the start barrier.
// run: starts it too and returns the container's exit code (0 when detached).
Result<int> create_container(const StateDir& dir, const CreateOptions& opts);
Result<void> start_container(const StateDir& dir, const std::string& id);
Result<void> kill_container(const StateDir& dir, const std::string& id, int signal, bool all);
Result<void> delete_container(const StateDir& dir, const std::string& id, bool force);
Result<void> pause_container(const StateDir& dir, const std::string& id);
Result<void> resume_container(const StateDir& dir, const std::string& id);
Result<void> update_container(const StateDir& dir, const std::string& id, const oci::Resources& res);
Result<std::vector<pid_t>> container_pids(const StateDir& dir, const std::string& id);
Result<Json> container_state(const StateDir& dir, const std::string& id);
// One "stats" event: {"type":"stats","id":...,"data":{...}}.
Result<Json> container_stats(const StateDir& dir, const std::string& id);
// Print events until the container stops: stats every interval, "oom" on an OOM kill.
Result<void> stream_events(const StateDir& dir, const std::string& id, int interval_ms);

struct ExecOptions {
  std::string id;
  std::optional<std::string> process_file;  // --process
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<std::string> cwd;
  std::optional<std::string> user;  // uid[:gid]
  std::vector<std::string> additional_gids;
  std::vector<std::string> caps;
  bool tty = false;
  bool detach = false;
  bool no_new_privs = false;
  bool ignore_paused = false;
  std::string console_socket;
  std::string pid_file;
  int preserve_fds = 0;
};

// Returns the process's exit code (0 when detached).
Result<int> exec_container(const StateDir& dir, const ExecOptions& opts);

// Signal by name ("KILL", "SIGKILL") or number.
Result<int> parse_signal(const std::string& s);

}  // namespace berth::runtime
