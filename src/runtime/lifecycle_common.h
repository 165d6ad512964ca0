// Pieces that several lifecycle operations share.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/result.h"
#include "oci/spec.h"
#include "runtime/cgroup.h"
#include "runtime/state.h"

namespace berth::runtime {

// User name of the caller, as runc's "owner" field.
std::string current_owner();
// Bare digits, no newline, written atomically (readers Atoi it).
Result<void> write_pid_file(const std::string& path, pid_t pid);
// The config.json saved in the state directory at create.
Result<oci::Spec> load_saved_spec(const StateDir& dir, const std::string& id);
// poststart failures are logged, not fatal (runtime-spec).
void run_poststart_hooks(const oci::Spec& spec, const ContainerState& st);
// Kill what is left, remove the cgroup, run poststop hooks, remove the state.
Result<void> destroy_container(const StateDir& dir, const ContainerState& st, const oci::Spec* spec);

// A loaded container: its state, its cgroup and its status now.
struct Loaded {
  ContainerState state;
  std::unique_ptr<Cgroup> cgroup;
  Status status = Status::Stopped;
};
Result<Loaded> load_container(const StateDir& dir, const std::string& id);

}  // namespace berth::runtime
