// The berth command table: each file registers its commands on a CLI11 app
// (the top level, and again under "container"/"image" for docker's
// management groups); the chosen command's action sets the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "base/json.h"
#include "base/result.h"
#include "cli/http.h"

namespace berth::cli {

struct Context {
  std::string host_flag;    // -H/--host as given
  std::string socket_path;  // resolved before a command's action runs
  bool autostart = false;   // the default socket: berthd may be started (autostart.h)
  int exit_code = 0;
  Client client() const { return Client(socket_path, autostart); }
  // -H, then BERTH_HOST, then DOCKER_HOST, then the default socket; false
  // (after saying why) for an address that is not a unix socket.
  bool resolve_host();
};

// Exit codes as docker's: 125 for the daemon or the command line, 126 the
// command cannot be run, 127 it is not found, otherwise the container's.
constexpr int kExitDaemon = 125;

// Prints the error the way docker does and returns the exit code for it:
// 125 when the daemon cannot be reached, else `code`.
int report(const Error& e, int code = 1);

// A subcommand with docker's help flag (--help only: -h is --hostname on run).
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description);
// Sets the action of a command: its return value is the exit code.
void set_action(CLI::App* cmd, Context& ctx, std::function<int()> action);

Result<Json> get_json(Client& c, const std::string& path);
// POST/DELETE with no interesting answer; errors come back as daemon errors.
Result<void> post(Client& c, const std::string& method, const std::string& path, const Json* body = nullptr);

void register_system(CLI::App& app, Context& ctx);
void register_ps(CLI::App& app, Context& ctx, const std::string& name, bool alias = false);
void register_images(CLI::App& app, Context& ctx, bool management);
void register_inspect(CLI::App& app, Context& ctx, const std::string& kind);
// run, create, start and attach; `only` one of them (the command typed:
// run's table of seventy flags is most of a start-up), or "" for all.
void register_run(CLI::App& app, Context& ctx, const std::string& only = "");
void register_lifecycle(CLI::App& app, Context& ctx);
void register_exec(CLI::App& app, Context& ctx);
void register_port(CLI::App& app, Context& ctx);
void register_commit(CLI::App& app, Context& ctx);
void register_diff(CLI::App& app, Context& ctx);
void register_export(CLI::App& app, Context& ctx);
void register_import(CLI::App& app, Context& ctx);

// "name:tag" → {"name", "tag"}, "latest" when no tag is given (a ':' in a
// registry's port is not a tag).
std::pair<std::string, std::string> split_ref(const std::string& ref);

void register_stats(CLI::App& app, Context& ctx);
void register_events(CLI::App& app, Context& ctx);
// "prune" of `kind`: "container", "image" or "system".
void register_prune(CLI::App& app, Context& ctx, const std::string& kind);
void register_df(CLI::App& app, Context& ctx);

// ["status=exited", ...] → {"status":{"exited":true}}, the filters the docker CLI sends.
Result<std::string> filters_json(const std::vector<std::string>& filters);
// cobra's cli.NoArgs, as docker 28 words it: false, after
//   berth: 'berth events' accepts no arguments\n\nUsage:  berth events [OPTIONS]\n\n
//   Run 'berth events --help' for more information
// on stderr, when `args` (a hidden positional of `cmd`) is not empty.
bool check_no_args(const CLI::App& cmd, const std::vector<std::string>& args, const std::string& use);
// A --since/--until value (unix seconds, RFC 3339, a date, or a Go
// duration before now) as the API wants it: unix seconds.
Result<std::string> api_timestamp(const std::string& v);

}  // namespace berth::cli
