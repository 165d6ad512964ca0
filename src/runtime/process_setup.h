// The last steps of a container process before execve: limits, identity,
// privileges, seccomp. Used by the init of a new container and by exec.
//
// Order (finalize_and_exec does all of it; each step is also callable alone):
//   1. rlimits       setrlimit; a hard limit above what this process may raise
//                    (no CAP_SYS_RESOURCE here) fails: "process.rlimits:
//                    RLIMIT_NOFILE hard 1048576 exceeds the allowed 20000"
//   2. seccomp, when no_new_privs is off: loading a filter then needs
//                    CAP_SYS_ADMIN, so it is loaded while the process has it
//                    (the filter must allow the steps below, as Docker's does)
//   3. bounding set  drop everything not listed (needs CAP_SETPCAP: still root)
//   4. cwd           chdir as root, then checked to lie inside the root
//                    (CVE-2024-21626: a leaked host directory fd as cwd)
//   5. identity      PR_SET_KEEPCAPS, setgroups/setresgid/setresuid
//   6. capabilities  effective, permitted, inheritable, ambient exactly as
//                    listed; never beyond the runtime's own bounding set (a
//                    listed cap the runtime lacks is an error naming it)
//   7. no_new_privs  when asked; umask (default 022)
//   8. environment   exactly process.env, plus HOME from the container's
//                    /etc/passwd (or "/") when it has none; PATH lookup of
//                    args[0] as the container's user
//   9. descriptors   every one above 2 + preserve_fds marked close-on-exec
//  10. seccomp, when no_new_privs is on: as late as possible
//  11. execve
//
// Everything here runs in a forked child: nothing throws, failures come back
// as Result for the caller to report through its sync pipe. The fine-grained
// capability steps are in capabilities.h, the seccomp details in seccomp.h.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"
#include "runtime/seccomp.h"

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

// Find args[0] in PATH from env (default /usr/local/sbin:/usr/local/bin:
// /usr/sbin:/usr/bin:/sbin:/bin), as execvp does; a name with '/' is returned
// as is. Not found: NotFound, "exec: \"foo\": executable file not found in
// $PATH" (exit code 127); found but not executable: PermissionDenied (126).
Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env);

// Everything above, then execve. Returns only on failure.
// `seccomp` may be null. Descriptors 3 .. 2 + preserve_fds stay open
// (LISTEN_FDS); an absent process.capabilities means no capabilities at all.
// A failed execve returns its errno: ENOENT → NotFound, EACCES →
// PermissionDenied.
Result<void> finalize_and_exec(const oci::Process& process, const SeccompProgram* seccomp,
                               int preserve_fds);

// Mark every descriptor >= first close-on-exec (close_range with
// CLOSE_RANGE_CLOEXEC, or /proc/self/fd on old kernels): execve closes them,
// while the sync pipe still works if execve fails.
void close_fds_from(int first);

}  // namespace berth::runtime
