// CVE-2019-5736: a container process that executes /proc/self/exe while the
// runtime is entering the container (or that opens /proc/PID/exe of a runtime
// process inside its pid namespace) gets a handle on the host's runtime
// binary, and once the runtime exits can open it for writing and replace it.
//
// Defence (the approach runc 1.2 took, without a copy): before any command
// that enters a container, the runtime re-executes itself from a private,
// detached, read-only bind mount of its own binary (open_tree(OPEN_TREE_CLONE)
// + mount_setattr(MOUNT_ATTR_RDONLY) + execveat). Every process that then
// refers to the binary through /proc sees a read-only mount: opening it for
// writing fails with EROFS, and the mount is in no namespace the container
// could remount. Cost: one exec of a static binary (~1 ms), no memory. Where
// the kernel refuses (no open_tree, no privilege), a sealed memfd copy is used.
#pragma once

namespace berth::runtime {

// Returns only if the binary already runs from a read-only mount (or a
// sealed memfd); otherwise re-executes itself and does not return. On failure
// logs a warning and returns (so the runtime still works, unprotected).
void ensure_readonly_self(char** argv, char** envp);

}  // namespace berth::runtime
