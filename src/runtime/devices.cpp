// /dev of the container: the default devices, linux.devices, the symlinks
// every Linux userland expects, /dev/ptmx for the private devpts instance
// and an empty /dev/console for the terminal's bind.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/rootfs_internal.h"
#include "runtime/safe_path.h"

namespace berth::runtime::detail {
namespace {

const oci::DeviceNode kDefaultDevices[] = {
    {"/dev/null", "c", 1, 3, 0666, std::nullopt, std::nullopt},
    {"/dev/zero", "c", 1, 5, 0666, std::nullopt, std::nullopt},
    {"/dev/full", "c", 1, 7, 0666, std::nullopt, std::nullopt},
    {"/dev/random", "c", 1, 8, 0666, std::nullopt, std::nullopt},
    {"/dev/urandom", "c", 1, 9, 0666, std::nullopt, std::nullopt},
    {"/dev/tty", "c", 5, 0, 0666, std::nullopt, std::nullopt},
};

Result<mode_t> type_bits(const oci::DeviceNode& d) {
  if (d.type == "c" || d.type == "u") return static_cast<mode_t>(S_IFCHR);
  if (d.type == "b") return static_cast<mode_t>(S_IFBLK);
  if (d.type == "p") return static_cast<mode_t>(S_IFIFO);
  return Error::invalid("linux.devices {}: unknown type \"{}\" (want c, b, u or p)", d.path,
                        d.type);
}

bool config_binds(const oci::Spec& spec, const std::string& dest) {
  for (const auto& m : spec.mounts) {
    if (clean_path(m.destination) != dest) continue;
    if (m.type == "bind" || m.type == "rbind" || parse_mount_options(m.options).is_bind()) {
      return true;
    }
  }
  return false;
}

bool config_mounts_type(const oci::Spec& spec, const std::string& type) {
  for (const auto& m : spec.mounts) {
    if (m.type == type) return true;
  }
  return false;
}

Result<void> create_device(RootfsContext& ctx, const oci::DeviceNode& d) {
  const std::string path = clean_path(d.path);
  if (path.rfind("/dev/", 0) != 0) {
    return Error::invalid("linux.devices {}: the path must be under /dev", d.path);
  }
  mode_t type = BERTH_TRY(type_bits(d));
  if (ctx.opts.in_user_ns) {
    // mknod is refused in a user namespace: bind the host's node onto an
    // empty file instead (the host node has the same path).
    MountOptions mo;
    mo.flags = MS_BIND;
    return bind_into_root(ctx, d.path, path, mo);
  }
  std::string name;
  Fd dir = BERTH_TRY_CTX(open_parent_in_root(ctx.root.get(), path, &name), "create device {}",
                         path);
  mode_t perm = d.file_mode.value_or(0666) & 07777;
  auto r = ctx.ops.mknodat(dir.get(), name, type | perm,
                           makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor)));
  if (!r) {
    // Kept as the image has it; a planted /dev/null is caught when masking.
    if (r.error().sys_errno() == EEXIST) return ok();
    return r.error().context("create device {} ({}:{})", path, d.major, d.minor);
  }
  // mknod applies the umask; the config's mode is what the user asked for.
  if (::fchmodat(dir.get(), name.c_str(), perm, 0) != 0) {
    return Error::sys(errno, "chmod device {}", path);
  }
  if (d.uid || d.gid) {
    BERTH_TRY_CTX(ctx.ops.fchownat(dir.get(), name, d.uid.value_or(0), d.gid.value_or(0)),
                  "chown device {}", path);
  }
  return ok();
}

Result<void> make_symlink(int dev_fd, const char* target, const char* name) {
  if (::symlinkat(target, dev_fd, name) != 0 && errno != EEXIST) {
    return Error::sys(errno, "symlink /dev/{} -> {}", name, target);
  }
  return ok();
}

}  // namespace

Result<void> setup_dev(RootfsContext& ctx) {
  // A /dev bound from the host is the host's business, as in runc.
  if (config_binds(ctx.spec, "/dev")) return ok();
  Fd dev = BERTH_TRY_CTX(create_in_root(ctx.root.get(), "/dev", CreateLast::Dir), "set up /dev");

  for (const auto& d : kDefaultDevices) BERTH_TRY(create_device(ctx, d));
  if (ctx.spec.linux_) {
    for (const auto& d : ctx.spec.linux_->devices) BERTH_TRY(create_device(ctx, d));
  }

  BERTH_TRY(make_symlink(dev.get(), "/proc/self/fd", "fd"));
  BERTH_TRY(make_symlink(dev.get(), "/proc/self/fd/0", "stdin"));
  BERTH_TRY(make_symlink(dev.get(), "/proc/self/fd/1", "stdout"));
  BERTH_TRY(make_symlink(dev.get(), "/proc/self/fd/2", "stderr"));
  // Only where the kernel has /proc/kcore (as runc): a dangling link is one
  // more entry than Docker's /dev shows.
  if (config_mounts_type(ctx.spec, "proc") && ::access("/proc/kcore", F_OK) == 0) {
    BERTH_TRY(make_symlink(dev.get(), "/proc/kcore", "core"));
  }
  // With a private devpts instance, /dev/ptmx must be its ptmx (opening
  // the host's would allocate ptys in the host's instance).
  if (config_mounts_type(ctx.spec, "devpts")) {
    if (::unlinkat(dev.get(), "ptmx", 0) != 0 && errno != ENOENT) {
      return Error::sys(errno, "remove /dev/ptmx");
    }
    BERTH_TRY(make_symlink(dev.get(), "pts/ptmx", "ptmx"));
  }
  // The target of mount_console(): a file, so that the bind of the pty works.
  if (ctx.spec.process && ctx.spec.process->terminal) {
    BERTH_TRY_CTX(create_in_root(ctx.root.get(), "/dev/console", CreateLast::File),
                  "create /dev/console");
  }
  return ok();
}

Result<void> check_dev_null(MountOps& ops, int fd, const std::string& what) {
  struct stat st = BERTH_TRY_CTX(ops.fstat(fd), "{}: stat /dev/null", what);
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
    return Error(ErrorCode::FailedPrecondition,
                 fmt::format("{}: /dev/null in the container is not the character device 1:3 "
                             "(a symlink or another file was planted there)",
                             what));
  }
  return ok();
}

}  // namespace berth::runtime::detail
