// HealthMonitor: one thread per watched container, sleeping on a condition
// variable between probes; each probe is an exec through the container's
// shim (exec, attach for the output, wait_exec for the exit). See health.h.
#include "engine/health.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <thread>

#include "base/fd.h"
#include "base/log.h"
#include "base/strings.h"
#include "engine/engine.h"

namespace berth::engine {

using Clock = std::chrono::steady_clock;
using std::chrono::system_clock;

struct HealthMonitor::Checker {
  ContainerRecord rec;
  HealthProbe probe;
  Json process;  // the container's own OCI process: user, env, cwd, caps
  system_clock::time_point started;
  Fd wake;  // eventfd, readable once stop is set: interrupts a running probe

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;  // guarded by mu
  HealthState state;  // guarded by mu

  std::atomic<bool> done{false};
  std::thread thread;

  bool stopping() {
    std::lock_guard lk(mu);
    return stop;
  }
};

namespace {

std::atomic<uint64_t> exec_counter{0};

// Exec IDs must be unique for the shim's lifetime, which outlasts a daemon
// restart (and with it this counter): the start time keeps them apart.
std::string new_exec_id() {
  static const int64_t boot = system_clock::now().time_since_epoch().count();
  return fmt::format("health-{}-{}", boot, ++exec_counter);
}

system_clock::time_point started_at(const ContainerRecord& rec) {
  auto secs = parse_rfc3339_seconds(rec.state.started_at);
  // Docker's zero time ("0001-01-01...") or junk: it is starting now.
  if (!secs || *secs <= 0) return system_clock::now();
  return system_clock::time_point(std::chrono::seconds(*secs));
}

bool container_running(Engine& engine, const std::string& id) {
  auto st = engine.shim_request(id, {{"op", "state"}});
  return st && st->value("status", std::string()) == "running";
}

bool exec_running(Engine& engine, const std::string& id, const std::string& exec_id) {
  auto st = engine.shim_request(id, {{"op", "state"}});
  if (!st || !st->contains("execs") || !(*st)["execs"].contains(exec_id)) return false;
  return (*st)["execs"][exec_id].value("running", false);
}

}  // namespace

HealthMonitor::HealthMonitor(Engine& engine) : engine_(engine) {}

HealthMonitor::~HealthMonitor() {
  std::vector<std::shared_ptr<Checker>> all;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, c] : checkers_) all.push_back(c);
    for (auto& c : retired_) all.push_back(c);
    checkers_.clear();
    retired_.clear();
  }
  for (auto& c : all) {
    {
      std::lock_guard lk(c->mu);
      c->stop = true;
    }
    c->cv.notify_all();
    uint64_t one = 1;
    (void)!::write(c->wake.get(), &one, sizeof one);
  }
  for (auto& c : all)
    if (c->thread.joinable()) c->thread.join();
}

void HealthMonitor::watch(const ContainerRecord& rec) {
  {
    std::lock_guard lk(mu_);
    reap_retired();
    if (checkers_.count(rec.id)) return;
  }
  Json container_hc = rec.config->contains("Healthcheck") ? (*rec.config)["Healthcheck"] : Json();
  Json image_hc;
  if (auto img = engine_.images().resolve(rec.image_id)) {
    if (auto cfg = engine_.images().config(*img); cfg && cfg->json.contains("config")) {
      const Json& c = cfg->json["config"];
      if (c.is_object() && c.contains("Healthcheck")) image_hc = c["Healthcheck"];
    }
  }
  std::vector<std::string> shell;
  if (rec.config->contains("Shell") && (*rec.config)["Shell"].is_array())
    for (const auto& s : (*rec.config)["Shell"])
      if (s.is_string()) shell.push_back(s.get<std::string>());
  auto probe = resolve_healthcheck(container_hc, image_hc, shell);
  if (!probe) {
    log::warn("healthcheck of {}: {}", rec.id.substr(0, 12), probe.error().message());
    return;
  }
  if (!*probe) return;
  auto bundle = read_json_file(engine_.run_dir(rec.id) + "/bundle/config.json");
  if (!bundle || !bundle->contains("process") || !(*bundle)["process"].is_object()) {
    log::warn("healthcheck of {}: no process in the bundle's config.json", rec.id.substr(0, 12));
    return;
  }

  auto c = std::make_shared<Checker>();
  c->rec = rec;
  c->probe = std::move(**probe);
  c->process = (*bundle)["process"];
  c->started = started_at(rec);
  c->wake = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!c->wake) {
    log::warn("healthcheck of {}: eventfd: {}", rec.id.substr(0, 12), strerror(errno));
    return;
  }
  std::lock_guard lk(mu_);
  if (checkers_.count(rec.id)) return;  // a concurrent watch won
  checkers_[rec.id] = c;
  c->thread = std::thread([this, c] {
    run(c);
    c->done = true;
  });
}

