// How berth-shim records a process's end: Docker's exit code (the code, or
// 128+signal for a killed process), the signal, whether the cgroup saw an
// OOM kill, and when. Written to <state-dir>/exit.json for the container's
// init, which is the truth berthd reconciles its database against.
#pragma once

#include <string>

#include "base/json.h"
#include "base/result.h"

namespace berth::engine {

struct ExitRecord {
  int exit_code = 0;
  int signal = 0;  // 0 when the process exited by itself
  bool oom_killed = false;
  std::string exited_at;  // RFC 3339 with nanoseconds

  Json to_json() const;
  static Result<ExitRecord> from_json(const Json& j);
};

// From a waitpid() status.
ExitRecord exit_from_wait_status(int status, std::string exited_at);

// Best effort: did the kernel OOM-kill a process in this cgroup? cgroupsPath
// as in config.json ("/a/b" or "a/b"; systemd "slice:prefix:name" is not
// resolved and reads as false). Looks at cgroup v2 memory.events (oom_kill),
// then v1 memory.oom_control (oom_kill, kernels ≥ 4.13); `cgroup_root` is
// /sys/fs/cgroup except in tests.
bool cgroup_oom_killed(const std::string& cgroups_path,
                       const std::string& cgroup_root = "/sys/fs/cgroup");

// The "oom_kill N" counter in a memory.events or memory.oom_control text.
uint64_t parse_oom_kill_count(std::string_view text);

}  // namespace berth::engine
