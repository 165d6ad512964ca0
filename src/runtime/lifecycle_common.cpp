#include "runtime/lifecycle_common.h"

#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "runtime/hooks.h"
#include "sys/proc.h"

namespace berth::runtime {

std::string current_owner() {
  // getpwuid needs NSS, which a static binary cannot load; read /etc/passwd.
  uid_t uid = geteuid();
  auto text = read_file("/etc/passwd");
  if (text) {
    for (const auto& line : split(*text, '\n')) {
      auto f = split(line, ':');
      if (f.size() > 2 && f[2] == std::to_string(uid)) return f[0];
    }
  }
  return std::to_string(uid);
}

Result<void> write_pid_file(const std::string& path, pid_t pid) {
  std::string tmp = path + ".tmp";
  BERTH_TRY_CTX(write_file(tmp, std::to_string(pid), 0644), "--pid-file");
  if (::rename(tmp.c_str(), path.c_str()) < 0) return Error::sys(errno, "--pid-file: rename {}", tmp);
  return {};
}

Result<oci::Spec> load_saved_spec(const StateDir& dir, const std::string& id) {
  auto text = BERTH_TRY(read_file(dir.dir(id) + "/config.json"));
  return oci::parse_spec(text);
}

void run_poststart_hooks(const oci::Spec& spec, const ContainerState& st) {
  if (!spec.hooks || spec.hooks->poststart.empty()) return;
  auto r = run_hooks(spec.hooks->poststart, oci_state(st, Status::Running).dump(), "poststart");
  if (!r) log::warn("{}", r.error().message());
}

Result<Loaded> load_container(const StateDir& dir, const std::string& id) {
  Loaded l;
  l.state = BERTH_TRY(dir.load(id));
  if (!l.state.cgroup.is_null() && !l.state.cgroup.empty()) {
    auto cg = Cgroup::from_json(l.state.cgroup);
    if (cg) l.cgroup = std::move(*cg);
  }
  l.status = current_status(dir, l.state, l.cgroup.get());
  return l;
}

Result<void> destroy_container(const StateDir& dir, const ContainerState& st, const oci::Spec* spec) {
  if (init_alive(st)) {
    kill(st.pid, SIGKILL);
    // Reap it if it is our child (run); otherwise the cgroup wait below covers it.
    waitpid(st.pid, nullptr, WNOHANG);
  }
  if (!st.cgroup.is_null() && !st.cgroup.empty()) {
    auto cg = Cgroup::from_json(st.cgroup);
    if (cg) BERTH_TRY((*cg)->destroy());
  }
  if (spec && spec->hooks && !spec->hooks->poststop.empty()) {
    auto r = run_hooks(spec->hooks->poststop, oci_state(st, Status::Stopped).dump(), "poststop");
    if (!r) log::warn("{}", r.error().message());
  }
  return dir.remove(st.id);
}

}  // namespace berth::runtime
