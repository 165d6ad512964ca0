#include "runtime/cgroup_common.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "base/fd.h"
#include "base/file.h"
#include "base/strings.h"

namespace berth::runtime::cg {

Result<void> write_control(const std::string& dir, const std::string& file, std::string_view value) {
  std::string path = join_path(dir, file);
  // No O_CREAT: see the header.
  Fd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return Error::sys(errno, "write {} to {}", value, path);
  while (true) {
    ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n >= 0) break;
    if (errno == EINTR) continue;
    return Error::sys(errno, "write {} to {}", value, path);
  }
  return {};
}

Result<std::string> read_control(const std::string& dir, const std::string& file) {
  auto text = BERTH_TRY(read_file(join_path(dir, file)));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

Result<uint64_t> read_u64(const std::string& dir, const std::string& file) {
  auto text = BERTH_TRY(read_control(dir, file));
  if (text == "max") return UINT64_MAX;
  auto v = parse_uint(trim(text));
  if (!v) return Error::invalid("parse {}: not a number: {:?}", join_path(dir, file), text);
  return *v;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool has_control(const std::string& dir, const std::string& file) {
  return file_exists(join_path(dir, file));
}

std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text) {
  std::map<std::string, uint64_t> out;
  for (const auto& line : split(text, '\n')) {
    auto parts = split(trim(line), ' ');
    if (parts.size() != 2) continue;
    if (auto v = parse_uint(parts[1])) out[parts[0]] = *v;
  }
  return out;
}

std::map<std::string, std::string> parse_proc_cgroup(std::string_view text) {
  std::map<std::string, std::string> out;
  for (const auto& line : split(text, '\n')) {
    // hierarchy-ID:controller-list:path; the path may itself hold ':'.
    size_t a = line.find(':');
    if (a == std::string::npos) continue;
    size_t b = line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (ctrls.empty()) {
      out[""] = path;
      continue;
    }
    for (auto c : split(ctrls, ',')) {
      if (c.rfind("name=", 0) == 0) c = c.substr(5);
      out[c] = path;
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> read_own_cgroups(const std::string& proc_file) {
  auto text = BERTH_TRY(read_file(proc_file));
  return parse_proc_cgroup(text);
}

std::string join_path(const std::string& a, const std::string& b) {
  if (b.empty()) return a;
  if (a.empty()) return b;
  bool sa = a.back() == '/', sb = b.front() == '/';
  if (sa && sb) return a + b.substr(1);
  if (sa || sb) return a + b;
  return a + "/" + b;
}

Result<std::string> resolve_cgroup_path(const std::string& requested, const std::string& id,
                                        const std::string& own) {
  std::string raw = requested;
  if (raw.empty()) {
    if (id.empty()) return Error::invalid("cgroup: neither cgroupsPath nor container id given");
    raw = "/berth/" + id;
  }
  std::vector<std::string> parts;
  for (const auto& c : split(raw, '/')) {
    if (c.empty() || c == ".") continue;
    // A ".." would let a config place (and later rmdir) a cgroup outside
    // the tree the runtime is meant to manage.
    if (c == "..") return Error::invalid("cgroupsPath {:?}: \"..\" is not allowed", requested);
    parts.push_back(c);
  }
  if (parts.empty()) return Error::invalid("cgroupsPath {:?}: names the root cgroup", requested);
  std::string rel = "/" + join(parts, "/");
  if (raw.front() == '/') return rel;
  std::string base = own.empty() ? "/" : own;
  return join_path(base, rel);
}

Result<void> make_cgroup_dirs(const std::string& mount, const std::string& rel,
                              const std::vector<std::string>& copy_down) {
  std::string cur = mount;
  for (const auto& c : split(rel, '/')) {
    if (c.empty()) continue;
    std::string parent = cur;
    cur = join_path(cur, c);
    bool created = ::mkdir(cur.c_str(), 0755) == 0;
    if (!created && errno != EEXIST) return Error::sys(errno, "mkdir {}", cur);
    // cpuset v1: a new cgroup starts with empty cpus/mems and refuses tasks
    // until they are set, so inherit the parent's values.
    for (const auto& f : copy_down) {
      if (!has_control(cur, f)) continue;
      auto mine = read_control(cur, f);
      if (mine && !trim(*mine).empty()) continue;
      auto theirs = read_control(parent, f);
      if (!theirs || trim(*theirs).empty()) continue;
      BERTH_TRY(write_control(cur, f, *theirs));
    }
  }
  return {};
}

oci::DeviceRule make_device_rule(bool allow, const char* type, std::optional<int64_t> major,
                                 std::optional<int64_t> minor, const char* access) {
  oci::DeviceRule r;
  r.allow = allow;
  r.type = type;
  r.major = major;
  r.minor = minor;
  r.access = access;
  return r;
}

std::vector<oci::DeviceRule> effective_device_rules(const std::vector<oci::DeviceRule>& config) {
  auto rule = make_device_rule;
  std::vector<oci::DeviceRule> out;
  out.push_back(rule(false, "a", std::nullopt, std::nullopt, "rwm"));
  out.insert(out.end(), config.begin(), config.end());
  out.push_back(rule(true, "c", std::nullopt, std::nullopt, "m"));
  out.push_back(rule(true, "b", std::nullopt, std::nullopt, "m"));
  out.push_back(rule(true, "c", 1, 3, "rwm"));    // /dev/null
  out.push_back(rule(true, "c", 1, 5, "rwm"));    // /dev/zero
  out.push_back(rule(true, "c", 1, 7, "rwm"));    // /dev/full
  out.push_back(rule(true, "c", 1, 8, "rwm"));    // /dev/random
  out.push_back(rule(true, "c", 1, 9, "rwm"));    // /dev/urandom
  out.push_back(rule(true, "c", 5, 0, "rwm"));    // /dev/tty
  out.push_back(rule(true, "c", 5, 1, "rwm"));    // /dev/console
  out.push_back(rule(true, "c", 5, 2, "rwm"));    // /dev/ptmx
  out.push_back(rule(true, "c", 136, std::nullopt, "rwm"));  // /dev/pts/*
  out.push_back(rule(true, "c", 10, 200, "rwm"));  // /dev/net/tun
  return out;
}

std::string device_rule_string(const oci::DeviceRule& r) {
  auto num = [](const std::optional<int64_t>& v) {
    return v && *v >= 0 ? std::to_string(*v) : std::string("*");
  };
  std::string type = r.type.empty() ? "a" : r.type;
  std::string access = r.access.empty() ? "rwm" : r.access;
  return fmt::format("{} {}:{} {}", type, num(r.major), num(r.minor), access);
}

static void collect_pids(const std::string& dir, std::vector<pid_t>& out, int depth) {
  if (auto text = read_file(join_path(dir, "cgroup.procs"))) {
    for (const auto& line : split(*text, '\n'))
      if (auto v = parse_int(trim(line)); v && *v > 0) out.push_back(static_cast<pid_t>(*v));
  }
  if (depth > 64) return;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR || std::string_view(e->d_name) == "." ||
        std::string_view(e->d_name) == "..")
      continue;
    collect_pids(join_path(dir, e->d_name), out, depth + 1);
  }
  ::closedir(d);
}

Result<std::vector<pid_t>> read_pids_recursive(const std::string& dir) {
  std::vector<pid_t> out;
  collect_pids(dir, out, 0);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void kill_pids(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) ::kill(p, SIGKILL);
}

Result<void> wait_empty(const std::string& dir, int ms) {
  bool empty = poll_until([&] { return read_pids_recursive(dir).value_or({}).empty(); }, ms);
  if (!empty) return Error(ErrorCode::Unavailable, fmt::format("cgroup {} still has processes after {} ms", dir, ms));
  return {};
}

Result<void> remove_tree(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (e->d_type == DT_DIR && n != "." && n != "..") children.emplace_back(n);
    }
    ::closedir(d);
    for (const auto& c : children) BERTH_TRY(remove_tree(join_path(dir, c)));
  } else if (errno == ENOENT) {
    return {};
  }
  int err = 0;
  // The kernel may report EBUSY for a moment after the last task exited
  // (the css is released asynchronously).
  poll_until([&] {
    err = ::rmdir(dir.c_str()) == 0 || errno == ENOENT ? 0 : errno;
    return err != EBUSY;
  }, 2000);
  if (err != 0) return Error::sys(err, "rmdir {}", dir);
  return {};
}

void sleep_us(int us) {
  timespec ts{us / 1000000, (us % 1000000) * 1000L};
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + (weight - 10) * 9999 / 990;
}

Result<std::optional<int64_t>> swap_to_v2(std::optional<int64_t> swap, std::optional<int64_t> limit) {
  // cgroup v1 semantics (swap = memory+swap) carried to v2's swap-only file.
  if ((!swap || *swap == 0) && limit && *limit == -1) return std::optional<int64_t>(-1);
  if (!swap || *swap == 0) return std::optional<int64_t>();
  if (*swap == -1) return std::optional<int64_t>(-1);
  if (!limit || *limit <= 0)
    return Error::invalid("memory.swap {}: a swap limit needs a memory limit", *swap);
  if (*swap < *limit)
    return Error::invalid("memory.swap {} is below memory.limit {} (swap counts memory+swap)", *swap, *limit);
  return std::optional<int64_t>(*swap - *limit);
}

std::string max_or_value(int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); }

}  // namespace berth::runtime::cg
