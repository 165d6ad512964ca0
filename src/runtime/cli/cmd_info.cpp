// state, list, ps, events, spec, features.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "base/file.h"
#include "base/strings.h"
#include "runtime/cli/commands.h"
#include "runtime/container.h"
#include "runtime/lifecycle_common.h"

namespace berth::runtime::cli {
namespace {

Result<int> cmd_state(const Globals& g, const Args& a) {
  auto id = BERTH_TRY(container_id_arg(a, "state"));
  auto st = BERTH_TRY(container_state(StateDir(g.root), id));
  std::cout << st.dump(2) << "\n";
  return 0;
}

Result<int> cmd_list(const Globals& g, const Args& a) {
  StateDir dir(g.root);
  std::string format = a.get_or("format", "table");
  if (format != "table" && format != "json") return Error::invalid("--format: invalid value {:?} (table or json)", format);
  Json all = Json::array();
  for (const auto& id : BERTH_TRY(dir.list())) {
    auto c = load_container(dir, id);
    if (!c) continue;  // removed meanwhile
    all.push_back(oci_state(c->state, c->status));
  }
  if (a.flag("quiet")) {
    for (const auto& c : all) std::cout << c["id"].get<std::string>() << "\n";
  } else if (format == "json") {
    std::cout << (all.empty() ? "null" : all.dump()) << "\n";
  } else {
    std::cout << fmt::format("{:<12} {:<10} {:<10} {:<40} {:<31} {}\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (const auto& c : all)
      std::cout << fmt::format("{:<12} {:<10} {:<10} {:<40} {:<31} {}\n", c["id"].get<std::string>(),
                               c["pid"].get<int>(), c["status"].get<std::string>(), c["bundle"].get<std::string>(),
                               c["created"].get<std::string>(), c["owner"].get<std::string>());
  }
  return 0;
}

// `ps` table: run ps(1) with the given options and keep the header and the
// lines whose PID column names a process of the container.
Result<int> ps_table(const std::vector<pid_t>& pids, std::vector<std::string> ps_args) {
  if (ps_args.empty()) ps_args = {"-ef"};
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return Error::sys(errno, "pipe");
  pid_t child = fork();
  if (child < 0) return Error::sys(errno, "fork");
  if (child == 0) {
    dup2(p[1], STDOUT_FILENO);
    std::vector<char*> argv{const_cast<char*>("ps")};
    for (auto& s : ps_args) argv.push_back(s.data());
    argv.push_back(nullptr);
    execvp("ps", argv.data());
    _exit(127);
  }
  close(p[1]);
  Fd out(p[0]);
  auto text = read_fd(out.get());
  int status;
  waitpid(child, &status, 0);
  if (!text) return text.error();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Error::internal("ps {} failed", join(ps_args, " "));
  auto lines = split(*text, '\n');
  if (lines.empty()) return 0;
  auto header = split(std::string(trim(lines[0])), ' ');
  header.erase(std::remove(header.begin(), header.end(), ""), header.end());
  auto col = std::find(header.begin(), header.end(), "PID");
  if (col == header.end()) return Error::internal("ps output has no PID column");
  size_t idx = static_cast<size_t>(col - header.begin());
  std::cout << lines[0] << "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    auto f = split(std::string(trim(lines[i])), ' ');
    f.erase(std::remove(f.begin(), f.end(), ""), f.end());
    if (f.size() <= idx) continue;
    auto pid = parse_int(f[idx]);
    if (pid && std::find(pids.begin(), pids.end(), static_cast<pid_t>(*pid)) != pids.end())
      std::cout << lines[i] << "\n";
  }
  return 0;
}

Result<int> cmd_ps(const Globals& g, const Args& a) {
  if (a.positional().empty()) return Error::invalid("ps: requires a container id");
  const std::string& id = a.positional()[0];
  auto pids = BERTH_TRY(container_pids(StateDir(g.root), id));
  std::string format = a.get_or("format", "table");
  if (format == "json") {
    std::cout << Json(pids).dump() << "\n";
    return 0;
  }
  if (format != "table") return Error::invalid("--format: invalid value {:?} (table or json)", format);
  return ps_table(pids, {a.positional().begin() + 1, a.positional().end()});
}

Result<int> cmd_events(const Globals& g, const Args& a) {
  auto id = BERTH_TRY(container_id_arg(a, "events"));
  StateDir dir(g.root);
  if (a.flag("stats")) {
    auto ev = BERTH_TRY(container_stats(dir, id));
    std::cout << ev.dump() << "\n";
    return 0;
  }
  std::string iv = a.get_or("interval", "5s");
  // Go durations as runc takes them: "5s", "500ms", "1m".
  int ms = 0;
  size_t i = 0;
  while (i < iv.size() && isdigit(static_cast<unsigned char>(iv[i]))) ++i;
  auto n = parse_int(iv.substr(0, i));
  std::string unit = iv.substr(i);
  if (!n || *n <= 0) return Error::invalid("--interval: invalid duration {:?}", iv);
  if (unit == "ms") ms = static_cast<int>(*n);
  else if (unit == "s" || unit.empty()) ms = static_cast<int>(*n * 1000);
  else if (unit == "m") ms = static_cast<int>(*n * 60000);
  else return Error::invalid("--interval: invalid duration {:?}", iv);
  BERTH_TRY(stream_events(dir, id, ms));
  return 0;
}

Result<int> cmd_spec(const Globals&, const Args& a) {
  std::string bundle = a.get_or("bundle", ".");
  std::string path = bundle + "/config.json";
  struct stat st;
  if (stat(path.c_str(), &st) == 0) return Error(ErrorCode::AlreadyExists, "File config.json exists. Remove it first");
  BERTH_TRY(write_file(path, oci::default_spec(a.flag("rootless")).dump(1, '\t') + "\n", 0644));
  return 0;
}

Result<int> cmd_features(const Globals&, const Args&) {
  std::cout << oci::features().dump(4) << "\n";
  return 0;
}

Result<int> cmd_unsupported(const Globals&, const Args&) {
  return Error(ErrorCode::NotImplemented, "checkpoint/restore is not supported by this build of berth-runtime");
}

}  // namespace

void register_info_commands(std::vector<Command>& out) {
  out.push_back({"state", "state <container-id>", "output the state of a container", {}, cmd_state});
  out.push_back({"list", "list [command options]", "lists containers started by berth-runtime with the given root",
                 {{"format,f", true, "table or json"}, {"quiet,q", false, "display only container IDs"}}, cmd_list});
  out.push_back({"ps", "ps [command options] <container-id> [ps options]", "displays the processes running inside a container",
                 {{"format,f", true, "table or json"}}, cmd_ps});
  out.push_back({"events", "events [command options] <container-id>", "display container events such as OOM notifications and stats",
                 {{"interval", true, "set the stats collection interval (default 5s)"}, {"stats", false, "display the container's stats then exit"}},
                 cmd_events});
  out.push_back({"spec", "spec [command options]", "create a new specification file",
                 {{"bundle,b", true, "path to the root of the bundle directory"}, {"rootless", false, "generate a configuration for a rootless container"}},
                 cmd_spec});
  out.push_back({"features", "features", "show the enabled features", {}, cmd_features});
  out.push_back({"checkpoint", "checkpoint [command options] <container-id>", "checkpoint a running container (not supported)",
                 {{"image-path", true, ""}, {"work-path", true, ""}, {"leave-running", false, ""}, {"tcp-established", false, ""},
                  {"ext-unix-sk", false, ""}, {"shell-job", false, ""}, {"file-locks", false, ""}, {"empty-ns", true, ""},
                  {"status-fd", true, ""}},
                 cmd_unsupported});
  out.push_back({"restore", "restore [command options] <container-id>", "restore a container from a checkpoint (not supported)",
                 {{"image-path", true, ""}, {"work-path", true, ""}, {"bundle,b", true, ""}, {"detach,d", false, ""},
                  {"pid-file", true, ""}, {"no-subreaper", false, ""}, {"console-socket", true, ""}, {"tcp-established", false, ""},
                  {"ext-unix-sk", false, ""}, {"shell-job", false, ""}, {"file-locks", false, ""}},
                 cmd_unsupported});
}

}  // namespace berth::runtime::cli
