// berth-shim's control socket: newline-delimited JSON requests, one reply
// line each ({"ok":true,...} or {"ok":false,"error":"...","code":"..."}),
// and the attach streams it hands out. Protocol: docs/design/shim.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "engine/shim.h"
#include "engine/shim_internal.h"
#include "sys/fd_passing.h"
#include "sys/spawn.h"

namespace berth::engine {

namespace {
constexpr size_t kMaxRequest = 1 << 20;
constexpr size_t kAttachPendingMax = 4 << 20;

bool valid_exec_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return id != "." && id != "..";
}
}  // namespace

// ---------------------------------------------------------------- attach

void Shim::attach_send(Attach& a, std::string_view data) {
  if (a.pending.empty()) {
    ssize_t n = ::send(a.fd.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) {
      drop_attach(a.fd.get());
      return;
    }
    if (n > 0) data.remove_prefix(static_cast<size_t>(n));
  }
  if (data.empty()) return;
  if (a.pending.size() + data.size() > kAttachPendingMax) {
    log::warn("attach client of {} too slow; dropped", opts_.id);
    drop_attach(a.fd.get());
    return;
  }
  a.pending.append(data);
  update_attach(a);
}

void Shim::update_attach(Attach& a) {
  if (a.closing && a.pending.empty()) {
    drop_attach(a.fd.get());
    return;
  }
  uint32_t ev = (a.reading && !a.closing ? uint32_t(EPOLLIN) : 0u) | (a.pending.empty() ? 0u : uint32_t(EPOLLOUT));
  watch(a.fd.get(), ev, {Watch::Attach, a.proc});
}

void Shim::drop_attach(int fd) {
  unwatch(fd);
  attaches_.erase(fd);
}

void Shim::on_attach_event(int fd, uint32_t events) {
  auto it = attaches_.find(fd);
  if (it == attaches_.end()) return;
  Attach& a = *it->second;
  if ((events & EPOLLOUT) && !a.pending.empty()) {
    ssize_t n = ::send(fd, a.pending.data(), a.pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) return drop_attach(fd);
    if (n > 0) a.pending.erase(0, static_cast<size_t>(n));
  }
  auto pit = procs_.find(a.proc);
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && a.reading) {
    char buf[32 * 1024];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0 && pit != procs_.end()) {
      Proc& p = *pit->second;
      if (stdin_fd(p) >= 0) {
        p.stdin_pending.append(buf, static_cast<size_t>(n));
        flush_stdin(p);
      }
    } else if (n == 0) {
      // Half-close: the client has no more input. With StdinOnce the
      // container sees EOF on its stdin (`echo hi | docker run -i cat`).
      a.reading = false;
      if (pit != procs_.end() && pit->second->stdin_once) {
        Proc& p = *pit->second;
        if (p.stdin_pending.empty()) close_stdin(p);
        else p.close_stdin_when_flushed = true;
      }
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return drop_attach(fd);
    }
  }
  if ((events & (EPOLLHUP | EPOLLERR)) && !a.reading) return drop_attach(fd);
  update_attach(a);
}

// ---------------------------------------------------------------- connections

void Shim::on_accept() {
  for (;;) {
    int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    // Replies are written blocking; a client that stops reading costs at
    // most this long.
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    auto c = std::make_unique<Conn>();
    c->fd.reset(fd);
    conns_[fd] = std::move(c);
    watch(fd, EPOLLIN, {Watch::Control, ""});
  }
}

void Shim::on_conn_event(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  char buf[16 * 1024];
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0 || c.in.size() + static_cast<size_t>(n) > kMaxRequest) {
    unwatch(fd);
    conns_.erase(it);
    return;
  }
  c.in.append(buf, static_cast<size_t>(n));
  size_t nl;
  while (!quit_ && conns_.count(fd) && (nl = c.in.find('\n')) != std::string::npos) {
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    if (!trim(line).empty()) handle_request(c, line);
  }
}

