// finalize_and_exec: the container process's last steps, in the order
// process_setup.h gives, and the PATH lookup runc users know.
#include "runtime/process_setup.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstring>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "runtime/capabilities.h"

namespace berth::runtime {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const std::string* env_value(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& kv : env) {
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') {
      return &kv;
    }
  }
  return nullptr;
}

// Home directory of uid in the container's /etc/passwd (this process's root
// after pivot_root), "/" when there is none.
std::string home_for_uid(uint32_t uid) {
  auto passwd = read_file("/etc/passwd");
  if (passwd.ok()) {
    for (const auto& line : split(*passwd, '\n')) {
      auto fields = split(line, ':');  // name:password:uid:gid:gecos:home:shell
      if (fields.size() < 6) continue;
      auto id = parse_uint(fields[2]);
      if (id && *id == uid && !fields[5].empty()) return fields[5];
    }
  }
  return "/";
}

// CVE-2024-21626: a descriptor of a host directory leaked into the child lets
// cwd = /proc/self/fd/N put the process outside its root. The kernel then
// reports the cwd as "(unreachable)/..." (glibc turns that into ENOENT).
Result<void> enter_cwd(const std::string& cwd) {
  if (chdir(cwd.c_str()) != 0) return Error::sys(errno, "chdir to cwd {}", cwd);
  char buf[PATH_MAX];
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0) {
    int err = errno;
    if (err == ENOENT) {
      return Error(ErrorCode::PermissionDenied,
                   fmt::format("cwd {} is outside the container's root", cwd));
    }
    return Error::sys(err, "getcwd after chdir to {}", cwd);
  }
  if (buf[0] != '/') {
    return Error(ErrorCode::PermissionDenied,
                 fmt::format("cwd {} is outside the container's root ({})", cwd, buf));
  }
  return ok();
}

}  // namespace

Result<void> set_no_new_privileges() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error::sys(errno, "prctl PR_SET_NO_NEW_PRIVS");
  return ok();
}

Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
  if (name.empty()) return Error::invalid("process.args[0]: empty");
  // A name with a slash is a path: execve reports what is wrong with it.
  if (name.find('/') != std::string::npos) return name;

  std::string path = kDefaultPath;
  if (const auto* kv = env_value(env, "PATH")) path = kv->substr(5);

  bool denied = false;
  for (const auto& dir : split(path, ':')) {
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    // The mode bits decide, as Go's exec.LookPath does: faccessat2 answers
    // EPERM under some LSM setups where execve itself succeeds, and execve
    // reports whatever is really wrong with the file.
    if (S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0) return candidate;
    denied = true;
  }
  if (denied) {
    return Error(ErrorCode::PermissionDenied,
                 fmt::format("exec: \"{}\": permission denied", name), EACCES);
  }
  return Error(ErrorCode::NotFound,
               fmt::format("exec: \"{}\": executable file not found in $PATH", name), ENOENT);
}

void close_fds_from(int first) {
  // Marking them close-on-exec rather than closing them keeps the sync pipe
  // to the parent open until execve succeeds; a failed exec can still report.
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11: walk /proc/self/fd.
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  int self = dirfd(dir);
  while (struct dirent* e = readdir(dir)) {
    auto fd = parse_int(e->d_name);
    if (!fd || *fd < first || *fd == self) continue;
    int flags = fcntl(static_cast<int>(*fd), F_GETFD);
    if (flags >= 0) fcntl(static_cast<int>(*fd), F_SETFD, flags | FD_CLOEXEC);
  }
  closedir(dir);
}

Result<void> finalize_and_exec(const oci::Process& process, const SeccompProgram* seccomp,
                               int preserve_fds) {
  if (process.args.empty()) return Error::invalid("process.args: must not be empty");

  BERTH_TRY(apply_rlimits(process.rlimits));

  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the
  // container may not keep: load it now, while the process still has it.
  // The filter then has to allow what follows (Docker's profile does).
  const bool seccomp_early = seccomp != nullptr && !process.no_new_privileges;
  if (seccomp_early) BERTH_TRY(load_seccomp_program(*seccomp));

  const oci::Capabilities none;
  const oci::Capabilities& caps = process.capabilities ? *process.capabilities : none;
  // Shrinking the bounding set needs CAP_SETPCAP: still root here.
  BERTH_TRY(apply_bounding_set(caps));

  // As root, so that a directory only the container's root may enter still
  // works as cwd (runc behaves the same).
  BERTH_TRY(enter_cwd(process.cwd));

  // Keep the permitted set across the change to a non-root uid, then install
  // the requested sets.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return Error::sys(errno, "prctl PR_SET_KEEPCAPS");
  BERTH_TRY(set_identity(process.user));
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return Error::sys(errno, "prctl PR_SET_KEEPCAPS");
  BERTH_TRY(apply_capability_sets(caps));

  if (process.no_new_privileges) BERTH_TRY(set_no_new_privileges());
  umask(static_cast<mode_t>(process.user.umask.value_or(022)));

  // The process gets exactly process.env, plus HOME when it lacks one.
  std::vector<std::string> env = process.env;
  if (env_value(env, "HOME") == nullptr) env.push_back("HOME=" + home_for_uid(process.user.uid));

  // Looked up as the container's user, in the container's PATH.
  std::string path = BERTH_TRY(find_executable(process.args[0], env));

  std::vector<char*> argv;
  for (const auto& a : process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // CVE-2024-21626: nothing of the runtime but stdio and the preserved fds
  // reaches the container.
  close_fds_from(3 + std::max(preserve_fds, 0));

  // With no_new_privs, as late as possible: the fewer syscalls the filter
  // must allow for the runtime's own sake, the better.
  if (seccomp != nullptr && !seccomp_early) BERTH_TRY(load_seccomp_program(*seccomp));

  execve(path.c_str(), argv.data(), envp.data());
  int err = errno;
  return Error::sys(err, "exec \"{}\"", path);
}

}  // namespace berth::runtime
