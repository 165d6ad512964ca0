// The container's init between clone and execve: the child side of create.
// Runs in the new namespaces, never throws, and reports through the sync
// socket (runtime/sync.h). Steps, in order:
//   wait for Go (the runtime has put us in the cgroup and written id maps)
//   → become root of a new user namespace → join namespaces by path
//   → unshare the cgroup namespace → hostname → prepare_rootfs
//   → HooksReady / HooksDone (the runtime ran prestart, createRuntime)
//   → createContainer hooks → enter_rootfs (pivot_root) → sysctls
//   → terminal → look up the executable → Created
//   → wait at the start barrier (exec.fifo, or Start from `run`)
//   → startContainer hooks → finalize_and_exec.
#pragma once

#include <signal.h>

#include <string>

#include "oci/spec.h"
#include "runtime/seccomp.h"
#include "runtime/namespaces.h"
#include "runtime/rootfs.h"

namespace berth::runtime {

struct InitContext {
  const oci::Spec* spec = nullptr;
  NamespacePlan* plan = nullptr;
  RootfsOptions rootfs;
  std::string rootfs_path;  // absolute; chroot target without a mount namespace
  int sync_fd = -1;
  int state_dir_fd = -1;  // holds exec.fifo; -1 when `run` starts it directly
  int console_fd = -1;    // connected --console-socket, or our own socketpair
  int preserve_fds = 0;
  const SeccompProgram* seccomp = nullptr;  // compiled before the clone (linux.seccomp)
  sigset_t original_sigmask;
};

[[noreturn]] void container_init(InitContext& ctx) noexcept;

}  // namespace berth::runtime
