// The last steps of a container process before execve: limits, identity,
// privileges, seccomp. Used by the init of a new container and by exec.
//
// Order (finalize_process does all of it):
//   1. rlimits       setrlimit; a hard limit above what this process may raise
//                    (no CAP_SYS_RESOURCE here) fails: "process.rlimits:
//                    RLIMIT_NOFILE hard 1048576 exceeds the allowed 20000"
//   2. keep caps across setuid (PR_SET_KEEPCAPS), setgroups/setgid/setuid
//   3. capabilities  bounding (drop everything not listed), then effective,
//                    permitted, inheritable, ambient exactly as listed; never
//                    beyond the runtime's own bounding set (a listed cap the
//                    runtime lacks is an error naming it)
//   4. no_new_privs  when asked
//   5. seccomp       from linux.seccomp through libseccomp, as late as possible
//                    (before capabilities are dropped if NNP is off, since
//                    loading a filter then needs CAP_SYS_ADMIN)
//   6. umask, cwd    (cwd resolved after pivot_root: must lie inside the root,
//                    CVE-2024-21626), environment, PATH lookup of args[0],
//                    close every descriptor above 2 but `keep_fds`, execve
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

Result<void> apply_rlimits(const std::vector<oci::Rlimit>& rlimits);
Result<void> set_identity(const oci::User& user);
Result<void> apply_capabilities(const oci::Capabilities& caps);
// Drop every capability (used when process.capabilities is absent).
Result<void> drop_all_capabilities();
Result<void> load_seccomp(const oci::Seccomp& seccomp);
Result<void> set_no_new_privileges();
// oom_score_adj is written by the parent for a pid (no privilege needed in
// the child then): /proc/PID/oom_score_adj.
Result<void> set_oom_score_adj(pid_t pid, int value);

// Find args[0] in PATH from env (or the runtime's PATH default), as execvp does.
Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env);

// Everything above, then execve. Returns only on failure.
// `seccomp` may be null. `keep_fds` are descriptors to keep open (LISTEN_FDS).
Result<void> finalize_and_exec(const oci::Process& process, const oci::Seccomp* seccomp,
                               int preserve_fds);

// Close every descriptor >= first except those in keep (close_range).
void close_fds_from(int first);

}  // namespace berth::runtime
