// prepare_rootfs / enter_rootfs against the recording fake: the sequence of
// mounts a config produces, without root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "runtime/rootfs.h"
#include "runtime/rootfs_fake_ops.h"

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;
using testing::FakeMountOps;
using testing::mount_flags_text;

constexpr const char* kPlainMountinfo = "1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n";

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-rootfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    bundle_ = fs::canonical(tmpl).string();
    rootfs_ = bundle_ + "/rootfs";
    fs::create_directories(rootfs_);
    ops_ = std::make_unique<FakeMountOps>(rootfs_);
    ops_->files["/proc/self/mountinfo"] = kPlainMountinfo;
    spec_.root = oci::Root{"rootfs", false};
    spec_.linux_ = oci::Linux{};
    opts_.bundle = bundle_;
  }
  void TearDown() override { fs::remove_all(bundle_); }

  void add_ns(std::initializer_list<const char*> types) {
    for (const char* t : types) spec_.linux_->namespaces.push_back({t, ""});
  }
  void add_mount(std::string dest, std::string type, std::string source,
                 std::vector<std::string> options) {
    oci::Mount m;
    m.destination = std::move(dest);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    spec_.mounts.push_back(std::move(m));
  }
  std::string host_file(const std::string& name) {
    std::string p = bundle_ + "/" + name;
    std::ofstream(p) << "x";
    return p;
  }
  // The calls after the two that every prepare_rootfs starts with.
  std::vector<std::string> mount_calls() {
    std::vector<std::string> out;
    for (const auto& c : ops_->calls) {
      if (c.rfind("mount", 0) == 0) out.push_back(c);
    }
    if (out.size() >= 2) out.erase(out.begin(), out.begin() + 2);
    return out;
  }
  bool called(const std::string& call) {
    return std::find(ops_->calls.begin(), ops_->calls.end(), call) != ops_->calls.end();
  }
  static std::string fl(unsigned long f) { return mount_flags_text(f); }

  std::string bundle_, rootfs_;
  std::unique_ptr<FakeMountOps> ops_;
  oci::Spec spec_;
  RootfsOptions opts_;
};

TEST_F(RootfsTest, PrepareSequenceForProcAndDevTmpfs) {
  add_mount("/proc", "proc", "proc", {});
  add_mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"});
  auto r = prepare_rootfs(spec_, opts_, *ops_);
  ASSERT_TRUE(r) << r.error().message();
  std::vector<std::string> want = {
      "mount - / - REC|SLAVE",
      "mount <rootfs> <rootfs> bind BIND|REC",
      "mount proc /proc proc 0",
      "mount tmpfs /dev tmpfs NOSUID|STRICTATIME mode=755,size=65536k",
      "mknod /dev/null c 0666 1:3",
      "mknod /dev/zero c 0666 1:5",
      "mknod /dev/full c 0666 1:7",
      "mknod /dev/random c 0666 1:8",
      "mknod /dev/urandom c 0666 1:9",
      "mknod /dev/tty c 0666 5:0",
  };
  EXPECT_EQ(ops_->calls, want);
  EXPECT_EQ(fs::read_symlink(rootfs_ + "/dev/fd"), "/proc/self/fd");
  EXPECT_EQ(fs::read_symlink(rootfs_ + "/dev/stdin"), "/proc/self/fd/0");
  EXPECT_EQ(fs::read_symlink(rootfs_ + "/dev/stdout"), "/proc/self/fd/1");
  EXPECT_EQ(fs::read_symlink(rootfs_ + "/dev/stderr"), "/proc/self/fd/2");
  if (::access("/proc/kcore", F_OK) == 0)
    EXPECT_EQ(fs::read_symlink(rootfs_ + "/dev/core"), "/proc/kcore");
  else
    EXPECT_FALSE(fs::exists(fs::symlink_status(rootfs_ + "/dev/core")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(rootfs_ + "/dev/ptmx")));
  EXPECT_FALSE(fs::exists(rootfs_ + "/dev/console"));
}

TEST_F(RootfsTest, NoCoreLinkWithoutProc) {
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_FALSE(fs::exists(fs::symlink_status(rootfs_ + "/dev/core")));
}

