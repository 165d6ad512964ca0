// Which namespaces a container gets and how: created new at clone, joined by
// path, or (cgroup, time) set up around the clone because the kernel ties them
// to the moment a process enters them.
#pragma once

#include <sys/types.h>

#include <utility>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

struct NamespacePlan {
  int clone_flags = 0;        // CLONE_NEW* to pass to clone (never NEWCGROUP/NEWTIME)
  bool new_user = false;
  bool new_cgroup = false;    // unshared by the init once it sits in its cgroup
  bool new_time = false;      // unshared by the parent before clone, offsets written
  bool new_pid = false;
  bool new_mount = false;
  bool new_uts = false;
  bool new_net = false;
  Fd join_user;               // joined first, by the init
  std::vector<std::pair<int, Fd>> join;  // other paths, joined by the init
  Fd join_pid;                // setns by the parent: affects its children only
  Fd join_time;
  // A user namespace joined by path while others are created: they must be
  // created after joining it (so it owns them), which for pid needs one more fork.
  bool two_stage = false;
};

Result<NamespacePlan> plan_namespaces(const oci::Spec& spec);

// Write uid_map/gid_map of a process in a new user namespace.
Result<void> write_id_mappings(pid_t pid, const oci::Linux& lx);

// Time namespace offsets for the parent's next child (after unshare(CLONE_NEWTIME)).
Result<void> write_time_offsets(const oci::Linux& lx);

}  // namespace berth::runtime
