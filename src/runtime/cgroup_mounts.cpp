// A config.json mount of type "cgroup".
//
//   v2 host (cgroup2 at /sys/fs/cgroup): a cgroup2 mount on the destination
//     when the container has a cgroup namespace (it then sees its own cgroup
//     as the root), else a bind of the container's own cgroup directory.
//   v1 / hybrid: a tmpfs on the destination, and in it one directory per
//     hierarchy the host mounts under /sys/fs/cgroup (cpu,cpuacct, memory,
//     name=systemd, unified ...), each a fresh `cgroup`/`cgroup2` mount with
//     the hierarchy's controllers as data under a cgroup namespace, or a bind
//     of the container's own directory in it otherwise; plus the symlinks
//     cpu -> cpu,cpuacct that hosts have.
// Read-only is applied to every part, the tmpfs last.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <vector>

#include "base/strings.h"
#include "runtime/rootfs_internal.h"
#include "runtime/safe_path.h"

namespace berth::runtime::detail {
namespace {

const std::string kCgroupRoot = "/sys/fs/cgroup";

struct Hierarchy {
  std::string mountpoint;  // /sys/fs/cgroup/cpu,cpuacct
  std::string fstype;      // cgroup or cgroup2
  std::string mount_root;  // the "root" field of mountinfo
  std::set<std::string> super_options;
};

// /proc/self/mountinfo: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts"
std::vector<Hierarchy> cgroup_mounts(const std::string& mountinfo) {
  std::vector<Hierarchy> out;
  for (const auto& line : split(mountinfo, '\n')) {
    auto f = split(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    const std::string& fstype = dash[1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    Hierarchy h{f[4], fstype, f[3], {}};
    for (auto& o : split(dash[3], ',')) h.super_options.insert(o);
    // A later mount on the same point hides the earlier one.
    std::erase_if(out, [&](const Hierarchy& o) { return o.mountpoint == h.mountpoint; });
    out.push_back(std::move(h));
  }
  return out;
}

struct CgroupLine {
  std::vector<std::string> controllers;  // empty for the v2 line "0::/path"
  std::string path;
};

std::vector<CgroupLine> self_cgroups(const std::string& text) {
  std::vector<CgroupLine> out;
  for (const auto& line : split(text, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    CgroupLine l;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    if (!ctrls.empty()) l.controllers = split(ctrls, ',');
    l.path = line.substr(b + 1);
    out.push_back(std::move(l));
  }
  return out;
}

const Hierarchy* find_hierarchy(const std::vector<Hierarchy>& hs, const CgroupLine& l) {
  for (const auto& h : hs) {
    if (l.controllers.empty()) {
      if (h.fstype == "cgroup2") return &h;
      continue;
    }
    if (h.fstype != "cgroup") continue;
    bool all = std::all_of(l.controllers.begin(), l.controllers.end(),
                           [&](const std::string& c) { return h.super_options.count(c) != 0; });
    if (all) return &h;
  }
  return nullptr;
}

std::string base_name(const std::string& p) { return p.substr(p.rfind('/') + 1); }

// The container's own directory in a host hierarchy, as a host path.
std::string own_dir(const Hierarchy& h, const std::string& path) {
  std::string rel = path;
  if (h.mount_root != "/" && rel.rfind(h.mount_root, 0) == 0) rel = rel.substr(h.mount_root.size());
  return clean_path(h.mountpoint + "/" + rel);
}

// One hierarchy at `dest`: a fresh mount in a cgroup namespace, else a bind.
Result<void> mount_one(RootfsContext& ctx, const Hierarchy& h, const CgroupLine& l,
                       const std::string& dest, const MountOptions& mo, bool cgroupns) {
  if (!cgroupns) {
    MountOptions bind = mo;
    bind.flags |= MS_BIND | MS_REC;
    return bind_into_root(ctx, own_dir(h, l.path), dest, bind);
  }
  Fd target = BERTH_TRY_CTX(create_in_root(ctx.root.get(), dest, CreateLast::Dir),
                            "mount {} on {}", h.fstype, dest);
  std::string data = join(l.controllers, ",");
  BERTH_TRY_CTX(ctx.ops.mount(h.fstype, fd_path(target.get()), h.fstype, mo.remount_flags(), data),
                "mount {} ({}) on {}", h.fstype, data, dest);
  return ok();
}

}  // namespace

Result<void> mount_cgroup(RootfsContext& ctx, const oci::Mount& m, const MountOptions& mo) {
  const std::string dest = clean_path(m.destination);
  const bool cgroupns = ctx.has_namespace("cgroup");
  auto hierarchies = cgroup_mounts(BERTH_TRY_CTX(ctx.ops.read_file("/proc/self/mountinfo"),
                                                 "mount cgroup on {}", dest));
  auto lines = self_cgroups(
      BERTH_TRY_CTX(ctx.ops.read_file("/proc/self/cgroup"), "mount cgroup on {}", dest));

  auto v2 = std::find_if(hierarchies.begin(), hierarchies.end(), [](const Hierarchy& h) {
    return h.mountpoint == kCgroupRoot && h.fstype == "cgroup2";
  });
  if (v2 != hierarchies.end()) {
    auto line = std::find_if(lines.begin(), lines.end(),
                             [](const CgroupLine& l) { return l.controllers.empty(); });
    CgroupLine own = line != lines.end() ? *line : CgroupLine{{}, "/"};
    BERTH_TRY(mount_one(ctx, *v2, own, dest, mo, cgroupns));
    return finish_mount(ctx, dest, mo);
  }

  // v1 or hybrid: a tmpfs holding one directory per hierarchy. It stays
  // writable until the hierarchies are in place.
  unsigned long tmpfs_flags = (mo.remount_flags() & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  {
    Fd target = BERTH_TRY_CTX(create_in_root(ctx.root.get(), dest, CreateLast::Dir),
                              "mount cgroup on {}", dest);
    BERTH_TRY_CTX(ctx.ops.mount("tmpfs", fd_path(target.get()), "tmpfs", tmpfs_flags, "mode=755"),
                  "mount tmpfs for cgroup on {}", dest);
  }
  Fd dir = BERTH_TRY_CTX(resolve_in_root(ctx.root.get(), dest), "mount cgroup on {}", dest);
  for (const auto& l : lines) {
    const Hierarchy* h = find_hierarchy(hierarchies, l);
    if (h == nullptr) continue;  // e.g. a v1 hierarchy the host does not mount
    std::string parent = h->mountpoint.substr(0, h->mountpoint.rfind('/'));
    if (parent != kCgroupRoot) continue;
    std::string name = base_name(h->mountpoint);
    BERTH_TRY(mount_one(ctx, *h, l, dest + "/" + name, mo, cgroupns));
    // cpu -> cpu,cpuacct, as on the host.
    if (name.find(',') != std::string::npos) {
      for (const auto& alias : split(name, ',')) {
        if (::symlinkat(name.c_str(), dir.get(), alias.c_str()) != 0 && errno != EEXIST) {
          return Error::sys(errno, "symlink {}/{} -> {}", dest, alias, name);
        }
      }
    }
  }
  if (mo.flags & MS_RDONLY) {
    BERTH_TRY_CTX(ctx.ops.mount("", fd_path(dir.get()), "", MS_REMOUNT | tmpfs_flags | MS_RDONLY, ""),
                  "remount {} read-only", dest);
  }
  return finish_mount(ctx, dest, mo);
}

}  // namespace berth::runtime::detail
