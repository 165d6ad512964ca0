#include "engine/shim_exit.h"

#include <sys/wait.h>

#include "base/file.h"
#include "base/strings.h"

namespace berth::engine {

Json ExitRecord::to_json() const {
  return Json{{"exit_code", exit_code}, {"signal", signal}, {"oom_killed", oom_killed},
              {"exited_at", exited_at}};
}

Result<ExitRecord> ExitRecord::from_json(const Json& j) {
  JsonReader r(j, "exit");
  ExitRecord e;
  e.exit_code = static_cast<int>(BERTH_TRY(r.opt_int("exit_code")).value_or(0));
  e.signal = static_cast<int>(BERTH_TRY(r.opt_int("signal")).value_or(0));
  e.oom_killed = BERTH_TRY(r.opt_bool("oom_killed")).value_or(false);
  e.exited_at = BERTH_TRY(r.opt_str("exited_at")).value_or("");
  return e;
}

ExitRecord exit_from_wait_status(int status, std::string exited_at) {
  ExitRecord e;
  e.exited_at = std::move(exited_at);
  if (WIFSIGNALED(status)) {
    e.signal = WTERMSIG(status);
    e.exit_code = 128 + e.signal;
  } else if (WIFEXITED(status)) {
    e.exit_code = WEXITSTATUS(status);
  }
  return e;
}

uint64_t parse_oom_kill_count(std::string_view text) {
  for (const auto& line : split(text, '\n')) {
    auto t = trim(line);
    if (t.rfind("oom_kill ", 0) == 0) return parse_uint(trim(t.substr(9))).value_or(0);
  }
  return 0;
}

bool cgroup_oom_killed(const std::string& cgroups_path, const std::string& cgroup_root) {
  if (cgroups_path.empty() || cgroups_path.find(':') != std::string::npos) return false;
  std::string rel = cgroups_path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  // Pure v2, the v2 half of a hybrid host, then the v1 memory controller.
  for (const char* candidate : {"/{}/memory.events", "/unified/{}/memory.events",
                                "/memory/{}/memory.oom_control"}) {
    auto text = read_file(cgroup_root + fmt::format(fmt::runtime(candidate), rel));
    if (text && parse_oom_kill_count(*text) > 0) return true;
  }
  return false;
}

}  // namespace berth::engine
