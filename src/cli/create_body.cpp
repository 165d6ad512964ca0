#include "cli/create_body.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "base/strings.h"

namespace berth::cli {

Result<int64_t> parse_ram(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return Error::invalid("invalid size: '{}'", s);
  double v = std::strtod(s.substr(0, i).c_str(), nullptr);
  std::string unit;
  for (char c : s.substr(i)) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.ends_with("ib")) unit.erase(unit.size() - 2);
  else if (unit.size() == 2 && unit[1] == 'b') unit.erase(1);
  static const std::string units = "bkmgtp";
  double mult = 1;
  if (!unit.empty()) {
    auto p = units.find(unit);
    if (unit.size() != 1 || p == std::string::npos) return Error::invalid("invalid size: '{}'", s);
    mult = std::pow(1024.0, static_cast<double>(p));
  }
  return static_cast<int64_t>(v * mult);
}

Result<int64_t> parse_go_duration(const std::string& s) {
  if (s.empty()) return Error::invalid("invalid duration \"\"");
  if (s == "0") return 0;
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i) return Error::invalid("time: invalid duration \"{}\"", s);
    double v = std::strtod(s.substr(start, i - start).c_str(), nullptr);
    size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string u = s.substr(ustart, i - ustart);
    double mult;
    if (u == "ns") mult = 1;
    else if (u == "us" || u == "µs") mult = 1e3;
    else if (u == "ms") mult = 1e6;
    else if (u == "s") mult = 1e9;
    else if (u == "m") mult = 60e9;
    else if (u == "h") mult = 3600e9;
    else return Error::invalid("time: {} in duration \"{}\"", u.empty() ? "missing unit" : "unknown unit \"" + u + "\"", s);
    total += v * mult;
  }
  return static_cast<int64_t>(total);
}

std::string with_default_tag(const std::string& image) {
  if (image.find('@') != std::string::npos) return image;
  auto colon = image.rfind(':');
  auto slash = image.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return image + ":latest";
  return image;
}

namespace {

Json env_list(const RunFlags& f) {
  Json env = Json::array();
  auto add = [&](const std::string& e) {
    if (e.find('=') != std::string::npos) {
      env.push_back(e);
    } else if (const char* v = std::getenv(e.c_str())) {
      env.push_back(e + "=" + v);  // "-e NAME" takes the value from here
    }
  };
  for (const auto& file : f.env_file) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      std::string t(trim(line));
      if (!t.empty() && t[0] != '#') add(t);
    }
  }
  for (const auto& e : f.env) add(e);
  return env.empty() ? Json() : env;
}

Result<Json> restart_policy(const std::string& r) {
  auto colon = r.find(':');
  std::string name = r.substr(0, colon);
  int64_t count = 0;
  if (colon != std::string::npos) {
    auto n = parse_int(r.substr(colon + 1));
    if (!n) return Error::invalid("invalid restart policy format: maximum retry count must be an integer");
    count = *n;
  }
  if (name != "no" && name != "always" && name != "on-failure" && name != "unless-stopped")
    return Error::invalid("invalid restart policy format: unknown policy '{}'", name);
  return Json{{"Name", name}, {"MaximumRetryCount", count}};
}

Result<Json> ulimit(const std::string& u) {
  auto eq = u.find('=');
  if (eq == std::string::npos) return Error::invalid("invalid ulimit argument: {}", u);
  std::string v = u.substr(eq + 1);
  auto colon = v.find(':');
  auto soft = parse_int(v.substr(0, colon));
  auto hard = colon == std::string::npos ? soft : parse_int(v.substr(colon + 1));
  if (!soft || !hard) return Error::invalid("invalid ulimit argument: {}", u);
  return Json{{"Name", u.substr(0, eq)}, {"Soft", *soft}, {"Hard", *hard}};
}

