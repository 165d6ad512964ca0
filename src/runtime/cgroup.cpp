// Layout detection and the choice of manager; the managers themselves are in
// cgroup_v1.cpp, cgroup_v2.cpp and cgroup_hybrid.cpp.
#include "runtime/cgroup.h"

#include "runtime/cgroup_common.h"
#include "runtime/cgroup_managers.h"

namespace berth::runtime {

CgroupMode detect_cgroup_mode(const std::string& root) {
  // A cgroup2 mount at the root has cgroup.controllers; a tmpfs of v1 mounts
  // does not. Looking at files (not statfs magic) lets tests use a fake tree.
  if (cg::has_control(root, "cgroup.controllers")) return CgroupMode::V2;
  if (cg::has_control(cg::join_path(root, "unified"), "cgroup.controllers")) return CgroupMode::Hybrid;
  return CgroupMode::V1;
}

Result<std::unique_ptr<Cgroup>> Cgroup::open(const CgroupOptions& opts) {
  auto own = BERTH_TRY_CTX(cg::read_own_cgroups(opts.proc_self_cgroup), "cgroup: find the runtime's own cgroup");
  CgroupMode mode = detect_cgroup_mode(opts.root);
  if (mode == CgroupMode::V2) {
    auto path = BERTH_TRY(cg::resolve_cgroup_path(opts.path, opts.id, own[""]));
    return std::unique_ptr<Cgroup>(new V2Cgroup(opts, opts.root, path));
  }
  auto hierarchies = discover_v1(opts.root);
  if (hierarchies.empty()) return Error::not_found("cgroup: no cgroup hierarchy is mounted under {}", opts.root);
  std::string main_path;
  for (auto& h : hierarchies) {
    auto rel = BERTH_TRY(cg::resolve_cgroup_path(opts.path, opts.id, own[h.controllers.front()]));
    h.dir = cg::join_path(h.mount, rel);
    bool is_memory = std::find(h.controllers.begin(), h.controllers.end(), "memory") != h.controllers.end();
    if (main_path.empty() || is_memory) main_path = rel;
  }
  if (mode == CgroupMode::Hybrid) {
    auto upath = BERTH_TRY(cg::resolve_cgroup_path(opts.path, opts.id, own[""]));
    return std::unique_ptr<Cgroup>(new HybridCgroup(opts, std::move(hierarchies), main_path,
                                                    cg::join_path(opts.root, "unified"), upath));
  }
  return std::unique_ptr<Cgroup>(new V1Cgroup(opts, std::move(hierarchies), main_path));
}

Result<std::unique_ptr<Cgroup>> Cgroup::from_json(const Json& j) {
  try {
    CgroupOptions opts;
    opts.root = j.at("root").get<std::string>();
    opts.id = j.value("id", "");
    opts.path = j.at("path").get<std::string>();
    opts.skip_device_program = j.value("skip_device_program", false);
    std::string mode = j.at("mode").get<std::string>();
    if (mode == "v2") return std::unique_ptr<Cgroup>(new V2Cgroup(opts, opts.root, opts.path));
    std::vector<V1Hierarchy> hs;
    for (const auto& h : j.at("hierarchies")) {
      hs.push_back({h.at("mount").get<std::string>(), h.at("controllers").get<std::vector<std::string>>(),
                    h.at("dir").get<std::string>()});
    }
    std::string path = opts.path;
    if (mode == "v1") return std::unique_ptr<Cgroup>(new V1Cgroup(opts, std::move(hs), path));
    if (mode == "hybrid")
      return std::unique_ptr<Cgroup>(new HybridCgroup(opts, std::move(hs), path, j.at("unified_mount").get<std::string>(),
                                                      j.at("unified_path").get<std::string>()));
    return Error::invalid("cgroup state: unknown mode {:?}", mode);
  } catch (const Json::exception& e) {
    return Error::invalid("cgroup state: {}", e.what());
  }
}

}  // namespace berth::runtime
