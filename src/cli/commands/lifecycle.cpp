// stop, restart, kill, rm, wait, rename, pause, unpause, top, logs.
#include <ctime>
#include <cstdio>

#include "base/strings.h"
#include "cli/attach.h"
#include "cli/commands/commands.h"
#include "cli/go_compat.h"
#include "cli/create_body.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

// Runs `request(name)` for each container, printing the name on success
// and docker's error otherwise; exit 1 if any failed.
int each(Context& ctx, const std::vector<std::string>& names,
         const std::function<std::string(const std::string&)>& path, const char* method = "POST",
         bool print = true) {
  Client c = ctx.client();
  int rc = 0;
  for (const auto& n : names) {
    auto r = post(c, method, path(n));
    if (!r) {
      int code = report(r.error());
      if (code == kExitDaemon) return code;
      rc = 1;
      continue;
    }
    if (print) std::printf("%s\n", n.c_str());
  }
  return rc;
}

struct LogsOptions {
  bool follow = false, timestamps = false, details = false;
  std::string tail = "all", since, until, name;
};

int logs(Context& ctx, const LogsOptions& o) {
  Client c = ctx.client();
  auto info = get_json(c, fmt::format("/containers/{}/json", o.name));
  if (!info) return report(info.error());
  bool tty = (*info)["Config"].value("Tty", false);
  auto since = api_timestamp(o.since);
  auto until = api_timestamp(o.until);
  if (!since) return report(since.error().context("invalid value for \"since\""));
  if (!until) return report(until.error().context("invalid value for \"until\""));
  std::string q = fmt::format("/containers/{}/logs?stdout=1&stderr=1&tail={}", o.name, url_escape(o.tail));
  if (o.follow) q += "&follow=1";
  if (o.timestamps) q += "&timestamps=1";
  if (o.details) q += "&details=1";
  if (!since->empty()) q += "&since=" + *since;
  if (!until->empty()) q += "&until=" + *until;
  auto s = c.open("GET", q);
  if (!s) return report(s.error());
  if (s->status() >= 300) return report(daemon_error(Response{s->status(), {}, s->read_all().value_or("")}));
  FrameDemux demux([](int stream, std::string_view d) {
    std::fwrite(d.data(), 1, d.size(), stream == 2 ? stderr : stdout);
    std::fflush(stream == 2 ? stderr : stdout);
  });
  std::string buf;
  for (;;) {
    buf.clear();
    auto n = s->read(buf);
    if (!n) return report(n.error());
    if (*n == 0) break;
    if (tty) {
      std::fwrite(buf.data(), 1, buf.size(), stdout);
      std::fflush(stdout);
    } else {
      demux.feed(buf);
    }
  }
  return 0;
}

int top(Context& ctx, const std::string& name, const std::vector<std::string>& args) {
  Client c = ctx.client();
  std::string q = fmt::format("/containers/{}/top", name);
  if (!args.empty()) q += "?ps_args=" + url_escape(join(args, " "));
  auto j = get_json(c, q);
  if (!j) return report(j.error());
  std::string text = join((*j)["Titles"].get<std::vector<std::string>>(), "\t") + "\n";
  for (const auto& p : (*j)["Processes"]) text += join(p.get<std::vector<std::string>>(), "\t") + "\n";
  std::fputs(tabwrite(text, 20, 3).c_str(), stdout);
  return 0;
}

int wait(Context& ctx, const std::vector<std::string>& names) {
  Client c = ctx.client();
  int rc = 0;
  for (const auto& n : names) {
    auto r = c.call("POST", fmt::format("/containers/{}/wait", n));
    if (!r) return report(r.error());
    if (r->status >= 300) {
      rc = report(daemon_error(*r));
      continue;
    }
    auto j = Json::parse(r->body, nullptr, false);
    std::printf("%lld\n", static_cast<long long>(j.is_object() ? j.value("StatusCode", int64_t{0}) : 0));
  }
  return rc;
}

}  // namespace

Result<std::string> api_timestamp(const std::string& v) {
  if (v.empty()) return v;
  if (parse_int(v) || v.find_first_not_of("0123456789.") == std::string::npos) return v;
  if (auto d = parse_go_duration(v)) return std::to_string(static_cast<int64_t>(std::time(nullptr)) - *d / 1000000000);
  if (auto t = parse_rfc3339_seconds(v)) return std::to_string(*t);
  if (v.size() == 10) {
    if (auto t = parse_rfc3339_seconds(v + "T00:00:00Z")) return std::to_string(*t);
  }
  return Error::invalid("failed to parse value as time or duration: \"{}\"", v);
}

