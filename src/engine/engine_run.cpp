// The engine's view of a run: one monitor thread per running container
// (blocked in the shim's "wait"), the waiters of /wait, attach before start,
// restart policies with Docker's back-off, AutoRemove, and re-adoption of
// running containers when berthd starts again.
#include <chrono>
#include <filesystem>
#include <thread>

#include "base/log.h"
#include "base/strings.h"
#include "engine/engine.h"
#include "engine/spec.h"

namespace berth::engine {

namespace {

bool is_running(const ContainerState& s) { return s.status == "running" || s.status == "paused"; }

// Docker's rule: always and unless-stopped restart unless a user stopped
// the container; on-failure restarts a non-zero exit up to max retries.
bool should_restart(const RestartPolicy& p, const ContainerState& s) {
  if (s.manually_stopped) return false;
  if (p.name == "always" || p.name == "unless-stopped") return true;
  if (p.name == "on-failure")
    return s.exit_code != 0 && (p.max_retries <= 0 || s.restart_count < p.max_retries);
  return false;
}

}  // namespace

RestartPolicy restart_policy(const ContainerRecord& rec) {
  RestartPolicy p;
  auto cfg = read_create_request(*rec.config);
  if (!cfg) return p;
  p.name = cfg->host.restart_policy.empty() ? "no" : cfg->host.restart_policy;
  p.max_retries = cfg->host.restart_max_retries;
  p.auto_remove = cfg->host.auto_remove;
  return p;
}

std::shared_ptr<std::mutex> Engine::container_lock(const std::string& id) {
  std::lock_guard lk(mu_);
  auto& m = locks_[id];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

void Engine::notify() {
  std::lock_guard lk(mu_);
  cv_.notify_all();
}

void Engine::start_monitor(const std::string& id) {
  {
    std::lock_guard lk(mu_);
    if (!monitored_.insert(id).second) return;
  }
  std::thread([this, id] { monitor(id); }).detach();
}

void Engine::monitor(const std::string& id) {
  // The shim answers "wait" when the container's init has exited; a shim
  // that goes away (killed) ends the wait too, and refresh() then reads
  // its exit record.
  auto watched = containers_.get(id);
  std::string run = watched ? watched->state.started_at : "";
  auto reply = shim_request(id, {{"op", "wait"}});
  log::debug("engine: {} exited (shim)", id.substr(0, 12));
  {
    std::lock_guard lk(mu_);
    monitored_.erase(id);
  }
  if (!reply) reap_shim(id, false);  // the shim went away (killed)
  // The wait's answer carries the exit: no second request to learn it.
  bool has_exit = reply && reply->contains("exit") && (*reply)["exit"].is_object();
  after_exit(id, has_exit ? &*reply : nullptr, run);
}

void Engine::after_exit(const std::string& id, const Json* reported, const std::string& reported_run) {
  auto lock = container_lock(id);
  std::unique_lock run(*lock);
  auto rec = containers_.get(id);
  if (!rec) return;
  // A run begun since (a restart) is not the one that exit ended.
  if (rec->state.started_at != reported_run) reported = nullptr;
  auto r = refresh(*rec, reported);
  if (!r || is_running(r->state)) return;  // started again meanwhile
  if (health_forget_) health_forget_(id);
  RestartPolicy p = restart_policy(*r);
  ContainerState s = r->state;
  if (p.auto_remove && !should_restart(p, s)) {
    run.unlock();
    log::debug("engine: auto-remove {}", id.substr(0, 12));
    if (auto d = remove(id, true); !d && d.error().code() != ErrorCode::NotFound)
      log::warn("engine: auto-remove {}: {}", id.substr(0, 12), d.error().message());
    return;
  }
  if (!should_restart(p, s)) return;
  // Back-off: 100 ms doubling per restart, at most a minute; a run that
  // lasted 10 s or more starts the count again (Docker's rule).
  auto started = parse_rfc3339_seconds(s.started_at).value_or(0);
  auto finished = parse_rfc3339_seconds(s.finished_at).value_or(0);
  int64_t n = finished - started >= 10 ? 0 : std::min<int64_t>(s.restart_count, 10);
  auto delay = std::min(std::chrono::milliseconds(100) * (int64_t{1} << n), std::chrono::milliseconds(60000));
  s.status = "restarting";
  r->state = s;
  (void)containers_.set_state(id, s);
  run.unlock();
  {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, delay, [&] { return stopping_.count(id) > 0; });
  }
  run.lock();
  auto now_rec = containers_.get(id);
  if (!now_rec || now_rec->state.status != "restarting") return;  // removed or started meanwhile
  now_rec->state.restart_count++;
  (void)containers_.set_state(id, now_rec->state);
  run.unlock();
  // start_run re-checks, under the container's lock, that no user stopped
  // it in the meantime.
  if (auto st = start_run(id, /*by_policy=*/true); !st) {
    log::warn("engine: restart {}: {}", id.substr(0, 12), st.error().message());
    run.lock();
    if (auto cur = containers_.get(id); cur && cur->state.status == "restarting") {
      cur->state.status = "exited";
      (void)containers_.set_state(id, cur->state);
    }
    notify();
  }
}

Result<int64_t> Engine::wait(const std::string& name_or_id, WaitCondition cond,
                             const std::function<bool()>& gone) {
  auto found = BERTH_TRY(containers_.resolve(name_or_id));
  std::string id = found.id;
  // The count of exits before the state is read: an exit counted between
  // the two (by the monitor) would otherwise be in neither, and a wait for
  // a container it saw running would sleep through it.
  uint64_t exits0;
  {
    std::lock_guard lk(mu_);
    exits0 = exits_[id];
  }
  auto rec = BERTH_TRY(refresh(std::move(found)));
  bool need_exit = cond == WaitCondition::NextExit ||
                   (cond == WaitCondition::NotRunning && (is_running(rec.state) || rec.state.status == "restarting"));
  int64_t code = rec.state.exit_code;
  // An exit or a removal counted from here on wakes the wait below: read
  // the counters before the state, or one that lands in between is slept
  // through (250 ms added to a `docker run --rm`).
  auto counters = [&] {
    auto it = exits_.find(id);
    return std::make_pair(it == exits_.end() ? uint64_t{0} : it->second, removals_);
  };
  for (;;) {
    std::pair<uint64_t, uint64_t> seen;
    {
      std::lock_guard lk(mu_);
      seen = counters();
    }
    auto cur = containers_.get(id);
    // The monitor notices exits, but it may be held behind a stop that
    // waits here: ask the shim as well.
    if (cur && is_running(cur->state))
      if (auto fresh = refresh(*cur); fresh) cur = std::move(*fresh);
    if (!cur) {
      // Removed: its last exit code.
      std::lock_guard lk(mu_);
      for (auto it = removed_codes_.rbegin(); it != removed_codes_.rend(); ++it)
        if (it->first == id) return it->second;
      return code;
    }
    code = cur->state.exit_code;
    bool exited_since;
    {
      std::lock_guard lk(mu_);
      exited_since = exits_[id] > exits0;
    }
    if (cond == WaitCondition::NotRunning && !need_exit) return code;
    if (cond != WaitCondition::Removed && exited_since) return code;
    if (gone && gone()) return Error::make(ErrorCode::Unavailable, "client went away");
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::milliseconds(250), [&] { return counters() != seen; });
  }
}

