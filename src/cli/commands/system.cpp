// version, info, and the helpers every command shares.
#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>

#include "cli/commands/commands.h"
#include "cli/autostart.h"
#include "cli/go_compat.h"
#include "cli/output.h"
#include "cli/template.h"

namespace berth::cli {

int report(const Error& e, int code) {
  std::fprintf(stderr, "%s\n", e.message().c_str());
  if (e.code() == ErrorCode::Unavailable || e.code() == ErrorCode::PermissionDenied) {
    if (e.message().starts_with("Cannot connect") || e.message().starts_with("permission denied"))
      return kExitDaemon;
  }
  return code;
}

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description) {
  CLI::App* cmd = parent.add_subcommand(name, description);
  cmd->set_help_flag("--help", "Print usage");
  return cmd;
}

void set_action(CLI::App* cmd, Context& ctx, std::function<int()> action) {
  // CLI11 assigns option values before it runs the callbacks, so -H is
  // known here whatever its place on the command line.
  cmd->callback([&ctx, action = std::move(action)] {
    ctx.exit_code = ctx.resolve_host() ? action() : kExitDaemon;
  });
}

bool Context::resolve_host() {
  std::string host = host_flag;
  if (host.empty()) {
    const char* b = std::getenv("BERTH_HOST");
    const char* d = std::getenv("DOCKER_HOST");
    host = b && *b ? b : d && *d ? d : kDefaultSocket;
  }
  if (host.starts_with("unix://")) host.erase(0, 7);
  if (host.find("://") != std::string::npos) {
    std::fprintf(stderr, "berth: unsupported daemon address %s: berth talks to berthd over a unix socket "
                 "(unix:///path)\n", host.c_str());
    return false;
  }
  socket_path = host;
  autostart = autostart_allowed(socket_path == kDefaultSocket);
  return true;
}

Result<Json> get_json(Client& c, const std::string& path) {
  auto r = BERTH_TRY(c.call("GET", path));
  if (r.status >= 300) return daemon_error(r);
  return r.json();
}

Result<void> post(Client& c, const std::string& method, const std::string& path, const Json* body) {
  auto r = BERTH_TRY(c.call(method, path, body ? body->dump() : std::string()));
  if (r.status >= 300 && r.status != 304) return daemon_error(r);
  return ok();
}

bool check_no_args(const CLI::App& cmd, const std::vector<std::string>& args, const std::string& use) {
  if (args.empty()) return true;
  std::string path = command_path(cmd);
  std::fprintf(stderr, "%s: '%s' accepts no arguments\n\nUsage:  %s %s\n\nRun '%s --help' for more information\n",
               path.substr(0, path.find(' ')).c_str(), path.c_str(), path.c_str(), use.c_str(), path.c_str());
  return false;
}

namespace {

const char* kVersion = "0.1.0";

int version(Context& ctx, const std::string& format) {
  Json client = {{"Version", kVersion},      {"ApiVersion", "1.41"}, {"DefaultAPIVersion", "1.41"},
                 {"Os", "linux"},            {"Arch", "amd64"},      {"Context", "default"},
                 {"Platform", {{"Name", "Berth"}}}};
  Client c = ctx.client();
  auto server = get_json(c, "/version");
  Json data = {{"Client", client}, {"Server", server ? *server : Json()}};
  if (!format.empty()) {
    auto t = Template::parse(format);
    if (!t) return report(t.error(), 125);
    auto out = t->execute(data);
    if (!out) return report(out.error());
    std::printf("%s\n", out->c_str());
    return server ? 0 : report(server.error());
  }
  std::printf("Client:\n Version:           %s\n API version:       1.41\n OS/Arch:           linux/amd64\n"
              " Context:           default\n",
              kVersion);
  if (!server) {
    std::printf("\n");
    std::fflush(stdout);
    return report(server.error());
  }
  const Json& s = *server;
  std::string name = s.contains("Platform") ? s["Platform"].value("Name", "") : "";
  std::printf("\nServer: %s\n Engine:\n  Version:          %s\n  API version:      %s (minimum version %s)\n"
              "  OS/Arch:          %s/%s\n",
              name.c_str(), s.value("Version", "").c_str(), s.value("ApiVersion", "").c_str(),
              s.value("MinAPIVersion", "").c_str(), s.value("Os", "").c_str(), s.value("Arch", "").c_str());
  return 0;
}

int info(Context& ctx, const std::string& format) {
  Client c = ctx.client();
  auto r = get_json(c, "/info");
  if (!r) return report(r.error());
  const Json& i = *r;
  if (!format.empty()) {
    auto t = Template::parse(format);
    if (!t) return report(t.error(), 125);
    auto out = t->execute(i);
    if (!out) return report(out.error());
    std::printf("%s\n", out->c_str());
    return 0;
  }
  auto num = [&](const char* k) { return i.value(k, int64_t{0}); };
  std::printf("Client:\n Version:    %s\n Context:    default\n Debug Mode: false\n\n", kVersion);
  std::printf("Server:\n Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n Images: %lld\n",
              static_cast<long long>(num("Containers")), static_cast<long long>(num("ContainersRunning")),
              static_cast<long long>(num("ContainersPaused")), static_cast<long long>(num("ContainersStopped")),
              static_cast<long long>(num("Images")));
  std::printf(" Server Version: %s\n Storage Driver: %s\n Logging Driver: %s\n Cgroup Driver: %s\n"
              " Cgroup Version: %s\n Default Runtime: %s\n Kernel Version: %s\n Operating System: %s\n"
              " OSType: %s\n Architecture: %s\n CPUs: %lld\n Total Memory: %s\n Name: %s\n"
              " Docker Root Dir: %s\n Debug Mode: %s\n Live Restore Enabled: %s\n",
              i.value("ServerVersion", "").c_str(), i.value("Driver", "").c_str(),
              i.value("LoggingDriver", "").c_str(), i.value("CgroupDriver", "").c_str(),
              i.value("CgroupVersion", "").c_str(), i.value("DefaultRuntime", "").c_str(),
              i.value("KernelVersion", "").c_str(), i.value("OperatingSystem", "").c_str(),
              i.value("OSType", "").c_str(), i.value("Architecture", "").c_str(),
              static_cast<long long>(num("NCPU")),
              fmt::format("{:.4g}GiB", static_cast<double>(num("MemTotal")) / (1 << 30)).c_str(),
              i.value("Name", "").c_str(), i.value("DockerRootDir", "").c_str(),
              i.value("Debug", false) ? "true" : "false", i.value("LiveRestoreEnabled", false) ? "true" : "false");
  if (i.contains("Warnings") && i["Warnings"].is_array()) {
    std::fflush(stdout);
    std::fprintf(stderr, "\n");
    for (const auto& w : i["Warnings"]) std::fprintf(stderr, "%s\n", w.get<std::string>().c_str());
  }
  return 0;
}

}  // namespace

void register_system(CLI::App& app, Context& ctx) {
  auto fmt_v = std::make_shared<std::string>();
  auto* v = add_command(app, "version", "Show the Berth version information");
  v->add_option("-f,--format", *fmt_v, "Format output using a custom template");
  set_action(v, ctx, [&ctx, fmt_v] { return version(ctx, *fmt_v); });

  auto fmt_i = std::make_shared<std::string>();
  auto* i = add_command(app, "info", "Display system-wide information");
  i->add_option("-f,--format", *fmt_i, "Format output using a custom template");
  set_action(i, ctx, [&ctx, fmt_i] { return info(ctx, *fmt_i); });
}

}  // namespace berth::cli
