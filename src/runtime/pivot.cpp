// enter_rootfs: masked and read-only paths, the switch of root, read-only
// "/", its propagation; and the console bind that follows.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/mount_ops.h"
#include "runtime/rootfs.h"
#include "runtime/rootfs_internal.h"
#include "runtime/safe_path.h"

namespace berth::runtime {
namespace {

constexpr unsigned long kKeepOnRemount =
    MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

Result<void> switch_root(MountOps& ops, const std::string& rootfs, bool no_pivot) {
  BERTH_TRY(ops.chdir(rootfs));
  if (no_pivot) {
    // For roots that cannot pivot (e.g. a ramfs initramfs): move the rootfs
    // over "/" and chroot. The old root stays reachable to whoever escapes
    // the chroot, which is why pivot_root is the default.
    BERTH_TRY_CTX(ops.mount(rootfs, "/", "", MS_MOVE, ""), "move rootfs {} to /", rootfs);
    BERTH_TRY_CTX(ops.chroot("."), "chroot {}", rootfs);
  } else {
    // pivot_root(".", "."): the old root ends up stacked under the new one
    // at "/", so no put_old directory is needed inside the container; it is
    // then detached. Making it rslave first keeps the detach from
    // propagating into the host's mount namespace.
    BERTH_TRY_CTX(ops.pivot_root(".", "."), "pivot_root to {}", rootfs);
    BERTH_TRY_CTX(ops.mount("", ".", "", MS_SLAVE | MS_REC, ""), "make the old root rslave");
    BERTH_TRY_CTX(ops.umount2(".", MNT_DETACH), "detach the old root");
  }
  return ops.chdir("/");
}

}  // namespace

Result<void> enter_rootfs(const oci::Spec& spec, const RootfsOptions& opts, MountOps& ops) {
  detail::RootfsContext ctx{ops, spec, opts, detail::rootfs_path(spec, opts), {}};
  ctx.root = BERTH_TRY(detail::open_rootfs(ctx.rootfs));
  // Before the switch, while /proc/self/fd is the host's (see masked_paths.cpp).
  BERTH_TRY(detail::apply_readonly_paths(ctx));
  BERTH_TRY(detail::apply_masked_paths(ctx));
  ctx.root.reset();

  BERTH_TRY(switch_root(ops, ctx.rootfs, opts.no_pivot));

  if (spec.root && spec.root->readonly) {
    // Keep nosuid/nodev/noexec/atime as they are (locked in a user ns).
    unsigned long keep = BERTH_TRY_CTX(ops.mount_flags("/"), "remount / read-only");
    BERTH_TRY_CTX(ops.mount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY | (keep & kKeepOnRemount), ""),
                  "remount / read-only");
  }
  std::string prop = spec.linux_ ? spec.linux_->rootfs_propagation : "";
  if (!prop.empty()) {
    BERTH_TRY_CTX(ops.mount("", "/", "", propagation_flag(prop), ""), "make / {}", prop);
  }
  return ok();
}

Result<void> enter_rootfs(const oci::Spec& spec, const RootfsOptions& opts) {
  return enter_rootfs(spec, opts, real_mount_ops());
}

Result<void> mount_console(const std::string& pty_slave_path) {
  Fd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Error::sys(errno, "open /");
  Fd target = BERTH_TRY_CTX(create_in_root(root.get(), "/dev/console", CreateLast::File),
                            "bind {} on /dev/console", pty_slave_path);
  // Without a /proc in the container, the path itself: after the switch of
  // root no symlink can lead out of the container's "/".
  std::string where = ::access("/proc/self/fd", F_OK) == 0 ? fd_path(target.get()) : "/dev/console";
  BERTH_TRY_CTX(real_mount_ops().mount(pty_slave_path, where, "", MS_BIND, ""),
                "bind {} on /dev/console", pty_slave_path);
  return ok();
}

}  // namespace berth::runtime
