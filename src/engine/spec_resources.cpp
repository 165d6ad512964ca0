// Devices, cgroup limits, rlimits and sysctls of the container.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "base/strings.h"
#include "engine/spec_parts.h"
#include "oci/known.h"

namespace berth::engine::detail {
namespace {

Json rule(bool allow, const char* type, std::optional<int64_t> major, std::optional<int64_t> minor) {
  Json r = {{"allow", allow}};
  if (type) r["type"] = type;
  if (major) r["major"] = *major;
  if (minor) r["minor"] = *minor;
  r["access"] = "rwm";
  return r;
}

// Docker's device cgroup: deny all, allow null zero full random urandom tty
// console ptmx... (the nodes the runtime creates), and deny fuse explicitly.
Json default_device_rules() {
  return Json::array({rule(false, nullptr, {}, {}), rule(true, "c", 1, 5), rule(true, "c", 1, 3),
                      rule(true, "c", 1, 9), rule(true, "c", 1, 8), rule(true, "c", 5, 0),
                      rule(true, "c", 5, 1), rule(false, "c", 10, 229)});
}

// Directories of /dev that hold no device a container should get, or that
// the runtime mounts itself (runc's list, and console, which the runtime
// sets up from the pty).
bool skipped_dev_entry(std::string_view name) {
  return name == "pts" || name == "shm" || name == "fd" || name == "mqueue" || name == ".lxc" ||
         name == ".lxd-mounts" || name == ".udev" || name == "console";
}

Json device_node(const std::string& path, const struct stat& st) {
  return Json{{"path", path},
              {"type", S_ISCHR(st.st_mode) ? "c" : "b"},
              {"major", major(st.st_rdev)},
              {"minor", minor(st.st_rdev)},
              {"fileMode", st.st_mode & 0777},
              {"uid", 0},
              {"gid", 0}};
}

// Walk `host_dir` (no symlinks followed below it) and add every char/block
// device, named `container_dir` + the relative path.
void walk_devices(const std::string& host_dir, const std::string& container_dir, Json& out, int depth) {
  if (depth > 8) return;
  DIR* d = opendir(host_dir.c_str());
  if (!d) return;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || (depth == 0 && skipped_dev_entry(name))) continue;
    std::string hp = host_dir + "/" + name, cp = container_dir + "/" + name;
    struct stat st {};
    if (lstat(hp.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) walk_devices(hp, cp, out, depth + 1);
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) out.push_back(device_node(cp, st));
  }
  closedir(d);
}

// --device HOST[:CONTAINER[:PERMS]] arrives split; HOST may be a device or
// a directory of devices (then CONTAINER names the directory).
Result<void> add_mapping(const DeviceMapping& m, size_t i, Json& nodes, Json& rules) {
  std::string what = fmt::format("HostConfig.Devices[{}]", i);
  const std::string& perms = m.cgroup_permissions;
  if (perms.empty() || perms.size() > 3 ||
      !std::all_of(perms.begin(), perms.end(), [](char c) { return c == 'r' || c == 'w' || c == 'm'; }))
    return Error::invalid("{}: invalid device permissions {:?}, expected a combination of r, w and m", what, perms);
  if (m.path_on_host.empty() || m.path_on_host.front() != '/')
    return Error::invalid("{}: device path {:?} must be absolute", what, m.path_on_host);
  std::string dest = m.path_in_container.empty() ? m.path_on_host : m.path_in_container;
  if (dest.front() != '/' || dest.find("/../") != std::string::npos)
    return Error::invalid("{}: container path {:?} must be absolute", what, dest);
  struct stat st {};
  if (stat(m.path_on_host.c_str(), &st) != 0)
    return Error::sys(errno, "error gathering device information while adding custom device {:?}", m.path_on_host);
  Json found = Json::array();
  if (S_ISDIR(st.st_mode)) walk_devices(m.path_on_host, dest, found, 1);
  else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) found.push_back(device_node(dest, st));
  else return Error::invalid("{}: {:?} is not a device node", what, m.path_on_host);
  for (auto& n : found) {
    Json r = {{"allow", true}, {"type", n["type"]}, {"major", n["major"]}, {"minor", n["minor"]}, {"access", perms}};
    rules.push_back(std::move(r));
    nodes.push_back(std::move(n));
  }
  return ok();
}

// "0-3,5,7-8"
bool valid_cpuset(std::string_view s) {
  if (s.empty()) return true;
  for (const auto& part : split(s, ',')) {
    auto r = split(part, '-');
    if (r.empty() || r.size() > 2) return false;
    std::optional<uint64_t> lo = parse_uint(r[0]), hi = r.size() == 2 ? parse_uint(r[1]) : lo;
    if (!lo || !hi || *lo > *hi) return false;
  }
  return true;
}

}  // namespace

Result<void> add_devices(const HostConfig& host, const SpecContext& ctx, Json& linux_) {
  Json nodes = Json::array();
  Json rules;
  if (host.privileged) {
    walk_devices(ctx.dev_dir, "/dev", nodes, 0);
    rules = Json::array({rule(true, nullptr, {}, {})});
  } else {
    rules = default_device_rules();
  }
  for (size_t i = 0; i < host.devices.size(); ++i) BERTH_TRY(add_mapping(host.devices[i], i, nodes, rules));
  if (!nodes.empty()) linux_["devices"] = nodes;
  linux_["resources"]["devices"] = rules;
  return ok();
}

