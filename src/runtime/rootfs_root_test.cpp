// The real thing, as root: a child in new mount and pid namespaces builds a
// busybox rootfs, runs prepare_rootfs + enter_rootfs and looks around from
// inside. It reports through a pipe; its mount namespace dies with it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <linux/magic.h>

#include "runtime/rootfs.h"

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;

// Lines the body writes: "FAIL: ..." for a failed check, "SKIP: ..." when
// the kernel says no.
using Report = std::string;

oci::Mount mnt(std::string dest, std::string type, std::string source,
               std::vector<std::string> options) {
  oci::Mount m;
  m.destination = std::move(dest);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  return m;
}

class RootfsRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "needs /bin/busybox (busybox-static)";
    char tmpl[] = "/tmp/berth-rootfs-root-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    bundle_ = tmpl;
    rootfs_ = bundle_ + "/rootfs";
    fs::create_directories(rootfs_ + "/bin");
    fs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    for (const char* l : {"sh", "ls", "cat", "stat", "touch"}) {
      fs::create_symlink("busybox", rootfs_ + "/bin/" + l);
    }
    fs::create_directories(rootfs_ + "/etc");
    spec_.root = oci::Root{"rootfs", false};
    spec_.linux_ = oci::Linux{};
    spec_.linux_->namespaces = {{"pid", ""}, {"mount", ""}, {"ipc", ""}, {"uts", ""}};
    opts_.bundle = bundle_;
  }
  void TearDown() override {
    if (!bundle_.empty()) fs::remove_all(bundle_);
  }

  void docker_like_mounts() {
    spec_.mounts = {
        mnt("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
        mnt("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mnt("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        mnt("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        mnt("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mnt("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
    };
    spec_.linux_->masked_paths = {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list",
                                  "/sys/firmware", "/proc/does-not-exist"};
    spec_.linux_->readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                    "/proc/sysrq-trigger"};
  }

  // Run `body` as pid 1 of new mount and pid namespaces; returns its report.
  Report run_inside(const std::function<Report()>& body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return "FAIL: pipe";
    pid_t child = ::fork();
    if (child == 0) {
      ::close(p[0]);
      if (::unshare(CLONE_NEWNS | CLONE_NEWPID) != 0) {
        std::string msg = "SKIP: unshare: " + std::string(strerror(errno));
        (void)!::write(p[1], msg.data(), msg.size());
        _exit(0);
      }
      pid_t init = ::fork();
      if (init == 0) {
        Report r = body();
        (void)!::write(p[1], r.data(), r.size());
        _exit(0);
      }
      int st = 0;
      ::waitpid(init, &st, 0);
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
    }
    ::close(p[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int st = 0;
    ::waitpid(child, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) out += "FAIL: child died\n";
    return out;
  }

  void expect_clean(const Report& r) {
    if (r.rfind("SKIP: ", 0) == 0) GTEST_SKIP() << r;
    EXPECT_EQ(r.find("FAIL"), std::string::npos) << r;
    // Nothing leaked into the host's mount table.
    std::ifstream mi("/proc/self/mountinfo");
    std::string all((std::istreambuf_iterator<char>(mi)), std::istreambuf_iterator<char>());
    EXPECT_EQ(all.find(bundle_), std::string::npos) << "a mount leaked to the host";
  }

  std::string bundle_, rootfs_;
  oci::Spec spec_;
  RootfsOptions opts_;
};

#define CHECK_IN(cond, what)                        \
  do {                                              \
    if (!(cond)) out += std::string("FAIL: ") + what + "\n"; \
  } while (0)

Report setup(const oci::Spec& spec, const RootfsOptions& opts) {
  auto r = prepare_rootfs(spec, opts);
  if (!r) return "FAIL: prepare_rootfs: " + r.error().message() + "\n";
  r = enter_rootfs(spec, opts);
  if (!r) return "FAIL: enter_rootfs: " + r.error().message() + "\n";
  return "";
}

bool is_char(const char* path, unsigned maj, unsigned min) {
  struct stat st {};
  return ::stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
         minor(st.st_rdev) == min;
}

int write_errno(const char* path, int flags) {
  int fd = ::open(path, flags | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::close(fd);
    return 0;
  }
  return errno;
}

int run_sh(const char* script) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", script, static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

TEST_F(RootfsRootTest, DockerLikeContainer) {
  docker_like_mounts();
  spec_.root->readonly = true;
  Report r = run_inside([&] {
    std::string out = setup(spec_, opts_);
    if (!out.empty()) return out;
    CHECK_IN(::getpid() == 1, "not pid 1");
    CHECK_IN(is_char("/dev/null", 1, 3), "/dev/null is not 1:3");
    CHECK_IN(is_char("/dev/zero", 1, 5), "/dev/zero is not 1:5");
    CHECK_IN(is_char("/dev/tty", 5, 0), "/dev/tty is not 5:0");
    struct stat st {};
    CHECK_IN(::stat("/dev/null", &st) == 0 && (st.st_mode & 07777) == 0666, "/dev/null mode");
    struct statfs sf {};
    CHECK_IN(::statfs("/proc", &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC, "/proc is not proc");
    CHECK_IN(::statfs("/sys", &sf) == 0 && sf.f_type == SYSFS_MAGIC, "/sys is not sysfs");
    CHECK_IN(::statfs("/dev/pts", &sf) == 0 && sf.f_type == DEVPTS_SUPER_MAGIC, "/dev/pts");
    CHECK_IN(::statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC, "/dev/shm");
    CHECK_IN(fs::read_symlink("/proc/self").string() == "1", "/proc is not our pid ns's");
    if (::access("/proc/kcore", F_OK) == 0) {
      CHECK_IN(is_char("/proc/kcore", 1, 3), "/proc/kcore not masked");
    }
    if (::statfs("/proc/acpi", &sf) == 0) {
      CHECK_IN(sf.f_type == TMPFS_MAGIC, "/proc/acpi not masked by tmpfs");
    }
    CHECK_IN(write_errno("/proc/sys/kernel/hostname", O_WRONLY) == EROFS, "/proc/sys writable");
    struct statvfs sv {};
    if (::access("/proc/sysrq-trigger", F_OK) == 0) {
      CHECK_IN(::statvfs("/proc/sysrq-trigger", &sv) == 0 && (sv.f_flag & ST_RDONLY),
               "/proc/sysrq-trigger not read-only");
    }
    for (const char* f : {"/proc/keys", "/proc/timer_list"}) {
      if (::access(f, F_OK) == 0) CHECK_IN(is_char(f, 1, 3), std::string(f) + " not masked");
    }
    if (::statfs("/sys/firmware", &sf) == 0) {
      CHECK_IN(sf.f_type == TMPFS_MAGIC, "/sys/firmware not masked by tmpfs");
    }
    CHECK_IN(::statvfs("/proc/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID) &&
                 (sv.f_flag & ST_NOEXEC) && (sv.f_flag & ST_NODEV),
             "/proc/sys not ro,nosuid,noexec,nodev");
    CHECK_IN(write_errno("/newfile", O_WRONLY | O_CREAT) == EROFS, "readonly root is writable");
    CHECK_IN(::statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY), "/sys not read-only");
    CHECK_IN(write_errno("/dev/shm/x", O_WRONLY | O_CREAT) == 0, "/dev/shm not writable");
    CHECK_IN(fs::read_symlink("/dev/ptmx").string() == "pts/ptmx", "/dev/ptmx link");
    CHECK_IN(fs::read_symlink("/dev/fd").string() == "/proc/self/fd", "/dev/fd link");
    CHECK_IN(!fs::exists(fs::symlink_status("/dev/core")) || fs::read_symlink("/dev/core").string() == "/proc/kcore",
             "/dev/core link");
    CHECK_IN(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC) >= 0, "cannot open /dev/ptmx");
    char cwd[256];
    CHECK_IN(::getcwd(cwd, sizeof cwd) && std::string(cwd) == "/", "cwd is not /");
    CHECK_IN(run_sh("ls /dev >/dev/null && cat /proc/self/stat >/dev/null") == 0,
             "busybox does not run in the rootfs");
    // The old root is gone: nothing of the host's mounts is visible.
    std::ifstream mi("/proc/self/mountinfo");
    std::string all((std::istreambuf_iterator<char>(mi)), std::istreambuf_iterator<char>());
    CHECK_IN(all.find(" /tmp ") == std::string::npos && all.find("/sys/fs/cgroup") == std::string::npos,
             "host mounts visible: " + all);
    return out;
  });
  expect_clean(r);
}

TEST_F(RootfsRootTest, SymlinkDestinationLandsInsideTheRoot) {
  const std::string name = "berth-escape-" + std::to_string(::getpid());
  fs::create_directory_symlink("/../../etc", rootfs_ + "/evil");
  spec_.mounts = {mnt("/evil/" + name, "tmpfs", "tmpfs", {"size=1m"})};
  Report r = run_inside([&] {
    std::string out = setup(spec_, opts_);
    if (!out.empty()) return out;
    struct statfs sf {};
    CHECK_IN(::statfs(("/etc/" + name).c_str(), &sf) == 0 && sf.f_type == TMPFS_MAGIC,
             "tmpfs not at /etc/" + name + " inside the root");
    return out;
  });
  expect_clean(r);
  EXPECT_FALSE(fs::exists("/etc/" + name)) << "the host's /etc was touched";
  EXPECT_TRUE(fs::is_directory(rootfs_ + "/etc/" + name));
}

TEST_F(RootfsRootTest, ProcOnSymlinkIsRefused) {
  fs::create_directory_symlink("/tmp", rootfs_ + "/proc");
  spec_.mounts = {mnt("/proc", "proc", "proc", {})};
  Report r = run_inside([&] {
    auto res = prepare_rootfs(spec_, opts_);
    if (res) return std::string("FAIL: proc on a symlink was mounted\n");
    if (res.error().message() != "mount proc on /proc: destination is a symlink") {
      return "FAIL: wrong error: " + res.error().message() + "\n";
    }
    return std::string();
  });
  expect_clean(r);
}

TEST_F(RootfsRootTest, PlantedDevNullIsRefused) {
  fs::create_directories(rootfs_ + "/dev");
  std::ofstream(rootfs_ + "/secret") << "x";
  fs::create_symlink("/secret", rootfs_ + "/dev/null");
  std::ofstream(rootfs_ + "/etc/passwd") << "root:x:0:0::/:/bin/sh\n";
  spec_.mounts = {mnt("/proc", "proc", "proc", {})};
  spec_.linux_->masked_paths = {"/etc/passwd"};
  Report r = run_inside([&] {
    auto res = prepare_rootfs(spec_, opts_);
    if (!res) return "FAIL: prepare_rootfs: " + res.error().message() + "\n";
    res = enter_rootfs(spec_, opts_);
    if (res) return std::string("FAIL: masking with a symlinked /dev/null succeeded\n");
    if (res.error().message().find("1:3") == std::string::npos) {
      return "FAIL: wrong error: " + res.error().message() + "\n";
    }
    return std::string();
  });
  expect_clean(r);
}

TEST_F(RootfsRootTest, ReadOnlyBindAndNoPivot) {
  fs::create_directories(bundle_ + "/data");
  std::ofstream(bundle_ + "/data/file") << "hello";
  spec_.mounts = {mnt("/proc", "proc", "proc", {}),
                  mnt("/data", "bind", bundle_ + "/data", {"rbind", "ro", "nosuid"}),
                  mnt("/rw", "bind", bundle_ + "/data", {"rbind"})};
  opts_.no_pivot = true;
  Report r = run_inside([&] {
    std::string out = setup(spec_, opts_);
    if (!out.empty()) return out;
    std::ifstream f("/data/file");
    std::string s;
    f >> s;
    CHECK_IN(s == "hello", "bind source not visible");
    CHECK_IN(write_errno("/data/new", O_WRONLY | O_CREAT) == EROFS, "ro bind is writable");
    CHECK_IN(write_errno("/rw/new", O_WRONLY | O_CREAT) == 0, "rw bind is not writable");
    CHECK_IN(::access("/bin/busybox", X_OK) == 0, "not in the rootfs");
    return out;
  });
  expect_clean(r);
  EXPECT_TRUE(fs::exists(bundle_ + "/data/new"));
}

TEST_F(RootfsRootTest, Sysctl) {
  spec_.mounts = {mnt("/proc", "proc", "proc", {})};
  spec_.linux_->sysctl = {{"kernel.shmmni", "1234"}};
  Report r = run_inside([&] {
    // The IPC sysctl needs an own IPC namespace.
    if (::unshare(CLONE_NEWIPC) != 0) return std::string("SKIP: unshare ipc\n");
    std::string out = setup(spec_, opts_);
    if (!out.empty()) return out;
    auto res = apply_sysctls(spec_);
    if (!res) return "FAIL: apply_sysctls: " + res.error().message() + "\n";
    std::ifstream f("/proc/sys/kernel/shmmni");
    std::string v;
    f >> v;
    CHECK_IN(v == "1234", "kernel.shmmni is " + v);
    oci::Spec bad = spec_;
    bad.linux_->sysctl = {{"kernel.core_pattern", "|/x"}};
    CHECK_IN(!apply_sysctls(bad), "a host sysctl was accepted");
    return out;
  });
  expect_clean(r);
}

TEST_F(RootfsRootTest, CgroupMountWithNamespaceAndWithout) {
  if (!fs::exists("/sys/fs/cgroup")) GTEST_SKIP() << "no cgroup file systems";
  for (bool cgroupns : {true, false}) {
    spec_.mounts = {mnt("/proc", "proc", "proc", {}),
                    mnt("/sys", "sysfs", "sysfs", {"ro", "nosuid", "nodev", "noexec"}),
                    mnt("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "nodev", "noexec"})};
    if (cgroupns) spec_.linux_->namespaces.push_back({"cgroup", ""});
    Report r = run_inside([&] {
      if (cgroupns && ::unshare(CLONE_NEWCGROUP) != 0) return std::string("SKIP: unshare cgroup\n");
      std::string out = setup(spec_, opts_);
      if (!out.empty()) return out;
      struct statfs sf {};
      struct statvfs sv {};
      CHECK_IN(::statvfs("/sys/fs/cgroup", &sv) == 0 && (sv.f_flag & ST_RDONLY),
               "/sys/fs/cgroup not read-only");
      int mounted = 0;
      for (const auto& e : fs::directory_iterator("/sys/fs/cgroup")) {
        if (e.is_symlink()) continue;
        std::string p = e.path().string();
        CHECK_IN(::statfs(p.c_str(), &sf) == 0 &&
                     (sf.f_type == CGROUP_SUPER_MAGIC || sf.f_type == CGROUP2_SUPER_MAGIC),
                 p + " is not a cgroup file system");
        CHECK_IN(::statvfs(p.c_str(), &sv) == 0 && (sv.f_flag & ST_RDONLY), p + " not read-only");
        ++mounted;
      }
      CHECK_IN(mounted > 0 || ::statfs("/sys/fs/cgroup", &sf) == 0, "no hierarchy mounted");
      return out;
    });
    expect_clean(r);
    if (cgroupns) spec_.linux_->namespaces.pop_back();
  }
}

TEST_F(RootfsRootTest, ConsoleBind) {
  docker_like_mounts();
  spec_.process = oci::Process{};
  spec_.process->terminal = true;
  Report r = run_inside([&] {
    std::string out = setup(spec_, opts_);
    if (!out.empty()) return out;
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
      return std::string("FAIL: open a pty\n");
    }
    std::string slave = ::ptsname(master);
    auto res = mount_console(slave);
    if (!res) return "FAIL: mount_console: " + res.error().message() + "\n";
    struct stat a {}, b {};
    CHECK_IN(::stat("/dev/console", &a) == 0 && ::stat(slave.c_str(), &b) == 0 &&
                 S_ISCHR(a.st_mode) && a.st_rdev == b.st_rdev,
             "/dev/console is not " + slave);
    return out;
  });
  expect_clean(r);
}

}  // namespace
}  // namespace berth::runtime
