// Shared by the rootfs source files (mounts, cgroup mounts, devices, masked
// paths, pivot); not part of the runtime's interface.
#pragma once

#include <string>

#include "base/fd.h"
#include "base/result.h"
#include "oci/spec.h"
#include "runtime/mount_ops.h"
#include "runtime/mount_options.h"
#include "runtime/rootfs.h"

namespace berth::runtime::detail {

struct RootfsContext {
  MountOps& ops;
  const oci::Spec& spec;
  const RootfsOptions& opts;
  std::string rootfs;  // absolute host path of the container's root
  Fd root;             // O_PATH descriptor of it (after the self-bind)

  bool has_namespace(const char* type) const;
};

std::string rootfs_path(const oci::Spec& spec, const RootfsOptions& opts);
Result<Fd> open_rootfs(const std::string& rootfs);

// One entry of config.json "mounts".
Result<void> mount_entry(RootfsContext& ctx, const oci::Mount& m);
// Bind `source` (a host path) onto `dest` inside the root, then remount with
// the flags a bind ignores, keeping the flags the kernel locks in a user ns.
Result<void> bind_into_root(RootfsContext& ctx, const std::string& source,
                            const std::string& dest, const MountOptions& mo);
// After the mount at `dest` exists: propagation, then recursive attributes.
Result<void> finish_mount(RootfsContext& ctx, const std::string& dest, const MountOptions& mo);
// A "cgroup" mount: cgroup2, or a tmpfs of v1 hierarchies.
Result<void> mount_cgroup(RootfsContext& ctx, const oci::Mount& m, const MountOptions& mo);

// /dev: default devices, linux.devices, symlinks, the console target.
Result<void> setup_dev(RootfsContext& ctx);
// Refuse unless `fd` is the character device 1:3.
Result<void> check_dev_null(MountOps& ops, int fd, const std::string& what);

Result<void> apply_readonly_paths(RootfsContext& ctx);
Result<void> apply_masked_paths(RootfsContext& ctx);

}  // namespace berth::runtime::detail