Result<void> add_resources(const HostConfig& h, Json& linux_) {
  Json& res = linux_["resources"];
  // Memory. Docker's floor is 6 MiB; swap defaults to as much again as memory.
  if (h.memory < 0) return Error::invalid("HostConfig.Memory: must not be negative");
  if (h.memory > 0 && h.memory < (6 << 20)) return Error::invalid("Minimum memory limit allowed is 6MB");
  if (h.memory == 0 && h.memory_swap > 0)
    return Error::invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
  if (h.memory_swap < -1) return Error::invalid("HostConfig.MemorySwap: invalid value {}", h.memory_swap);
  if (h.memory > 0 && h.memory_swap > 0 && h.memory_swap < h.memory)
    return Error::invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (h.memory > 0) {
    int64_t swap = h.memory_swap != 0 ? h.memory_swap : 2 * h.memory;
    res["memory"] = {{"limit", h.memory}, {"swap", swap}};
  }

  // CPU. --cpus N is a CFS quota over a 100 ms period.
  Json cpu = Json::object();
  if (h.nano_cpus < 0 || h.cpu_shares < 0 || h.cpu_quota < -1 || h.cpu_period < 0)
    return Error::invalid("HostConfig: CPU limits must not be negative");
  if (h.nano_cpus > 0 && (h.cpu_period > 0 || h.cpu_quota > 0))
    return Error(ErrorCode::Conflict, "Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set");
  if (h.nano_cpus > 0) {
    constexpr int64_t period = 100000;
    int64_t quota = static_cast<int64_t>((static_cast<__int128>(h.nano_cpus) * period) / 1000000000);
    if (quota < 1000) return Error::invalid("Range of CPUs is from 0.01 to the number of CPUs");
    cpu["period"] = period;
    cpu["quota"] = quota;
  }
  if (h.cpu_period != 0 && (h.cpu_period < 1000 || h.cpu_period > 1000000))
    return Error::invalid("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  if (h.cpu_quota > 0 && h.cpu_quota < 1000) return Error::invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (h.cpu_period > 0) cpu["period"] = h.cpu_period;
  if (h.cpu_quota > 0) cpu["quota"] = h.cpu_quota;
  if (h.cpu_shares > 0) cpu["shares"] = h.cpu_shares;
  if (!valid_cpuset(h.cpuset_cpus)) return Error::invalid("Invalid value {} for cpuset cpus", h.cpuset_cpus);
  if (!valid_cpuset(h.cpuset_mems)) return Error::invalid("Invalid value {} for cpuset mems", h.cpuset_mems);
  if (!h.cpuset_cpus.empty()) cpu["cpus"] = h.cpuset_cpus;
  if (!h.cpuset_mems.empty()) cpu["mems"] = h.cpuset_mems;
  if (!cpu.empty()) res["cpu"] = cpu;

  // 0 and -1 both mean unlimited, as in Docker.
  if (h.pids_limit && *h.pids_limit > 0) res["pids"] = {{"limit", *h.pids_limit}};
  return ok();
}

Result<Json> build_rlimits(const std::vector<Ulimit>& ulimits) {
  Json out = Json::array();
  for (const auto& u : ulimits) {
    std::string type = "RLIMIT_";
    for (char c : u.name) type += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (oci::rlimit_resource(type) < 0) return Error::invalid("invalid ulimit type: {}", u.name);
    // -1 is "unlimited" (RLIM_INFINITY); the runtime clamps to its own hard
    // limit where it may not raise it.
    auto value = [&](int64_t v) -> Result<uint64_t> {
      if (v == -1) return UINT64_MAX;
      if (v < 0) return Error::invalid("invalid ulimit {}: negative value {}", u.name, v);
      return static_cast<uint64_t>(v);
    };
    uint64_t soft = BERTH_TRY(value(u.soft)), hard = BERTH_TRY(value(u.hard));
    if (soft > hard)
      return Error::invalid("ulimit soft limit must be less than or equal to hard limit: {} > {}", u.soft, u.hard);
    out.push_back({{"type", type}, {"hard", hard}, {"soft", soft}});
  }
  return out;
}

Result<std::map<std::string, std::string>> build_sysctls(const HostConfig& host, bool private_net,
                                                         bool private_ipc, bool private_uts) {
  std::map<std::string, std::string> out;
  if (private_net) {
    // Docker's defaults: binding low ports and ICMP sockets need no
    // capability inside the container's own network namespace.
    out["net.ipv4.ip_unprivileged_port_start"] = "0";
    out["net.ipv4.ping_group_range"] = "0 2147483647";
  }
  static const char* ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                   "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                                   "kernel.shm_rmid_forced"};
  for (const auto& [k, v] : host.sysctls) {
    bool sane = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/';
    });
    for (const auto& part : split(k, '.')) sane = sane && !part.empty() && part.find("..") == std::string::npos;
    if (!sane || k.find("/..") != std::string::npos || k.find("../") != std::string::npos)
      return Error::invalid("sysctl {:?} is not a valid name", k);
    // Only knobs of a namespace the container owns: anything else would
    // change the host.
    bool ipc = std::any_of(std::begin(ipc_keys), std::end(ipc_keys), [&](const char* s) { return k == s; }) ||
               k.rfind("fs.mqueue.", 0) == 0;
    bool net = k.rfind("net.", 0) == 0;
    bool uts = k == "kernel.hostname" || k == "kernel.domainname";
    if (!ipc && !net && !uts) return Error::invalid("sysctl {:?} is not allowed: it is not namespaced", k);
    if ((ipc && !private_ipc) || (net && !private_net) || (uts && !private_uts))
      return Error::invalid("sysctl {:?} is not allowed: the container shares that namespace with the host", k);
    out[k] = v;
  }
  return out;
}

}  // namespace berth::engine::detail
