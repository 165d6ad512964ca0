#include "engine/engine.h"

#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "engine/container_ops.h"
#include "engine/spec.h"
#include "image/reference.h"
#include "sys/fd_passing.h"
#include "sys/spawn.h"
#include "sys/tree.h"

namespace berth::engine {

namespace {

// Run a program, wait for it, return its stdout (stderr on failure).
Result<std::string> run_capture(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Error::sys(errno, "pipe");
  Fd out_r(out[0]), out_w(out[1]);
  if (pipe2(err, O_CLOEXEC) != 0) return Error::sys(errno, "pipe");
  Fd err_r(err[0]), err_w(err[1]);
  pid_t pid = BERTH_TRY(sys::spawn(argv, {-1, out_w.get(), err_w.get()}));
  out_w.reset();
  err_w.reset();
  std::string sout = read_fd(out_r.get()).value_or("");
  std::string serr = read_fd(err_r.get()).value_or("");
  int code = BERTH_TRY(sys::wait_exit(pid));
  if (code != 0) return Error::internal("{}: {}", argv[0], std::string(trim(serr.empty() ? sout : serr)));
  return sout;
}

// Start a shim that serves in the process started (--no-fork). Its stdout
// and stderr are a pipe it closes once the container runs or failed to;
// what it wrote there is the outcome: "ok PID" or the error.
Result<pid_t> spawn_shim(const std::vector<std::string>& argv) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Error::sys(errno, "pipe");
  Fd rd(p[0]), wr(p[1]);
  pid_t pid = BERTH_TRY(sys::spawn(argv, {-1, wr.get(), wr.get()}));
  wr.reset();
  std::string text = read_fd(rd.get()).value_or("");
  if (text.starts_with("ok ")) return pid;
  (void)sys::wait_exit(pid);
  if (text.starts_with("error: ")) text.erase(0, 7);
  if (trim(text).empty()) text = "shim exited before the container was created";
  return Error::internal("{}: berth-shim: {}", argv[0], std::string(trim(text)));
}

ImageConfigSummary image_summary(const image::ImageConfig& cfg) {
  ImageConfigSummary s;
  const Json c = cfg.json.contains("config") && cfg.json["config"].is_object() ? cfg.json["config"] : Json::object();
  auto strings = [&](const char* k) {
    std::vector<std::string> v;
    if (c.contains(k) && c[k].is_array())
      for (const auto& e : c[k])
        if (e.is_string()) v.push_back(e.get<std::string>());
    return v;
  };
  s.env = strings("Env");
  s.cmd = strings("Cmd");
  s.entrypoint = strings("Entrypoint");
  s.working_dir = c.value("WorkingDir", "");
  s.user = c.value("User", "");
  s.stop_signal = c.value("StopSignal", "");
  return s;
}

std::string now() { return now_rfc3339(); }

}  // namespace

std::string Engine::container_dir(const std::string& id) const {
  return o_.data_root + "/containers/" + id;
}
std::string Engine::run_dir(const std::string& id) const { return o_.exec_root + "/containers/" + id; }
// The shim's socket path must fit sockaddr_un (108 bytes): a short
// directory, named by the first 16 hex digits of the ID.
std::string Engine::shim_dir(const std::string& id) const { return o_.exec_root + "/s/" + id.substr(0, 16); }
std::string Engine::log_path(const std::string& id) const {
  return container_dir(id) + "/" + id + "-json.log";
}

void Engine::publish(const ContainerRecord& rec, const std::string& action,
                     std::map<std::string, std::string> extra) {
  // Docker's attributes: the container's labels (which `events --filter
  // label=` matches), then its name and image over them.
  if (rec.config->contains("Labels") && (*rec.config)["Labels"].is_object())
    for (const auto& [k, v] : (*rec.config)["Labels"].items())
      if (v.is_string()) extra[k] = v.get<std::string>();
  extra["name"] = rec.name;
  extra["image"] = rec.image_name;
  events_.publish({"container", action, rec.id, std::move(extra), 0});
}

