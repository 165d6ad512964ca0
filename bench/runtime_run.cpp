// runtime_run: how long `<runtime> run` takes to start and finish a container
// whose process is /bin/true, for Berth's runtime, crun and runc side by side.
//
// One round runs every selected runtime once, in a fixed order (berth, crun,
// runc); rounds repeat, so that a slow minute on a shared machine hurts all
// runtimes alike instead of whichever happened to be measured then. Each run
// is timed from fork() of the runtime to wait4() returning for it; `delete -f`
// follows, untimed, in case a runtime left state behind.
//
// Every runtime sees the same bundle: a `crun spec` config with the process
// set to /bin/true, no terminal, and pid, net, ipc, uts, mount and cgroup
// namespaces, over a read-only busybox root filesystem.
//
// crun 1.8 refuses a hybrid cgroup layout (v1 controllers plus a cgroup2
// mount at /sys/fs/cgroup/unified), so the driver first moves itself into a
// private mount namespace and detaches /sys/fs/cgroup/unified there; all
// three runtimes then see plain cgroup v1. The host's mounts are untouched.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stats.h"

namespace fs = std::filesystem;

namespace berth::bench {
namespace {

struct Options {
  std::string berth = BERTH_DEFAULT_RUNTIME;
  std::string crun = "/usr/bin/crun";
  std::string runc = "/usr/sbin/runc";
  std::vector<std::string> runtimes = {"berth", "crun", "runc"};
  std::string rootfs = BERTH_DEFAULT_ROOTFS;
  int runs = 100;
  int warmup = 3;
  bool keep_unified = false;  // leave /sys/fs/cgroup/unified mounted
  bool keep_workdir = false;
};

struct Runtime {
  std::string name;
  std::string path;
  std::string root;  // --root state directory, private to this benchmark
  std::vector<Sample> samples;
  int failures = 0;
  bool dropped = false;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "runtime_run: %s\n", msg.c_str());
  std::exit(2);
}

void usage() {
  std::printf(
      "usage: runtime_run [options]\n"
      "  --berth PATH       Berth's runtime (env BERTH_RUNTIME; default %s)\n"
      "  --crun PATH        crun (default /usr/bin/crun)\n"
      "  --runc PATH        runc (default /usr/sbin/runc)\n"
      "  --runtimes LIST    comma-separated subset of berth,crun,runc (default all)\n"
      "  --rootfs DIR       busybox root filesystem (default %s)\n"
      "  -n, --runs N       measured runs per runtime (default 100)\n"
      "  --warmup N         unmeasured runs per runtime first (default 3)\n"
      "  --keep-unified     do not detach /sys/fs/cgroup/unified (crun 1.8 then fails)\n"
      "  --keep-workdir     keep the temporary bundle and state directories\n",
      BERTH_DEFAULT_RUNTIME, BERTH_DEFAULT_ROOTFS);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("BERTH_RUNTIME"); env && *env) o.berth = env;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool has_inline = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_inline = true;
    }
    auto next = [&]() -> std::string {
      if (has_inline) return value;
      if (i + 1 >= argc) die("option " + a + " needs a value");
      return argv[++i];
    };
    auto number = [&]() {
      std::string v = next();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || n < 0 || n > 100000) die("option " + a + ": not a count: " + v);
      return static_cast<int>(n);
    };
    if (a == "--berth") o.berth = next();
    else if (a == "--crun") o.crun = next();
    else if (a == "--runc") o.runc = next();
    else if (a == "--runtimes") o.runtimes = split(next(), ',');
    else if (a == "--rootfs") o.rootfs = next();
    else if (a == "-n" || a == "--runs") o.runs = number();
    else if (a == "--warmup") o.warmup = number();
    else if (a == "--keep-unified") o.keep_unified = true;
    else if (a == "--keep-workdir") o.keep_workdir = true;
    else if (a == "-h" || a == "--help") { usage(); std::exit(0); }
    else die("unknown option " + a + " (see --help)");
  }
  if (o.runs == 0) die("--runs must be at least 1");
  return o;
}

