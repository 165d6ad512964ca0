// The channel between the runtime and the container's init while it is being
// set up: a SOCK_SEQPACKET socketpair, one message per step, so neither side
// can misread a boundary. The init never throws; it reports a failure as an
// Error message and exits.
#pragma once

#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace berth::runtime {

enum class SyncMsg : uint32_t {
  Error = 1,       // init → runtime: text is the message
  Go,              // runtime → init: cgroup joined, id maps written
  HooksReady,      // init → runtime: namespaces and mounts ready, run createRuntime hooks
  HooksDone,       // runtime → init: text is the state JSON for the init's own hooks
  Created,         // init → runtime: waiting at the start barrier
  Start,           // runtime → init (run): go on without the fifo
  Pid,             // intermediate → runtime: value is the init's pid
  Exec,            // exec child → runtime: joined, about to exec (value: pid)
};

struct SyncMessage {
  SyncMsg type = SyncMsg::Error;
  int64_t value = 0;
  std::string text;
};

Result<void> sync_send(int fd, SyncMsg type, std::string_view text = {}, int64_t value = 0);
// EOF (the peer died) is an error naming `waiting_for`.
Result<SyncMessage> sync_recv(int fd, const char* waiting_for);
// Receive and require `want`; an Error message becomes the returned error.
Result<SyncMessage> sync_expect(int fd, SyncMsg want, const char* waiting_for);

}  // namespace berth::runtime
