// The container's root file system, built inside its new mount namespace.
//
// Runs in the container's init before the user's process (noexcept side of
// the clone: no exceptions, errors returned as Result and reported through
// the sync socket). Two steps, because createContainer hooks run between them:
//
//   prepare_rootfs(spec, opts)  - make "/" rslave (or linux.rootfsPropagation),
//                                 bind the rootfs on itself, then every mount of
//                                 config.json in order, resolving destinations
//                                 inside the rootfs without following symlinks
//                                 out of it (CVE-2021-30465); /dev (tmpfs when
//                                 the config mounts one) gets the default
//                                 devices, linux.devices, /dev/fd etc symlinks,
//                                 /dev/ptmx -> pts/ptmx, /dev/console target.
//   enter_rootfs(spec, opts)    - pivot_root (or chroot with no_pivot), detach
//                                 the old root, masked paths (/dev/null bound
//                                 on files, ro tmpfs on dirs), read-only paths,
//                                 read-only root, propagation of "/" as asked.
//
// A /proc or /dev/null planted as a symlink in the image is refused.
#pragma once

#include <map>
#include <string>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

class MountOps;  // runtime/mount_ops.h: the syscall seam (tests pass a fake)

struct RootfsOptions {
  std::string bundle;     // absolute; root.path is relative to it
  bool no_pivot = false;  // --no-pivot: MS_MOVE + chroot instead of pivot_root
  bool in_user_ns = false;  // new user namespace: bind device nodes, no mknod
};

Result<void> prepare_rootfs(const oci::Spec& spec, const RootfsOptions& opts);
Result<void> enter_rootfs(const oci::Spec& spec, const RootfsOptions& opts);

// Bind the pty slave (a path such as /dev/pts/0 inside the container) onto
// /dev/console, as runc does for terminal containers. Called after enter_rootfs.
Result<void> mount_console(const std::string& pty_slave_path);

// Write linux.sysctl entries to /proc/sys (after enter_rootfs, /proc is the
// container's). Only namespaced sysctls are accepted.
// This form cannot tell which namespaces the container has and accepts
// every namespaced sysctl; the Spec form checks them against linux.namespaces.
Result<void> apply_sysctls(const std::map<std::string, std::string>& sysctl);

// ---- additions -------------------------------------------------------------

// Which namespaces the container owns, for sysctl checks.
struct SysctlNamespaces {
  bool ipc = true;  // kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*
  bool net = true;  // net.*
  bool uts = true;  // kernel.hostname, kernel.domainname
};
SysctlNamespaces sysctl_namespaces(const oci::Spec& spec);
// Ok if `key` is a namespaced sysctl the container may set; otherwise an
// error naming the key and why.
Result<void> validate_sysctl(const std::string& key, const SysctlNamespaces& ns);
// linux.sysctl of the spec, checked against its namespaces.
Result<void> apply_sysctls(const oci::Spec& spec);

// The same steps through an explicit syscall seam (unit tests).
Result<void> prepare_rootfs(const oci::Spec& spec, const RootfsOptions& opts, MountOps& ops);
Result<void> enter_rootfs(const oci::Spec& spec, const RootfsOptions& opts, MountOps& ops);
Result<void> apply_sysctls(const std::map<std::string, std::string>& sysctl,
                           const SysctlNamespaces& ns, MountOps& ops);

}  // namespace berth::runtime
