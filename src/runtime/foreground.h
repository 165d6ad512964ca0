// Foreground `run` and `exec`: the runtime stays, forwards the signals it
// gets to the container's process, proxies a terminal to its own stdio when it
// made one, and exits with the process's status (128+N after signal N).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "base/result.h"

namespace berth::runtime {

// Block the signals we forward (and SIGCHLD) before forking so none is lost;
// returns the previous mask for the child to restore.
sigset_t block_forwarded_signals();

// Wait for `pid` (our child) to exit. `pty_master` >= 0: copy our stdin to it
// and it to our stdout, keeping the window size in step.
Result<int> wait_foreground(pid_t pid, int pty_master);

int exit_code_from_status(int status);

}  // namespace berth::runtime
