// The OCI runtime specification's config.json (1.0.x – 1.2) as C++ types.
//
// parse_spec() turns config.json into a Spec and checks it; every error names
// the field ("linux.resources.memory.limit: expected integer, got string").
// Optional fields of the spec are std::optional here when their absence means
// something different from a zero value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace berth::oci {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;  // Windows only; kept for round trip
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

// sched_setattr(2) parameters (runtime-spec 1.2 process.scheduler).
struct Scheduler {
  std::string policy;  // SCHED_OTHER SCHED_FIFO SCHED_RR SCHED_BATCH SCHED_ISO SCHED_IDLE SCHED_DEADLINE
  int32_t nice = 0;
  int32_t priority = 0;
  std::vector<std::string> flags;  // SCHED_FLAG_*
  uint64_t runtime = 0, deadline = 0, period = 0;
};

// ioprio_set(2) (runtime-spec 1.2 process.ioPriority).
struct IoPriority {
  std::string io_class;  // IOPRIO_CLASS_RT IOPRIO_CLASS_BE IOPRIO_CLASS_IDLE
  int64_t priority = 0;
};

// CPU affinity of the runtime while it execs the process (runtime-spec 1.2).
struct ExecCpuAffinity {
  std::string initial;  // "0-3,7"
  std::string final_;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
  std::optional<Scheduler> scheduler;
  std::optional<IoPriority> io_priority;
  std::optional<ExecCpuAffinity> exec_cpu_affinity;
};

struct Root {
  std::string path;
  bool readonly = false;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  // runtime-spec 1.2 idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP); both or neither.
  std::vector<IdMapping> uid_mappings, gid_mappings;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // empty: create a new one
};

struct DeviceNode {
  std::string path;
  std::string type;  // c b u p
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceRule {
  bool allow = false;
  std::string type = "a";  // a c b
  std::optional<int64_t> major;  // nullopt: any
  std::optional<int64_t> minor;
  std::string access = "rwm";
};

struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<int64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus;
  std::string mems;
  std::optional<int64_t> idle;
};

struct PidsResources {
  int64_t limit = 0;  // 0 or negative: unlimited
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};
struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device, throttle_write_bps_device,
      throttle_read_iops_device, throttle_write_iops_device;
};

struct HugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
};

struct NetworkPriority {
  std::string name;
  uint32_t priority = 0;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<NetworkPriority> priorities;
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles, hca_objects;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, std::string> unified;  // cgroup v2 file → value
  std::map<std::string, RdmaLimit> rdma;       // device name → limits
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct Linux {
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, std::string> sysctl;
  std::optional<Resources> resources;
  std::string cgroups_path;
  std::vector<Namespace> namespaces;
  std::vector<DeviceNode> devices;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
  // time namespace offsets: "monotonic"/"boottime" → {secs, nanosecs}
  struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
  };
  std::map<std::string, TimeOffset> time_offsets;
  std::optional<std::string> personality_domain;  // LINUX LINUX32
  std::vector<std::string> personality_flags;
  struct IntelRdt {
    std::string clos_id;
    std::string l3_cache_schema;
    std::string mem_bw_schema;
    std::vector<std::string> schemata;
    bool enable_cmt = false, enable_mbm = false, enable_monitoring = false;
  };
  std::optional<IntelRdt> intel_rdt;
  // netDevices (runtime-spec 1.2.1): host interface name → name in the container
  // (empty: keep the host name).
  std::map<std::string, std::string> net_devices;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  std::optional<Root> root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux_;
  Json raw;  // the document as read, for fields kept but not interpreted
};

// Parse and validate config.json text. Rejects an unknown major version,
// missing required fields, wrong types, unknown names and the like, naming
// the field. Relative mount destinations (deprecated) are made absolute.
Result<Spec> parse_spec(std::string_view text);
// The same from an already parsed document (kept as Spec::raw).
Result<Spec> spec_from_json(const Json& doc);
// Read <bundle>/config.json.
Result<Spec> load_spec(const std::string& bundle);

// The cross-field checks parse_spec runs (namespaces vs. mappings, hostname
// vs. UTS namespace...), for code that builds or edits a Spec in memory.
// Never touches the file system: whether paths exist is the runtime's job.
Result<void> validate_spec(const Spec& spec);

// Parse a "process" object alone (exec --process FILE); checks args and cwd.
// Errors are prefixed with r.path() ("process.cwd: ..." or "cwd: ...").
Result<Process> parse_process(const JsonReader& r);
// Parse a LinuxResources object alone (update --resources FILE).
Result<Resources> parse_resources(const JsonReader& r);

// The default config.json that `spec` writes (runc's defaults, with the
// given rootless flavour).
Json default_spec(bool rootless);

// What `features` prints (runtime-spec features.md). The lists come from
// oci/known.h.
Json features();

// The runtime-spec versions this code understands; default_spec() writes
// kOciVersionMax.
inline constexpr const char* kOciVersionMax = "1.2.0";
inline constexpr const char* kOciVersionMin = "1.0.0";

// Namespace type name → CLONE_NEW* flag; 0 for an unknown name.
int namespace_flag(std::string_view type);

}  // namespace berth::oci
