// Cgroups: one abstract manager, three layouts.
//
//   v1      one hierarchy per controller under /sys/fs/cgroup/<ctrl>/
//   v2      the unified hierarchy at /sys/fs/cgroup (cgroup.controllers there)
//   hybrid  v1 controllers plus a v2 hierarchy at /sys/fs/cgroup/unified that
//           holds few or no controllers (this build machine: only hugetlb).
//           The container is placed in both; limits go to whichever
//           hierarchy owns the controller.
//
// Walkthrough (what the runtime does):
//   auto cg = BERTH_TRY(Cgroup::open({.path = "/berth/c1"}));  // nothing touched yet
//   BERTH_TRY(cg->create());                 // mkdir in every hierarchy
//   BERTH_TRY(cg->apply(resources));         // write the limits (+ implicit device rules)
//   BERTH_TRY(cg->add_process(pid));         // move the container's init
//   state["cgroup"] = cg->to_json();         // persisted; Cgroup::from_json reopens it
//   ... cg->freeze(); cg->thaw(); cg->stats(); cg->pids(); cg->apply(new) ...
//   BERTH_TRY(cg->destroy());                // SIGKILL what is left, rmdir everywhere
//
// Errors name the file and the value: "write 1g to
// /sys/fs/cgroup/memory/berth/c1/memory.limit_in_bytes: EINVAL (...)".
// A failed create()/apply() during container creation is undone by destroy().
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

enum class CgroupMode { V1, V2, Hybrid };

struct CgroupOptions {
  // The cgroupsPath of config.json; relative paths are taken under the
  // runtime's own cgroup, as runc does. Empty: "/berth/<id>".
  std::string path;
  std::string id;
  // Where the cgroup file systems are mounted; tests point this at a fake tree.
  std::string root = "/sys/fs/cgroup";
  // Tests on a fake cgroupfs cannot load eBPF programs.
  bool skip_device_program = false;
  // Where the runtime's own cgroups are read from (relative cgroupsPath);
  // tests point this at a file of their own.
  std::string proc_self_cgroup = "/proc/self/cgroup";
};

CgroupMode detect_cgroup_mode(const std::string& root = "/sys/fs/cgroup");

class Cgroup {
 public:
  virtual ~Cgroup() = default;

  // Choose the manager for the machine's layout (detect_cgroup_mode(root)).
  static Result<std::unique_ptr<Cgroup>> open(const CgroupOptions& opts);
  // Reopen from what to_json() returned (state.json of a container).
  static Result<std::unique_ptr<Cgroup>> from_json(const Json& j);

  virtual CgroupMode mode() const = 0;
  virtual Result<void> create() = 0;
  // Write limits. Device rules: a deny-all default, the config's rules, then
  // the rules every runtime adds (c *:* m, b *:* m, 5:1 console, 5:0 tty,
  // 5:2 ptmx, 136:* pts, 10:200 tun). v1 writes devices.allow/deny; v2
  // attaches an eBPF BPF_CGROUP_DEVICE program (replacing the previous one).
  // On update (update=true) only the fields present are changed.
  virtual Result<void> apply(const oci::Resources& res, bool update = false) = 0;
  virtual Result<void> add_process(pid_t pid) = 0;
  virtual Result<void> freeze() = 0;
  virtual Result<void> thaw() = 0;
  virtual Result<bool> frozen() = 0;
  // Every process in the cgroup (recursively), as seen from the host.
  virtual Result<std::vector<pid_t>> pids() = 0;
  // The "data" object of `runc events --stats`: cpu, memory, pids, blkio,
  // hugetlb (runc's types.Stats JSON field names).
  virtual Result<Json> stats() = 0;
  // Number of OOM kills so far (memory.oom_control / memory.events).
  virtual Result<uint64_t> oom_kills() = 0;
  // Kill every process left (SIGKILL, frozen cgroups are thawed first), wait
  // until empty, remove the directories. Missing directories are fine.
  virtual Result<void> destroy() = 0;
  virtual Json to_json() const = 0;
  // The container's cgroup path inside the v2 (or, in v1, the memory)
  // hierarchy: what the container sees as "/" after unsharing CLONE_NEWCGROUP.
  virtual std::string path() const = 0;
};

}  // namespace berth::runtime
