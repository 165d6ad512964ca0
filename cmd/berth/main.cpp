// berth: the command line of the Berth container engine. Talks to berthd
// over the Docker Engine API with docker's command set, flags and output.
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "cli/autostart.h"
#include "cli/commands/commands.h"
#include "cli/completion.h"
#include "cli/go_compat.h"
#include "cli/help.h"
#include "sys/prefault.h"

namespace {

// The binary itself is mapped at the entry point, before libc's start
// (sys/prefault.h); the heap, before our static constructors run: two
// calls rather than a hundred faults.
void prefault(int, char**, char**) { berth::sys::prefault_heap(256 << 10); }
__attribute__((section(".preinit_array"), used)) void (*const kPrefault)(int, char**, char**) = prefault;

using berth::cli::Context;

// Commands of the docker set that later slices bring.
const char* kNotYet[] = {"build", "builder", "context", "cp",
                         "login", "logout", "network", "plugin", "pull", "push", "search",
                         "update", "volume", "compose", "buildx", "swarm", "node",
                         "service", "stack", "secret", "config", "trust", "manifest", "checkpoint"};

void add_not_yet(CLI::App& app, Context& ctx, const std::string& name, const std::string& group = "") {
  auto* cmd = berth::cli::add_command(app, name, "(not available yet)");
  cmd->group("Not available yet");
  cmd->allow_extras();
  cmd->prefix_command();
  std::string full = group.empty() ? name : group + " " + name;
  berth::cli::set_action(cmd, ctx, [full] {
    std::fprintf(stderr, "berth: '%s' is not available yet in this version of berth\n", full.c_str());
    return berth::cli::kExitDaemon;
  });
}

// The commands each register_* function adds, in the order main calls them.
const std::vector<std::vector<const char*>> kGroups = {
    {"run", "create", "start", "attach"},
    {"exec"},
    {"ps"},
    {"images", "rmi", "tag", "history", "load", "save"},
    {"inspect"},
    {"stop", "restart", "kill", "rm", "remove", "wait", "rename", "pause", "unpause", "top", "logs"},
    {"version", "info"},
    {"port"},
    {"commit"},
    {"diff"},
    {"export"},
    {"import"},
    {"stats"},
    {"events"},
    {"system"},
    {"container"},
    {"image"},
};

// The first word that is not a global option (or its value).
std::string command_name(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-H" || a == "--host" || a == "-l" || a == "--log-level") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    return std::string(a);
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Context ctx;
  CLI::App app("A self-sufficient runtime for containers", "berth");
  app.set_help_flag("--help", "Print usage");
  // Before any command is added: they take the formatter from their parent.
  app.formatter(std::make_shared<berth::cli::DockerHelp>());
  app.require_subcommand(0, 1);
  bool version = false, debug = false;
  std::string log_level;
  app.add_option("-H,--host", ctx.host_flag, "Daemon socket to connect to");
  app.add_flag("-v,--version", version, "Print version information and quit");
  app.add_flag("-D,--debug", debug, "Enable debug mode");
  app.add_option("-l,--log-level", log_level, "Set the logging level");

  // Only the group of the command asked for is registered: CLI11 builds
  // every option object up front, and the whole table (run's seventy flags
  // twice over) is most of berth's start-up. --help and unknown commands
  // get the whole table.
  const std::string cmd = command_name(argc, argv);
  // `berth daemon ARGS`: berthd in the foreground, with berthd's own flags.
  if (cmd == "daemon") {
    int at = 1;
    while (std::string_view(argv[at]) != "daemon") ++at;
    return berth::cli::exec_daemon(std::vector<std::string>(argv + at + 1, argv + argc));
  }
  bool everything = true;
  for (const auto& g : kGroups)
    for (const char* n : g)
      if (cmd == n) everything = false;
  for (const char* n : kNotYet)
    if (cmd == n) everything = false;
  auto want = [&](const std::vector<const char*>& names) {
    if (everything) return true;
    for (const char* n : names)
      if (cmd == n) return true;
    return false;
  };
  if (want(kGroups[0])) berth::cli::register_run(app, ctx, everything ? "" : cmd);
  if (want(kGroups[1])) berth::cli::register_exec(app, ctx);
  if (want(kGroups[2])) berth::cli::register_ps(app, ctx, "ps");
  if (want(kGroups[3])) berth::cli::register_images(app, ctx, false);
  if (want(kGroups[4])) berth::cli::register_inspect(app, ctx, "");
  if (want(kGroups[5])) berth::cli::register_lifecycle(app, ctx);
  if (want(kGroups[6])) berth::cli::register_system(app, ctx);
  if (want({"port"})) berth::cli::register_port(app, ctx);
  if (want({"commit"})) berth::cli::register_commit(app, ctx);
  if (want({"diff"})) berth::cli::register_diff(app, ctx);
  if (want({"export"})) berth::cli::register_export(app, ctx);
  if (want({"import"})) berth::cli::register_import(app, ctx);
  if (want({"stats"})) berth::cli::register_stats(app, ctx);
  if (want({"events"})) berth::cli::register_events(app, ctx);
  if (want({"system"})) {
    auto* system = berth::cli::add_command(app, "system", "Manage Docker");
    system->require_subcommand(1);
    berth::cli::register_system(*system, ctx);
    system->remove_subcommand(system->get_subcommand("version"));  // docker's system has info only
    berth::cli::register_events(*system, ctx);
    berth::cli::register_df(*system, ctx);
    berth::cli::register_prune(*system, ctx, "system");
  }
  for (const char* n : kNotYet)
    if (everything || cmd == n) add_not_yet(app, ctx, n);
  if (everything) {
    // Listed for --help and completion; main runs it before parsing.
    auto* daemon = berth::cli::add_command(app, "daemon", "Run berthd, the daemon, in the foreground");
    daemon->allow_extras();
    daemon->prefix_command();
    // The completion script is generated from this same table.
    auto* completion = berth::cli::add_command(app, "completion", "Print the bash completion script");
    auto shell = std::make_shared<std::string>("bash");
    completion->add_option("SHELL", *shell, "bash");
    completion->callback([&app, &ctx, shell] {
      if (*shell != "bash") {
        std::fprintf(stderr, "berth: completion for '%s' is not available; bash is\n", shell->c_str());
        ctx.exit_code = 1;
        return;
      }
      std::fputs(berth::cli::bash_completion(app).c_str(), stdout);
    });
  }

  if (want({"container"})) {
    auto* container = berth::cli::add_command(app, "container", "Manage containers");
    container->require_subcommand(1);
    berth::cli::register_ps(*container, ctx, "ls", true);
    berth::cli::register_run(*container, ctx);
    berth::cli::register_exec(*container, ctx);
    berth::cli::register_inspect(*container, ctx, "container");
    berth::cli::register_lifecycle(*container, ctx);
    berth::cli::register_port(*container, ctx);
    berth::cli::register_commit(*container, ctx);
    berth::cli::register_diff(*container, ctx);
    berth::cli::register_export(*container, ctx);
    berth::cli::register_stats(*container, ctx);
    berth::cli::register_prune(*container, ctx, "container");
    for (const char* n : {"cp", "update"})
      add_not_yet(*container, ctx, n, "container");
  }
  if (want({"image"})) {
    auto* image = berth::cli::add_command(app, "image", "Manage images");
    image->require_subcommand(1);
    berth::cli::register_images(*image, ctx, true);
    berth::cli::register_inspect(*image, ctx, "image");
    berth::cli::register_import(*image, ctx);
    berth::cli::register_prune(*image, ctx, "image");
    for (const char* n : {"build", "pull", "push"}) add_not_yet(*image, ctx, n, "image");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (app.get_subcommands().empty() && !app.remaining().empty()) {
      std::fprintf(stderr, "berth: '%s' is not a berth command.\nSee 'berth --help'\n", app.remaining()[0].c_str());
      return 1;
    }
    // The usage of the command that refused the line, as docker prints it.
    const CLI::App* cmd = &app;
    while (!cmd->get_subcommands().empty()) cmd = cmd->get_subcommands().front();
    // A management group without its command: its help, as docker shows;
    // with a command it does not have: docker's "unknown command".
    if (cmd != &app && !cmd->get_subcommands([](const CLI::App*) { return true; }).empty()) {
      if (cmd->remaining().empty()) {
        std::fputs(cmd->help().c_str(), stdout);
        return 0;
      }
      std::string path = berth::cli::command_path(*cmd);
      std::fprintf(stderr, "berth: unknown command: %s %s\n\nUsage:  %s\n\nRun '%s --help' for more information\n",
                   path.c_str(), cmd->remaining()[0].c_str(), path.c_str(),
                   path.c_str());
      return 1;
    }
    return berth::cli::report_parse_error(*cmd, e);
  }
  if (version) {
    std::printf("Berth version 0.1.0\n");
    return 0;
  }
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  // Out without taking the command table apart (a tenth of a `berth run`'s
  // own time): nothing is left to release that the kernel does not.
  std::fflush(nullptr);
  std::_Exit(ctx.exit_code);
}
