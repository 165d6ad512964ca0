// The event loop, process stdio and exit handling of berth-shim. The
// control requests live in shim_control.cpp.
#include "engine/shim.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "engine/shim_internal.h"
#include "engine/shim_spawn.h"
#include "sys/readonly_exec.h"
#include "sys/fd_passing.h"
#include "sys/spawn.h"

namespace berth::engine {

namespace {

void set_nonblock(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

// Docker's stream header for a multiplexed (non-tty) attach: stream id, three
// zero bytes, big-endian payload length.
std::string frame(int stream, std::string_view data) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  uint32_t n = static_cast<uint32_t>(data.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  out.append(data);
  return out;
}

constexpr size_t kEarlyMax = 1 << 20;       // exec output kept for a late attach

}  // namespace

Shim::Shim(ShimOptions opts) : opts_(std::move(opts)) {}
Shim::~Shim() = default;

pid_t Shim::init_pid() const {
  auto it = procs_.find("");
  return it == procs_.end() ? 0 : it->second->pid;
}

std::vector<std::string> Shim::runtime_cmd(std::initializer_list<std::string> args) const {
  std::vector<std::string> v{opts_.runtime, "--root", opts_.runtime_root, "--log",
                             opts_.state_dir + "/runtime.log", "--log-format", "json"};
  v.insert(v.end(), args);
  return v;
}

std::string Shim::runtime_error_text() const {
  auto text = read_file(opts_.state_dir + "/runtime.log");
  if (!text) return "";
  auto lines = split(*text, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (trim(*it).empty()) continue;
    auto j = parse_json(*it, "runtime log");
    if (j && j->is_object() && j->value("level", "") == "error") return j->value("msg", "");
    if (!j) return std::string(trim(*it));
  }
  return "";
}

Result<void> Shim::run_runtime(std::vector<std::string> argv, int out_fd) {
  (void)write_file(opts_.state_dir + "/runtime.log", "", 0600);
  sys::SpawnStdio io;
  io.out = out_fd;
  io.err = out_fd;
  int rc = BERTH_TRY(sys::run_and_wait(argv, io, runtime_exe_.get()));
  if (rc != 0) {
    std::string msg = runtime_error_text();
    return Error::make(ErrorCode::Internal, "{} {} failed (exit {}){}{}", opts_.runtime, argv[7], rc,
                       msg.empty() ? "" : ": ", msg);
  }
  return {};
}

Result<void> Shim::prepare_io(Proc& p, ProcIo& io, const std::string& tag) {
  if (p.tty) {
    // A socket path must fit sockaddr_un: named by a counter, not the exec ID.
    io.console_path = opts_.state_dir + "/" + (tag == "init" ? tag : "exec-" + std::to_string(++console_seq_)) + ".console";
    io.console_listen = BERTH_TRY(listen_unix(io.console_path));
    return {};
  }
  auto [out_r, out_w] = BERTH_TRY(make_pipe());
  auto [err_r, err_w] = BERTH_TRY(make_pipe());
  p.out = std::move(out_r);
  p.err = std::move(err_r);
  io.child_out = std::move(out_w);
  io.child_err = std::move(err_w);
  if (p.has_stdin) {
    auto [in_r, in_w] = BERTH_TRY(make_pipe());
    io.child_in = std::move(in_r);
    p.in = std::move(in_w);
  }
  return {};
}

Result<void> Shim::finish_io(Proc& p, ProcIo& io) {
  if (p.tty) {
    // The runtime connected and sent the master before it exited, so the
    // connection is already queued on the listening socket.
    Fd conn(::accept4(io.console_listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ::unlink(io.console_path.c_str());
    if (!conn) return Error::sys(errno, "accept on console socket {}", io.console_path);
    p.master = BERTH_TRY_CTX(sys::recv_fd(conn.get()), "receive pty master");
    set_nonblock(p.master.get());
    watch(p.master.get(), EPOLLIN, {Watch::Master, p.exec_id});
    return {};
  }
  io.child_in.reset();
  io.child_out.reset();
  io.child_err.reset();
  for (Fd* f : {&p.out, &p.err, &p.in}) {
    if (*f) set_nonblock(f->get());
  }
  watch(p.out.get(), EPOLLIN, {Watch::Out, p.exec_id});
  watch(p.err.get(), EPOLLIN, {Watch::Err, p.exec_id});
  return {};
}

Result<void> Shim::prepare_while_runtime_runs() {
  auto config = BERTH_TRY(read_json_file(opts_.bundle + "/config.json"));
  bool terminal = config.contains("process") && config["process"].value("terminal", false);
  if (terminal != opts_.tty)
    return Error::invalid("config.json process.terminal is {} but the shim was started {} --tty",
                          terminal, opts_.tty ? "with" : "without");
  cgroups_path_ = "/" + opts_.id;
  if (config.contains("linux") && config["linux"].contains("cgroupsPath") &&
      config["linux"]["cgroupsPath"].is_string())
    cgroups_path_ = config["linux"]["cgroupsPath"].get<std::string>();
  if (!opts_.log_path.empty())
    log_.emplace(BERTH_TRY(JsonFileLog::open(opts_.log_path, opts_.log_max_size, opts_.log_max_file)));
  // Clients connect once we report; until run() they wait in the backlog.
  listen_ = BERTH_TRY(listen_unix(opts_.state_dir + "/shim.sock"));
  return {};
}

Result<void> Shim::setup() {
  BERTH_TRY(mkdir_all(opts_.state_dir, 0700));
  runtime_exe_ = sys::readonly_clone(opts_.runtime);

  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return Error::sys(errno, "epoll_create1");
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) return Error::sys(errno, "block SIGCHLD");
  signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_) return Error::sys(errno, "signalfd");
  watch(signal_fd_.get(), EPOLLIN, {Watch::Signal, ""});

  auto init = std::make_unique<Proc>();
  init->tty = opts_.tty;
  init->has_stdin = opts_.stdin;
  init->stdin_once = opts_.stdin_once;
  Proc& p = *init;
  procs_[""] = std::move(init);

  ProcIo io;
  BERTH_TRY(prepare_io(p, io, "init"));
  std::string pid_file = opts_.state_dir + "/init.pid";
  const char* verb = opts_.start ? "run" : "create";
  auto argv = runtime_cmd({verb, "--bundle", opts_.bundle, "--pid-file", pid_file});
  if (opts_.start) argv.push_back("--detach");
  if (p.tty) {
    argv.push_back("--console-socket");
    argv.push_back(io.console_path);
  }
  argv.push_back(opts_.id);
  (void)write_file(opts_.state_dir + "/runtime.log", "", 0600);
  sys::SpawnStdio stdio{io.child_in.get(), io.child_out.get(), io.child_err.get()};
  pid_t runtime = BERTH_TRY(sys::spawn(argv, stdio, runtime_exe_.get()));
  // While the runtime works (on another CPU where there is one), what does
  // not depend on it: the config, the log file, the control socket.
  auto prepared = prepare_while_runtime_runs();
  int rc = BERTH_TRY(sys::wait_exit(runtime));
  if (!prepared) {
    // What the runtime made has no shim to serve it: gone again.
    if (rc == 0) (void)run_runtime(runtime_cmd({"delete", "--force", opts_.id}));
    ::unlink(io.console_path.c_str());
    return prepared.error();
  }
  if (rc != 0) {
    // Without --log support the runtime's complaint is on its stderr, which
    // is our pipe: show that if the log has nothing.
    std::string msg = runtime_error_text();
    if (msg.empty() && p.err) {
      io.child_err.reset();
      set_nonblock(p.err.get());
      char buf[4096];
      ssize_t n = ::read(p.err.get(), buf, sizeof buf);
      if (n > 0) msg = std::string(trim(std::string_view(buf, static_cast<size_t>(n))));
    }
    ::unlink(io.console_path.c_str());
    return Error::make(ErrorCode::Internal, "{} {} failed (exit {}){}{}", opts_.runtime, verb, rc,
                       msg.empty() ? "" : ": ", msg);
  }
  BERTH_TRY_CTX(finish_io(p, io), "container {}", opts_.id);
  auto pid_text = BERTH_TRY(read_file(pid_file));
  auto pid = parse_int(trim(pid_text));
  if (!pid || *pid <= 0) return Error::internal("bad pid file {}: {:?}", pid_file, pid_text);
  p.pid = static_cast<pid_t>(*pid);

  watch(listen_.get(), EPOLLIN, {Watch::Listen, ""});
  log::info("container {} created, init pid {}", opts_.id, p.pid);
  return {};
}

Result<void> Shim::run() {
  epoll_event evs[16];
  while (!quit_) {
    int n = ::epoll_wait(epoll_.get(), evs, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "epoll_wait");
    }
    for (int i = 0; i < n && !quit_; ++i) on_event(evs[i].data.fd, evs[i].events);
  }
  ::unlink((opts_.state_dir + "/shim.sock").c_str());
  ::unlink((opts_.state_dir + "/init.pid").c_str());
  return {};
}

void Shim::watch(int fd, uint32_t events, Watch w) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  bool known = watches_.count(fd) != 0;
  if (::epoll_ctl(epoll_.get(), known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
    log::warn("epoll_ctl fd {}: {}", fd, Error::errno_text(errno));
  watches_[fd] = std::move(w);
}

void Shim::unwatch(int fd) {
  if (watches_.erase(fd)) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void Shim::on_event(int fd, uint32_t events) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  Watch w = it->second;
  Proc* p = nullptr;
  if (auto pit = procs_.find(w.proc); pit != procs_.end()) p = pit->second.get();
  switch (w.kind) {
    case Watch::Signal: on_sigchld(); break;
    case Watch::Listen: on_accept(); break;
    case Watch::Control: on_conn_event(fd); break;
    case Watch::Attach: on_attach_event(fd, events); break;
    case Watch::Out: if (p) on_output(*p, fd, 1); break;
    case Watch::Err: if (p) on_output(*p, fd, 2); break;
    case Watch::Master:
      if (p && (events & EPOLLOUT)) flush_stdin(*p);
      if (p && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_output(*p, fd, 1);
      break;
    case Watch::Stdin:
      if (p) {
        if (events & (EPOLLERR | EPOLLHUP)) close_stdin(*p);
        else flush_stdin(*p);
      }
      break;
  }
}

void Shim::on_sigchld() {
  signalfd_siginfo si;
  while (::read(signal_fd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
  }
  // As a subreaper we also inherit the container's orphans (a detached exec
  // process, a runtime's helper): reap them all so none stays a zombie.
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    for (auto& [id, p] : procs_) {
      if (p->pid == pid && !p->exited) on_exit(*p, status);
    }
  }
}

void Shim::on_output(Proc& p, int fd, int stream) {
  char buf[32 * 1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    deliver(p, stream, std::string_view(buf, static_cast<size_t>(n)));
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // EOF, or EIO from a pty master once the last slave is closed.
  unwatch(fd);
  if (p.master.get() == fd) p.master.reset();
  else if (p.out.get() == fd) p.out.reset();
  else if (p.err.get() == fd) p.err.reset();
}

void Shim::deliver(Proc& p, int stream, std::string_view data) {
  if (p.exec_id.empty() && log_) {
    auto r = log_->write(stream == 2 ? "stderr" : "stdout", data);
    if (!r) log::warn("container {}: {}", opts_.id, r.error().message());
  }
  std::string framed = p.tty ? std::string(data) : frame(stream, data);
  bool any = false;
  for (auto& [fd, a] : attaches_) {
    if (a->proc == p.exec_id && !a->closing) {
      attach_send(*a, framed);
      any = true;
    }
  }
  // An exec's output has no log: keep its start for the attach that follows.
  // So does the container's before the start op (--start): the attaches
  // that berthd hands over before it must see all of it.
  bool keep = p.exec_id.empty() ? !started_ : !p.attached_once;
  if (!any && keep && p.early.size() + framed.size() <= kEarlyMax) p.early += framed;
}

void Shim::on_exit(Proc& p, int status) {
  // Whatever the process wrote before it died is still in the pipes.
  for (auto [f, stream] : {std::pair{&p.out, 1}, std::pair{&p.err, 2}, std::pair{&p.master, 1}}) {
    if (!*f) continue;
    char buf[32 * 1024];
    for (;;) {
      ssize_t n = ::read(f->get(), buf, sizeof buf);
      if (n > 0) {
        deliver(p, stream, std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    unwatch(f->get());
    f->reset();
  }
  close_stdin(p);
  p.exited = true;
  p.exit = exit_from_wait_status(status, now_rfc3339());
  if (p.exec_id.empty()) {
    if (log_) (void)log_->flush();
    p.exit.oom_killed = cgroup_oom_killed(cgroups_path_);
  }
  std::vector<int> attached;
  for (auto& [fd, a] : attaches_) {
    if (a->proc == p.exec_id) attached.push_back(fd);
  }
  for (int fd : attached) {
    attaches_[fd]->closing = true;
    update_attach(*attaches_[fd]);
  }
  Json done = {{"ok", true}, {"exit", p.exit.to_json()}};
  for (int fd : std::exchange(p.waiters, {})) {
    if (conns_.count(fd)) reply(fd, done);
  }
  // The record for a daemon that finds no shim is written after the
  // waiters have their answer: its fsync is not on `docker run`'s path, and
  // no request is served before it is on disk (one loop).
  if (p.exec_id.empty()) {
    auto r = write_file_atomic(opts_.state_dir + "/exit.json", done["exit"].dump() + "\n", 0600);
    if (!r) log::error("record exit of {}: {}", opts_.id, r.error().message());
    log::info("container {} exited: code {} signal {} oom {}", opts_.id, p.exit.exit_code,
              p.exit.signal, p.exit.oom_killed);
  }
}

int Shim::stdin_fd(const Proc& p) const {
  if (!p.has_stdin || p.exited) return -1;
  return p.tty ? p.master.get() : p.in.get();
}

void Shim::flush_stdin(Proc& p) {
  int fd = stdin_fd(p);
  if (fd < 0) {
    p.stdin_pending.clear();
    return;
  }
  while (!p.stdin_pending.empty()) {
    ssize_t n = ::write(fd, p.stdin_pending.data(), p.stdin_pending.size());
    if (n > 0) {
      p.stdin_pending.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    close_stdin(p);  // EPIPE: the container closed its stdin
    return;
  }
  bool want_out = !p.stdin_pending.empty();
  if (p.tty) {
    watch(fd, uint32_t(EPOLLIN) | (want_out ? uint32_t(EPOLLOUT) : 0u), {Watch::Master, p.exec_id});
  } else if (want_out) {
    watch(fd, EPOLLOUT, {Watch::Stdin, p.exec_id});
  } else {
    unwatch(fd);
    if (p.close_stdin_when_flushed) close_stdin(p);
  }
}

void Shim::close_stdin(Proc& p) {
  p.stdin_pending.clear();
  if (p.in) {
    unwatch(p.in.get());
    p.in.reset();
  }
  // A pty has no separate stdin to close; its master carries the output too.
  if (!p.tty) p.has_stdin = false;
}

}  // namespace berth::engine
