// A container's record under the runtime's --root directory:
//
//   <root>/<id>/state.json   what `state` and every later command read
//   <root>/<id>/config.json  the config as created (exec starts from its process)
//   <root>/<id>/exec.fifo    exists between create and start: the init blocks
//                            opening it for writing until `start` opens it
//
// The status is never stored; it is derived from the init's pid (with its
// start time, so a recycled pid is not mistaken for ours), the fifo and the
// cgroup freezer, so a container that died behind our back reads "stopped".
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "runtime/cgroup.h"

namespace berth::runtime {

enum class Status { Created, Running, Paused, Stopped };
const char* status_name(Status s);

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  std::string owner;
  std::map<std::string, std::string> annotations;
  Json cgroup;  // Cgroup::to_json()
  bool no_pivot = false;
  std::string oci_version;
};

class StateDir {
 public:
  // --root: default /run/berth-runtime for root, $XDG_RUNTIME_DIR/berth-runtime otherwise.
  static std::string default_root();
  // Container ids: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 1024 characters (runc's rule).
  static Result<void> validate_id(const std::string& id);

  explicit StateDir(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }
  std::string fifo(const std::string& id) const { return dir(id) + "/exec.fifo"; }

  Result<ContainerState> load(const std::string& id) const;
  Result<void> save(const ContainerState& st) const;
  Result<std::vector<std::string>> list() const;
  Result<void> remove(const std::string& id) const;

 private:
  std::string root_;
};

// The OCI state document: ociVersion, id, status, pid, bundle, annotations
// (+ rootfs, created, owner as runc adds them).
Json oci_state(const ContainerState& st, Status status);
Status current_status(const StateDir& dir, const ContainerState& st, Cgroup* cg);
// The recorded init (pid and start time) is still alive.
bool init_alive(const ContainerState& st);

}  // namespace berth::runtime
