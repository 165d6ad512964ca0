// Terminals: with process.terminal the container's stdio is a pty made inside
// the container (its /dev/ptmx, after pivot_root) whose master goes to the
// caller over --console-socket with SCM_RIGHTS, as runc does.
#pragma once

#include <string>

#include "base/fd.h"
#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

struct Pty {
  Fd master;
  Fd slave;
  std::string slave_path;  // "/dev/pts/N" as the container sees it
};

// Open /dev/ptmx (of the current root), unlock, open the slave.
Result<Pty> open_pty();
// Make the slave the controlling terminal and stdio of this process
// (setsid, TIOCSCTTY, dup2 onto 0, 1, 2) and set its size if given.
Result<void> become_terminal_owner(const Pty& pty, const std::optional<oci::ConsoleSize>& size);

}  // namespace berth::runtime
