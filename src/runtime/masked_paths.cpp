// linux.maskedPaths and linux.readonlyPaths.
//
// They are applied before pivot_root, while the host's /proc/self/fd still
// lets us mount onto descriptors resolved inside the root; the mounts travel
// with the root. Masking binds the container's /dev/null over files: it is
// opened without following a symlink and must be the real 1:3 device, or a
// planted /dev/null could turn the "mask" into a bind of anything.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>

#include "runtime/rootfs_internal.h"
#include "runtime/safe_path.h"

namespace berth::runtime::detail {
namespace {

constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

Result<Fd> open_dev_null(RootfsContext& ctx) {
  Fd dev = BERTH_TRY_CTX(resolve_in_root(ctx.root.get(), "/dev"), "mask paths: open /dev");
  Fd null(::openat(dev.get(), "null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!null) return Error::sys(errno, "mask paths: open /dev/null");
  BERTH_TRY(check_dev_null(ctx.ops, null.get(), "mask paths"));
  return null;
}

}  // namespace

Result<void> apply_readonly_paths(RootfsContext& ctx) {
  if (!ctx.spec.linux_) return ok();
  for (const auto& p : ctx.spec.linux_->readonly_paths) {
    auto target = resolve_in_root(ctx.root.get(), p);
    if (!target) {
      if (target.error().sys_errno() == ENOENT) continue;
      return target.error().context("readonly path {}", p);
    }
    std::string fdp = fd_path(target->get());
    BERTH_TRY_CTX(ctx.ops.mount(fdp, fdp, "", MS_BIND | MS_REC, ""), "bind readonly path {}", p);
    Fd top = BERTH_TRY_CTX(resolve_in_root(ctx.root.get(), p), "readonly path {}", p);
    unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    // Keep the atime mode: in a user namespace the kernel locks it.
    unsigned long current = BERTH_TRY_CTX(ctx.ops.mount_flags(fd_path(top.get())),
                                          "readonly path {}", p);
    flags |= current & kAtimeFlags;
    BERTH_TRY_CTX(ctx.ops.mount("", fd_path(top.get()), "", MS_BIND | MS_REMOUNT | flags, ""),
                  "remount readonly path {}", p);
  }
  return ok();
}

Result<void> apply_masked_paths(RootfsContext& ctx) {
  if (!ctx.spec.linux_) return ok();
  Fd null;
  for (const auto& p : ctx.spec.linux_->masked_paths) {
    auto target = resolve_in_root(ctx.root.get(), p);
    if (!target) {
      if (target.error().sys_errno() == ENOENT) continue;
      return target.error().context("masked path {}", p);
    }
    struct stat st = BERTH_TRY_CTX(ctx.ops.fstat(target->get()), "masked path {}", p);
    if (S_ISDIR(st.st_mode)) {
      BERTH_TRY_CTX(ctx.ops.mount("tmpfs", fd_path(target->get()), "tmpfs", MS_RDONLY, ""),
                    "mask directory {}", p);
      continue;
    }
    if (!null) null = BERTH_TRY(open_dev_null(ctx));
    BERTH_TRY_CTX(ctx.ops.mount(fd_path(null.get()), fd_path(target->get()), "", MS_BIND, ""),
                  "mask {}", p);
  }
  return ok();
}

}  // namespace berth::runtime::detail
