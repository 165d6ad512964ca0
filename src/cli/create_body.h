// The body of POST /containers/create as the docker CLI builds it from
// `docker run`/`docker create` flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace berth::cli {

struct RunFlags {
  bool detach = false, rm = false, interactive = false, tty = false, init = false, read_only = false,
       privileged = false, no_healthcheck = false, sig_proxy = true, oom_kill_disable = false,
       publish_all = false;
  std::string name, user, workdir, hostname, restart = "no", network = "default", memory, memory_swap,
      memory_reservation, shm_size, detach_keys, stop_signal, health_cmd, health_interval, health_timeout,
      health_start_period, cgroupns, ipc, pid, uts, cpuset_cpus, platform, pull = "missing", log_driver;
  std::optional<std::string> entrypoint;
  std::optional<double> cpus;
  std::optional<int64_t> pids_limit, stop_timeout, cpu_shares;
  std::optional<int> health_retries;
  std::vector<std::string> env, env_file, labels, cap_add, cap_drop, security_opt, tmpfs, ulimits, volumes,
      publish, expose, attach, dns, dns_search, dns_option, add_host, group_add, log_opt, devices, sysctls,
      mounts;
};

// "512m" → 536870912 (docker's RAMInBytes: b, k, m, g, t, p; binary units).
Result<int64_t> parse_ram(const std::string& s);
// A Go duration: "1h2m3.5s", "500ms", "90s" → nanoseconds.
Result<int64_t> parse_go_duration(const std::string& s);
// ImageName with ":latest" added when it has neither tag nor digest.
std::string with_default_tag(const std::string& image);

Result<Json> create_body(const RunFlags& f, const std::string& image, const std::vector<std::string>& cmd,
                         int rows, int cols);

}  // namespace berth::cli
