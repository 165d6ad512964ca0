// run, create, start: the create body from docker's flags, then docker's
// call sequence (create, attach, wait, start, resize) and its exit codes.
#include <unistd.h>

#include <cstdio>

#include "cli/attach.h"
#include "cli/commands/commands.h"
#include "cli/go_compat.h"
#include "cli/create_body.h"

namespace berth::cli {
namespace {

struct RunOptions {
  RunFlags flags;
  std::vector<std::string> args;  // IMAGE [COMMAND] [ARG...]
};

// docker's exit status for a failed start: 127 when the command does not
// exist, 126 when it cannot be executed, 125 otherwise.
int start_failure_code(const std::string& message) {
  if (message.find("executable file not found") != std::string::npos ||
      message.find("no such file or directory") != std::string::npos)
    return 127;
  if (message.find("permission denied") != std::string::npos) return 126;
  return kExitDaemon;
}

int run_error(const std::string& cmd, const Error& e, int code = kExitDaemon) {
  std::fprintf(stderr, "berth: %s\n", e.message().c_str());
  if (e.code() == ErrorCode::InvalidArgument && !e.message().starts_with("Error response"))
    std::fprintf(stderr, "\nRun 'berth %s --help' for more information\n", cmd.c_str());
  if (e.message().find("Cannot connect") != std::string::npos) return kExitDaemon;
  return code;
}

Result<std::string> create_container(Client& c, const RunOptions& o) {
  int rows = 0, cols = 0;
  if (o.flags.tty) terminal_size(1, rows, cols) || terminal_size(0, rows, cols);
  std::string image = o.args[0];
  std::vector<std::string> cmd(o.args.begin() + 1, o.args.end());
  Json body = BERTH_TRY(create_body(o.flags, image, cmd, rows, cols));
  std::string path = "/containers/create";
  if (!o.flags.name.empty()) path += "?name=" + url_escape(o.flags.name);
  auto r = BERTH_TRY(c.call_json("POST", path, body));
  if (r.status == 404 && r.message().starts_with("No such image")) {
    std::fprintf(stderr, "Unable to find image '%s' locally\n", with_default_tag(image).c_str());
    if (o.flags.pull == "never") return daemon_error(r);
    std::string ref = with_default_tag(image);
    auto colon = ref.rfind(':');
    auto pull = BERTH_TRY(c.open("POST", fmt::format("/images/create?fromImage={}&tag={}",
                                                     url_escape(ref.substr(0, colon)), url_escape(ref.substr(colon + 1))),
                                 {}, "application/json", {{"X-Registry-Auth", "e30="}}));
    std::string text = BERTH_TRY(pull.read_all());
    if (pull.status() >= 300) return daemon_error(Response{pull.status(), {}, text});
    r = BERTH_TRY(c.call_json("POST", path, body));
  }
  if (r.status >= 300) return daemon_error(r);
  auto j = BERTH_TRY(r.json());
  if (j.contains("Warnings") && j["Warnings"].is_array())
    for (const auto& w : j["Warnings"]) std::fprintf(stderr, "WARNING: %s\n", w.get<std::string>().c_str());
  return j.value("Id", "");
}

void resize(Client& c, const std::string& what, int rows, int cols) {
  // Best effort: the process may not be there yet or already gone.
  (void)c.call("POST", fmt::format("{}/resize?h={}&w={}", what, rows, cols));
}

// Attach, wait, start, stream; returns the exit code. `started` when the
// container runs already (start -a of a running one is not our case).
int attach_wait_start(Context& ctx, const std::string& id, bool in, bool out, bool err, bool tty,
                      const std::string& detach_keys, bool auto_remove, bool do_start, bool sig_proxy) {
  Client c = ctx.client();
  std::string q = fmt::format("/containers/{}/attach?stream=1{}{}{}", id, in ? "&stdin=1" : "",
                              out ? "&stdout=1" : "", err ? "&stderr=1" : "");
  if (!detach_keys.empty()) q += "&detachKeys=" + url_escape(detach_keys);
  // The exit code comes from a next-exit wait; with --rm a second wait
  // (removed) holds us until the container is gone, as docker returns only
  // then. berthd may answer a removed-wait before it has recorded the
  // exit code, so the code is never taken from that one. All three are
  // sent before any answer is read; all three are answered before start.
  auto attach_sent = c.send_hijack("POST", q, {});
  if (!attach_sent) return run_error("run", attach_sent.error());
  auto wait_sent = c.send("POST", fmt::format("/containers/{}/wait?condition=next-exit", id));
  if (!wait_sent) return run_error("run", wait_sent.error());
  std::optional<Client::Sent> removed_sent;
  if (auto_remove) {
    auto w = c.send("POST", fmt::format("/containers/{}/wait?condition=removed", id));
    if (!w) return run_error("run", w.error());
    removed_sent.emplace(std::move(*w));
  }
  auto conn = c.receive_hijack(std::move(*attach_sent));
  if (!conn) return run_error("run", conn.error());
  auto wait = c.receive(std::move(*wait_sent));
  if (!wait) return run_error("run", wait.error());
  std::optional<BodyStream> removed;
  if (removed_sent) {
    auto w = c.receive(std::move(*removed_sent));
    if (!w) return run_error("run", w.error());
    removed.emplace(std::move(*w));
  }
  if (do_start) {
    auto r = c.call("POST", fmt::format("/containers/{}/start", id));
    if (!r) return run_error("run", r.error());
    if (r->status >= 300) {
      // With --rm nothing else removes a container that never started.
      if (auto_remove) (void)c.call("DELETE", fmt::format("/containers/{}?force=1", id));
      return run_error("run", daemon_error(*r), start_failure_code(r->message()));
    }
  }
  AttachEnd end;
  {
    std::optional<RawTerminal> raw;
    if (tty && in && ::isatty(0)) raw.emplace(0);
    AttachOptions opts;
    opts.attach_stdin = in;
    opts.tty = tty;
    opts.detach_keys = detach_keys;
    // In raw mode ^C is a byte for the container; signals sent to berth
    // itself (kill) are passed on with --sig-proxy, as docker does.
    if (sig_proxy)
      opts.forward_signal = [&](int sig) { (void)c.call("POST", fmt::format("/containers/{}/kill?signal={}", id, sig)); };
    bool first = true;
    if (tty)
      opts.resize = [&](int rows, int cols) {
        // Attaching to a running shell: a size that changes makes it
        // redraw its prompt (docker sends h+1/w+1, then the real size).
        if (first && !do_start) resize(c, "/containers/" + id, rows + 1, cols + 1);
        first = false;
        resize(c, "/containers/" + id, rows, cols);
      };
    auto r = run_attach(*conn, opts);
    if (!r) {
      raw.reset();
      return report(r.error());
    }
    end = *r;
  }
  if (end == AttachEnd::Detached) {
    std::fprintf(stderr, "\nread escape sequence\n");
    return 0;
  }
  auto body = wait->read_all();
  if (!body) return report(body.error());
  if (removed) (void)removed->read_all();
  if (wait->status() >= 300) return report(daemon_error(Response{wait->status(), {}, *body}));
  auto j = Json::parse(*body, nullptr, false);
  if (!j.is_object()) return kExitDaemon;
  if (j.contains("Error") && j["Error"].is_object() && j["Error"].contains("Message")) {
    std::fprintf(stderr, "berth: %s\n", j["Error"]["Message"].get<std::string>().c_str());
  }
  return static_cast<int>(j.value("StatusCode", int64_t{kExitDaemon}));
}

int run(Context& ctx, RunOptions& o, bool create_only) {
  const char* name = create_only ? "create" : "run";
  if (!create_only && o.flags.tty && o.flags.interactive && !::isatty(0)) {
    std::fprintf(stderr, "the input device is not a TTY\n");
    return 1;
  }
  Client c = ctx.client();
  auto id = create_container(c, o);
  if (!id) return run_error(name, id.error());
  if (create_only) {
    std::printf("%s\n", id->c_str());
    return 0;
  }
  if (o.flags.detach) {
    auto r = c.call("POST", fmt::format("/containers/{}/start", *id));
    if (!r) return run_error(name, r.error());
    if (r->status >= 300) {
      if (o.flags.rm) (void)c.call("DELETE", fmt::format("/containers/{}?force=1", *id));
      return run_error(name, daemon_error(*r), start_failure_code(r->message()));
    }
    std::printf("%s\n", id->c_str());
    return 0;
  }
  bool in = o.flags.interactive, out = true, err = true;
  if (!o.flags.attach.empty()) {
    in = out = err = false;
    for (const auto& a : o.flags.attach) {
      in = in || a == "stdin" || a == "STDIN";
      out = out || a == "stdout" || a == "STDOUT";
      err = err || a == "stderr" || a == "STDERR";
    }
  }
  return attach_wait_start(ctx, *id, in, out, err, o.flags.tty, o.flags.detach_keys,
                           o.flags.rm, true, o.flags.sig_proxy);
}

void add_run_flags(CLI::App* cmd, RunOptions& o, bool run) {
  RunFlags& f = o.flags;
  if (run) {
    cmd->add_flag("-d,--detach", f.detach, "Run container in background and print container ID");
    cmd->add_flag("--sig-proxy{true}", f.sig_proxy, "Proxy received signals to the process (default true)");
  }
  cmd->add_flag("--rm", f.rm, "Automatically remove the container and its associated anonymous volumes when it exits");
  cmd->add_option("--name", f.name, "Assign a name to the container");
  cmd->add_option("-e,--env", f.env, "Set environment variables")->allow_extra_args(false);
  cmd->add_option("--env-file", f.env_file, "Read in a file of environment variables")->allow_extra_args(false);
  cmd->add_flag("-i,--interactive", f.interactive, "Keep STDIN open even if not attached");
  cmd->add_flag("-t,--tty", f.tty, "Allocate a pseudo-TTY");
  cmd->add_option("-a,--attach", f.attach, "Attach to STDIN, STDOUT or STDERR")->allow_extra_args(false);
  cmd->add_option("-u,--user", f.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  cmd->add_option("-w,--workdir", f.workdir, "Working directory inside the container");
  cmd->add_option("--entrypoint", f.entrypoint, "Overwrite the default ENTRYPOINT of the image");
  cmd->add_option("-l,--label", f.labels, "Set meta data on a container")->allow_extra_args(false);
  cmd->add_option("--restart", f.restart, "Restart policy to apply when a container exits");
  cmd->add_flag("--init", f.init, "Run an init inside the container that forwards signals and reaps processes");
  cmd->add_option("-m,--memory", f.memory, "Memory limit");
  cmd->add_option("--memory-swap", f.memory_swap, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap");
  cmd->add_option("--memory-reservation", f.memory_reservation, "Memory soft limit");
  cmd->add_option("--cpus", f.cpus, "Number of CPUs");
  cmd->add_option("-c,--cpu-shares", f.cpu_shares, "CPU shares (relative weight)");
  cmd->add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
  cmd->add_option("--pids-limit", f.pids_limit, "Tune container pids limit (set -1 for unlimited)");
  cmd->add_flag("--read-only", f.read_only, "Mount the container's root filesystem as read only");
  cmd->add_option("--network,--net", f.network, "Connect a container to a network");
  cmd->add_flag("--privileged", f.privileged, "Give extended privileges to this container");
  cmd->add_option("--cap-add", f.cap_add, "Add Linux capabilities")->allow_extra_args(false);
  cmd->add_option("--cap-drop", f.cap_drop, "Drop Linux capabilities")->allow_extra_args(false);
  cmd->add_option("--security-opt", f.security_opt, "Security Options")->allow_extra_args(false);
  cmd->add_option("--tmpfs", f.tmpfs, "Mount a tmpfs directory")->allow_extra_args(false);
  cmd->add_option("--ulimit", f.ulimits, "Ulimit options")->allow_extra_args(false);
  cmd->add_option("-h,--hostname", f.hostname, "Container host name");
  cmd->add_option("-v,--volume", f.volumes, "Bind mount a volume")->allow_extra_args(false);
  cmd->add_option("-p,--publish", f.publish, "Publish a container's port(s) to the host")->allow_extra_args(false);
  cmd->add_flag("-P,--publish-all", f.publish_all, "Publish all exposed ports to random ports");
  cmd->add_option("--expose", f.expose, "Expose a port or a range of ports")->allow_extra_args(false);
  cmd->add_option("--device", f.devices, "Add a host device to the container")->allow_extra_args(false);
  cmd->add_option("--sysctl", f.sysctls, "Sysctl options")->allow_extra_args(false);
  cmd->add_option("--dns", f.dns, "Set custom DNS servers")->allow_extra_args(false);
  cmd->add_option("--dns-search", f.dns_search, "Set custom DNS search domains")->allow_extra_args(false);
  cmd->add_option("--dns-option", f.dns_option, "Set DNS options")->allow_extra_args(false);
  cmd->add_option("--add-host", f.add_host, "Add a custom host-to-IP mapping (host:ip)")->allow_extra_args(false);
  cmd->add_option("--group-add", f.group_add, "Add additional groups to join")->allow_extra_args(false);
  cmd->add_option("--log-driver", f.log_driver, "Logging driver for the container");
  cmd->add_option("--log-opt", f.log_opt, "Log driver options")->allow_extra_args(false);
  cmd->add_option("--shm-size", f.shm_size, "Size of /dev/shm");
  cmd->add_option("--stop-signal", f.stop_signal, "Signal to stop the container");
  cmd->add_option("--stop-timeout", f.stop_timeout, "Timeout (in seconds) to stop a container");
  cmd->add_flag("--oom-kill-disable", f.oom_kill_disable, "Disable OOM Killer");
  cmd->add_option("--ipc", f.ipc, "IPC mode to use");
  cmd->add_option("--pid", f.pid, "PID namespace to use");
  cmd->add_option("--uts", f.uts, "UTS namespace to use");
  cmd->add_option("--cgroupns", f.cgroupns, "Cgroup namespace to use (host|private)");
  cmd->add_option("--health-cmd", f.health_cmd, "Command to run to check health");
  cmd->add_option("--health-interval", f.health_interval, "Time between running the check (ms|s|m|h)");
  cmd->add_option("--health-timeout", f.health_timeout, "Maximum time to allow one check to run (ms|s|m|h)");
  cmd->add_option("--health-start-period", f.health_start_period, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)");
  cmd->add_option("--health-retries", f.health_retries, "Consecutive failures needed to report unhealthy");
  cmd->add_flag("--no-healthcheck", f.no_healthcheck, "Disable any container-specified HEALTHCHECK");
  cmd->add_option("--detach-keys", f.detach_keys, "Override the key sequence for detaching a container");
  cmd->add_option("--platform", f.platform, "Set platform if server is multi-platform capable");
  cmd->add_option("--pull", f.pull, "Pull image before running (\"always\", \"missing\", \"never\")");
  // IMAGE [COMMAND] [ARG...]: everything from the image on is the command's,
  // flags included, as docker parses it.
  cmd->prefix_command();
}

int start(Context& ctx, const std::vector<std::string>& names, bool attach, bool interactive,
          const std::string& detach_keys) {
  Client c = ctx.client();
  if (attach || interactive) {
    if (names.size() > 1) {
      std::fprintf(stderr, "you cannot start and attach multiple containers at once\n");
      return 1;
    }
    auto info = get_json(c, fmt::format("/containers/{}/json", names[0]));
    if (!info) return report(info.error());
    std::string id = info->value("Id", names[0]);
    bool tty = (*info)["Config"].value("Tty", false);
    bool open_stdin = (*info)["Config"].value("OpenStdin", false);
    if (tty && interactive && !::isatty(0)) {
      std::fprintf(stderr, "the input device is not a TTY\n");
      return 1;
    }
    return attach_wait_start(ctx, id, interactive && open_stdin, true, true, tty, detach_keys, false, true, true);
  }
  int rc = 0;
  for (const auto& n : names) {
    auto r = post(c, "POST", fmt::format("/containers/{}/start", n));
    if (!r) {
      rc = report(r.error());
      continue;
    }
    std::printf("%s\n", n.c_str());
  }
  return rc;
}

int attach(Context& ctx, const std::string& name, bool no_stdin, const std::string& detach_keys, bool sig_proxy) {
  Client c = ctx.client();
  auto info = get_json(c, fmt::format("/containers/{}/json", name));
  if (!info) return report(info.error());
  const Json& state = (*info)["State"];
  if (!state.value("Running", false)) {
    std::fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
    return 1;
  }
  if (state.value("Paused", false)) {
    std::fprintf(stderr, "You cannot attach to a paused container, unpause it first\n");
    return 1;
  }
  bool tty = (*info)["Config"].value("Tty", false);
  bool in = !no_stdin && (*info)["Config"].value("OpenStdin", false);
  if (tty && in && !::isatty(0)) {
    std::fprintf(stderr, "the input device is not a TTY\n");
    return 1;
  }
  return attach_wait_start(ctx, info->value("Id", name), in, true, true, tty, detach_keys, false, false, sig_proxy);
}

}  // namespace

void register_run(CLI::App& app, Context& ctx, const std::string& only) {
  auto wanted = [&](const char* name) { return only.empty() || only == name; };
  if (wanted("attach")) {
    struct AttachOptions { std::string name, keys; bool no_stdin = false, sig_proxy = true; };
    auto a = std::make_shared<AttachOptions>();
    auto* cmd = add_command(app, "attach", "Attach local standard input, output, and error streams to a running container");
    cmd->add_flag("--no-stdin", a->no_stdin, "Do not attach STDIN");
    cmd->add_flag("--sig-proxy{true}", a->sig_proxy, "Proxy all received signals to the process (default true)");
    cmd->add_option("--detach-keys", a->keys, "Override the key sequence for detaching a container");
    cmd->add_option("CONTAINER", a->name, "Container")->required();
    set_action(cmd, ctx, [&ctx, a] { return attach(ctx, a->name, a->no_stdin, a->keys, a->sig_proxy); });
  }
  for (bool is_run : {true, false}) {
    if (!wanted(is_run ? "run" : "create")) continue;
    auto o = std::make_shared<RunOptions>();
    auto* cmd = add_command(app, is_run ? "run" : "create",
                            is_run ? "Create and run a new container from an image" : "Create a new container");
    add_run_flags(cmd, *o, is_run);
    set_action(cmd, ctx, [&ctx, o, cmd, is_run] {
      o->args = cmd->remaining();
      if (auto refused = check_prefix_args(*cmd, o->args, 1)) return *refused;
      return run(ctx, *o, !is_run);
    });
  }
  if (!wanted("start")) return;
  struct StartOptions { std::vector<std::string> names; bool attach = false, interactive = false; std::string keys; };
  auto s = std::make_shared<StartOptions>();
  auto* cmd = add_command(app, "start", "Start one or more stopped containers");
  cmd->add_flag("-a,--attach", s->attach, "Attach STDOUT/STDERR and forward signals");
  cmd->add_flag("-i,--interactive", s->interactive, "Attach container's STDIN");
  cmd->add_option("--detach-keys", s->keys, "Override the key sequence for detaching a container");
  cmd->add_option("CONTAINER", s->names, "Containers")->required();
  set_action(cmd, ctx, [&ctx, s] { return start(ctx, s->names, s->attach, s->interactive, s->keys); });
}

}  // namespace berth::cli