void register_lifecycle(CLI::App& app, Context& ctx) {
  struct StopOptions { std::vector<std::string> names; std::optional<int> time; std::string signal; };
  for (const char* what : {"stop", "restart"}) {
    auto o = std::make_shared<StopOptions>();
    std::string w = what;
    auto* cmd = add_command(app, w, w == "stop" ? "Stop one or more running containers" : "Restart one or more containers");
    cmd->add_option("-t,--time,--timeout", o->time, "Seconds to wait before killing the container");
    cmd->add_option("-s,--signal", o->signal, "Signal to send to the container");
    cmd->add_option("CONTAINER", o->names, "Containers")->required();
    set_action(cmd, ctx, [&ctx, o, w] {
      return each(ctx, o->names, [&](const std::string& n) {
        std::string q = fmt::format("/containers/{}/{}", n, w);
        if (o->time) q += fmt::format("?t={}", *o->time);
        return q;
      });
    });
  }
  {
    struct O { std::vector<std::string> names; std::string signal; };
    auto o = std::make_shared<O>();
    auto* cmd = add_command(app, "kill", "Kill one or more running containers");
    cmd->add_option("-s,--signal", o->signal, "Signal to send to the container");
    cmd->add_option("CONTAINER", o->names, "Containers")->required();
    set_action(cmd, ctx, [&ctx, o] {
      return each(ctx, o->names, [&](const std::string& n) {
        return fmt::format("/containers/{}/kill{}", n, o->signal.empty() ? "" : "?signal=" + url_escape(o->signal));
      });
    });
  }
  {
    struct O { std::vector<std::string> names; bool force = false, volumes = false, link = false; };
    auto o = std::make_shared<O>();
    auto* cmd = add_command(app, "rm", "Remove one or more containers");
    cmd->alias("remove");
    cmd->add_flag("-f,--force", o->force, "Force the removal of a running container (uses SIGKILL)");
    cmd->add_flag("-v,--volumes", o->volumes, "Remove anonymous volumes associated with the container");
    cmd->add_flag("-l,--link", o->link, "Remove the specified link");
    cmd->add_option("CONTAINER", o->names, "Containers")->required();
    set_action(cmd, ctx, [&ctx, o] {
      return each(ctx, o->names, [&](const std::string& n) {
        return fmt::format("/containers/{}?force={}&v={}", n, o->force ? 1 : 0, o->volumes ? 1 : 0);
      }, "DELETE");
    });
  }
  for (const char* what : {"pause", "unpause"}) {
    auto names = std::make_shared<std::vector<std::string>>();
    std::string w = what;
    auto* cmd = add_command(app, w, w == "pause" ? "Pause all processes within one or more containers"
                                                 : "Unpause all processes within one or more containers");
    cmd->add_option("CONTAINER", *names, "Containers")->required();
    set_action(cmd, ctx, [&ctx, names, w] {
      return each(ctx, *names, [&](const std::string& n) { return fmt::format("/containers/{}/{}", n, w); });
    });
  }
  {
    struct O { std::string from, to; };
    auto o = std::make_shared<O>();
    auto* cmd = add_command(app, "rename", "Rename a container");
    cmd->add_option("CONTAINER", o->from, "Container")->required();
    cmd->add_option("NEW_NAME", o->to, "New name")->required();
    set_action(cmd, ctx, [&ctx, o] {
      int rc = each(ctx, {o->from}, [&](const std::string& n) {
        return fmt::format("/containers/{}/rename?name={}", n, url_escape(o->to));
      }, "POST", false);
      if (rc == 1) std::fprintf(stderr, "Error: failed to rename container named %s\n", o->from.c_str());
      return rc;
    });
  }
  {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* cmd = add_command(app, "wait", "Block until one or more containers stop, then print their exit codes");
    cmd->add_option("CONTAINER", *names, "Containers")->required();
    set_action(cmd, ctx, [&ctx, names] { return wait(ctx, *names); });
  }
  {
    auto args = std::make_shared<std::vector<std::string>>();
    auto* cmd = add_command(app, "top", "Display the running processes of a container");
    cmd->prefix_command();
    set_action(cmd, ctx, [&ctx, args, cmd] {
      auto rest = cmd->remaining();
      if (auto refused = check_prefix_args(*cmd, rest, 1)) return *refused;
      return top(ctx, rest[0], std::vector<std::string>(rest.begin() + 1, rest.end()));
    });
  }
  {
    auto o = std::make_shared<LogsOptions>();
    auto* cmd = add_command(app, "logs", "Fetch the logs of a container");
    cmd->add_flag("-f,--follow", o->follow, "Follow log output");
    cmd->add_flag("-t,--timestamps", o->timestamps, "Show timestamps");
    cmd->add_flag("--details", o->details, "Show extra details provided to logs");
    cmd->add_option("-n,--tail", o->tail, "Number of lines to show from the end of the logs");
    cmd->add_option("--since", o->since, "Show logs since timestamp or relative (e.g. 42m for 42 minutes)");
    cmd->add_option("--until", o->until, "Show logs before a timestamp or relative (e.g. 42m for 42 minutes)");
    cmd->add_option("CONTAINER", o->name, "Container")->required();
    set_action(cmd, ctx, [&ctx, o] { return logs(ctx, *o); });
  }
}

}  // namespace berth::cli
