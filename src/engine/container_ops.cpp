// top, stats, pause/unpause, changes, export, prune, resize (commit is in
// container_commit.cpp).
#include "engine/container_ops.h"

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <set>

#include "base/fd.h"
#include "base/file.h"
#include "base/strings.h"

extern char** environ;

namespace berth::engine {

namespace {

bool is_up(const ContainerRecord& c) { return c.state.status == "running" || c.state.status == "paused"; }

Error not_running(const ContainerRecord& c) {
  return Error::make(ErrorCode::Conflict, "Container {} is not running", c.id);
}

// Run a program (looked up in PATH) to completion; its stdout, or an error
// with its stderr. posix_spawn: berthd is multi-threaded.
Result<std::string> run_program(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Error::sys(errno, "pipe");
  Fd out_r(out[0]), out_w(out[1]);
  if (pipe2(err, O_CLOEXEC) != 0) return Error::sys(errno, "pipe");
  Fd err_r(err[0]), err_w(err[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  // The child must not inherit berthd's ignored SIGPIPE.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &def);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Error::sys(rc, "run {}", argv[0]);
  out_w.reset();
  err_w.reset();
  std::string sout, serr;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        open_fds--;
        continue;
      }
      (i == 0 ? sout : serr).append(buf, static_cast<size_t>(n));
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error::internal("{} failed: {}", argv[0], std::string(trim(serr.empty() ? sout : serr)));
  return sout;
}

std::vector<std::string> fields(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') i++;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

std::string cgroup_path_of(Engine& eng, const std::string& id) {
  auto spec = read_json_file(eng.run_dir(id) + "/bundle/config.json");
  std::string path;
  if (spec && spec->contains("linux") && (*spec)["linux"].is_object())
    path = (*spec)["linux"].value("cgroupsPath", std::string());
  return path.empty() ? "/berth/" + id : path;
}

// The runtime's pause or resume of a container.
Result<void> runtime_call(Engine& eng, const std::string& op, const std::string& id) {
  const auto& o = eng.options();
  BERTH_TRY(run_program({o.runtime, "--root", o.exec_root + "/runtime", op, id}));
  return ok();
}

// Bytes of the files under `dir` (hard links once), what Docker reports as
// a container's SizeRw.
uint64_t tree_size(const std::string& dir) {
  static thread_local uint64_t total;
  static thread_local std::set<std::pair<dev_t, ino_t>>* seen;
  std::set<std::pair<dev_t, ino_t>> inodes;
  total = 0;
  seen = &inodes;
  nftw(
      dir.c_str(),
      [](const char*, const struct stat* st, int type, FTW*) {
        if (type == FTW_F || type == FTW_SL) {
          if (st->st_nlink <= 1 || seen->insert({st->st_dev, st->st_ino}).second)
            total += static_cast<uint64_t>(st->st_size);
        }
        return 0;
      },
      64, FTW_PHYS);
  return total;
}

bool labels_match(const Json& labels, const std::string& filter) {
  auto eq = filter.find('=');
  std::string key = filter.substr(0, eq);
  if (!labels.is_object() || !labels.contains(key)) return false;
  return eq == std::string::npos || labels[key] == filter.substr(eq + 1);
}

}  // namespace

Result<TopResult> filter_ps_output(const std::string& output, const std::vector<int64_t>& pids) {
  TopResult r;
  auto lines = split(output, '\n');
  if (lines.empty()) return Error::internal("ps printed nothing");
  r.titles = fields(lines[0]);
  size_t pid_col = r.titles.size();
  for (size_t i = 0; i < r.titles.size(); i++)
    if (r.titles[i] == "PID") pid_col = i;
  if (pid_col == r.titles.size()) return Error::internal("Couldn't find PID field in ps output");
  std::set<int64_t> want(pids.begin(), pids.end());
  for (size_t l = 1; l < lines.size(); l++) {
    auto f = fields(lines[l]);
    if (f.size() <= pid_col) continue;
    auto pid = parse_int(f[pid_col]);
    if (!pid || !want.count(*pid)) continue;
    // The last title (CMD) takes the rest of the line, spaces and all.
    std::vector<std::string> row(f.begin(), f.begin() + std::min(f.size(), r.titles.size() - 1));
    if (f.size() >= r.titles.size()) {
      std::vector<std::string> rest(f.begin() + static_cast<long>(r.titles.size() - 1), f.end());
      row.push_back(join(rest, " "));
    }
    r.processes.push_back(std::move(row));
  }
  return r;
}

Result<TopResult> top(Engine& eng, const std::string& name_or_id, const std::string& ps_args) {
  auto rec = BERTH_TRY(eng.inspect(name_or_id));
  if (!is_up(rec)) return not_running(rec);
  CgroupReader cg("/sys/fs/cgroup", cgroup_path_of(eng, rec.id));
  auto pids = BERTH_TRY_CTX(cg.pids(), "processes of container {}", rec.name);
  std::vector<std::string> argv = {"ps"};
  for (auto& a : fields(ps_args.empty() ? "-ef" : ps_args)) argv.push_back(a);
  auto out = BERTH_TRY(run_program(argv));
  return filter_ps_output(out, pids);
}

Result<void> pause(Engine& eng, const std::string& name_or_id) {
  auto rec = BERTH_TRY(eng.inspect(name_or_id));
  if (!is_up(rec)) return not_running(rec);
  if (rec.state.status == "paused")
    return Error::make(ErrorCode::Conflict, "Container {} is already paused", rec.id);
  BERTH_TRY_CTX(runtime_call(eng, "pause", rec.id), "pause container {}", rec.name);
  rec.state.status = "paused";
  BERTH_TRY(eng.containers().set_state(rec.id, rec.state));
  eng.publish(rec, "pause");
  return ok();
}

Result<void> unpause(Engine& eng, const std::string& name_or_id) {
  auto rec = BERTH_TRY(eng.inspect(name_or_id));
  if (rec.state.status != "paused")
    return Error::make(ErrorCode::Conflict, "Container {} is not paused", rec.id);
  BERTH_TRY_CTX(runtime_call(eng, "resume", rec.id), "unpause container {}", rec.name);
  rec.state.status = "running";
  BERTH_TRY(eng.containers().set_state(rec.id, rec.state));
  eng.publish(rec, "unpause");
  return ok();
}

Result<void> resume_if_paused(Engine& eng, ContainerRecord& rec) {
  if (rec.state.status != "paused") return ok();
  BERTH_TRY_CTX(runtime_call(eng, "resume", rec.id), "unpause container {}", rec.name);
  rec.state.status = "running";
  return eng.containers().set_state(rec.id, rec.state);
}

Result<std::vector<image::Change>> changes(Engine& eng, const std::string& name_or_id) {
  auto rec = BERTH_TRY(eng.inspect(name_or_id));
  auto img = BERTH_TRY(eng.images().get(rec.image_id));
  std::string upper_path = eng.container_dir(rec.id) + "/rw/upper";
  Fd upper(open(upper_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!upper) return Error::sys(errno, "open {}", upper_path);
  std::vector<Fd> lowers;
  std::vector<int> lower_fds;
  for (auto it = img.chain_ids.rbegin(); it != img.chain_ids.rend(); ++it) {
    std::string p = eng.images().layers().diff_path(*it);
    Fd fd(open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return Error::sys(errno, "open layer {}", p);
    lower_fds.push_back(fd.get());
    lowers.push_back(std::move(fd));
  }
  return image::list_changes(upper.get(), lower_fds);
}

Result<void> export_rootfs(Engine& eng, const ContainerRecord& rec, int out_fd) {
  std::string rootfs = eng.container_dir(rec.id) + "/rootfs";
  Fd root(open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Error::sys(errno, "open {}", rootfs);
  BERTH_TRY_CTX(image::write_tree_tar(root.get(), out_fd), "export container {}", rec.name);
  return ok();
}

uint64_t rw_size(Engine& eng, const ContainerRecord& rec) {
  return tree_size(eng.container_dir(rec.id) + "/rw/upper");
}

Result<int64_t> parse_filter_time(const std::string& value, int64_t now) {
  std::string_view v = trim(value);
  if (v.empty()) return Error::invalid("empty time value");
  // A Go duration: [0-9.]+ followed by h, m, s, ms, repeated.
  {
    double secs = 0;
    size_t i = 0;
    bool okd = true;
    while (i < v.size() && okd) {
      size_t start = i;
      while (i < v.size() && (isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) i++;
      size_t ustart = i;
      while (i < v.size() && isalpha(static_cast<unsigned char>(v[i]))) i++;
      std::string num(v.substr(start, ustart - start)), unit(v.substr(ustart, i - ustart));
      char* end = nullptr;
      double n = num.empty() ? -1 : strtod(num.c_str(), &end);
      if (num.empty() || *end != '\0') okd = false;
      else if (unit == "h") secs += n * 3600;
      else if (unit == "m") secs += n * 60;
      else if (unit == "s") secs += n;
      else if (unit == "ms") secs += n / 1000;
      else okd = false;
    }
    if (okd) return now - static_cast<int64_t>(secs);
  }
  // Unix seconds, with an optional fraction.
  if (auto dot = v.find('.'); parse_int(v.substr(0, dot)) &&
                              (dot == std::string_view::npos || parse_uint(v.substr(dot + 1))))
    return *parse_int(v.substr(0, dot));
  if (auto t = parse_rfc3339_seconds(v)) return *t;
  return Error::invalid("invalid time value {:?}", std::string(v));
}

Result<PruneReport> prune(Engine& eng, const std::map<std::string, std::vector<std::string>>& filters) {
  int64_t now = static_cast<int64_t>(::time(nullptr));
  std::optional<int64_t> until;
  for (const auto& [k, values] : filters) {
    if (k == "until") {
      for (const auto& v : values) until = BERTH_TRY(parse_filter_time(v, now));
    } else if (k != "label" && k != "label!") {
      return Error::invalid("invalid filter '{}'", k);
    }
  }
  auto all = BERTH_TRY(eng.list());
  PruneReport report;
  for (const auto& ptr : all) {
    const ContainerRecord& c = *ptr;
    if (is_up(c) || c.state.status == "restarting" || c.state.status == "removing") continue;
    if (until && parse_rfc3339_seconds(c.created).value_or(0) >= *until) continue;
    const Json labels = c.config->contains("Labels") ? (*c.config)["Labels"] : Json::object();
    bool keep = false;
    if (auto it = filters.find("label"); it != filters.end())
      for (const auto& f : it->second) keep = keep || !labels_match(labels, f);
    if (auto it = filters.find("label!"); it != filters.end())
      for (const auto& f : it->second) keep = keep || labels_match(labels, f);
    if (keep) continue;
    uint64_t size = rw_size(eng, c);
    if (auto r = eng.remove(c.id, false); !r) {
      // Removed meanwhile by someone else: nothing to report.
      if (r.error().code() == ErrorCode::NotFound) continue;
      return r.error().context("prune container {}", c.name);
    }
    report.deleted.push_back(c.id);
    report.space_reclaimed += size;
  }
  eng.events().publish({"container", "prune", "", {{"reclaimed", std::to_string(report.space_reclaimed)}}, 0});
  return report;
}

Result<void> resize(Engine& eng, const std::string& name_or_id, unsigned height, unsigned width) {
  auto rec = BERTH_TRY(eng.inspect(name_or_id));
  if (!is_up(rec)) return not_running(rec);
  auto r = eng.shim_request(rec.id, {{"op", "resize"}, {"height", height}, {"width", width}});
  if (!r && r.error().code() != ErrorCode::FailedPrecondition) return r.error();
  return ok();
}

Result<StatsPoint> stats_point(Engine& eng, const ContainerRecord& rec, const std::string& cgroup_root) {
  StatsPoint p;
  CgroupReader cg(cgroup_root, cgroup_path_of(eng, rec.id));
  p.cgroup = BERTH_TRY(cg.sample());
  p.system_cpu_ns = system_cpu_usage_ns().value_or(0);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  p.online_cpus = n > 0 ? static_cast<unsigned>(n) : 1;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  p.read = fmt::format("{}.{:09d}Z", buf, ts.tv_nsec);
  return p;
}

}  // namespace berth::engine
