// Running the OCI runtime from berth-shim (sys::spawn) and waiting for it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "sys/spawn.h"

namespace berth::engine {

using sys::SpawnStdio;

// Run argv to completion and return its exit code (128+signal if killed).
// Waits for that pid only: other children stay for the shim's reaper.
// With exec_fd (sys::readonly_clone of argv[0]) the program runs from that
// file, argv[0] still naming it.
Result<int> run_and_wait(const std::vector<std::string>& argv, SpawnStdio stdio, int exec_fd = -1);

// A pipe with both ends O_CLOEXEC: {read, write}.
Result<std::pair<Fd, Fd>> make_pipe();

// A listening Unix stream socket at path (mode 0600, replacing a stale one).
Result<Fd> listen_unix(const std::string& path);

}  // namespace berth::engine
