// Engine: containers from create to remove. berthd's threads never clone
// or enter namespaces: a container is created and started by its own
// berth-shim (which runs berth-runtime), and the engine talks to the shim
// over its control socket. The shim's exit record is the truth about a
// container that was running.
//
// Usage:
//   Engine e(opts, images, containers, events);
//   auto c = BERTH_TRY(e.create("web", create_request_json));
//   BERTH_TRY(e.start(c.id));
//   int64_t code = BERTH_TRY(e.wait(c.id));
//   BERTH_TRY(e.remove(c.id, /*force=*/false));
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/json.h"
#include "base/result.h"
#include "engine/container_store.h"
#include "engine/events.h"
#include "image/image_store.h"

namespace berth::engine {

struct EngineOptions {
  std::string data_root;  // containers/<id>/ (rootfs, upper layer, logs, hosts files)
  std::string exec_root;  // containers/<id>/ (bundle, shim state), runtime/
  std::string runtime;    // berth-runtime
  std::string shim;       // berth-shim
  std::string init;       // berth-init for --init; empty: --init is refused
};

// A stream to a process's stdio from its shim (docs/design/shim.md, Attach).
struct AttachStream {
  Fd fd;
  bool tty = false;
  bool stdin = false;
};

// docker exec: what was asked (the create body: Cmd, Env, User,
// WorkingDir, Tty, AttachStdin/out/err, Privileged, DetachKeys) and how it
// went, from the shim's record.
struct ExecRecord {
  std::string id;  // 64 hex digits; also the shim's exec_id
  std::string container_id;
  Json config;
  bool started = false;
  bool running = false;
  bool exited = false;
  int64_t exit_code = 0;
  int64_t pid = 0;
};

// The shell's code for a runtime error about the command: 127 when it was
// not found, 126 when it could not be run; none for other errors.
std::optional<int> command_failure_code(const std::string& why);

// The restart policy and AutoRemove of a container's create request.
struct RestartPolicy {
  std::string name = "no";
  int64_t max_retries = 0;
  bool auto_remove = false;
};
RestartPolicy restart_policy(const ContainerRecord& rec);

// POST /containers/{id}/wait?condition=
enum class WaitCondition { NotRunning, NextExit, Removed };

class Engine {
 public:
  Engine(EngineOptions o, image::ImageStore& images, ContainerStore& containers, EventBus& events)
      : o_(std::move(o)), images_(images), containers_(containers), events_(events) {}

  Result<ContainerRecord> create(const std::string& name, const Json& body);
  // AlreadyExists when it is running already (the API's 304).
  Result<void> start(const std::string& name_or_id);
  // Blocks until the condition holds (or `gone` says the client left: then
  // Unavailable); the exit code of the container's last run.
  Result<int64_t> wait(const std::string& name_or_id, WaitCondition cond = WaitCondition::NotRunning,
                       const std::function<bool()>& gone = {});
  // The container's stdio: at once when it runs; otherwise when it is next
  // started, before its process runs, so nothing of its output is missed
  // (docker run attaches between create and start).
  Result<AttachStream> attach(const std::string& name_or_id, const std::function<bool()>& gone);
  Result<void> resize(const std::string& name_or_id, int height, int width);

  // docker exec.
  Result<std::string> exec_create(const std::string& name_or_id, const Json& body);
  Result<void> exec_start(const std::string& exec_id);
  Result<ExecRecord> exec_inspect(const std::string& exec_id);
  Result<void> exec_resize(const std::string& exec_id, int height, int width);

  // At daemon start: re-adopt the containers whose shims still run, record
  // the exits that happened meanwhile, and apply restart policies.
  void restore();
  // Until the removals in progress have unmounted and removed their
  // directories: before the daemon exits.
  void drain();
  // The health checker (engine/health.h), told when a run starts or ends.
  void set_health_hooks(std::function<void(const ContainerRecord&)> watch,
                        std::function<void(const std::string&)> forget) {
    health_watch_ = std::move(watch);
    health_forget_ = std::move(forget);
  }
  Result<void> kill(const std::string& name_or_id, int signal);
  Result<void> stop(const std::string& name_or_id, int timeout_s);
  Result<void> remove(const std::string& name_or_id, bool force);
  // The record with its state refreshed from the shim.
  Result<ContainerRecord> inspect(const std::string& name_or_id);
  Result<std::vector<RecordPtr>> list();
  std::string log_path(const std::string& id) const;

