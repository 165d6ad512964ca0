// From a Docker create request to an OCI runtime config.
//
//   auto cfg  = BERTH_TRY(parse_create_request(body));          // POST /containers/create
//   auto spec = BERTH_TRY(build_oci_spec(cfg, image, ctx));      // config.json for the runtime
//
// parse_create_request checks types and names each bad field
// ("HostConfig.Memory: expected integer, got string"); build_oci_spec applies
// Docker's defaults (capabilities, seccomp, masked paths, mounts, devices)
// and the request's flags, and checks what needs the image or the host.
// Neither touches daemon state; build_oci_spec reads only the image's
// /etc/passwd and /etc/group (safely) and stats host devices named by
// --device and, for --privileged, the host's /dev.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace berth::engine {

struct Ulimit {
  std::string name;  // "nofile"
  int64_t soft = 0, hard = 0;
};

struct DeviceMapping {
  std::string path_on_host, path_in_container, cgroup_permissions = "rwm";
};

// HostConfig.Mounts[] (the --mount flag).
struct MountRequest {
  std::string type;  // bind volume tmpfs
  std::string source, target;
  bool read_only = false;
  std::string propagation;  // bind only
  int64_t tmpfs_size = 0;
  uint32_t tmpfs_mode = 0;
};

struct HealthConfig {
  std::vector<std::string> test;  // ["CMD", ...] ["CMD-SHELL", "..."] ["NONE"]
  int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;  // ns
  int64_t retries = 0;
};

struct HostConfig {
  std::vector<std::string> binds;
  bool privileged = false;
  std::vector<std::string> cap_add, cap_drop, security_opt;
  bool readonly_rootfs = false;
  std::map<std::string, std::string> tmpfs;  // destination → options
  int64_t shm_size = 0;
  int64_t memory = 0, memory_swap = 0, nano_cpus = 0, cpu_shares = 0, cpu_quota = 0,
          cpu_period = 0;
  std::string cpuset_cpus, cpuset_mems;
  std::optional<int64_t> pids_limit;
  int64_t oom_score_adj = 0;
  std::vector<Ulimit> ulimits;
  std::vector<DeviceMapping> devices;
  std::string network_mode;  // "" default bridge none host container:<id> <name>
  std::string restart_policy = "no";
  int64_t restart_max_retries = 0;
  bool auto_remove = false;
  bool init = false;
  std::string ipc_mode, pid_mode, uts_mode, userns_mode, cgroup_parent;
  std::vector<std::string> group_add;
  std::map<std::string, std::string> sysctls;
  uint32_t console_height = 0, console_width = 0;
  std::string log_type;
  std::map<std::string, std::string> log_config;
  std::vector<std::string> extra_hosts, dns, dns_search, dns_options;
  std::vector<MountRequest> mounts;
};

struct ContainerConfig {
  std::string hostname, domainname, user;
  bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
  bool tty = false, open_stdin = false, stdin_once = false;
  std::vector<std::string> env;
  // nullopt: not given (take the image's); an empty vector: given as [] or
  // [""], which resets the image's entrypoint.
  std::optional<std::vector<std::string>> cmd, entrypoint;
  std::string image;
  std::map<std::string, std::string> labels;
  std::string working_dir, stop_signal;
  std::optional<int64_t> stop_timeout;
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> exposed_ports, volumes;
  HostConfig host;
};

// The parts of an image's config that shape the container.
struct ImageConfigSummary {
  std::vector<std::string> env, cmd, entrypoint;
  std::string working_dir, user, stop_signal;
  std::optional<HealthConfig> healthcheck;
};

struct SpecContext {
  std::string id;      // 64 hex digits
  std::string rootfs;  // absolute path of the mounted root
  std::string hostname_path, hosts_path, resolv_conf_path;
  std::string cgroup_parent = "berth";  // HostConfig.CgroupParent wins
  // The capabilities berthd holds (its bounding set); --privileged and
  // --cap-add ALL get no more than these. Empty: every known capability.
  std::vector<std::string> daemon_capabilities;
  std::string shm_path;  // a host directory to bind at /dev/shm; empty: a private tmpfs
  std::string init_path;  // the init binary for --init; empty: --init is refused
  std::string host_hostname;  // for --network host; empty: gethostname()
  std::string dev_dir = "/dev";  // what --privileged scans for devices
  std::string arch;               // Docker naming; empty: the native one
  bool cgroup_v2 = true;          // private cgroup namespace on v2 hosts, as Docker
  // Named volume → host path, for binds and --mount type=volume.
  std::function<Result<std::string>(std::string_view name)> volume_path;
};

Result<ContainerConfig> parse_create_request(std::string_view body);
// The same from a body already parsed (a stored request: no dump and parse).
Result<ContainerConfig> read_create_request(const Json& body);
Result<Json> build_oci_spec(const ContainerConfig& cfg, const ImageConfigSummary& image,
                            const SpecContext& ctx);

// Docker's 14 default capabilities, in Docker's order.
const std::vector<std::string>& default_capabilities();

// The capability set after --privileged, --cap-add and --cap-drop. Names may
// lack the CAP_ prefix and be of any case; "ALL" means every capability.
Result<std::vector<std::string>> effective_capabilities(const HostConfig& host,
                                                        const std::vector<std::string>& daemon_caps);

// The capabilities in this process's bounding set (CapBnd of
// /proc/self/status), by name: what berthd passes as daemon_capabilities.
Result<std::vector<std::string>> bounding_capabilities();

}  // namespace berth::engine
