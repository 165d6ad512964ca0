// Starting a program from a daemon or the shim the way posix_spawn does,
// with clone(CLONE_VM | CLONE_VFORK): the parent's page tables are not
// copied and its pages not made copy-on-write, so neither the start nor the
// parent's next writes pay for the parent's size. Unlike posix_spawn it can
// run an open file with execveat, which keeps the program's name (a
// /proc/self/fd/N path would name the process "N").
//
// The child gets an empty signal mask and the default action for every
// signal (the shim ignores SIGPIPE and SIGHUP and blocks SIGCHLD for its
// signalfd; the program must not inherit that), and stdin/stdout/stderr as
// given, /dev/null where -1.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace berth::sys {

struct SpawnStdio {
  int in = -1;
  int out = -1;
  int err = -1;
};

// Starts argv and returns its pid. With exec_fd (an open executable, such
// as a readonly_clone of argv[0]) the program runs from that file, argv[0]
// still naming it.
Result<pid_t> spawn(const std::vector<std::string>& argv, SpawnStdio stdio, int exec_fd = -1);

// Waits for that one child: its exit code, or 128+signal. Other children
// stay for the caller's reaper.
Result<int> wait_exit(pid_t pid);

// spawn, then wait_exit.
Result<int> run_and_wait(const std::vector<std::string>& argv, SpawnStdio stdio, int exec_fd = -1);

}  // namespace berth::sys
