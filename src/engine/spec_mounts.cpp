// The container's mounts: Docker's defaults, the identity files and the
// user's binds, volumes and tmpfs mounts.
//
// Bind grammar (-v / HostConfig.Binds):
//   bind    := source ":" dest [":" options]
//   source  := absolute host path | volume name ([A-Za-z0-9][A-Za-z0-9_.-]*)
//   options := option ("," option)*
//   option  := ro | rw | z | Z | nocopy | private | rprivate | shared |
//              rshared | slave | rslave
// z/Z (SELinux relabel) and nocopy are accepted and ignored.
#include <algorithm>
#include <cctype>

#include "base/strings.h"
#include "engine/spec_parts.h"

namespace berth::engine::detail {
namespace {

constexpr int64_t kDefaultShmSize = 64 << 20;

Json mount(std::string_view dest, std::string_view type, std::string_view source,
           std::vector<std::string> options) {
  return Json{{"destination", dest}, {"type", type}, {"source", source}, {"options", std::move(options)}};
}

bool is_propagation(std::string_view o) {
  return o == "private" || o == "rprivate" || o == "shared" || o == "rshared" || o == "slave" ||
         o == "rslave";
}

bool valid_volume_name(std::string_view n) {
  if (n.size() < 2 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

Result<void> check_dest(std::string_view what, std::string_view dest) {
  if (dest.empty() || dest.front() != '/')
    return Error::invalid("{}: invalid mount path {:?}, it must be absolute", what, dest);
  if (dest == "/") return Error::invalid("{}: invalid mount path {:?}, destination can't be '/'", what, dest);
  for (const auto& part : split(dest, '/')) {
    if (part == "..") return Error::invalid("{}: invalid mount path {:?}", what, dest);
  }
  return ok();
}

Result<std::string> source_path(const SpecContext& ctx, std::string_view what, std::string_view src) {
  if (!src.empty() && src.front() == '/') return std::string(src);
  if (!valid_volume_name(src))
    return Error::invalid("{}: {:?} includes invalid characters for a local volume name, only "
                          "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
                          what, src);
  if (!ctx.volume_path)
    return Error(ErrorCode::NotImplemented, fmt::format("{}: named volumes are not available", what));
  return BERTH_TRY_CTX(ctx.volume_path(src), "{}: volume {}", what, src);
}

Result<Json> parse_bind(const SpecContext& ctx, const std::string& spec) {
  auto parts = split(spec, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty())
    return Error::invalid("invalid volume specification: {:?}", spec);
  std::string what = fmt::format("bind {:?}", spec);
  BERTH_TRY(check_dest(what, parts[1]));
  std::string src = BERTH_TRY(source_path(ctx, what, parts[0]));
  bool ro = false;
  std::string propagation = "rprivate";
  if (parts.size() == 3) {
    for (const auto& o : split(parts[2], ',')) {
      if (o == "ro") ro = true;
      else if (o == "rw") ro = false;
      else if (is_propagation(o)) propagation = o;
      else if (o != "z" && o != "Z" && o != "nocopy")
        return Error::invalid("invalid mode {:?} in volume specification {:?}", o, spec);
    }
  }
  std::vector<std::string> opts = {"rbind", propagation};
  if (ro) opts.push_back("ro");
  return mount(parts[1], "bind", src, opts);
}

// Defaults first so that "exec", "suid" and "dev" given by the user undo them.
std::vector<std::string> tmpfs_options(std::string_view user) {
  std::vector<std::string> opts = {"noexec", "nosuid", "nodev"};
  for (const auto& o : split(user, ',')) {
    if (o.empty()) continue;
    auto drop = [&](const char* flag) { opts.erase(std::remove(opts.begin(), opts.end(), flag), opts.end()); };
    if (o == "exec") drop("noexec");
    else if (o == "suid") drop("nosuid");
    else if (o == "dev") drop("nodev");
    else opts.push_back(o);
  }
  return opts;
}

Result<Json> from_mount_request(const SpecContext& ctx, const MountRequest& m, size_t i) {
  std::string what = fmt::format("HostConfig.Mounts[{}]", i);
  BERTH_TRY(check_dest(what, m.target));
  if (m.type == "tmpfs") {
    if (!m.source.empty()) return Error::invalid("{}: Source must not be specified for tmpfs", what);
    std::vector<std::string> opts = {"noexec", "nosuid", "nodev"};
    if (m.tmpfs_size < 0) return Error::invalid("{}: invalid tmpfs size {}", what, m.tmpfs_size);
    if (m.tmpfs_size > 0) opts.push_back(fmt::format("size={}k", (m.tmpfs_size + 1023) / 1024));
    if (m.tmpfs_mode != 0) opts.push_back(fmt::format("mode={:o}", m.tmpfs_mode & 07777));
    if (m.read_only) opts.push_back("ro");
    return mount(m.target, "tmpfs", "tmpfs", opts);
  }
  if (m.type != "bind" && m.type != "volume")
    return Error::invalid("{}.Type: mount type {:?} is not supported", what, m.type);
  if (m.type == "bind" && (m.source.empty() || m.source.front() != '/'))
    return Error::invalid("{}.Source: invalid bind source {:?}, it must be an absolute path", what, m.source);
  if (m.source.empty())
    return Error(ErrorCode::NotImplemented, fmt::format("{}: anonymous volumes are not available", what));
  std::string src = BERTH_TRY(source_path(ctx, what, m.source));
  std::string prop = m.propagation.empty() ? "rprivate" : m.propagation;
  if (!is_propagation(prop)) return Error::invalid("{}: invalid propagation {:?}", what, prop);
  std::vector<std::string> opts = {"rbind", prop};
  if (m.read_only) opts.push_back("ro");
  return mount(m.target, "bind", src, opts);
}

}  // namespace

Result<Json> build_mounts(const ContainerConfig& cfg, const SpecContext& ctx, const MountPlan& plan) {
  const HostConfig& host = cfg.host;
  const std::vector<std::string> nsx = {"nosuid", "noexec", "nodev"};
  std::vector<std::string> sys = nsx, cgroup = {"nosuid", "noexec", "nodev"};
  // --privileged gets a writable /sys and cgroupfs, as Docker does.
  sys.push_back(plan.privileged ? "rw" : "ro");
  cgroup.insert(cgroup.begin(), plan.privileged ? "rw" : "ro");

  Json mounts = Json::array();
  mounts.push_back(mount("/proc", "proc", "proc", nsx));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  mounts.push_back(mount("/sys", "sysfs", "sysfs", sys));
  mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup", cgroup));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", nsx));