TEST_F(RootfsTest, ReadOnlyBindIsRemountedThenPropagationSet) {
  std::string hosts = host_file("hosts");
  add_mount("/etc/hosts", "bind", hosts, {"rbind", "rprivate", "ro"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  std::vector<std::string> want = {
      "mount " + hosts + " /etc/hosts bind BIND|REC",
      "mount - /etc/hosts - " + fl(MS_BIND | MS_REMOUNT | MS_RDONLY),
      "mount - /etc/hosts - REC|PRIVATE",
  };
  EXPECT_EQ(mount_calls(), want);
  EXPECT_TRUE(fs::is_regular_file(rootfs_ + "/etc/hosts"));
}

TEST_F(RootfsTest, PlainBindNeedsNoRemount) {
  fs::create_directories(bundle_ + "/data");
  add_mount("/data", "none", bundle_ + "/data", {"bind"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_EQ(mount_calls(), std::vector<std::string>{"mount " + bundle_ + "/data /data bind BIND"});
  EXPECT_TRUE(fs::is_directory(rootfs_ + "/data"));
}

TEST_F(RootfsTest, RelativeBindSourceIsUnderTheBundle) {
  fs::create_directories(bundle_ + "/vol");
  add_mount("/vol", "bind", "vol", {"rbind"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_EQ(mount_calls(), std::vector<std::string>{"mount " + bundle_ + "/vol /vol bind BIND|REC"});
}

TEST_F(RootfsTest, BindInUserNamespaceKeepsLockedFlags) {
  opts_.in_user_ns = true;
  fs::create_directories(bundle_ + "/data");
  add_mount("/data", "bind", bundle_ + "/data", {"rbind", "ro"});
  ops_->locked_flags["/data"] = MS_NOSUID | MS_NODEV | MS_RELATIME;
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_TRUE(called("mount - /data - " +
                     fl(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_RELATIME)));
}

TEST_F(RootfsTest, ExplicitlyClearedFlagIsNotKept) {
  opts_.in_user_ns = true;
  fs::create_directories(bundle_ + "/data");
  add_mount("/data", "bind", bundle_ + "/data", {"rbind", "ro", "suid", "noatime"});
  ops_->locked_flags["/data"] = MS_NOSUID | MS_RELATIME;
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_TRUE(called("mount - /data - " + fl(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOATIME)));
}

TEST_F(RootfsTest, RecursiveReadOnlyUsesMountSetattr) {
  fs::create_directories(bundle_ + "/data");
  add_mount("/data", "bind", bundle_ + "/data", {"rbind", "rro", "rnosuid"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  std::vector<std::string> want = {
      "mount " + bundle_ + "/data /data bind BIND|REC",
  };
  auto calls = mount_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], want[0]);
  EXPECT_EQ(calls[1], "mount_setattr /data REC set=0x3 clr=0");
}

TEST_F(RootfsTest, ProcOnSymlinkIsRefused) {
  fs::create_symlink("/tmp", rootfs_ + "/proc");
  add_mount("/proc", "proc", "proc", {});
  auto r = prepare_rootfs(spec_, opts_, *ops_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "mount proc on /proc: destination is a symlink");
  EXPECT_TRUE(mount_calls().empty());
}

TEST_F(RootfsTest, SysfsOnSymlinkIsRefused) {
  fs::create_directories(rootfs_ + "/elsewhere");
  fs::create_directory_symlink("elsewhere", rootfs_ + "/sys");
  add_mount("/sys", "sysfs", "sysfs", {"ro"});
  auto r = prepare_rootfs(spec_, opts_, *ops_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("mount sysfs on /sys: destination is a symlink"),
            std::string::npos);
}

TEST_F(RootfsTest, SymlinkDestinationStaysInsideTheRoot) {
  fs::create_directory_symlink("/../../etc", rootfs_ + "/evil");
  add_mount("/evil/berth-escape", "tmpfs", "tmpfs", {});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_EQ(mount_calls(), std::vector<std::string>{"mount tmpfs /etc/berth-escape tmpfs 0"});
  EXPECT_TRUE(fs::is_directory(rootfs_ + "/etc/berth-escape"));
  EXPECT_FALSE(fs::exists("/etc/berth-escape"));
}

TEST_F(RootfsTest, IdmapIsNotSupported) {
  fs::create_directories(bundle_ + "/data");
  add_mount("/data", "bind", bundle_ + "/data", {"rbind", "idmap"});
  auto r = prepare_rootfs(spec_, opts_, *ops_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotImplemented);
  EXPECT_NE(r.error().message().find("idmap"), std::string::npos);
}

TEST_F(RootfsTest, DevptsGetsANewInstanceAndPtmxLink) {
  add_mount("/dev", "tmpfs", "tmpfs", {"mode=755"});
  add_mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "mode=0620", "gid=5"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_TRUE(called("mount devpts /dev/pts devpts NOSUID|NOEXEC mode=0620,gid=5,newinstance,ptmxmode=0666"));
  EXPECT_EQ(fs::read_symlink(rootfs_ + "/dev/ptmx"), "pts/ptmx");
}

TEST_F(RootfsTest, SysfsInUserNamespaceWithoutNetnsIsBound) {
  opts_.in_user_ns = true;
  add_ns({"user", "mount", "pid"});
  add_mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  auto calls = mount_calls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[0], "mount /sys /sys bind BIND|REC");
  EXPECT_EQ(calls[1], "mount - /sys - " + fl(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID |
                                              MS_NODEV | MS_NOEXEC));
}

TEST_F(RootfsTest, SysfsWithOwnNetnsIsMounted) {
  opts_.in_user_ns = true;
  add_ns({"user", "mount", "network"});
  add_mount("/sys", "sysfs", "sysfs", {"ro"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_EQ(mount_calls().at(0), "mount sysfs /sys sysfs RDONLY");
}

TEST_F(RootfsTest, MqueueRefusedInUserNamespaceFallsBackToBind) {
  opts_.in_user_ns = true;
  ops_->fail["mount mqueue"] = EPERM;
  add_mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid"});
  auto r = prepare_rootfs(spec_, opts_, *ops_);
  if (!fs::exists("/dev/mqueue")) {
    // Nothing to bind: the kernel's refusal is the answer.
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().sys_errno(), EPERM);
    return;
  }
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(called("mount /dev/mqueue /dev/mqueue bind BIND|REC"));
}

TEST_F(RootfsTest, MountErrorNamesTypeAndDestination) {
  ops_->fail["mount tmpfs"] = EINVAL;
  add_mount("/run", "tmpfs", "tmpfs", {"size=bogus"});
  auto r = prepare_rootfs(spec_, opts_, *ops_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message().rfind("mount tmpfs on /run: ", 0), 0u) << r.error().message();
  EXPECT_EQ(r.error().sys_errno(), EINVAL);
}

TEST_F(RootfsTest, ConfigDevicesAndConsole) {
  spec_.process = oci::Process{};
  spec_.process->terminal = true;
  spec_.linux_->devices.push_back({"/dev/fuse", "c", 10, 229, 0600, 1000, 1000});
  spec_.linux_->devices.push_back({"/dev/disk/sda", "b", 8, 0, std::nullopt, std::nullopt, std::nullopt});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_TRUE(called("mknod /dev/fuse c 0600 10:229"));
  EXPECT_TRUE(called("chown /dev/fuse 1000:1000"));
  EXPECT_TRUE(called("mknod /dev/disk/sda b 0666 8:0"));
  EXPECT_TRUE(fs::is_regular_file(rootfs_ + "/dev/console"));
  EXPECT_EQ(fs::status(rootfs_ + "/dev/fuse").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(RootfsTest, BadDeviceTypeIsRejected) {
  spec_.linux_->devices.push_back({"/dev/x", "q", 1, 1, std::nullopt, std::nullopt, std::nullopt});
  auto r = prepare_rootfs(spec_, opts_, *ops_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown type"), std::string::npos);
}

TEST_F(RootfsTest, DevicesInUserNamespaceAreBound) {
  opts_.in_user_ns = true;
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_TRUE(called("mount /dev/null /dev/null bind BIND"));
  EXPECT_TRUE(called("mount /dev/tty /dev/tty bind BIND"));
  for (const auto& c : ops_->calls) EXPECT_NE(c.rfind("mknod", 0), 0u) << c;
  EXPECT_TRUE(fs::is_regular_file(rootfs_ + "/dev/null"));
}

TEST_F(RootfsTest, DevBoundFromHostGetsNoDevices) {
  add_mount("/dev", "bind", "/dev", {"rbind"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  for (const auto& c : ops_->calls) EXPECT_NE(c.rfind("mknod", 0), 0u) << c;
}

TEST_F(RootfsTest, ExistingDeviceIsKept) {
  fs::create_directories(rootfs_ + "/dev");
  std::ofstream(rootfs_ + "/dev/null") << "";
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_FALSE(called("mknod /dev/null c 0666 1:3"));
  EXPECT_TRUE(called("mknod /dev/zero c 0666 1:5"));
}

TEST_F(RootfsTest, RootfsPropagationAndSharedParent) {
  spec_.linux_->rootfs_propagation = "shared";
  ops_->files["/proc/self/mountinfo"] = "1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n";
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_EQ(ops_->calls.at(0), "mount - / - SHARED");
  EXPECT_EQ(ops_->calls.at(1), "mount - / - PRIVATE");
  EXPECT_EQ(ops_->calls.at(2), "mount <rootfs> <rootfs> bind BIND|REC");
  ops_->calls.clear();
  ASSERT_TRUE(enter_rootfs(spec_, opts_, *ops_));
  EXPECT_EQ(ops_->calls.back(), "mount - / - SHARED");
}

TEST_F(RootfsTest, UnknownRootfsPropagationIsRejected) {
  spec_.linux_->rootfs_propagation = "sideways";
  auto r = prepare_rootfs(spec_, opts_, *ops_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_TRUE(ops_->calls.empty());
}

TEST_F(RootfsTest, EnterWithPivotMasksAndReadOnlyPaths) {
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));  // makes the (fake) /dev/null
  fs::create_directories(rootfs_ + "/proc/acpi");
  fs::create_directories(rootfs_ + "/proc/sys");
  std::ofstream(rootfs_ + "/proc/kcore") << "";
  spec_.linux_->masked_paths = {"/proc/kcore", "/proc/acpi", "/proc/missing"};
  spec_.linux_->readonly_paths = {"/proc/sys", "/proc/nothere"};
  spec_.root->readonly = true;
  ops_->calls.clear();
  auto r = enter_rootfs(spec_, opts_, *ops_);
  ASSERT_TRUE(r) << r.error().message();
  std::vector<std::string> want = {
      "mount /proc/sys /proc/sys - BIND|REC",
      "mount - /proc/sys - " + fl(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC),
      "mount /dev/null /proc/kcore - BIND",
      "mount tmpfs /proc/acpi tmpfs RDONLY",
      "chdir <rootfs>",
      "pivot_root . .",
      "mount - . - REC|SLAVE",
      "umount2 . DETACH",
      "chdir /",
      "mount - / - " + fl(MS_BIND | MS_REMOUNT | MS_RDONLY),
  };
  EXPECT_EQ(ops_->calls, want);
}

TEST_F(RootfsTest, EnterWithoutPivot) {
  opts_.no_pivot = true;
  ASSERT_TRUE(enter_rootfs(spec_, opts_, *ops_));
  std::vector<std::string> want = {"chdir <rootfs>", "mount <rootfs> / - MOVE", "chroot .",
                                   "chdir /"};
  EXPECT_EQ(ops_->calls, want);
}

TEST_F(RootfsTest, ReadOnlyRootKeepsFlags) {
  spec_.root->readonly = true;
  ops_->locked_flags["/"] = MS_NOSUID | MS_RELATIME;
  ASSERT_TRUE(enter_rootfs(spec_, opts_, *ops_));
  EXPECT_EQ(ops_->calls.back(),
            "mount - / - " + fl(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_RELATIME));
}

TEST_F(RootfsTest, DevNullSymlinkIsRefusedWhenMasking) {
  fs::create_directories(rootfs_ + "/dev");
  fs::create_directories(rootfs_ + "/proc");
  std::ofstream(rootfs_ + "/proc/kcore") << "";
  std::ofstream(rootfs_ + "/target") << "";
  fs::create_symlink("/target", rootfs_ + "/dev/null");
  spec_.linux_->masked_paths = {"/proc/kcore"};
  auto r = enter_rootfs(spec_, opts_, *ops_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not the character device 1:3"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(ops_->calls.empty());
}

TEST_F(RootfsTest, DevNullPlainFileIsRefusedWhenMasking) {
  fs::create_directories(rootfs_ + "/dev");
  fs::create_directories(rootfs_ + "/proc");
  std::ofstream(rootfs_ + "/proc/kcore") << "";
  std::ofstream(rootfs_ + "/dev/null") << "";
  spec_.linux_->masked_paths = {"/proc/kcore"};
  ASSERT_FALSE(enter_rootfs(spec_, opts_, *ops_));
}

// ---- cgroup mounts ----

constexpr const char* kHybridMountinfo =
    "1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
    "30 1 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    "32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd\n"
    "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n";

constexpr const char* kHybridCgroup =
    "4:memory:/berth/c1\n3:cpu,cpuacct:/berth/c1\n1:name=systemd:/user.slice\n0::/berth/c1\n";

TEST_F(RootfsTest, CgroupV1WithNamespaceMountsEachHierarchy) {
  add_ns({"mount", "cgroup"});
  ops_->files["/proc/self/mountinfo"] = kHybridMountinfo;
  ops_->files["/proc/self/cgroup"] = kHybridCgroup;
  add_mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"});
  auto r = prepare_rootfs(spec_, opts_, *ops_);
  ASSERT_TRUE(r) << r.error().message();
  const std::string sub = fl(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
  std::vector<std::string> want = {
      "mount tmpfs /sys/fs/cgroup tmpfs " + fl(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME) +
          " mode=755",
      "mount cgroup /sys/fs/cgroup/memory cgroup " + sub + " memory",
      "mount cgroup /sys/fs/cgroup/cpu,cpuacct cgroup " + sub + " cpu,cpuacct",
      "mount cgroup /sys/fs/cgroup/systemd cgroup " + sub + " name=systemd",
      "mount cgroup2 /sys/fs/cgroup/unified cgroup2 " + sub,
      "mount - /sys/fs/cgroup - " +
          fl(MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME),
  };
  EXPECT_EQ(mount_calls(), want);
  EXPECT_EQ(fs::read_symlink(rootfs_ + "/sys/fs/cgroup/cpu"), "cpu,cpuacct");
  EXPECT_EQ(fs::read_symlink(rootfs_ + "/sys/fs/cgroup/cpuacct"), "cpu,cpuacct");
}

TEST_F(RootfsTest, CgroupV1WithoutNamespaceBindsOwnDirectories) {
  if (!fs::is_directory("/sys/fs/cgroup/memory")) GTEST_SKIP() << "no v1 memory hierarchy here";
  ops_->files["/proc/self/mountinfo"] = kHybridMountinfo;
  ops_->files["/proc/self/cgroup"] = "4:memory:/\n";
  add_mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  std::vector<std::string> want = {
      "mount tmpfs /sys/fs/cgroup tmpfs NOSUID|NODEV|NOEXEC mode=755",
      "mount /sys/fs/cgroup/memory /sys/fs/cgroup/memory bind BIND|REC",
      "mount - /sys/fs/cgroup/memory - " + fl(MS_BIND | MS_REMOUNT | MS_RDONLY),
      "mount - /sys/fs/cgroup - " + fl(MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC),
  };
  EXPECT_EQ(mount_calls(), want);
}

TEST_F(RootfsTest, CgroupV2WithNamespace) {
  add_ns({"mount", "cgroup"});
  ops_->files["/proc/self/mountinfo"] =
      "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
      "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
  ops_->files["/proc/self/cgroup"] = "0::/berth/c1\n";
  add_mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "ro"});
  ASSERT_TRUE(prepare_rootfs(spec_, opts_, *ops_));
  EXPECT_EQ(mount_calls(),
            std::vector<std::string>{"mount cgroup2 /sys/fs/cgroup cgroup2 RDONLY|NOSUID"});
}

}  // namespace
}  // namespace berth::runtime
