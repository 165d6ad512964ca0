// Container operations beyond the lifecycle, as free functions over the
// Engine: top, stats, pause/unpause, changes, export, commit, prune,
// resize. The API's handlers (api/handlers/container_ops.cpp) call these.
//
// Usage:
//   auto t = BERTH_TRY(top(eng, "web", "-ef"));        // t.titles, t.processes
//   BERTH_TRY(pause(eng, "web"));  BERTH_TRY(unpause(eng, "web"));
//   auto ch = BERTH_TRY(changes(eng, "web"));          // docker diff
//   BERTH_TRY(export_rootfs(eng, rec, out_fd));        // docker export
//   auto id = BERTH_TRY(commit(eng, "web", {.repo = "img", .tag = "v2"}));
//   auto p = BERTH_TRY(prune(eng, filters));           // stopped containers
//   auto s = BERTH_TRY(stats_point(eng, rec));         // one cgroup sample
//   Json j = stats_json(rec, &s, &previous, host);     // Docker's stats object
//
// Pausing freezes the container's cgroup through the runtime
// (`runtime pause|resume`); the engine keeps "paused" as its own record,
// which refresh() preserves while the shim says the container runs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "engine/cgroup_stats.h"
#include "engine/engine.h"
#include "image/diff.h"

namespace berth::engine {

struct TopResult {
  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> processes;
};
// `ps ps_args` (default -ef) on the host, the rows of the container's
// processes. Conflict when it is not running.
Result<TopResult> top(Engine& eng, const std::string& name_or_id, const std::string& ps_args);
// The rows of ps output whose PID column is in `pids`; the last column
// takes the rest of the line (the command and its arguments).
Result<TopResult> filter_ps_output(const std::string& output, const std::vector<int64_t>& pids);

// Conflict when it is not running, or (un)paused already.
Result<void> pause(Engine& eng, const std::string& name_or_id);
Result<void> unpause(Engine& eng, const std::string& name_or_id);
// For stop and kill: a signal sent to a paused container waits in the
// frozen cgroup, so Docker thaws the container right after signalling it
// (the runtime itself thaws after SIGKILL). Resumes `rec` when paused and
// records it running; nothing otherwise.
Result<void> resume_if_paused(Engine& eng, ContainerRecord& rec);

Result<std::vector<image::Change>> changes(Engine& eng, const std::string& name_or_id);
// The container's root file system (its overlay mount) as a tar.
Result<void> export_rootfs(Engine& eng, const ContainerRecord& rec, int out_fd);

struct CommitOptions {
  std::string repo, tag;  // empty repo: an untagged image
  std::string comment, author;
  bool pause = true;  // freeze a running container while its diff is taken
  std::vector<std::string> changes;  // Dockerfile instructions (CMD, ENV, ...)
  Json config = Json::object();      // Config fields that override the container's
};
// A new image: the container's image plus one layer with what changed.
// Its ID ("sha256:...").
Result<std::string> commit(Engine& eng, const std::string& name_or_id, const CommitOptions& opts);
// Docker's merge of a commit's config with the container's (and of a
// container's with its image's): fields `user` leaves empty come from
// `base`; Env, Labels, ExposedPorts and Volumes are merged by key; Cmd is
// inherited only when `user` sets no Entrypoint. Only image config fields
// are kept.
Json merge_image_config(const Json& user, const Json& base);

struct PruneReport {
  std::vector<std::string> deleted;
  uint64_t space_reclaimed = 0;
};
// Bytes in the container's writable layer, hard links once: Docker's SizeRw.
uint64_t rw_size(Engine& eng, const ContainerRecord& rec);
// Remove every container that is not running and passes the filters
// (until=TIME, label=K[=V], label!=K[=V]).
Result<PruneReport> prune(Engine& eng, const std::map<std::string, std::vector<std::string>>& filters);
// A filter's time: a duration before `now` ("10m", "1h30m"), unix seconds
// or RFC 3339. Unix seconds.
Result<int64_t> parse_filter_time(const std::string& value, int64_t now);

// The terminal size of the container's init; a container without a
// terminal accepts and ignores it, as Docker does.
Result<void> resize(Engine& eng, const std::string& name_or_id, unsigned height, unsigned width);

// What stats reads at one moment.
struct StatsPoint {
  std::string read;  // RFC 3339 with nanoseconds
  CgroupSample cgroup;
  uint64_t system_cpu_ns = 0;
  unsigned online_cpus = 0;
};
// The cgroup of a running container, sampled now. The cgroup path is the
// cgroupsPath of its bundle's config.json; `cgroup_root` is injectable.
Result<StatsPoint> stats_point(Engine& eng, const ContainerRecord& rec,
                               const std::string& cgroup_root = "/sys/fs/cgroup");
// Docker's stats object: `cur` null gives the zero object Docker sends for
// a stopped container; `pre` null leaves precpu_stats empty (one-shot, the
// first of a stream). A memory limit above `host_memory` is reported as it.
Json stats_json(const ContainerRecord& rec, const StatsPoint* cur, const StatsPoint* pre, uint64_t host_memory);

}  // namespace berth::engine