void Shim::reply(int fd, const Json& j) {
  (void)write_all(fd, j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}

void Shim::handle_request(Conn& c, const std::string& line) {
  bool deferred = false;
  Result<Json> r = Error::invalid("request");
  auto req = parse_json(line, "request");
  if (!req) r = req.error();
  else if (!req->is_object()) r = Error::invalid("request: expected a JSON object");
  else r = dispatch(c, *req, deferred);
  if (!r) {
    reply(c.fd.get(), {{"ok", false}, {"error", r.error().message()},
                       {"code", error_code_name(r.error().code())}});
  } else if (!deferred) {
    Json out = std::move(r).value();
    out["ok"] = true;
    reply(c.fd.get(), out);
  }
}

Result<Json> Shim::dispatch(Conn& c, const Json& req, bool& deferred) {
  JsonReader r(req, "");
  auto op = BERTH_TRY(r.str("op"));
  if (op == "start") return op_start();
  if (op == "state") return op_state();
  if (op == "kill") return op_kill(r);
  if (op == "resize") return op_resize(r);
  if (op == "attach") return op_attach(c, r, deferred);
  if (op == "exec") return op_exec(r);
  if (op == "delete") return op_delete(r);
  if (op == "wait" || op == "wait_exec") {
    Proc* p = BERTH_TRY(find_proc(r));
    if (p->exited) return Json{{"exit", p->exit.to_json()}};
    p->waiters.push_back(c.fd.get());
    deferred = true;
    return Json::object();
  }
  return Error::invalid("unknown op {:?}", op);
}

Result<Shim::Proc*> Shim::find_proc(const JsonReader& r) {
  std::string id = BERTH_TRY(r.opt_str("exec_id")).value_or("");
  auto it = procs_.find(id);
  if (it == procs_.end()) return Error::not_found("no such exec {:?}", id);
  return it->second.get();
}

// ---------------------------------------------------------------- operations

Result<Json> Shim::op_start() {
  if (started_) return Error(ErrorCode::Conflict, "container already started");
  if (!opts_.start) BERTH_TRY(run_runtime(runtime_cmd({"start", opts_.id})));
  started_ = true;
  // Kept only for the attaches made before this op; a later attach gets
  // what comes from now on, as Docker's.
  procs_.at("")->early.clear();
  return Json{{"pid", init_pid()}};
}

Result<Json> Shim::op_state() {
  const Proc& init = *procs_.at("");
  Json j = {{"id", opts_.id}, {"pid", init.pid},
            {"status", init.exited ? "stopped" : started_ ? "running" : "created"}};
  if (init.exited) j["exit"] = init.exit.to_json();
  Json execs = Json::object();
  for (const auto& [id, p] : procs_) {
    if (id.empty()) continue;
    Json e = {{"pid", p->pid}, {"running", !p->exited}};
    if (p->exited) e["exit"] = p->exit.to_json();
    execs[id] = e;
  }
  j["execs"] = execs;
  return j;
}

Result<Json> Shim::op_kill(const JsonReader& r) {
  Proc* p = BERTH_TRY(find_proc(r));
  int sig = static_cast<int>(BERTH_TRY(r.opt_int("signal")).value_or(SIGTERM));
  if (sig <= 0 || sig >= 65) return Error::invalid("invalid signal {}", sig);
  if (p->exited) return Error(ErrorCode::FailedPrecondition, "process is not running");
  if (!p->exec_id.empty()) {
    // Our own unreaped child: its pid cannot have been recycled.
    if (::kill(p->pid, sig) < 0) return Error::sys(errno, "kill exec {}", p->exec_id);
    return Json::object();
  }
  auto argv = runtime_cmd({"kill"});
  if (BERTH_TRY(r.opt_bool("all")).value_or(false)) argv.push_back("--all");
  argv.push_back(opts_.id);
  argv.push_back(std::to_string(sig));
  BERTH_TRY(run_runtime(argv));
  return Json::object();
}

Result<Json> Shim::op_resize(const JsonReader& r) {
  Proc* p = BERTH_TRY(find_proc(r));
  if (!p->tty || !p->master) return Error(ErrorCode::FailedPrecondition, "process has no terminal");
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(BERTH_TRY(r.opt_uint("height")).value_or(24));
  ws.ws_col = static_cast<unsigned short>(BERTH_TRY(r.opt_uint("width")).value_or(80));
  if (::ioctl(p->master.get(), TIOCSWINSZ, &ws) < 0) return Error::sys(errno, "resize terminal");
  return Json::object();
}

Result<Json> Shim::op_attach(Conn& c, const JsonReader& r, bool& deferred) {
  Proc* p = BERTH_TRY(find_proc(r));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return Error::sys(errno, "socketpair");
  Fd ours(sv[0]), theirs(sv[1]);
  // The reply line travels as the payload of the message carrying the fd.
  Json rep = {{"ok", true}, {"tty", p->tty}, {"stdin", stdin_fd(*p) >= 0}};
  BERTH_TRY(sys::send_fd(c.fd.get(), theirs.get(), rep.dump() + "\n"));
  deferred = true;
  auto a = std::make_unique<Attach>();
  a->fd = std::move(ours);
  a->proc = p->exec_id;
  a->closing = p->exited;
  Attach& ref = *a;
  attaches_[ref.fd.get()] = std::move(a);
  std::string early = std::exchange(p->early, {});
  p->attached_once = true;
  if (!early.empty()) attach_send(ref, early);
  if (attaches_.count(sv[0])) update_attach(ref);
  return Json::object();
}

Result<Json> Shim::op_exec(const JsonReader& r) {
  std::string id = BERTH_TRY(r.str("exec_id"));
  if (!valid_exec_id(id)) return Error::invalid("invalid exec_id {:?}", id);
  if (procs_.count(id)) return Error(ErrorCode::AlreadyExists, fmt::format("exec {} exists", id));
  if (procs_.at("")->exited) return Error(ErrorCode::FailedPrecondition, "container is not running");
  if (!r.has("process") || !r.json().at("process").is_object())
    return Error::invalid("exec: process must be an OCI process object");
  Json process = r.json().at("process");
  auto p = std::make_unique<Proc>();
  p->exec_id = id;
  p->tty = BERTH_TRY(r.opt_bool("tty")).value_or(false);
  p->has_stdin = BERTH_TRY(r.opt_bool("stdin")).value_or(false);
  p->stdin_once = p->has_stdin;  // docker exec -i: EOF from the client ends stdin
  process["terminal"] = p->tty;
  std::string base = opts_.state_dir + "/exec-" + id;
  BERTH_TRY(write_file(base + ".json", process.dump(), 0600));
  ProcIo io;
  BERTH_TRY(prepare_io(*p, io, "exec-" + id));
  auto argv = runtime_cmd({"exec", "--process", base + ".json", "--detach", "--pid-file", base + ".pid"});
  if (p->tty) {
    argv.push_back("--console-socket");
    argv.push_back(io.console_path);
  }
  argv.push_back(opts_.id);
  (void)write_file(opts_.state_dir + "/runtime.log", "", 0600);
  int rc = BERTH_TRY(
      sys::run_and_wait(argv, {io.child_in.get(), io.child_out.get(), io.child_err.get()}, runtime_exe_.get()));
  ::unlink((base + ".json").c_str());
  if (rc != 0) {
    ::unlink(io.console_path.c_str());
    if (p->out) unwatch(p->out.get());
    std::string msg = runtime_error_text();
    return Error::make(ErrorCode::Internal, "runtime exec failed (exit {}){}{}", rc,
                       msg.empty() ? "" : ": ", msg);
  }
  auto pid_text = BERTH_TRY(read_file(base + ".pid"));
  ::unlink((base + ".pid").c_str());
  auto pid = parse_int(trim(pid_text));
  if (!pid || *pid <= 0) return Error::internal("bad exec pid file: {:?}", pid_text);
  p->pid = static_cast<pid_t>(*pid);
  Proc& ref = *p;
  procs_[id] = std::move(p);
  BERTH_TRY_CTX(finish_io(ref, io), "exec {}", id);
  return Json{{"pid", ref.pid}};
}

Result<Json> Shim::op_delete(const JsonReader& r) {
  bool force = BERTH_TRY(r.opt_bool("force")).value_or(false);
  const Proc& init = *procs_.at("");
  if (!init.exited && started_ && !force)
    return Error(ErrorCode::FailedPrecondition, "container is running: kill it first or delete with force");
  auto argv = runtime_cmd({"delete"});
  if (force || !started_) argv.push_back("--force");
  argv.push_back(opts_.id);
  BERTH_TRY(run_runtime(argv));
  quit_ = true;
  return Json::object();
}

}  // namespace berth::engine
