// berth-shim: the per-container monitor that berthd starts (one per
// container) and that outlives berthd. docs/design/shim.md has the design.
//
// Invocation:
//   berth-shim --id ID --bundle DIR --runtime PATH --runtime-root DIR
//              --state-dir DIR [--tty] [--stdin] [--stdin-once] [--start]
//              [--log-path FILE [--log-max-size N[k|m|g]] [--log-max-file N]]
//
// The process that runs berth-shim waits until the container is created
// (with --start: created and started, `run --detach`):
// it then prints the shim's pid on stdout and exits 0, or prints the error on
// stderr and exits 1. By then the shim runs in the background in its own
// session and process group, with stdio on /dev/null, as a child subreaper,
// and listens on DIR/shim.sock (mode 0600, newline-delimited JSON).
// With --no-fork (berthd's way) the process started is the shim: it writes
// "ok PID\n" or "error: TEXT\n" on stdout, closes it, and serves; the
// starter reaps it when it exits. The ops:
//   {"op":"start"}                          start the created container → {"pid"} (--start:
//                                           mark it started)
//   {"op":"state"}                          {"id","pid","status","exit"?,"execs"}
//   {"op":"kill","signal":N[,"all":true][,"exec_id":E]}
//   {"op":"resize","height":H,"width":W[,"exec_id":E]}
//   {"op":"wait"[,"exec_id":E]}             reply once it exited: {"exit":{...}}
//   {"op":"wait_exec","exec_id":E}          same as wait with an exec_id
//   {"op":"attach"[,"exec_id":E]}           reply + one socket end via SCM_RIGHTS
//   {"op":"exec","exec_id":E,"process":{OCI process},"tty":B,"stdin":B} → {"pid"}
//   {"op":"delete"[,"force":true]}          runtime delete, then the shim exits
// Replies: {"ok":true,...} or {"ok":false,"error":"...","code":"NotFound"...}.
// The container's exit is written to DIR/exit.json; the shim's own log to
// DIR/shim.log.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "engine/shim.h"
#include "engine/shim_log.h"

using namespace berth;

namespace {

const char kUsage[] =
    "usage: berth-shim --id ID --bundle DIR --runtime PATH --runtime-root DIR --state-dir DIR\n"
    "                  [--tty] [--stdin] [--stdin-once] [--start] [--no-fork]\n"
    "                  [--log-path FILE [--log-max-size N] [--log-max-file N]]\n";

Result<engine::ShimOptions> parse_args(int argc, char** argv) {
  engine::ShimOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= argc) return Error::invalid("{} needs a value", a);
      return std::string(argv[++i]);
    };
    if (a == "--id") o.id = BERTH_TRY(value());
    else if (a == "--bundle") o.bundle = BERTH_TRY(value());
    else if (a == "--runtime") o.runtime = BERTH_TRY(value());
    else if (a == "--runtime-root") o.runtime_root = BERTH_TRY(value());
    else if (a == "--state-dir") o.state_dir = BERTH_TRY(value());
    else if (a == "--log-path") o.log_path = BERTH_TRY(value());
    else if (a == "--log-max-size") {
      auto v = BERTH_TRY(value());
      auto n = engine::parse_log_size(v);
      if (!n) return Error::invalid("--log-max-size: bad size {:?}", v);
      o.log_max_size = *n;
    } else if (a == "--log-max-file") {
      auto v = BERTH_TRY(value());
      auto n = parse_int(v);
      if (!n || *n < 1 || *n > 1000) return Error::invalid("--log-max-file: bad count {:?}", v);
      o.log_max_file = static_cast<int>(*n);
    } else if (a == "--tty") o.tty = true;
    else if (a == "--stdin") o.stdin = true;
    else if (a == "--stdin-once") o.stdin = o.stdin_once = true;
    else if (a == "--start") o.start = true;
    else if (a == "--no-fork") o.no_fork = true;
    else return Error::invalid("unknown argument {:?}", a);
  }
  for (auto [name, v] : {std::pair{"--id", &o.id}, {"--bundle", &o.bundle}, {"--runtime", &o.runtime},
                         {"--runtime-root", &o.runtime_root}, {"--state-dir", &o.state_dir}}) {
    if (v->empty()) return Error::invalid("{} is required", name);
    if (std::string(name) != "--id" && v->front() != '/') return Error::invalid("{} must be absolute", name);
  }
  return o;
}

// The background half: detach, create the container, report, serve.
int shim_main(engine::ShimOptions opts, Fd ready) {
  auto report = [&](const std::string& msg) {
    (void)write_all(ready.get(), msg);
    ready.reset();
  };
  // Own session and process group: a signal to the starter's group or the
  // loss of its terminal does not reach us.
  ::setsid();
  (void)::chdir("/");
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (null > 2) ::close(null);
  }
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  // Orphans in the container (and its init, once the runtime that forked
  // it exits) are reparented to us, so we can reap them and read the status.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    report(fmt::format("error: set child subreaper: {}\n", Error::errno_text(errno)));
    return 1;
  }
  if (auto r = mkdir_all(opts.state_dir, 0700); !r) {
    report("error: " + r.error().message() + "\n");
    return 1;
  }
  log::set_file(opts.state_dir + "/shim.log");
  engine::Shim shim(opts);
  if (auto r = shim.setup(); !r) {
    log::error("{}", r.error().message());
    report("error: " + r.error().message() + "\n");
    return 1;
  }
  (void)write_file(opts.state_dir + "/shim.pid", std::to_string(::getpid()) + "\n", 0600);
  report(fmt::format("ok {}\n", ::getpid()));
  if (auto r = shim.run(); !r) {
    log::error("{}", r.error().message());
    return 1;
  }
  ::unlink((opts.state_dir + "/shim.pid").c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto opts = parse_args(argc, argv);
  if (!opts) {
    std::fprintf(stderr, "berth-shim: %s\n%s", opts.error().message().c_str(), kUsage);
    return 2;
  }
  // berthd (or whoever starts us) may leak descriptors without O_CLOEXEC:
  // a long-lived shim holding the daemon's listening socket or a database
  // file would keep them alive across a daemon restart.
  ::close_range(3, ~0U, 0);
  if (opts->no_fork) {
    // stdout is the starter's pipe: the outcome goes there, and shim_main
    // then puts /dev/null in its place.
    Fd out(::fcntl(1, F_DUPFD_CLOEXEC, 3));
    if (!out) {
      std::perror("berth-shim: dup stdout");
      return 1;
    }
    return shim_main(std::move(*opts), std::move(out));
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) {
    std::perror("berth-shim: pipe");
    return 1;
  }
  Fd rd(p[0]), wr(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("berth-shim: fork");
    return 1;
  }
  if (pid == 0) {
    rd.reset();
    _exit(shim_main(std::move(*opts), std::move(wr)));
  }
  wr.reset();
  // The foreground half: relay the outcome to whoever started us.
  auto msg = read_fd(rd.get());
  std::string text = msg ? *msg : std::string();
  if (text.rfind("ok ", 0) == 0) {
    std::fputs(text.c_str() + 3, stdout);
    return 0;
  }
  if (text.rfind("error: ", 0) == 0) text.erase(0, 7);
  if (text.empty()) text = "shim exited before the container was created\n";
  std::fprintf(stderr, "berth-shim: %s", text.c_str());
  return 1;
}