  if (host.shm_size < 0) return Error::invalid("SHM size can not be less than 0");
  if (!plan.private_ipc) {
    mounts.push_back(mount("/dev/shm", "bind", "/dev/shm", {"rbind", "rprivate"}));
  } else if (!plan.no_ipc) {
    if (!ctx.shm_path.empty()) {
      mounts.push_back(mount("/dev/shm", "bind", ctx.shm_path, {"rbind", "rprivate", "nosuid", "noexec", "nodev"}));
    } else {
      int64_t size = host.shm_size > 0 ? host.shm_size : kDefaultShmSize;
      mounts.push_back(mount("/dev/shm", "tmpfs", "shm",
                             {"nosuid", "noexec", "nodev", "mode=1777", fmt::format("size={}", size)}));
    }
  }

  std::vector<std::string> ident = {"rbind", "rprivate"};
  if (plan.readonly_rootfs) ident.push_back("ro");
  if (!ctx.resolv_conf_path.empty()) mounts.push_back(mount("/etc/resolv.conf", "bind", ctx.resolv_conf_path, ident));
  if (!ctx.hostname_path.empty()) mounts.push_back(mount("/etc/hostname", "bind", ctx.hostname_path, ident));
  if (!ctx.hosts_path.empty()) mounts.push_back(mount("/etc/hosts", "bind", ctx.hosts_path, ident));
  if (host.init && !ctx.init_path.empty())
    mounts.push_back(mount("/sbin/docker-init", "bind", ctx.init_path, {"rbind", "rprivate", "ro"}));

  Json user = Json::array();
  for (const auto& b : host.binds) user.push_back(BERTH_TRY(parse_bind(ctx, b)));
  for (size_t i = 0; i < host.mounts.size(); ++i) user.push_back(BERTH_TRY(from_mount_request(ctx, host.mounts[i], i)));
  for (const auto& [dest, opts] : host.tmpfs) {
    BERTH_TRY(check_dest("HostConfig.Tmpfs", dest));
    user.push_back(mount(dest, "tmpfs", "tmpfs", tmpfs_options(opts)));
  }
  for (size_t i = 0; i < user.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (user[i]["destination"] == user[j]["destination"])
        return Error::invalid("Duplicate mount point: {}", user[i]["destination"].get<std::string>());
    }
  }
  // Parents before children whatever order the user gave (/a before /a/b),
  // as Docker sorts by depth; otherwise a later /a would hide /a/b.
  auto depth = [](const Json& m) {
    const auto& d = m["destination"].get_ref<const std::string&>();
    return std::count(d.begin(), d.end(), '/');
  };
  std::stable_sort(user.begin(), user.end(), [&](const Json& a, const Json& b) { return depth(a) < depth(b); });
  // A user mount at a default's destination replaces the default.
  Json out = Json::array();
  for (const auto& m : mounts) {
    bool replaced = std::any_of(user.begin(), user.end(),
                                [&](const Json& u) { return u["destination"] == m["destination"]; });
    if (!replaced) out.push_back(m);
  }
  for (auto& u : user) out.push_back(std::move(u));
  return out;
}

}  // namespace berth::engine::detail