Json string_map(const std::vector<std::string>& kvs) {
  Json m = Json::object();
  for (const auto& kv : kvs) {
    auto eq = kv.find('=');
    m[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return m;
}

Json or_null(const std::vector<std::string>& v) { return v.empty() ? Json() : Json(v); }

// "net_admin" → "CAP_NET_ADMIN", as the docker CLI sends them; "ALL" stays.
Json capabilities(const std::vector<std::string>& caps) {
  if (caps.empty()) return Json();
  Json out = Json::array();
  for (auto c : caps) {
    for (auto& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    out.push_back(c == "ALL" || c.starts_with("CAP_") ? c : "CAP_" + c);
  }
  return out;
}

}  // namespace

Result<Json> create_body(const RunFlags& f, const std::string& image, const std::vector<std::string>& cmd,
                         int rows, int cols) {
  bool attach_out = !f.detach, attach_err = !f.detach, attach_in = f.interactive && !f.detach;
  if (!f.attach.empty()) {
    attach_in = attach_out = attach_err = false;
    for (const auto& a : f.attach) {
      if (a == "stdin" || a == "STDIN") attach_in = true;
      else if (a == "stdout" || a == "STDOUT") attach_out = true;
      else if (a == "stderr" || a == "STDERR") attach_err = true;
      else return Error::invalid("invalid argument \"{}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", a);
    }
  }
  Json health;
  if (f.no_healthcheck) {
    health = Json{{"Test", {"NONE"}}};
  } else if (!f.health_cmd.empty() || !f.health_interval.empty() || !f.health_timeout.empty() ||
             !f.health_start_period.empty() || f.health_retries) {
    health = Json::object();
    if (!f.health_cmd.empty()) health["Test"] = {"CMD-SHELL", f.health_cmd};
    if (!f.health_interval.empty()) health["Interval"] = BERTH_TRY(parse_go_duration(f.health_interval));
    if (!f.health_timeout.empty()) health["Timeout"] = BERTH_TRY(parse_go_duration(f.health_timeout));
    if (!f.health_start_period.empty()) health["StartPeriod"] = BERTH_TRY(parse_go_duration(f.health_start_period));
    if (f.health_retries) health["Retries"] = *f.health_retries;
  }
  Json exposed = Json::object();
  Json bindings = Json::object();
  for (const auto& p : f.expose) exposed[p.find('/') == std::string::npos ? p + "/tcp" : p] = Json::object();
  for (const auto& p : f.publish) {
    // [ip:]hostPort:containerPort[/proto] or containerPort[/proto]
    auto parts = split(p, ':');
    std::string container = parts.back();
    if (container.find('/') == std::string::npos) container += "/tcp";
    std::string host_ip = parts.size() == 3 ? parts[0] : "";
    std::string host_port = parts.size() >= 2 ? parts[parts.size() - 2] : "";
    exposed[container] = Json::object();
    bindings[container].push_back(Json{{"HostIp", host_ip}, {"HostPort", host_port}});
  }
  Json tmpfs = Json::object();
  for (const auto& t : f.tmpfs) {
    auto colon = t.find(':');
    tmpfs[t.substr(0, colon)] = colon == std::string::npos ? "" : t.substr(colon + 1);
  }
  Json ulimits = Json::array();
  for (const auto& u : f.ulimits) ulimits.push_back(BERTH_TRY(ulimit(u)));
  Json entrypoint;
  if (f.entrypoint) entrypoint = f.entrypoint->empty() ? Json::array({""}) : Json::array({*f.entrypoint});

  Json config = {
      {"Hostname", f.hostname},
      {"Domainname", ""},
      {"User", f.user},
      {"AttachStdin", attach_in},
      {"AttachStdout", attach_out},
      {"AttachStderr", attach_err},
      {"Tty", f.tty},
      {"OpenStdin", f.interactive},
      {"StdinOnce", f.interactive && !f.detach},
      {"Env", env_list(f)},
      {"Cmd", cmd.empty() ? Json() : Json(cmd)},
      {"Image", image},
      {"Volumes", Json::object()},
      {"WorkingDir", f.workdir},
      {"Entrypoint", entrypoint},
      {"OnBuild", nullptr},
      {"Labels", string_map(f.labels)},
  };
  if (!exposed.empty()) config["ExposedPorts"] = exposed;
  if (!health.is_null()) config["Healthcheck"] = health;
  if (!f.stop_signal.empty()) config["StopSignal"] = f.stop_signal;
  if (f.stop_timeout) config["StopTimeout"] = *f.stop_timeout;

  Json host = {
      {"Binds", or_null(f.volumes)},
      {"ContainerIDFile", ""},
      {"LogConfig", {{"Type", f.log_driver}, {"Config", string_map(f.log_opt)}}},
      {"NetworkMode", f.network},
      {"PortBindings", bindings},
      {"RestartPolicy", BERTH_TRY(restart_policy(f.restart))},
      {"AutoRemove", f.rm},
      {"VolumeDriver", ""},
      {"VolumesFrom", nullptr},
      {"ConsoleSize", {f.tty ? rows : 0, f.tty ? cols : 0}},
      {"CapAdd", capabilities(f.cap_add)},
      {"CapDrop", capabilities(f.cap_drop)},
      {"CgroupnsMode", f.cgroupns},
      {"Dns", f.dns},
      {"DnsOptions", f.dns_option},
      {"DnsSearch", f.dns_search},
      {"ExtraHosts", or_null(f.add_host)},
      {"GroupAdd", or_null(f.group_add)},
      {"IpcMode", f.ipc},
      {"Cgroup", ""},
      {"Links", nullptr},
      {"OomScoreAdj", 0},
      {"PidMode", f.pid},
      {"Privileged", f.privileged},
      {"PublishAllPorts", f.publish_all},
      {"ReadonlyRootfs", f.read_only},
      {"SecurityOpt", or_null(f.security_opt)},
      {"UTSMode", f.uts},
      {"UsernsMode", ""},
      {"ShmSize", f.shm_size.empty() ? 0 : BERTH_TRY(parse_ram(f.shm_size))},
      {"Isolation", ""},
      {"CpuShares", f.cpu_shares.value_or(0)},
      {"Memory", f.memory.empty() ? 0 : BERTH_TRY(parse_ram(f.memory))},
      {"NanoCpus", f.cpus ? static_cast<int64_t>(std::llround(*f.cpus * 1e9)) : 0},
      {"CgroupParent", ""},
      {"CpusetCpus", f.cpuset_cpus},
      {"CpusetMems", ""},
      {"Devices", Json::array()},
      {"MemoryReservation", f.memory_reservation.empty() ? 0 : BERTH_TRY(parse_ram(f.memory_reservation))},
      {"MemorySwap", f.memory_swap.empty() ? 0 : f.memory_swap == "-1" ? -1 : BERTH_TRY(parse_ram(f.memory_swap))},
      {"MemorySwappiness", -1},
      {"OomKillDisable", f.oom_kill_disable},
      {"PidsLimit", f.pids_limit.value_or(0)},
      {"Ulimits", ulimits},
      {"MaskedPaths", nullptr},
      {"ReadonlyPaths", nullptr},
  };
  for (const auto& d : f.devices) {
    auto parts = split(d, ':');
    host["Devices"].push_back(Json{{"PathOnHost", parts[0]},
                                   {"PathInContainer", parts.size() > 1 ? parts[1] : parts[0]},
                                   {"CgroupPermissions", parts.size() > 2 ? parts[2] : "rwm"}});
  }
  if (f.init) host["Init"] = true;
  if (!tmpfs.empty()) host["Tmpfs"] = tmpfs;
  if (!f.sysctls.empty()) host["Sysctls"] = string_map(f.sysctls);
  config["HostConfig"] = host;
  config["NetworkingConfig"] = {{"EndpointsConfig", {{f.network, Json::object()}}}};
  return config;
}

}  // namespace berth::cli