Result<AttachStream> Engine::attach(const std::string& name_or_id, const std::function<bool()>& gone) {
  auto rec = BERTH_TRY(refresh(BERTH_TRY(containers_.resolve(name_or_id))));
  if (is_running(rec.state)) return shim_attach(rec.id, "");
  auto pending = std::make_shared<PendingAttach>();
  pending->id = rec.id;
  std::unique_lock lk(mu_);
  pending_attaches_.push_back(pending);
  for (;;) {
    if (pending->result) return std::move(*pending->result);
    bool left = gone && gone();
    if (left || !containers_.get(rec.id)) {
      std::erase(pending_attaches_, pending);
      if (pending->result) return std::move(*pending->result);
      return Error::make(ErrorCode::Unavailable, "{}", left ? "client went away" : "container removed");
    }
    cv_.wait_for(lk, std::chrono::milliseconds(250));
  }
}

Result<void> Engine::resize(const std::string& name_or_id, int height, int width) {
  auto rec = BERTH_TRY(refresh(BERTH_TRY(containers_.resolve(name_or_id))));
  if (!is_running(rec.state)) return Error::make(ErrorCode::Conflict, "Container {} is not running", rec.id);
  BERTH_TRY(shim_request(rec.id, {{"op", "resize"}, {"height", height}, {"width", width}}));
  return ok();
}

void Engine::restore() {
  auto all = containers_.list();
  if (!all) {
    log::error("engine: restore: {}", all.error().message());
    return;
  }
  // Directories of containers whose records are gone: a removal that the
  // daemon did not finish (it answers before it unmounts).
  std::set<std::string> ids;
  for (const auto& c : *all) ids.insert(c->id);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(o_.data_root + "/containers", ec)) {
    std::string name = e.path().filename();
    if (ids.count(name) || name.size() != 64) continue;
    log::info("engine: removing what is left of container {}", name.substr(0, 12));
    {
      std::lock_guard lk(mu_);
      teardowns_++;
    }
    teardown(name);
  }
  for (const auto& ptr : *all) {
    ContainerRecord c = *ptr;
    bool was_running = is_running(c.state) || c.state.status == "restarting";
    if (!was_running) continue;
    if (c.state.status == "restarting") {
      c.state.status = "exited";
      (void)containers_.set_state(c.id, c.state);
    }
    auto r = refresh(c);
    if (!r) {
      log::warn("engine: restore {}: {}", c.id.substr(0, 12), r.error().message());
      continue;
    }
    if (is_running(r->state)) {
      log::info("engine: re-adopted {} (pid {})", r->id.substr(0, 12), r->state.pid);
      start_monitor(r->id);
      if (health_watch_) health_watch_(*r);
    } else {
      log::info("engine: {} exited while the daemon was down (code {})", r->id.substr(0, 12),
                r->state.exit_code);
      std::thread([this, id = r->id] { after_exit(id); }).detach();
    }
  }
}

}  // namespace berth::engine