  // Where a container's things live, for the engine's other parts
  // (container_ops, health): data_root/containers/ID (rootfs, rw/upper,
  // logs), exec_root/containers/ID (bundle), the shim's state directory.
  std::string container_dir(const std::string& id) const;
  std::string run_dir(const std::string& id) const;
  std::string shim_dir(const std::string& id) const;
  const EngineOptions& options() const { return o_; }
  image::ImageStore& images() { return images_; }
  ContainerStore& containers() { return containers_; }
  EventBus& events() { return events_; }

  // One request on the container's shim control socket; the reply object
  // when it says ok.
  Result<Json> shim_request(const std::string& id, const Json& req);
  // The stdio stream of the container's init (exec_id empty) or an exec.
  Result<AttachStream> shim_attach(const std::string& id, const std::string& exec_id);
  // The record with its state as the shim reports it: asked now, or taken
  // from a reply already in hand (`reported`, a state or wait answer).
  Result<ContainerRecord> refresh(ContainerRecord rec, const Json* reported = nullptr);
  void publish(const ContainerRecord& rec, const std::string& action,
               std::map<std::string, std::string> extra = {});

 private:

  // The exit of a run (status now exited): wakes waiters, then the
  // restart policy or AutoRemove. Called by the run's monitor thread.
  // `reported`: the shim's answer with the exit of the run that began at
  // `reported_run` (its started_at); asked again when another runs now.
  void after_exit(const std::string& id, const Json* reported = nullptr, const std::string& reported_run = "");
  // start(), or a restart by the policy (which keeps the restart count).
  Result<void> start_run(const std::string& name_or_id, bool by_policy);
  Result<void> launch(ContainerRecord& rec, bool by_policy);
  void monitor(const std::string& id);
  void start_monitor(const std::string& id);
  std::shared_ptr<std::mutex> container_lock(const std::string& id);
  Result<ContainerRecord> set_state(ContainerRecord rec);
  void notify();
  // Unmount a removed container's root and remove its directories.
  void teardown(const std::string& id);
  // A user stopped it: no restart by the policy.
  void mark_stopped(ContainerRecord& rec);
  // The shim deletes the runtime's container and exits (reaped); without a
  // shim (never started, or gone) the runtime's state, if any, is removed
  // directly.
  void delete_run(const std::string& id);
  // Collect the exit of the container's shim if this daemon started it
  // (it is our child: berth-shim --no-fork). `deleted`: it was just told
  // to delete and exits at once, so wait for that (briefly).
  void reap_shim(const std::string& id, bool deleted);

  EngineOptions o_;
  image::ImageStore& images_;
  ContainerStore& containers_;
  EventBus& events_;
  std::function<void(const ContainerRecord&)> health_watch_;
  std::function<void(const std::string&)> health_forget_;

  // Guards what follows; cv_ is signalled on every exit, start and removal.
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, uint64_t> exits_;  // runs ended since the daemon started
  std::set<std::string> monitored_;
  std::set<std::string> stopping_;         // stop/kill by a user: no restart
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
  struct PendingAttach {
    std::string id;
    std::optional<Result<AttachStream>> result;
  };
  std::vector<std::shared_ptr<PendingAttach>> pending_attaches_;
  std::map<std::string, ExecRecord> execs_;
  std::map<std::string, pid_t> shim_pids_;  // shims started by this daemon, not yet reaped
  int teardowns_ = 0;
  uint64_t removals_ = 0;  // every removal, for waiters on condition=removed
  // Exit codes of recently removed containers, for the waiters of
  // `removed` that see the record gone before they saw the exit.
  std::deque<std::pair<std::string, int64_t>> removed_codes_;
};

}  // namespace berth::engine
