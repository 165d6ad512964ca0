// prepare_rootfs: propagation of "/", the rootfs bind, config.json's mounts
// and /dev. See rootfs.h for the order of the steps.
#include "runtime/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "base/strings.h"
#include "runtime/mount_ops.h"
#include "runtime/rootfs_internal.h"
#include "runtime/safe_path.h"

namespace berth::runtime {
namespace detail {

bool RootfsContext::has_namespace(const char* type) const {
  if (!spec.linux_) return false;
  const auto& nss = spec.linux_->namespaces;
  return std::any_of(nss.begin(), nss.end(), [&](const oci::Namespace& n) { return n.type == type; });
}

std::string rootfs_path(const oci::Spec& spec, const RootfsOptions& opts) {
  std::string p = spec.root ? spec.root->path : "rootfs";
  if (p.empty() || p[0] != '/') p = opts.bundle + "/" + p;
  // The bundle is the caller's and trusted; resolve its own symlinks so that
  // mountinfo comparisons see the real path.
  char real[PATH_MAX];
  if (::realpath(p.c_str(), real) != nullptr) return real;
  return clean_path(p);
}

namespace {

// pivot_root(2) refuses a new root whose parent mount is shared, which it is
// when linux.rootfsPropagation asked for "shared": make that one private.
Result<void> make_parent_mount_private(MountOps& ops, const std::string& rootfs) {
  auto info = BERTH_TRY_CTX(ops.read_file("/proc/self/mountinfo"), "find the mount of {}", rootfs);
  std::string best;
  bool shared = false;
  for (const auto& line : split(info, '\n')) {
    auto f = split(line, ' ');
    if (f.size() < 7) continue;
    const std::string& mp = f[4];
    bool under = mp == "/" || rootfs == mp || rootfs.rfind(mp + "/", 0) == 0;
    if (!under || mp.size() < best.size()) continue;
    best = mp;
    shared = false;
    for (size_t i = 6; i < f.size() && f[i] != "-"; ++i) {
      if (f[i].rfind("shared:", 0) == 0) shared = true;
    }
  }
  if (best.empty() || !shared) return ok();
  BERTH_TRY_CTX(ops.mount("", best, "", MS_PRIVATE, ""), "make {} private", best);
  return ok();
}

}  // namespace

Result<Fd> open_rootfs(const std::string& rootfs) {
  Fd fd(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::sys(errno, "open rootfs {}", rootfs);
  return fd;
}

}  // namespace detail

Result<void> prepare_rootfs(const oci::Spec& spec, const RootfsOptions& opts, MountOps& ops) {
  detail::RootfsContext ctx{ops, spec, opts, detail::rootfs_path(spec, opts), {}};

  std::string prop = spec.linux_ ? spec.linux_->rootfs_propagation : "";
  unsigned long flag = prop.empty() ? (MS_SLAVE | MS_REC) : propagation_flag(prop);
  if (flag == 0) return Error::invalid("linux.rootfsPropagation: unknown value \"{}\"", prop);
  // An unbindable "/" would refuse the rootfs bind below: stay rslave while
  // building, enter_rootfs makes the new root unbindable at the end.
  if (flag & MS_UNBINDABLE) flag = MS_SLAVE | MS_REC;
  // Nothing mounted from here on may propagate back to the host.
  BERTH_TRY_CTX(ops.mount("", "/", "", flag, ""), "make / {}", prop.empty() ? "rslave" : prop);
  BERTH_TRY(detail::make_parent_mount_private(ops, ctx.rootfs));
  // A mount of its own: pivot_root needs one, and the container's mounts
  // stack on it rather than on whatever holds the bundle.
  BERTH_TRY_CTX(ops.mount(ctx.rootfs, ctx.rootfs, "bind", MS_BIND | MS_REC, ""),
                "bind rootfs {} on itself", ctx.rootfs);
  ctx.root = BERTH_TRY(detail::open_rootfs(ctx.rootfs));

  for (const auto& m : spec.mounts) BERTH_TRY(detail::mount_entry(ctx, m));
  return detail::setup_dev(ctx);
}

Result<void> prepare_rootfs(const oci::Spec& spec, const RootfsOptions& opts) {
  return prepare_rootfs(spec, opts, real_mount_ops());
}

}  // namespace berth::runtime
