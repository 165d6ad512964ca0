// Parsing the body of POST /containers/create. Types are checked strictly and
// every error names the field path; values are checked later, in
// build_oci_spec, where the image and the host are known.
//
// Body: { <Config fields>..., "HostConfig": {...}, "NetworkingConfig": {...} }
// Cmd and Entrypoint may be a string or an array of strings (Docker's
// StrSlice); maps of strings (Labels, Sysctls) must hold strings only.
#include "engine/spec.h"

namespace berth::engine {
namespace {

// Docker's StrSlice: null/absent → nullopt, "x" → ["x"], [..] → [..].
Result<std::optional<std::vector<std::string>>> str_slice(const JsonReader& r, const char* key) {
  using Out = std::optional<std::vector<std::string>>;
  if (!r.has(key)) return Out();
  const Json& v = r.json().at(key);
  if (v.is_string()) return Out(std::vector<std::string>{v.get<std::string>()});
  return Out(BERTH_TRY(r.str_array(key)));
}

Result<std::map<std::string, std::string>> str_map(const JsonReader& r, const char* key) {
  std::map<std::string, std::string> out;
  if (!r.has(key)) return out;
  const Json& m = r.json().at(key);
  if (!m.is_object()) return r.type_error(key, "object");
  for (const auto& [k, v] : m.items()) {
    if (!v.is_string())
      return Error::invalid("{}.{}: expected string, got {}", r.field(key), k, json_type_name(v));
    out[k] = v.get<std::string>();
  }
  return out;
}

// Keys of an object whose values are ignored ({"80/tcp": {}}).
Result<std::vector<std::string>> key_set(const JsonReader& r, const char* key) {
  std::vector<std::string> out;
  if (!r.has(key)) return out;
  const Json& m = r.json().at(key);
  if (!m.is_object()) return r.type_error(key, "object");
  for (const auto& [k, v] : m.items()) out.push_back(k);
  return out;
}

int64_t or0(std::optional<int64_t> v) { return v.value_or(0); }
bool orf(std::optional<bool> v) { return v.value_or(false); }
std::string ors(std::optional<std::string> v) { return v.value_or(""); }

Result<HealthConfig> parse_health(const JsonReader& r) {
  HealthConfig h;
  h.test = BERTH_TRY(r.str_array("Test"));
  h.interval = or0(BERTH_TRY(r.opt_int("Interval")));
  h.timeout = or0(BERTH_TRY(r.opt_int("Timeout")));
  h.start_period = or0(BERTH_TRY(r.opt_int("StartPeriod")));
  h.start_interval = or0(BERTH_TRY(r.opt_int("StartInterval")));
  h.retries = or0(BERTH_TRY(r.opt_int("Retries")));
  for (auto [v, name] : {std::pair{h.interval, "Interval"}, {h.timeout, "Timeout"},
                         {h.start_period, "StartPeriod"}, {h.retries, "Retries"}}) {
    if (v < 0) return Error::invalid("{}.{}: must not be negative", r.path(), name);
  }
  return h;
}

Result<void> parse_host(const JsonReader& r, HostConfig& h) {
  h.binds = BERTH_TRY(r.str_array("Binds"));
  h.privileged = orf(BERTH_TRY(r.opt_bool("Privileged")));
  h.cap_add = BERTH_TRY(r.str_array("CapAdd"));
  h.cap_drop = BERTH_TRY(r.str_array("CapDrop"));
  h.security_opt = BERTH_TRY(r.str_array("SecurityOpt"));
  h.readonly_rootfs = orf(BERTH_TRY(r.opt_bool("ReadonlyRootfs")));
  h.tmpfs = BERTH_TRY(str_map(r, "Tmpfs"));
  h.shm_size = or0(BERTH_TRY(r.opt_int("ShmSize")));
  h.memory = or0(BERTH_TRY(r.opt_int("Memory")));
  h.memory_swap = or0(BERTH_TRY(r.opt_int("MemorySwap")));
  h.nano_cpus = or0(BERTH_TRY(r.opt_int("NanoCpus")));
  h.cpu_shares = or0(BERTH_TRY(r.opt_int("CpuShares")));
  h.cpu_quota = or0(BERTH_TRY(r.opt_int("CpuQuota")));
  h.cpu_period = or0(BERTH_TRY(r.opt_int("CpuPeriod")));
  h.cpuset_cpus = ors(BERTH_TRY(r.opt_str("CpusetCpus")));
  h.cpuset_mems = ors(BERTH_TRY(r.opt_str("CpusetMems")));
  h.pids_limit = BERTH_TRY(r.opt_int("PidsLimit"));
  h.oom_score_adj = or0(BERTH_TRY(r.opt_int("OomScoreAdj")));
  for (const JsonReader& u : BERTH_TRY(r.obj_array("Ulimits"))) {
    h.ulimits.push_back({BERTH_TRY(u.str("Name")), or0(BERTH_TRY(u.opt_int("Soft"))),
                         or0(BERTH_TRY(u.opt_int("Hard")))});
  }
  for (const JsonReader& d : BERTH_TRY(r.obj_array("Devices"))) {
    DeviceMapping m;
    m.path_on_host = BERTH_TRY(d.str("PathOnHost"));
    m.path_in_container = ors(BERTH_TRY(d.opt_str("PathInContainer")));
    m.cgroup_permissions = BERTH_TRY(d.opt_str("CgroupPermissions")).value_or("rwm");
    if (m.cgroup_permissions.empty()) m.cgroup_permissions = "rwm";
    h.devices.push_back(std::move(m));
  }
  h.network_mode = ors(BERTH_TRY(r.opt_str("NetworkMode")));
  if (r.has("RestartPolicy")) {
    auto rp = BERTH_TRY(r.object("RestartPolicy"));
    h.restart_policy = BERTH_TRY(rp.opt_str("Name")).value_or("no");
    if (h.restart_policy.empty()) h.restart_policy = "no";
    h.restart_max_retries = or0(BERTH_TRY(rp.opt_int("MaximumRetryCount")));
  }
  h.auto_remove = orf(BERTH_TRY(r.opt_bool("AutoRemove")));
  // Docker's rules for a policy.
  const std::string& rp = h.restart_policy;
  if (rp != "no" && rp != "always" && rp != "unless-stopped" && rp != "on-failure")
    return Error::invalid(
        "invalid restart policy: unknown policy '{}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
        rp);
  if (rp == "on-failure" && h.restart_max_retries < 0)
    return Error::invalid("invalid restart policy: maximum retry count cannot be negative");
  if (rp != "on-failure" && h.restart_max_retries != 0)
    return Error::invalid("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  if (h.auto_remove && rp != "no")
    return Error::invalid("can't create 'AutoRemove' container with restart policy");
  h.init = orf(BERTH_TRY(r.opt_bool("Init")));
  h.ipc_mode = ors(BERTH_TRY(r.opt_str("IpcMode")));
  h.pid_mode = ors(BERTH_TRY(r.opt_str("PidMode")));
  h.uts_mode = ors(BERTH_TRY(r.opt_str("UTSMode")));
  h.userns_mode = ors(BERTH_TRY(r.opt_str("UsernsMode")));
  h.cgroup_parent = ors(BERTH_TRY(r.opt_str("CgroupParent")));
  h.group_add = BERTH_TRY(r.str_array("GroupAdd"));
  h.sysctls = BERTH_TRY(str_map(r, "Sysctls"));
  if (r.has("ConsoleSize")) {
    const Json& cs = r.json().at("ConsoleSize");
    if (!cs.is_array() || cs.size() != 2 || !cs[0].is_number_unsigned() || !cs[1].is_number_unsigned())
      return Error::invalid("{}: expected [height, width] of unsigned integers", r.field("ConsoleSize"));
    h.console_height = cs[0].get<uint32_t>();
    h.console_width = cs[1].get<uint32_t>();
  }
  if (r.has("LogConfig")) {
    auto lc = BERTH_TRY(r.object("LogConfig"));
    h.log_type = ors(BERTH_TRY(lc.opt_str("Type")));
    h.log_config = BERTH_TRY(str_map(lc, "Config"));
  }
  h.extra_hosts = BERTH_TRY(r.str_array("ExtraHosts"));
  h.dns = BERTH_TRY(r.str_array("Dns"));
  h.dns_search = BERTH_TRY(r.str_array("DnsSearch"));
  h.dns_options = BERTH_TRY(r.str_array("DnsOptions"));
  for (const JsonReader& m : BERTH_TRY(r.obj_array("Mounts"))) {
    MountRequest mr;
    mr.type = BERTH_TRY(m.opt_str("Type")).value_or("volume");
    mr.source = ors(BERTH_TRY(m.opt_str("Source")));
    mr.target = BERTH_TRY(m.str("Target"));
    mr.read_only = orf(BERTH_TRY(m.opt_bool("ReadOnly")));
    if (m.has("BindOptions")) {
      auto b = BERTH_TRY(m.object("BindOptions"));
      mr.propagation = ors(BERTH_TRY(b.opt_str("Propagation")));
    }
    if (m.has("TmpfsOptions")) {
      auto t = BERTH_TRY(m.object("TmpfsOptions"));
      mr.tmpfs_size = or0(BERTH_TRY(t.opt_int("SizeBytes")));
      mr.tmpfs_mode = static_cast<uint32_t>(BERTH_TRY(t.opt_uint("Mode")).value_or(0));
    }
    h.mounts.push_back(std::move(mr));
  }
  return ok();
}

}  // namespace

Result<ContainerConfig> parse_create_request(std::string_view body) {
  return read_create_request(BERTH_TRY(parse_json(body, "request body")));
}

Result<ContainerConfig> read_create_request(const Json& doc) {
  if (!doc.is_object())
    return Error::invalid("request body: expected object, got {}", json_type_name(doc));
  JsonReader r(doc, "");
  ContainerConfig c;
  c.hostname = ors(BERTH_TRY(r.opt_str("Hostname")));
  c.domainname = ors(BERTH_TRY(r.opt_str("Domainname")));
  c.user = ors(BERTH_TRY(r.opt_str("User")));
  c.attach_stdin = orf(BERTH_TRY(r.opt_bool("AttachStdin")));
  c.attach_stdout = orf(BERTH_TRY(r.opt_bool("AttachStdout")));
  c.attach_stderr = orf(BERTH_TRY(r.opt_bool("AttachStderr")));
  c.tty = orf(BERTH_TRY(r.opt_bool("Tty")));
  c.open_stdin = orf(BERTH_TRY(r.opt_bool("OpenStdin")));
  c.stdin_once = orf(BERTH_TRY(r.opt_bool("StdinOnce")));
  c.env = BERTH_TRY(r.str_array("Env"));
  c.cmd = BERTH_TRY(str_slice(r, "Cmd"));
  c.entrypoint = BERTH_TRY(str_slice(r, "Entrypoint"));
  // `--entrypoint ""` arrives as [""]: it clears the image's entrypoint.
  if (c.entrypoint && c.entrypoint->size() == 1 && c.entrypoint->front().empty())
    c.entrypoint->clear();
  c.image = ors(BERTH_TRY(r.opt_str("Image")));
  c.labels = BERTH_TRY(str_map(r, "Labels"));
  c.working_dir = ors(BERTH_TRY(r.opt_str("WorkingDir")));
  c.stop_signal = ors(BERTH_TRY(r.opt_str("StopSignal")));
  c.stop_timeout = BERTH_TRY(r.opt_int("StopTimeout"));
  if (r.has("Healthcheck")) c.healthcheck = BERTH_TRY(parse_health(BERTH_TRY(r.object("Healthcheck"))));
  c.exposed_ports = BERTH_TRY(key_set(r, "ExposedPorts"));
  c.volumes = BERTH_TRY(key_set(r, "Volumes"));
  for (const auto& e : c.env) {
    if (e.empty() || e[0] == '=') return Error::invalid("Env: invalid environment variable {:?}", e);
  }
  if (r.has("HostConfig")) BERTH_TRY(parse_host(BERTH_TRY(r.object("HostConfig")), c.host));
  return c;
}

}  // namespace berth::engine