Result<ContainerRecord> Engine::create(const std::string& name, const Json& body) {
  auto cfg = BERTH_TRY(read_create_request(body));
  if (cfg.image.empty()) return Error::invalid("no image given");
  auto img = images_.resolve(cfg.image);
  if (!img) {
    if (img.error().code() != ErrorCode::NotFound) return img.error();
    auto ref = image::parse_normalized(cfg.image);
    std::string shown = ref ? ref->familiar() : cfg.image;
    if (ref && ref->tag.empty() && ref->digest.empty()) shown += ":latest";
    return Error::not_found("No such image: {}", shown);
  }
  auto icfg = BERTH_TRY(images_.config(*img));
  auto rec = BERTH_TRY(containers_.create({name, img->id, cfg.image, body}));
  // From here on, a failure removes what was made.
  auto undo = [&](Error e) -> Error {
    umount2((container_dir(rec.id) + "/rootfs").c_str(), MNT_DETACH);
    (void)sys::remove_tree(container_dir(rec.id));
    (void)sys::remove_tree(run_dir(rec.id));
    (void)sys::remove_tree(shim_dir(rec.id));
    (void)containers_.remove(rec.id);
    return e;
  };
  std::string dir = container_dir(rec.id);
  std::string rootfs = dir + "/rootfs";
  if (auto r = mkdir_all(rootfs, 0755); !r) return undo(r.error());
  std::vector<std::string> top_first(img->chain_ids.rbegin(), img->chain_ids.rend());
  if (auto r = images_.layers().mount(top_first, dir + "/rw/upper", dir + "/rw/work", rootfs); !r)
    return undo(r.error().context("mount the root file system"));
  std::string hostname = cfg.hostname.empty() ? rec.id.substr(0, 12) : cfg.hostname;
  auto resolv = read_file("/etc/resolv.conf").value_or("");
  for (auto [file, text] : {std::pair{std::string("hostname"), hostname + "\n"},
                            {"hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
                                          std::string("127.0.0.1\t") + hostname + "\n"},
                            {"resolv.conf", resolv}}) {
    // Fresh files in a fresh directory, made again by a create after a crash:
    // no rename or fsync needed (Docker does neither).
    if (auto r = write_file(dir + "/" + file, text); !r) return undo(r.error());
  }
  SpecContext ctx;
  ctx.id = rec.id;
  ctx.rootfs = rootfs;
  ctx.hostname_path = dir + "/hostname";
  ctx.hosts_path = dir + "/hosts";
  ctx.resolv_conf_path = dir + "/resolv.conf";
  ctx.cgroup_v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  auto caps = bounding_capabilities();
  if (!caps) return undo(caps.error());
  ctx.daemon_capabilities = *caps;
  ctx.init_path = o_.init;
  auto spec = build_oci_spec(cfg, image_summary(icfg), ctx);
  if (!spec) return undo(spec.error());
  std::string bundle = run_dir(rec.id) + "/bundle";
  if (auto r = mkdir_all(bundle, 0700); !r) return undo(r.error());
  if (auto r = write_file(bundle + "/config.json", spec->dump(), 0600); !r) return undo(r.error());
  publish(rec, "create");
  return rec;
}

// The shim's error reply as an Error with the code it named.
static Error shim_error(const Json& reply) {
  std::string code = reply.value("code", std::string());
  ErrorCode c = ErrorCode::Internal;
  for (ErrorCode k : {ErrorCode::NotFound, ErrorCode::InvalidArgument, ErrorCode::AlreadyExists,
                      ErrorCode::Conflict, ErrorCode::FailedPrecondition})
    if (code == error_code_name(k)) c = k;
  return Error(c, "shim: " + reply.value("error", std::string("request failed")));
}

