// The pieces build_oci_spec assembles, one file each: mounts
// (spec_mounts.cpp), devices and resources (spec_resources.cpp). Internal to
// berth_engine; tests include it to check a piece alone.
#pragma once

#include "engine/spec.h"

namespace berth::engine::detail {

struct MountPlan {
  bool privileged = false;
  bool private_ipc = true;   // false for --ipc host
  bool no_ipc = false;       // --ipc none: no /dev/shm at all
  bool readonly_rootfs = false;
};

// Docker's default mounts, the identity files, --init, then the user's
// -v/--mount/--tmpfs mounts; a user mount replaces a default at the same
// destination.
Result<Json> build_mounts(const ContainerConfig& cfg, const SpecContext& ctx, const MountPlan& plan);

// linux.devices and linux.resources.devices: Docker's cgroup rules, the
// --device mappings, or every host device for --privileged.
Result<void> add_devices(const HostConfig& host, const SpecContext& ctx, Json& linux_);

// linux.resources memory/cpu/pids from the HostConfig limits.
Result<void> add_resources(const HostConfig& host, Json& linux_);

// process.rlimits from --ulimit.
Result<Json> build_rlimits(const std::vector<Ulimit>& ulimits);

// linux.sysctl: Docker's defaults for a private network namespace, then
// --sysctl, each checked to be namespaced (never a host-wide knob).
Result<std::map<std::string, std::string>> build_sysctls(const HostConfig& host, bool private_net,
                                                         bool private_ipc, bool private_uts);

}  // namespace berth::engine::detail
