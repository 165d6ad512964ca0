// build_oci_spec: Docker's default container, then the request's flags.
// Where Docker's behaviour is a security default (capabilities, seccomp,
// masked paths) we match it field for field; see docs/design/engine-spec.md.
#include <glob.h>

#include <algorithm>
#include <cctype>

#include "base/fd.h"
#include "base/file.h"
#include "base/strings.h"
#include "engine/seccomp_profile.h"
#include "engine/spec.h"
#include "engine/spec_parts.h"
#include "engine/user.h"
#include "oci/known.h"

#include <fcntl.h>
#include <unistd.h>

namespace berth::engine {
namespace {

constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool is_hex_id(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string normalize_cap(std::string_view name) {
  std::string s(name);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s == "ALL" || s.rfind("CAP_", 0) == 0) return s;
  return "CAP_" + s;
}

// Docker's ReplaceOrAppendEnvValues: a later KEY=v replaces an earlier KEY;
// a bare KEY (no '=') removes it.
void merge_env(std::vector<std::string>& env, const std::vector<std::string>& over) {
  auto key = [](std::string_view e) { return e.substr(0, e.find('=')); };
  for (const auto& e : over) {
    auto it = std::find_if(env.begin(), env.end(), [&](const std::string& x) { return key(x) == key(e); });
    bool remove = e.find('=') == std::string::npos;
    if (it != env.end()) {
      if (remove) env.erase(it);
      else *it = e;
    } else if (!remove) {
      env.push_back(e);
    }
  }
}

// Docker's rule: a request entrypoint replaces the image's entrypoint and
// cmd; without one, the request cmd replaces the image cmd, and an explicit
// empty entrypoint drops the image's.
Result<std::vector<std::string>> build_args(const ContainerConfig& cfg, const ImageConfigSummary& image) {
  std::vector<std::string> entry, cmd;
  if (cfg.entrypoint && !cfg.entrypoint->empty()) {
    entry = *cfg.entrypoint;
    if (cfg.cmd) cmd = *cfg.cmd;
  } else {
    cmd = cfg.cmd && !cfg.cmd->empty() ? *cfg.cmd : image.cmd;
    if (!cfg.entrypoint) entry = image.entrypoint;
  }
  std::vector<std::string> args = entry;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty() || args.front().empty()) return Error::invalid("no command specified");
  return args;
}

struct SecurityOpts {
  bool no_new_privileges = false;
  bool seccomp_unconfined = false;
  std::string seccomp_profile;  // JSON text
  bool systempaths_unconfined = false;
};

// --security-opt KEY=VALUE (the old KEY:VALUE form too). apparmor and label
// are accepted and have no effect: Berth applies neither LSM.
Result<SecurityOpts> parse_security_opts(const std::vector<std::string>& opts) {
  SecurityOpts out;
  for (const auto& opt : opts) {
    if (opt == "no-new-privileges") {
      out.no_new_privileges = true;
      continue;
    }
    auto sep = opt.find('=');
    if (sep == std::string::npos) sep = opt.find(':');
    if (sep == std::string::npos) return Error::invalid("Invalid --security-opt: {:?}", opt);
    std::string key = opt.substr(0, sep), value = opt.substr(sep + 1);
    if (key == "no-new-privileges") {
      if (value != "true" && value != "false")
        return Error::invalid("invalid --security-opt 2: {:?}", opt);
      out.no_new_privileges = value == "true";
    } else if (key == "seccomp") {
      if (value == "unconfined") out.seccomp_unconfined = true;
      else if (value != "builtin") out.seccomp_profile = value;  // "builtin": the default
    } else if (key == "systempaths") {
      if (value != "unconfined") return Error::invalid("Invalid --security-opt: {:?}", opt);
      out.systempaths_unconfined = true;
    } else if (key != "apparmor" && key != "label") {
      return Error::invalid("Invalid --security-opt: {:?}", opt);
    }
  }
  return out;
}

std::vector<std::string> list_masked_paths() {
  std::vector<std::string> out = {
      "/proc/asound",     "/proc/acpi",       "/proc/interrupts", "/proc/kcore",
      "/proc/keys",       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
      "/proc/sched_debug", "/proc/scsi",      "/sys/firmware",    "/sys/devices/virtual/powercap"};
  // Thermal throttle counters leak host CPU activity; like current moby we
  // mask each CPU's directory, which only the host's sysfs can enumerate.
  glob_t g{};
  if (glob("/sys/devices/system/cpu/cpu*/thermal_throttle", GLOB_NOSORT, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  return out;
}

// Listed once: the glob walks sysfs, a tenth of building a spec.
const std::vector<std::string>& masked_paths() {
  static const std::vector<std::string> paths = list_masked_paths();
  return paths;
}

// RFC 1123 labels, at most 64 characters in all (the kernel's limit).
bool valid_hostname(std::string_view h) {
  if (h.size() > 64) return false;
  for (const auto& label : split(h, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
  }
  return true;
}

Json ns(const char* type) { return Json{{"type", type}}; }

// Namespace modes: "" private shareable → private; host → none. Joining
// another container's namespaces needs the engine's state, not this code.
Result<bool> private_ns(std::string_view field, std::string_view mode) {
  if (mode.empty() || mode == "private" || mode == "shareable" || mode == "none") return true;
  if (mode == "host") return false;
  if (mode.rfind("container:", 0) == 0)
    return Error(ErrorCode::NotImplemented, fmt::format("{}: joining {:?} is not supported yet", field, mode));
  return Error::invalid("{}: invalid mode {:?}", field, mode);
}

}  // namespace

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",  "CAP_MKNOD",
      "CAP_NET_RAW", "CAP_SETGID",     "CAP_SETUID",  "CAP_SETFCAP", "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  return caps;
}

Result<std::vector<std::string>> effective_capabilities(const HostConfig& host,
                                                        const std::vector<std::string>& daemon_caps) {
  const auto& all = daemon_caps.empty() ? oci::known_capabilities() : daemon_caps;
  if (host.privileged) return all;
  auto norm = [](const std::vector<std::string>& in) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    for (const auto& c : in) {
      std::string n = normalize_cap(c);
      if (n != "ALL" && oci::capability_number(n) < 0)
        return Error::invalid("unknown capability: {:?}", n);
      out.push_back(n);
    }
    return out;
  };
  auto add = BERTH_TRY(norm(host.cap_add));
  auto drop = BERTH_TRY(norm(host.cap_drop));
  auto in = [](const std::vector<std::string>& v, std::string_view c) {
    return std::find(v.begin(), v.end(), c) != v.end();
  };
  std::vector<std::string> caps;
  if (in(add, "ALL")) caps = all;
  else if (!in(drop, "ALL")) caps = default_capabilities();
  // A capability both added and dropped stays: adds win, as in moby.
  caps.erase(std::remove_if(caps.begin(), caps.end(),
                            [&](const std::string& c) { return in(drop, c) && !in(add, c); }),
             caps.end());
  for (const auto& c : add) {
    if (c != "ALL" && !in(caps, c)) caps.push_back(c);
  }
  // Never ask the runtime for a capability berthd lacks: it would fail to
  // start the container (this host's root lacks CAP_SYS_RESOURCE).
  if (!daemon_caps.empty())
    caps.erase(std::remove_if(caps.begin(), caps.end(), [&](const std::string& c) { return !in(daemon_caps, c); }),
               caps.end());
  return caps;
}

Result<std::vector<std::string>> bounding_capabilities() {
  auto status = BERTH_TRY(read_file("/proc/self/status"));
  for (const auto& line : split(status, '\n')) {
    if (line.rfind("CapBnd:", 0) != 0) continue;
    auto mask = parse_uint(trim(std::string_view(line).substr(7)), 16);
    if (!mask) break;
    std::vector<std::string> out;
    const auto& known = oci::known_capabilities();
    for (size_t i = 0; i < known.size() && i < 64; ++i) {
      if (*mask & (uint64_t{1} << i)) out.push_back(known[i]);
    }
    return out;
  }
  return Error::internal("/proc/self/status: no CapBnd line");
}

Result<Json> build_oci_spec(const ContainerConfig& cfg, const ImageConfigSummary& image,
                            const SpecContext& ctx) {
  const HostConfig& host = cfg.host;
  if (!is_hex_id(ctx.id)) return Error::invalid("container id {:?} is not 64 hex digits", ctx.id);

  // Namespaces.
  const std::string& net = host.network_mode;
  bool private_net = true;
  if (net == "host") private_net = false;
  else if (net.rfind("container:", 0) == 0)
    return Error(ErrorCode::NotImplemented, fmt::format("network mode {:?} is not supported yet", net));
  else if (!net.empty() && net != "default" && net != "bridge" && net != "none")
    return Error(ErrorCode::NotImplemented,
                 fmt::format("network {:?}: user-defined networks are not supported yet", net));
  bool private_pid = BERTH_TRY(private_ns("HostConfig.PidMode", host.pid_mode));
  bool private_ipc = BERTH_TRY(private_ns("HostConfig.IpcMode", host.ipc_mode));
  bool private_uts = BERTH_TRY(private_ns("HostConfig.UTSMode", host.uts_mode));
  if (!host.userns_mode.empty() && host.userns_mode != "host")
    return Error(ErrorCode::NotImplemented, fmt::format("UsernsMode {:?} is not supported", host.userns_mode));
  if (!private_uts && !cfg.hostname.empty())
    return Error(ErrorCode::Conflict, "Conflicting options: hostname and the UTS mode");
  if (!private_net && !cfg.hostname.empty())
    return Error(ErrorCode::Conflict, "Conflicting options: hostname and the network mode");

  if (!cfg.hostname.empty() && !valid_hostname(cfg.hostname))
    return Error::invalid("invalid hostname format: {}", cfg.hostname);

  Json namespaces = Json::array({ns("mount")});
  if (private_net) namespaces.push_back(ns("network"));
  if (private_uts) namespaces.push_back(ns("uts"));
  if (private_pid) namespaces.push_back(ns("pid"));
  if (private_ipc) namespaces.push_back(ns("ipc"));
  if (ctx.cgroup_v2) namespaces.push_back(ns("cgroup"));

  // Identity.
  std::string hostname = cfg.hostname.empty() ? ctx.id.substr(0, 12) : cfg.hostname;
  // With the host's network the container takes the host's name, as in Docker.
  if (!private_net && cfg.hostname.empty()) {
    char buf[256] = {};
    hostname = !ctx.host_hostname.empty() ? ctx.host_hostname
               : gethostname(buf, sizeof(buf) - 1) == 0 ? std::string(buf)
                                                        : hostname;
  }

  // Process.
  auto caps = BERTH_TRY(effective_capabilities(host, ctx.daemon_capabilities));
  auto sec = BERTH_TRY(parse_security_opts(host.security_opt));
  std::vector<std::string> args = BERTH_TRY(build_args(cfg, image));
  if (host.init) {
    if (ctx.init_path.empty())
      return Error(ErrorCode::NotImplemented, "--init: this daemon has no init binary configured");
    args.insert(args.begin(), {"/sbin/docker-init", "--"});
  }

  std::vector<std::string> env = {kDefaultPath, "HOSTNAME=" + hostname};
  if (cfg.tty) env.push_back("TERM=xterm");
  std::vector<std::string> cfg_env = image.env;
  merge_env(cfg_env, cfg.env);
  merge_env(env, cfg_env);

  for (const auto* list : {&args, &env}) {
    for (const auto& s : *list) {
      if (s.find('\0') != std::string::npos)
        return Error::invalid("argument or environment variable {:?} contains a NUL byte", s);
    }
  }

  std::string cwd = cfg.working_dir.empty() ? image.working_dir : cfg.working_dir;
  if (cwd.empty()) cwd = "/";
  if (cwd.front() != '/')
    return Error::invalid("the working directory {:?} is invalid, it needs to be an absolute path", cwd);

  std::string user_spec = cfg.user.empty() ? image.user : cfg.user;
  Fd root(open(ctx.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Error::sys(errno, "open rootfs {}", ctx.rootfs);
  auto user = BERTH_TRY(resolve_user(root.get(), user_spec, host.group_add));

  if (host.oom_score_adj < -1000 || host.oom_score_adj > 1000)
    return Error::invalid("Invalid value {}, range for oom score adj is [-1000, 1000]", host.oom_score_adj);

  Json process = {
      {"terminal", cfg.tty},
      {"user", {{"uid", user.uid}, {"gid", user.gid}, {"additionalGids", user.additional_gids}}},
      {"args", args},
      {"env", env},
      {"cwd", cwd},
      // Inheritable and ambient stay empty, as in Docker (CVE-2022-29162).
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"oomScoreAdj", host.oom_score_adj},
  };
  if (cfg.tty && host.console_height > 0 && host.console_width > 0)
    process["consoleSize"] = {{"height", host.console_height}, {"width", host.console_width}};
  Json rlimits = BERTH_TRY(detail::build_rlimits(host.ulimits));
  if (!rlimits.empty()) process["rlimits"] = rlimits;
  if (sec.no_new_privileges) process["noNewPrivileges"] = true;

  // Linux.
  Json linux_ = Json::object();
  auto sysctls = BERTH_TRY(detail::build_sysctls(host, private_net, private_ipc, private_uts));
  if (!sysctls.empty()) linux_["sysctl"] = sysctls;
  linux_["resources"] = Json::object();
  BERTH_TRY(detail::add_devices(host, ctx, linux_));
  BERTH_TRY(detail::add_resources(host, linux_));
  std::string parent = host.cgroup_parent.empty() ? ctx.cgroup_parent : host.cgroup_parent;
  while (!parent.empty() && parent.front() == '/') parent.erase(0, 1);
  if (parent.find("..") != std::string::npos)
    return Error::invalid("HostConfig.CgroupParent: {:?} must not contain ..", parent);
  linux_["cgroupsPath"] = parent.empty() ? "/" + ctx.id : "/" + parent + "/" + ctx.id;
  linux_["namespaces"] = namespaces;

  if (!host.privileged && !sec.seccomp_unconfined) {
    std::string arch = ctx.arch.empty() ? native_seccomp_arch() : ctx.arch;
    if (sec.seccomp_profile.empty()) linux_["seccomp"] = default_seccomp_profile(caps, arch);
    else linux_["seccomp"] = BERTH_TRY_CTX(seccomp_from_docker_profile(sec.seccomp_profile, caps, arch),
                                           "--security-opt seccomp");
  }
  if (!host.privileged && !sec.systempaths_unconfined) {
    linux_["maskedPaths"] = masked_paths();
    linux_["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  }

  detail::MountPlan plan{host.privileged, private_ipc, host.ipc_mode == "none", host.readonly_rootfs};
  Json mounts = BERTH_TRY(detail::build_mounts(cfg, ctx, plan));

  Json spec = {
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", ctx.rootfs}}},
      {"mounts", mounts},
      {"linux", linux_},
  };
  if (host.readonly_rootfs) spec["root"]["readonly"] = true;
  if (private_uts) spec["hostname"] = hostname;
  if (private_uts && !cfg.domainname.empty()) spec["domainname"] = cfg.domainname;
  return spec;
}

}  // namespace berth::engine