// Private mount namespace without the cgroup2 mount of the hybrid layout.
void enter_private_mount_namespace(bool keep_unified) {
  if (unshare(CLONE_NEWNS) != 0) die(std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno));
  // Without MS_PRIVATE the umount below would propagate back to the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    die(std::string("mount / MS_REC|MS_PRIVATE: ") + std::strerror(errno));
  if (keep_unified) return;
  if (umount2("/sys/fs/cgroup/unified", MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    die(std::string("umount2 /sys/fs/cgroup/unified: ") + std::strerror(errno));
}

// fork+exec argv with stdin from /dev/null and stdout/stderr into `log`;
// returns the wait status and the rusage wait4 reports for the child.
int spawn(const std::vector<std::string>& args, const std::string& log, const std::string& cwd,
          rusage* ru, double* elapsed_ms) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) die("open " + log + ": " + std::strerror(errno));
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0) die(std::string("open /dev/null: ") + std::strerror(errno));

  timespec t0{}, t1{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage local{};
  while (wait4(pid, &status, 0, ru ? ru : &local) < 0) {
    if (errno != EINTR) die(std::string("wait4: ") + std::strerror(errno));
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  close(out);
  close(null);
  if (elapsed_ms)
    *elapsed_ms = static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e3 +
                  static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e6;
  return status;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (s.size() > 4000) s = s.substr(0, 4000) + "\n[...]";
  return s;
}

// Writes BUNDLE/config.json: `crun spec`, adjusted as described at the top,
// with `args` as the process.
void make_bundle(const std::string& crun, const std::string& bundle, const std::string& rootfs,
                 const std::vector<std::string>& args) {
  fs::create_directories(bundle);
  double ms = 0;
  int st = spawn({crun, "spec"}, bundle + "/spec.log", bundle, nullptr, &ms);
  if (st != 0) die(crun + " spec: " + describe_status(st) + ": " + slurp(bundle + "/spec.log"));
  std::ifstream in(bundle + "/config.json");
  nlohmann::json c = nlohmann::json::parse(in);
  c["process"]["args"] = args;
  c["process"]["terminal"] = false;
  c["root"]["path"] = rootfs;
  c["root"]["readonly"] = true;
  auto& ns = c["linux"]["namespaces"];
  for (const char* want : {"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
    bool present = std::any_of(ns.begin(), ns.end(), [&](const auto& n) { return n["type"] == want; });
    if (!present) ns.push_back({{"type", want}});
  }
  std::ofstream(bundle + "/config.json") << c.dump(2) << "\n";
}

// A shell script for the check bundle: exit 7 only if the process runs in a
// new namespace of every kind. A runtime that returns 0 without running
// anything, or forgets a namespace, cannot pass for a fast one.
std::vector<std::string> namespace_check_args() {
  std::string script;
  for (const char* ns : {"pid", "net", "ipc", "uts", "mnt", "cgroup"}) {
    std::error_code ec;
    auto host = fs::read_symlink(std::string("/proc/self/ns/") + ns, ec);
    if (ec) die(std::string("readlink /proc/self/ns/") + ns + ": " + ec.message());
    script += std::string("[ \"$(readlink /proc/self/ns/") + ns + ")\" != '" + host.string() +
              "' ] || { echo 'shares the host " + ns + " namespace'; exit 1; }; ";
  }
  script += "exit 7";
  return {"/bin/sh", "-c", script};
}

// The 1-minute load average: a benchmark on a busy machine says so.
std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_options(argc, argv);
  if (geteuid() != 0) die("must run as root (namespaces, cgroups)");
  if (access((opt.rootfs + "/bin/true").c_str(), F_OK) != 0 &&
      !fs::is_symlink(opt.rootfs + "/bin/true"))
    die("no busybox root filesystem at " + opt.rootfs +
        " (run scripts/make-busybox, or pass --rootfs DIR)");
  opt.rootfs = fs::absolute(opt.rootfs).lexically_normal().string();

  std::vector<Runtime> rts;
  for (const auto& name : opt.runtimes) {
    std::string path = name == "berth" ? opt.berth
                       : name == "crun" ? opt.crun
                       : name == "runc" ? opt.runc
                                        : (die("unknown runtime " + name), "");
    if (access(path.c_str(), X_OK) != 0) die(name + ": not executable: " + path);
    rts.push_back({name, fs::absolute(path).string(), "", {}, 0, false});
  }

  enter_private_mount_namespace(opt.keep_unified);

  char tmpl[] = "/tmp/berth-bench.XXXXXX";
  if (!mkdtemp(tmpl)) die(std::string("mkdtemp: ") + std::strerror(errno));
  const std::string work = tmpl;
  const std::string bundle = work + "/bundle";
  make_bundle(opt.crun, bundle, opt.rootfs, {"/bin/true"});
  const std::string check_bundle = work + "/check";
  make_bundle(opt.crun, check_bundle, opt.rootfs, namespace_check_args());
  for (auto& rt : rts) {
    rt.root = work + "/root-" + rt.name;
    fs::create_directories(rt.root);
  }

  std::fflush(stdout);
  std::fprintf(stderr, "runtime_run: %d warm-up + %d measured runs each, interleaved; bundle %s\n",
               opt.warmup, opt.runs, bundle.c_str());
  for (auto& rt : rts) {
    const std::string id = "bench-check-" + rt.name + "-" + std::to_string(getpid());
    const std::string log = work + "/" + rt.name + "-check.log";
    double ms = 0;
    int st = spawn({rt.path, "--root", rt.root, "run", "-b", check_bundle, id}, log, check_bundle, nullptr, &ms);
    spawn({rt.path, "--root", rt.root, "delete", "-f", id}, work + "/delete.log", check_bundle, nullptr, &ms);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 7) {
      std::fprintf(stderr,
                   "runtime_run: %s failed the check (a container that exits 7 in new namespaces): %s\n%s\n"
                   "runtime_run: dropping %s\n",
                   rt.name.c_str(), describe_status(st).c_str(), slurp(log).c_str(), rt.name.c_str());
      rt.failures = 1;
      rt.dropped = true;
    }
  }

  const std::string load_start = loadavg();
  int counter = 0;
  for (int round = 0; round < opt.warmup + opt.runs; ++round) {
    for (auto& rt : rts) {
      if (rt.dropped) continue;
      const std::string id = "bench-" + rt.name + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
      const std::string log = work + "/" + rt.name + ".log";
      rusage ru{};
      double ms = 0;
      int st = spawn({rt.path, "--root", rt.root, "run", "-b", bundle, id}, log, bundle, &ru, &ms);
      double dms = 0;
      spawn({rt.path, "--root", rt.root, "delete", "-f", id}, work + "/delete.log", bundle, nullptr, &dms);
      if (st != 0) {
        ++rt.failures;
        std::fprintf(stderr, "runtime_run: %s run %s: %s\n%s\n", rt.name.c_str(), id.c_str(),
                     describe_status(st).c_str(), slurp(log).c_str());
        // A runtime that cannot run the container at all is left out rather
        // than stopping the comparison of the others.
        if (round < opt.warmup || rt.failures >= 3) {
          std::fprintf(stderr, "runtime_run: dropping %s\n", rt.name.c_str());
          rt.dropped = true;
        }
        continue;
      }
      if (round < opt.warmup) continue;
      rt.samples.push_back({ms, ru.ru_maxrss, (static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                                               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3)});
    }
  }

  const std::string load_end = loadavg();
  std::vector<Summary> sums;
  for (const auto& rt : rts) sums.push_back(summarize(rt.name, rt.path, rt.samples, rt.failures, rt.dropped));
  print_report(sums, opt.runs, opt.warmup, !opt.keep_unified, load_start, load_end);

  if (!opt.keep_workdir) {
    std::error_code ec;
    fs::remove_all(work, ec);
    // Berth's runtime puts a container without cgroupsPath under /berth/<id>;
    // remove the parent it left in each hierarchy if nothing else uses it.
    for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) ::rmdir((h.path() / "berth").c_str());
  } else {
    std::fprintf(stderr, "runtime_run: kept %s\n", work.c_str());
  }
  bool any_failed = std::any_of(rts.begin(), rts.end(), [](const Runtime& r) { return r.failures > 0; });
  return any_failed ? 1 : 0;
}

}  // namespace berth::bench

int main(int argc, char** argv) { return berth::bench::main(argc, argv); }
