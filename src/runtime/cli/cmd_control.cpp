// kill, delete, pause, resume, update.
#include <signal.h>
#include <unistd.h>

#include "base/file.h"
#include "base/strings.h"
#include "runtime/cli/commands.h"
#include "runtime/container.h"

namespace berth::runtime::cli {
namespace {

Result<int> cmd_kill(const Globals& g, const Args& a) {
  const auto& pos = a.positional();
  if (pos.empty() || pos.size() > 2) return Error::invalid("kill: usage: kill [--all] <container-id> [signal]");
  int sig = SIGTERM;
  if (pos.size() == 2) sig = BERTH_TRY(parse_signal(pos[1]));
  BERTH_TRY(kill_container(StateDir(g.root), pos[0], sig, a.flag("all")));
  return 0;
}

Result<int> cmd_delete(const Globals& g, const Args& a) {
  auto id = BERTH_TRY(container_id_arg(a, "delete"));
  BERTH_TRY(delete_container(StateDir(g.root), id, a.flag("force")));
  return 0;
}

Result<int> cmd_pause(const Globals& g, const Args& a) {
  auto id = BERTH_TRY(container_id_arg(a, "pause"));
  BERTH_TRY(pause_container(StateDir(g.root), id));
  return 0;
}

Result<int> cmd_resume(const Globals& g, const Args& a) {
  auto id = BERTH_TRY(container_id_arg(a, "resume"));
  BERTH_TRY(resume_container(StateDir(g.root), id));
  return 0;
}

// "512m", "1g", "1024": docker's RAMInBytes (binary units); -1 for unlimited.
Result<int64_t> parse_bytes(const std::string& flag, const std::string& v) {
  if (v == "-1") return -1;
  size_t i = 0;
  while (i < v.size() && (isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
  auto num = parse_int(v.substr(0, i));
  if (!num) return Error::invalid("--{}: invalid size {:?}", flag, v);
  std::string unit = v.substr(i);
  for (auto& c : unit) c = static_cast<char>(tolower(c));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  int64_t mult = 1;
  if (unit == "k") mult = 1LL << 10;
  else if (unit == "m") mult = 1LL << 20;
  else if (unit == "g") mult = 1LL << 30;
  else if (unit == "t") mult = 1LL << 40;
  else if (!unit.empty()) return Error::invalid("--{}: invalid size unit in {:?}", flag, v);
  return *num * mult;
}

Result<int64_t> int_flag(const Args& a, const char* name) {
  auto n = parse_int(*a.get(name));
  if (!n) return Error::invalid("--{}: invalid number {:?}", name, *a.get(name));
  return *n;
}

Result<oci::Resources> resources_from_flags(const Args& a) {
  oci::Resources r;
  auto mem = [&]() -> oci::MemoryResources& {
    if (!r.memory) r.memory = oci::MemoryResources{};
    return *r.memory;
  };
  auto cpu = [&]() -> oci::CpuResources& {
    if (!r.cpu) r.cpu = oci::CpuResources{};
    return *r.cpu;
  };
  if (a.has("memory")) mem().limit = BERTH_TRY(parse_bytes("memory", *a.get("memory")));
  if (a.has("memory-reservation"))
    mem().reservation = BERTH_TRY(parse_bytes("memory-reservation", *a.get("memory-reservation")));
  if (a.has("memory-swap")) mem().swap = BERTH_TRY(parse_bytes("memory-swap", *a.get("memory-swap")));
  if (a.has("cpu-share")) cpu().shares = static_cast<uint64_t>(BERTH_TRY(int_flag(a, "cpu-share")));
  if (a.has("cpu-quota")) cpu().quota = BERTH_TRY(int_flag(a, "cpu-quota"));
  if (a.has("cpu-period")) cpu().period = static_cast<uint64_t>(BERTH_TRY(int_flag(a, "cpu-period")));
  if (a.has("cpu-rt-runtime")) cpu().realtime_runtime = BERTH_TRY(int_flag(a, "cpu-rt-runtime"));
  if (a.has("cpu-rt-period")) cpu().realtime_period = static_cast<uint64_t>(BERTH_TRY(int_flag(a, "cpu-rt-period")));
  if (a.has("cpuset-cpus")) cpu().cpus = *a.get("cpuset-cpus");
  if (a.has("cpuset-mems")) cpu().mems = *a.get("cpuset-mems");
  if (a.has("pids-limit")) r.pids = oci::PidsResources{BERTH_TRY(int_flag(a, "pids-limit"))};
  if (a.has("blkio-weight")) {
    r.block_io = oci::BlockIoResources{};
    r.block_io->weight = static_cast<uint16_t>(BERTH_TRY(int_flag(a, "blkio-weight")));
  }
  return r;
}

Result<int> cmd_update(const Globals& g, const Args& a) {
  auto id = BERTH_TRY(container_id_arg(a, "update"));
  oci::Resources res;
  if (auto file = a.get("resources")) {
    std::string text;
    if (*file == "-") {
      text = BERTH_TRY(read_fd(STDIN_FILENO));
    } else {
      text = BERTH_TRY(read_file(*file));
    }
    auto j = BERTH_TRY(parse_json(text, "--resources"));
    res = BERTH_TRY(oci::parse_resources(JsonReader(j, "resources")));
  } else {
    res = BERTH_TRY(resources_from_flags(a));
  }
  BERTH_TRY(update_container(StateDir(g.root), id, res));
  return 0;
}

}  // namespace

void register_control_commands(std::vector<Command>& out) {
  out.push_back({"kill", "kill [command options] <container-id> [signal]",
                 "send a signal (default SIGTERM) to the container's init process",
                 {{"all,a", false, "send the signal to all processes in the container"}}, cmd_kill});
  out.push_back({"delete", "delete [command options] <container-id>", "delete a container and its resources",
                 {{"force,f", false, "forcibly delete a running container (SIGKILL)"}}, cmd_delete});
  out.push_back({"pause", "pause <container-id>", "suspend all processes of a container", {}, cmd_pause});
  out.push_back({"resume", "resume <container-id>", "resume all processes of a paused container", {}, cmd_resume});
  out.push_back({"update", "update [command options] <container-id>", "update a container's resource limits",
                 {
                     {"resources,r", true, "path to a LinuxResources JSON file, or - for stdin"},
                     {"blkio-weight", true, "block IO weight (10-1000)"},
                     {"cpu-period", true, "CPU CFS period in microseconds"},
                     {"cpu-quota", true, "CPU CFS quota in microseconds"},
                     {"cpu-share", true, "CPU shares (relative weight)"},
                     {"cpu-rt-period", true, "CPU realtime period in microseconds"},
                     {"cpu-rt-runtime", true, "CPU realtime runtime in microseconds"},
                     {"cpuset-cpus", true, "CPUs in which to allow execution (0-3, 0,1)"},
                     {"cpuset-mems", true, "memory nodes in which to allow execution"},
                     {"memory", true, "memory limit (in bytes, or with k, m, g)"},
                     {"memory-reservation", true, "memory reservation or soft limit"},
                     {"memory-swap", true, "total memory usage (memory + swap); -1 for unlimited"},
                     {"pids-limit", true, "maximum number of pids allowed in the container"},
                     {"l3-cache-schema", true, "intel RDT L3 cache schema (not supported)"},
                     {"mem-bw-schema", true, "intel RDT memory bandwidth schema (not supported)"},
                 },
                 cmd_update});
}

}  // namespace berth::runtime::cli