void HealthMonitor::forget(const std::string& id) {
  std::lock_guard lk(mu_);
  reap_retired();
  auto it = checkers_.find(id);
  if (it == checkers_.end()) return;
  auto c = it->second;
  checkers_.erase(it);
  {
    std::lock_guard clk(c->mu);
    c->stop = true;
  }
  c->cv.notify_all();
  uint64_t one = 1;
  (void)!::write(c->wake.get(), &one, sizeof one);
  retired_.push_back(std::move(c));
}

std::optional<Json> HealthMonitor::state(const std::string& id) const {
  std::shared_ptr<Checker> c;
  {
    std::lock_guard lk(mu_);
    auto it = checkers_.find(id);
    if (it == checkers_.end()) return std::nullopt;
    c = it->second;
  }
  std::lock_guard lk(c->mu);
  return health_json(c->state);
}

// Joins the threads of forgotten checkers that have finished; mu_ held.
void HealthMonitor::reap_retired() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
}

void HealthMonitor::run(const std::shared_ptr<Checker>& c) {
  const HealthProbe& p = c->probe;
  for (;;) {
    {
      // Docker's cadence: StartInterval while starting inside the start
      // period, Interval otherwise; the first probe after one interval.
      std::unique_lock lk(c->mu);
      bool early = system_clock::now() < c->started + p.start_period && c->state.status == "starting";
      auto interval = early ? p.start_interval : p.interval;
      if (c->cv.wait_for(lk, interval, [&] { return c->stop; })) return;
    }
    auto start = system_clock::now();
    auto r = probe(*c);
    if (!r) return;  // stopped, or the container is no longer running
    std::string status;
    bool changed;
    {
      std::lock_guard lk(c->mu);
      if (c->stop) return;
      changed = apply_health_result(c->state, std::move(*r), p.retries, start < c->started + p.start_period);
      status = c->state.status;
    }
    if (changed) engine_.publish(c->rec, "health_status: " + status);
  }
}

std::optional<HealthResult> HealthMonitor::probe(Checker& c) {
  const std::string& id = c.rec.id;
  const std::string exec_id = new_exec_id();
  HealthResult r;
  r.start = now_rfc3339();
  Json process = c.process;
  process["args"] = c.probe.argv;
  process["terminal"] = false;
  process.erase("consoleSize");
  auto started = engine_.shim_request(
      id, {{"op", "exec"}, {"exec_id", exec_id}, {"process", process}, {"tty", false}, {"stdin", false}});
  if (!started) {
    if (c.stopping() || !container_running(engine_, id)) return std::nullopt;
    r.exit_code = -1;
    r.output = started.error().message();
    r.end = now_rfc3339();
    return r;
  }

  const auto deadline = Clock::now() + c.probe.timeout;
  auto ms_left = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, 60000));
  };
  bool timed_out = false, stopped = false;
  if (auto at = engine_.shim_attach(id, exec_id)) {
    // The shim closes the stream when the exec exits; exec output made
    // before this attach is kept for it.
    std::string pending;
    char buf[8192];
    for (;;) {
      pollfd fds[2] = {{at->fd.get(), POLLIN, 0}, {c.wake.get(), POLLIN, 0}};
      int n = ::poll(fds, 2, ms_left());
      if (n < 0 && errno == EINTR) continue;
      if (fds[1].revents) {
        stopped = true;
        break;
      }
      if (n == 0) {
        if (Clock::now() < deadline) continue;  // a 60 s slice of a longer timeout
        timed_out = true;
        break;
      }
      ssize_t got = ::read(at->fd.get(), buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) break;
      pending.append(buf, static_cast<size_t>(got));
      unframe_output(pending, r.output, kMaxHealthOutput);
    }
  } else {
    // No stream (the exec was already gone, say): watch its state instead.
    while (exec_running(engine_, id, exec_id)) {
      pollfd w = {c.wake.get(), POLLIN, 0};
      if (::poll(&w, 1, std::min(ms_left(), 50)) > 0) {
        stopped = true;
        break;
      }
      if (Clock::now() >= deadline) {
        timed_out = true;
        break;
      }
    }
  }
  if (timed_out || stopped)
    (void)engine_.shim_request(id, {{"op", "kill"}, {"exec_id", exec_id}, {"signal", 9}});
  if (stopped) return std::nullopt;
  // Returns at once: the process has exited (or was just killed).
  auto waited = engine_.shim_request(id, {{"op", "wait_exec"}, {"exec_id", exec_id}});
  r.end = now_rfc3339();
  if (timed_out) {
    r.exit_code = -1;
    r.output = "Health check exceeded timeout (" + go_duration(c.probe.timeout) + ")";
  } else if (waited && waited->contains("exit") && (*waited)["exit"].is_object()) {
    r.exit_code = (*waited)["exit"].value("exit_code", int64_t{-1});
  } else {
    if (c.stopping() || !container_running(engine_, id)) return std::nullopt;
    r.exit_code = -1;
    if (!waited) r.output = waited.error().message();
  }
  return r;
}

}  // namespace berth::engine
