// System routes: _ping, version, info, system/df.
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <thread>

#include "api/handlers/handlers.h"
#include "base/file.h"
#include "base/strings.h"
#include "engine/container_ops.h"
#include "image/manifest.h"

namespace berth::api {

namespace {

constexpr const char* kVersion = "0.1.0";

void ping(Request&, Response& res) {
  // The CLI's HEAD /_ping reads only headers; GET gets "OK".
  res.send(200, "text/plain; charset=utf-8", "OK");
}

std::string kernel_release() {
  utsname u{};
  uname(&u);
  return u.release;
}

std::string machine() {
  utsname u{};
  uname(&u);
  return u.machine;
}

std::string os_pretty_name() {
  auto text = read_file("/etc/os-release");
  if (!text) return "Linux";
  for (auto& line : split(*text, '\n')) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "Linux";
}

std::string cgroup_version() {
  // Pure v2 has cgroup.controllers at the root; hybrid and v1 do not.
  return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1";
}

// GET /system/df: what `docker system df` reads. LayersSize counts each
// layer once however many images share it; an image's SharedSize is the
// part of it that other images hold too, Containers how many containers
// it backs; a container's SizeRw is its writable layer, SizeRootFs that
// plus its image. berthd has no volumes or build cache yet: empty lists.
void disk_usage(DaemonContext& ctx, Response& res) {
  auto images = ctx.images->list();
  if (!images) return res.error(images.error());
  auto containers = ctx.engine->list();
  if (!containers) return res.error(containers.error());
  std::map<std::string, int64_t> layer_size;  // chain ID → bytes
  std::map<std::string, int> layer_users;     // chain ID → images that have it
  for (const auto& rec : *images) {
    auto sizes = ctx.images->layer_sizes(rec);
    if (!sizes) return res.error(sizes.error());
    for (size_t i = 0; i < rec.chain_ids.size() && i < sizes->size(); ++i) {
      layer_size[rec.chain_ids[i]] = (*sizes)[i];
      ++layer_users[rec.chain_ids[i]];
    }
  }
  int64_t layers_total = 0;
  for (const auto& [_, size] : layer_size) layers_total += size;
  std::map<std::string, int> backs;        // image ID → containers
  std::map<std::string, int64_t> size_of;  // image ID → Size
  for (const auto& c : *containers) ++backs[c->image_id];
  Json image_list = Json::array();
  for (const auto& rec : *images) {
    auto cfg = ctx.images->config(rec);
    Json j = image_summary(rec, cfg ? &*cfg : nullptr);
    int64_t shared = 0;
    for (const auto& chain : rec.chain_ids)
      if (layer_users[chain] > 1) shared += layer_size[chain];
    j["SharedSize"] = shared;
    j["Containers"] = backs[rec.id];
    size_of[rec.id] = rec.size;
    image_list.push_back(std::move(j));
  }
  Json container_list = Json::array();
  for (const auto& ptr : *containers) {
    const engine::ContainerRecord& c = *ptr;
    Json j = container_summary(c, ctx.health);
    auto rw = static_cast<int64_t>(engine::rw_size(*ctx.engine, c));
    j["SizeRw"] = rw;
    j["SizeRootFs"] = rw + size_of[c.image_id];
    container_list.push_back(std::move(j));
  }
  res.json(200, {{"LayersSize", layers_total},
                 {"Images", image_list},
                 {"Containers", container_list},
                 {"Volumes", Json::array()},
                 {"BuildCache", Json::array()},
                 {"BuilderSize", 0}});
}

}  // namespace

void add_system_routes(Router& r, DaemonContext& ctx) {
  r.add("HEAD", "/_ping", ping);
  r.add("GET", "/_ping", ping);
  r.add("GET", "/version", [&ctx](Request&, Response& res) {
    (void)ctx;
    Json details = {{"ApiVersion", kMaxApiVersion}, {"MinAPIVersion", kMinApiVersion},
                    {"Os", "linux"}, {"Arch", image::Platform::host_default().architecture},
                    {"KernelVersion", kernel_release()}, {"GitCommit", ""},
                    {"GoVersion", ""}, {"BuildTime", ""}};
    Json j = {{"Platform", {{"Name", "Berth"}}},
              {"Components", {{{"Name", "Engine"}, {"Version", kVersion}, {"Details", details}}}},
              {"Version", kVersion}};
    for (const auto& [k, v] : details.items()) j[k] = v;
    res.json(200, j);
  });
  r.add("GET", "/system/df", [&ctx](Request&, Response& res) { disk_usage(ctx, res); });
  r.add("GET", "/info", [&ctx](Request&, Response& res) {
    auto images = ctx.images->list();
    if (!images) return res.error(images.error());
    struct sysinfo si{};
    sysinfo(&si);
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    Json j = {
        {"ID", ""},
        {"Containers", 0}, {"ContainersRunning", 0}, {"ContainersPaused", 0}, {"ContainersStopped", 0},
        {"Images", images->size()},
        {"Driver", "overlay2"},
        {"DriverStatus", Json::array({Json::array({"Backing Filesystem", "extfs"})})},
        {"Plugins", {{"Volume", Json::array()}, {"Network", Json::array({"host", "null"})},
                     {"Log", Json::array({"json-file"})}}},
        {"MemoryLimit", true}, {"SwapLimit", true}, {"CpuCfsPeriod", true}, {"CpuCfsQuota", true},
        {"CPUShares", true}, {"CPUSet", true}, {"PidsLimit", true}, {"OomKillDisable", false},
        {"IPv4Forwarding", false}, {"Debug", false},
        {"NFd", 0}, {"NGoroutines", 0},
        {"SystemTime", now_rfc3339()},
        {"LoggingDriver", "json-file"},
        {"CgroupDriver", "cgroupfs"},
        {"CgroupVersion", cgroup_version()},
        {"NEventsListener", 0},
        {"KernelVersion", kernel_release()},
        {"OperatingSystem", os_pretty_name()},
        {"OSVersion", ""},
        {"OSType", "linux"},
        {"Architecture", machine()},
        {"IndexServerAddress", "https://index.docker.io/v1/"},
        {"RegistryConfig", {{"IndexConfigs", Json::object()}, {"InsecureRegistryCIDRs", Json::array()}}},
        {"NCPU", std::thread::hardware_concurrency()},
        {"MemTotal", static_cast<int64_t>(si.totalram) * si.mem_unit},
        {"DockerRootDir", ctx.data_root},
        {"Name", host},
        {"Labels", Json::array()},
        {"ExperimentalBuild", false},
        {"ServerVersion", kVersion},
        {"Runtimes", {{"berth-runtime", {{"path", ctx.runtime_path}}}}},
        {"DefaultRuntime", "berth-runtime"},
        {"Swarm", {{"LocalNodeState", "inactive"}, {"ControlAvailable", false}, {"NodeID", ""},
                   {"NodeAddr", ""}, {"Error", ""}, {"RemoteManagers", nullptr}}},
        {"LiveRestoreEnabled", true},
        {"Isolation", ""},
        {"InitBinary", ""},
        {"SecurityOptions", Json::array({"name=seccomp,profile=default"})},
        {"Warnings", Json::array({"WARNING: bridge networking is not available yet: containers get a "
                                  "private network namespace with loopback only"})},
    };
    res.json(200, j);
  });
}

}  // namespace berth::api
