// Descriptors for berth-shim: its pipes and its control socket. Running
// the runtime is sys::run_and_wait (sys/spawn.h).
#pragma once

#include <string>
#include <utility>

#include "base/fd.h"
#include "base/result.h"

namespace berth::engine {

// A pipe with both ends O_CLOEXEC: {read, write}.
Result<std::pair<Fd, Fd>> make_pipe();

// A listening Unix stream socket at path (mode 0600, replacing a stale one).
Result<Fd> listen_unix(const std::string& path);

}  // namespace berth::engine
