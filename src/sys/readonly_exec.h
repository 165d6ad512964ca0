// A private, read-only view of an executable to run it from (CVE-2019-5736:
// a container process that reaches the runtime's binary through
// /proc/PID/exe must not be able to open it for writing).
//
// readonly_clone(path) is a detached bind mount of just that file
// (open_tree(OPEN_TREE_CLONE)) made read-only, nosuid and nodev
// (mount_setattr): it is in no mount namespace, so nothing can remount it,
// and writing through it fails with EROFS. Run it with
// execveat(fd, "", argv, envp, AT_EMPTY_PATH). Needs CAP_SYS_ADMIN and
// Linux 5.12; otherwise an invalid Fd with errno set.
//
// berth-runtime re-executes itself from such a clone before it enters a
// container; berth-shim runs the runtime from one, which spares that
// second exec.
#pragma once

#include <string>

#include "base/fd.h"

namespace berth::sys {

Fd readonly_clone(const std::string& path);

// Whether the file behind fd is on a read-only mount.
bool on_readonly_mount(int fd);

}  // namespace berth::sys
