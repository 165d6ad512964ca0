// config.json "mounts": each destination resolved inside the root, each
// mount made through /proc/self/fd/N of that resolution.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/rootfs_internal.h"
#include "runtime/safe_path.h"

namespace berth::runtime::detail {
namespace {

constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

bool has_option(const std::string& data, const std::string& key) {
  size_t pos = 0;
  while (pos <= data.size()) {
    size_t end = data.find(',', pos);
    if (end == std::string::npos) end = data.size();
    std::string opt = data.substr(pos, end - pos);
    if (opt == key || opt.rfind(key + "=", 0) == 0) return true;
    pos = end + 1;
  }
  return false;
}

void add_option(std::string& data, const std::string& opt) {
  if (!data.empty()) data += ',';
  data += opt;
}

// proc and sysfs on a symlink would let the image aim the kernel's own file
// systems anywhere in the root (or, with a racing swap, outside it); runc
// refuses them, and so do we.
Result<void> check_not_symlink(RootfsContext& ctx, const std::string& type,
                               const std::string& dest) {
  std::string name;
  Fd parent = BERTH_TRY_CTX(open_parent_in_root(ctx.root.get(), dest, &name), "mount {} on {}",
                            type, dest);
  struct stat st {};
  if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return ok();
    return Error::sys(errno, "mount {} on {}: stat destination", type, dest);
  }
  if (S_ISLNK(st.st_mode)) {
    return Error(ErrorCode::InvalidArgument,
                 fmt::format("mount {} on {}: destination is a symlink", type, dest));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Error(ErrorCode::InvalidArgument,
                 fmt::format("mount {} on {}: destination is not a directory", type, dest));
  }
  return ok();
}

// Where the kernel will not give a fresh instance (sysfs without an own
// network namespace, mqueue without an own IPC namespace, both in a user
// namespace), bind the host's instance instead, as runc does.
Result<void> bind_fallback(RootfsContext& ctx, const std::string& host, const oci::Mount& m,
                           MountOptions mo) {
  mo.flags |= MS_BIND | MS_REC;
  BERTH_TRY(bind_into_root(ctx, host, clean_path(m.destination), mo));
  return finish_mount(ctx, clean_path(m.destination), mo);
}

}  // namespace

Result<void> bind_into_root(RootfsContext& ctx, const std::string& source,
                            const std::string& dest, const MountOptions& mo) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) {
    return Error::sys(errno, "bind {} on {}: stat source", source, dest);
  }
  Fd target = BERTH_TRY_CTX(
      create_in_root(ctx.root.get(), dest, S_ISDIR(st.st_mode) ? CreateLast::Dir : CreateLast::File),
      "bind {} on {}", source, dest);
  BERTH_TRY_CTX(ctx.ops.mount(source, fd_path(target.get()), "bind", MS_BIND | (mo.flags & MS_REC), ""),
                "bind {} on {}", source, dest);
  unsigned long flags = mo.remount_flags();
  if (flags == 0) return ok();
  // The descriptor above names the covered mountpoint; the remount needs
  // the root of the new bind, so resolve again.
  Fd top = BERTH_TRY_CTX(resolve_in_root(ctx.root.get(), dest), "remount {}", dest);
  if (ctx.opts.in_user_ns) {
    // In a user namespace the kernel locks the source's ro/nosuid/nodev/
    // noexec/atime flags: a remount that drops one fails with EPERM.
    unsigned long keep = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (!mo.atime_given) keep |= kAtimeFlags;
    unsigned long locked = BERTH_TRY_CTX(ctx.ops.mount_flags(fd_path(top.get())), "remount {}", dest);
    flags |= locked & keep & ~mo.cleared;
  }
  BERTH_TRY_CTX(ctx.ops.mount("", fd_path(top.get()), "", MS_BIND | MS_REMOUNT | flags, ""),
                "remount bind {} on {}", source, dest);
  return ok();
}

Result<void> finish_mount(RootfsContext& ctx, const std::string& dest, const MountOptions& mo) {
  if (mo.propagation.empty() && !mo.has_rec_attr()) return ok();
  Fd top = BERTH_TRY_CTX(resolve_in_root(ctx.root.get(), dest), "mount on {}", dest);
  for (unsigned long p : mo.propagation) {
    BERTH_TRY_CTX(ctx.ops.mount("", fd_path(top.get()), "", p, ""), "set propagation of {}", dest);
  }
  if (mo.has_rec_attr()) {
    BERTH_TRY_CTX(ctx.ops.mount_setattr(fd_path(top.get()), AT_RECURSIVE, mo.rec_attr_set,
                                        mo.rec_attr_clr),
                  "set recursive mount attributes of {}", dest);
  }
  return ok();
}

Result<void> mount_entry(RootfsContext& ctx, const oci::Mount& m) {
  MountOptions mo = parse_mount_options(m.options);
  const std::string dest = clean_path(m.destination);
  if (mo.idmap || !m.uid_mappings.empty() || !m.gid_mappings.empty()) {
    return Error(ErrorCode::NotImplemented,
                 fmt::format("mount {} on {}: idmapped mounts (idmap, ridmap) are not supported",
                             m.source, dest));
  }
  if (mo.tmpcopyup) {
    return Error(ErrorCode::NotImplemented,
                 fmt::format("mount {} on {}: tmpcopyup is not supported", m.source, dest));
  }
  if (m.type == "bind" || m.type == "rbind") {
    mo.flags |= MS_BIND;
    if (m.type == "rbind") mo.flags |= MS_REC;
  }
  if (mo.is_bind()) {
    std::string source = m.source;
    if (source.empty() || source[0] != '/') source = ctx.opts.bundle + "/" + source;
    BERTH_TRY(bind_into_root(ctx, source, dest, mo));
    return finish_mount(ctx, dest, mo);
  }
  if (m.type == "cgroup") return mount_cgroup(ctx, m, mo);

  const bool user_ns = ctx.opts.in_user_ns;
  if (m.type == "proc" || m.type == "sysfs") BERTH_TRY(check_not_symlink(ctx, m.type, dest));
  if (m.type == "sysfs" && user_ns && !ctx.has_namespace("network")) {
    return bind_fallback(ctx, "/sys", m, mo);
  }
  std::string data = mo.data;
  if (m.type == "devpts") {
    // A private instance, and a ptmx that everyone may open (/dev/ptmx links to it).
    if (!has_option(data, "newinstance")) add_option(data, "newinstance");
    if (!has_option(data, "ptmxmode")) add_option(data, "ptmxmode=0666");
  }
  Fd target = BERTH_TRY_CTX(create_in_root(ctx.root.get(), dest, CreateLast::Dir), "mount {} on {}",
                            m.type, dest);
  std::string source = m.source.empty() ? m.type : m.source;
  auto r = ctx.ops.mount(source, fd_path(target.get()), m.type, mo.flags, data);
  if (!r) {
    if (user_ns && r.error().sys_errno() == EPERM) {
      const char* host = m.type == "sysfs" ? "/sys" : m.type == "mqueue" ? "/dev/mqueue" : nullptr;
      if (host != nullptr && ::access(host, F_OK) == 0) return bind_fallback(ctx, host, m, mo);
    }
    return r.error().context("mount {} on {}", m.type, dest);
  }
  return finish_mount(ctx, dest, mo);
}

}  // namespace berth::runtime::detail