Result<Json> Engine::shim_request(const std::string& id, const Json& req) {
  auto fd = BERTH_TRY_CTX(sys::connect_unix(shim_dir(id) + "/shim.sock"), "connect to the shim of {}",
                          id.substr(0, 12));
  BERTH_TRY(write_all(fd.get(), req.dump() + "\n"));
  std::string reply;
  char buf[4096];
  while (reply.empty() || reply.back() != '\n') {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  auto j = parse_json(reply, "shim reply");
  if (!j) return j.error();
  if (!j->value("ok", false)) return shim_error(*j);
  return j;
}

Result<AttachStream> Engine::shim_attach(const std::string& id, const std::string& exec_id) {
  auto fd = BERTH_TRY(sys::connect_unix(shim_dir(id) + "/shim.sock"));
  Json req = {{"op", "attach"}};
  if (!exec_id.empty()) req["exec_id"] = exec_id;
  BERTH_TRY(write_all(fd.get(), req.dump() + "\n"));
  // The reply line is the payload of the message that carries the stream.
  auto m = BERTH_TRY_CTX(sys::recv_message(fd.get()), "attach to {}", id.substr(0, 12));
  AttachStream out;
  out.fd = std::move(m.fd);
  auto j = parse_json(m.payload, "shim reply");
  if (!j) return j.error();
  if (!j->value("ok", false)) return shim_error(*j);
  if (!out.fd) return Error::internal("shim: attach reply carried no stream");
  out.tty = j->value("tty", false);
  out.stdin = j->value("stdin", false);
  return out;
}

Result<ContainerRecord> Engine::refresh(ContainerRecord rec, const Json* reported) {
  if (rec.state.status != "running" && rec.state.status != "paused") return rec;
  Result<Json> st = reported ? Result<Json>(*reported) : shim_request(rec.id, {{"op", "state"}});
  ContainerState s = rec.state;
  if (!st) {
    // No shim: the container cannot be running; its exit record (if the
    // shim wrote one before it went) says how it ended.
    auto exit = read_json_file(shim_dir(rec.id) + "/exit.json");
    s.status = "exited";
    s.pid = 0;
    if (exit) {
      s.exit_code = exit->value("exit_code", int64_t{-1});
      s.oom_killed = exit->value("oom_killed", false);
      s.finished_at = exit->value("exited_at", now());
    } else {
      s.exit_code = -1;
      s.finished_at = now();
    }
  } else if (st->contains("exit") && (*st)["exit"].is_object()) {
    const Json& e = (*st)["exit"];
    s.status = "exited";
    s.pid = 0;
    s.exit_code = e.value("exit_code", int64_t{-1});
    s.oom_killed = e.value("oom_killed", false);
    s.finished_at = e.value("exited_at", now());
  } else {
    s.pid = st->value("pid", s.pid);
    // The shim knows running or not; paused is the engine's own record.
    s.status = rec.state.status == "paused" ? "paused" : "running";
  }
  if (s.status != rec.state.status) {
    // Two threads may notice one exit (a monitor and a request): the one
    // whose compare-and-set moves the state counts it.
    bool counted = false;
    {
      std::lock_guard lk(mu_);
      auto cur = containers_.get(rec.id);
      if (cur && cur->state.status == rec.state.status && cur->state.started_at == rec.state.started_at) {
        BERTH_TRY(containers_.set_state(rec.id, s));
        if (s.status == "exited") {
          exits_[rec.id]++;
          counted = true;
        }
        cv_.notify_all();
      } else if (cur) {
        s = cur->state;
      }
    }
    if (counted) publish(rec, "die", {{"exitCode", std::to_string(s.exit_code)}});
  }
  rec.state = s;
  return rec;
}

std::optional<int> command_failure_code(const std::string& why) {
  auto has = [&](const char* s) { return why.find(s) != std::string::npos; };
  if (has("executable file not found") || has("no such file or directory")) return 127;
  if (has("permission denied") || has("is a directory")) return 126;
  return std::nullopt;
}

Result<void> Engine::start(const std::string& name_or_id) { return start_run(name_or_id, false); }

Result<void> Engine::start_run(const std::string& name_or_id, bool by_policy) {
  auto id = BERTH_TRY(containers_.resolve(name_or_id)).id;
  auto lock = container_lock(id);
  std::unique_lock run(*lock);
  auto rec = BERTH_TRY(refresh(BERTH_TRY(containers_.get(id))));
  if (rec.state.status == "running" || rec.state.status == "paused")
    return Error::make(ErrorCode::AlreadyExists, "container {} is already running", rec.name);
  if (by_policy) {
    bool stopped;
    {
      std::lock_guard lk(mu_);
      stopped = stopping_.count(rec.id) > 0;
    }
    if (stopped || rec.state.manually_stopped || rec.state.status != "restarting") {
      // A user stopped it between the exit and now: the loop ends here.
      if (rec.state.status == "restarting") {
        rec.state.status = "exited";
        BERTH_TRY(containers_.set_state(rec.id, rec.state));
        notify();
      }
      return ok();
    }
  }
  if (auto st = launch(rec, by_policy); !st) {
    // Docker's rule: the container stays created, with the reason and the
    // shell's code for a command that cannot be found (127) or run (126);
    // one to be removed automatically goes now.
    const std::string& why = st.error().message();
    rec.state.exit_code = command_failure_code(why).value_or(128);
    rec.state.error = why;
    if (rec.state.status == "restarting") rec.state.status = "exited";
    (void)containers_.set_state(rec.id, rec.state);
    reap_shim(rec.id, shim_request(rec.id, {{"op", "delete"}, {"force", true}}).ok());
    notify();
    if (restart_policy(rec).auto_remove) {
      run.unlock();
      if (auto d = remove(rec.id, true); !d && d.error().code() != ErrorCode::NotFound)
        log::warn("engine: auto-remove {}: {}", rec.id.substr(0, 12), d.error().message());
    }
    // A command that cannot run is the request's fault (400, as Docker).
    if (rec.state.exit_code != 128) return Error::make(ErrorCode::InvalidArgument, "{}", rec.state.error);
    return st;
  }
  start_monitor(rec.id);
  notify();
  publish(rec, "start");
  if (health_watch_) health_watch_(rec);
  return ok();
}

Result<void> Engine::launch(ContainerRecord& rec, bool by_policy) {
  auto cfg = BERTH_TRY(read_create_request(*rec.config));
  std::string sdir = shim_dir(rec.id);
  // A restart: what the previous run left (nothing on a first start).
  delete_run(rec.id);
  (void)sys::remove_tree(sdir);
  BERTH_TRY(mkdir_all(o_.exec_root + "/runtime", 0700));
  std::vector<std::string> argv = {o_.shim, "--id", rec.id, "--bundle", run_dir(rec.id) + "/bundle",
                                   "--runtime", o_.runtime, "--runtime-root", o_.exec_root + "/runtime",
                                   "--state-dir", sdir, "--log-path", log_path(rec.id)};
  // Created and started by one runtime call; the start op below only
  // tells the shim that the attaches waiting for this start are in place.
  argv.insert(argv.end(), {"--start", "--no-fork"});
  if (cfg.tty) argv.push_back("--tty");
  if (cfg.open_stdin) argv.push_back(cfg.stdin_once ? "--stdin-once" : "--stdin");
  if (auto it = cfg.host.log_config.find("max-size"); it != cfg.host.log_config.end())
    argv.insert(argv.end(), {"--log-max-size", it->second});
  if (auto it = cfg.host.log_config.find("max-file"); it != cfg.host.log_config.end())
    argv.insert(argv.end(), {"--log-max-file", it->second});
  if (!by_policy) {
    std::lock_guard lk(mu_);
    stopping_.erase(rec.id);
  }
  log::debug("engine: start {}: shim", rec.id.substr(0, 12));
  pid_t shim = BERTH_TRY_CTX(spawn_shim(argv), "start container {}", rec.name);
  {
    std::lock_guard lk(mu_);
    shim_pids_[rec.id] = shim;
  }
  log::debug("engine: start {}: created", rec.id.substr(0, 12));
  // Created, not yet running: hand the attach streams that wait for this
  // start to their clients now, so they see all of the output.
  {
    std::lock_guard lk(mu_);
    for (auto& p : pending_attaches_)
      if (p->id == rec.id && !p->result) p->result = shim_attach(rec.id, "");
    std::erase_if(pending_attaches_, [](const auto& p) { return p->result.has_value(); });
    cv_.notify_all();
  }
  auto started = BERTH_TRY_CTX(shim_request(rec.id, {{"op", "start"}}), "start container {}", rec.name);
  log::debug("engine: start {}: started", rec.id.substr(0, 12));
  rec.state.status = "running";
  rec.state.pid = started.value("pid", int64_t{0});
  rec.state.started_at = now();
  rec.state.finished_at = "0001-01-01T00:00:00Z";
  rec.state.exit_code = 0;
  rec.state.oom_killed = false;
  rec.state.error.clear();
  if (!by_policy) {
    rec.state.manually_stopped = false;
    rec.state.restart_count = 0;
  }
  BERTH_TRY(containers_.set_state(rec.id, rec.state));
  return ok();
}

Result<void> Engine::kill(const std::string& name_or_id, int signal) {
  auto lock = container_lock(BERTH_TRY(containers_.resolve(name_or_id)).id);
  std::lock_guard run(*lock);
  auto rec = BERTH_TRY(refresh(BERTH_TRY(containers_.resolve(name_or_id))));
  if (rec.state.status != "running" && rec.state.status != "paused")
    return Error::make(ErrorCode::Conflict, "Container {} is not running", rec.id);
  // A signal meant to end the container is a user's stop: the restart
  // policy leaves it down (WINCH and friends, which the CLI forwards, are not).
  if (signal == SIGKILL || signal == SIGTERM || signal == SIGINT || signal == SIGQUIT) mark_stopped(rec);
  BERTH_TRY(shim_request(rec.id, {{"op", "kill"}, {"signal", signal}}));
  // A frozen process cannot take the signal: thaw it, as Docker does.
  (void)resume_if_paused(*this, rec);
  publish(rec, "kill", {{"signal", std::to_string(signal)}});
  return ok();
}

void Engine::mark_stopped(ContainerRecord& rec) {
  {
    std::lock_guard lk(mu_);
    stopping_.insert(rec.id);
    cv_.notify_all();
  }
  if (auto cur = containers_.get(rec.id); cur) {
    cur->state.manually_stopped = true;
    (void)containers_.set_state(rec.id, cur->state);
    rec.state.manually_stopped = true;
  }
}

Result<void> Engine::stop(const std::string& name_or_id, int timeout_s) {
  // Under the container's lock: a restart by the policy cannot slip in.
  auto lock = container_lock(BERTH_TRY(containers_.resolve(name_or_id)).id);
  std::lock_guard run(*lock);
  auto rec = BERTH_TRY(refresh(BERTH_TRY(containers_.resolve(name_or_id))));
  if (rec.state.status == "restarting") {
    // Between two runs of a restart policy: stopping ends the loop.
    mark_stopped(rec);
    return ok();
  }
  if (rec.state.status != "running" && rec.state.status != "paused")
    return Error::make(ErrorCode::AlreadyExists, "container {} is not running", rec.name);
  mark_stopped(rec);
  int sig = SIGTERM;
  if (auto s = rec.config->value("StopSignal", std::string()); !s.empty())
    if (auto n = parse_int(s); n && *n > 0 && *n < 65) sig = static_cast<int>(*n);
  (void)shim_request(rec.id, {{"op", "kill"}, {"signal", sig}});
  (void)resume_if_paused(*this, rec);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    rec = BERTH_TRY(refresh(rec));
    if (rec.state.status == "exited") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (rec.state.status != "exited") {
    (void)shim_request(rec.id, {{"op", "kill"}, {"signal", SIGKILL}});
    (void)wait(rec.id);
  }
  publish(rec, "stop");
  return ok();
}

Result<void> Engine::remove(const std::string& name_or_id, bool force) {
  auto lock = container_lock(BERTH_TRY(containers_.resolve(name_or_id)).id);
  std::lock_guard run(*lock);
  auto rec = BERTH_TRY(refresh(BERTH_TRY(containers_.resolve(name_or_id))));
  if (rec.state.status == "restarting") {
    if (!force)
      return Error::make(ErrorCode::Conflict,
                         "You cannot remove a restarting container {}. Stop the container before "
                         "attempting removal or force remove",
                         rec.id);
    mark_stopped(rec);
  }
  if (rec.state.status == "running" || rec.state.status == "paused") {
    if (!force)
      return Error::make(ErrorCode::Conflict,
                         "You cannot remove a running container {}. Stop the container before "
                         "attempting removal or force remove",
                         rec.id);
    mark_stopped(rec);
    (void)shim_request(rec.id, {{"op", "kill"}, {"signal", SIGKILL}});
    (void)wait(rec.id);
    if (auto cur = containers_.get(rec.id); cur) rec = std::move(*cur);  // its exit code
  }
  if (health_forget_) health_forget_(rec.id);
  // Gone from the API first: a `wait?condition=removed` (docker run --rm)
  // returns now, while the runtime's state is deleted and the overlay
  // unmounted below (its unmount syncs the upper file system, the slow
  // part). A crash in between leaves what restore() removes.
  BERTH_TRY(containers_.remove(rec.id));
  {
    std::lock_guard lk(mu_);
    std::erase_if(execs_, [&](const auto& e) { return e.second.container_id == rec.id; });
    stopping_.erase(rec.id);
    exits_.erase(rec.id);
    locks_.erase(rec.id);
    removed_codes_.emplace_back(rec.id, rec.state.exit_code);
    if (removed_codes_.size() > 1024) removed_codes_.pop_front();
    teardowns_++;
    removals_++;
    cv_.notify_all();
  }
  publish(rec, "destroy");
  teardown(rec.id);
  return ok();
}

void Engine::teardown(const std::string& id) {
  delete_run(id);
  std::string rootfs = container_dir(id) + "/rootfs";
  if (umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    log::warn("engine: unmount {}: {}", rootfs, Error::errno_text(errno));
  (void)sys::remove_tree(container_dir(id));
  (void)sys::remove_tree(run_dir(id));
  (void)sys::remove_tree(shim_dir(id));
  std::lock_guard lk(mu_);
  teardowns_--;
  cv_.notify_all();
}

void Engine::delete_run(const std::string& id) {
  bool deleted = shim_request(id, {{"op", "delete"}, {"force", true}}).ok();
  if (!deleted && access((o_.exec_root + "/runtime/" + id).c_str(), F_OK) == 0)
    (void)run_capture({o_.runtime, "--root", o_.exec_root + "/runtime", "delete", "--force", id});
  reap_shim(id, deleted);
}

void Engine::reap_shim(const std::string& id, bool deleted) {
  pid_t pid;
  {
    std::lock_guard lk(mu_);
    auto it = shim_pids_.find(id);
    if (it == shim_pids_.end()) return;
    pid = it->second;
  }
  if (deleted) {
    // It answered delete and is on its way out: wait for that, bounded.
    Fd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    pollfd p{exited.get(), POLLIN, 0};
    if (exited) (void)::poll(&p, 1, 2000);
  }
  int status;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid || (r < 0 && errno == ECHILD)) {
    std::lock_guard lk(mu_);
    if (auto it = shim_pids_.find(id); it != shim_pids_.end() && it->second == pid) shim_pids_.erase(it);
  }
}

void Engine::drain() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return teardowns_ == 0; });
}

Result<ContainerRecord> Engine::inspect(const std::string& name_or_id) {
  return refresh(BERTH_TRY(containers_.resolve(name_or_id)));
}

Result<std::vector<RecordPtr>> Engine::list() {
  auto all = BERTH_TRY(containers_.list());
  // Only a running container's state can be behind (its shim is asked).
  for (auto& c : all)
    if (c->state.status == "running" || c->state.status == "paused")
      c = std::make_shared<const ContainerRecord>(BERTH_TRY(refresh(*c)));
  return all;
}

}  // namespace berth::engine
