// Cgroups on the real machine (root). Whatever layout the machine has is
// used through Cgroup::open; where a cgroup2 hierarchy exists (pure v2, or
// <root>/unified of hybrid), the v2 manager and the eBPF device program are
// exercised on it too. Skips where a controller or privilege is missing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "base/file.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_common.h"
#include "runtime/devices_bpf.h"

namespace berth::runtime {
namespace {

const std::string kRoot = "/sys/fs/cgroup";

std::string test_path(const char* name) { return fmt::format("/berth-test-{}/{}", ::getpid(), name); }

// The v2 hierarchy to test the v2 manager on: the root itself, or hybrid's.
std::string v2_root() {
  if (detect_cgroup_mode(kRoot) == CgroupMode::V2) return kRoot;
  if (detect_cgroup_mode(kRoot) == CgroupMode::Hybrid) return kRoot + "/unified";
  return {};
}

std::string read_trim(const std::string& path) {
  auto r = read_file(path);
  if (!r) return "<" + r.error().message() + ">";
  std::string s = *r;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// A child that waits for a byte on `go`, then runs `fn` and _exits with its
// result. Nothing in it throws.
template <typename F>
pid_t spawn(int (&go)[2], F fn) {
  if (::pipe2(go, O_CLOEXEC) < 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(go[1]);
    char c;
    if (::read(go[0], &c, 1) != 1) ::_exit(100);
    ::_exit(fn());
  }
  ::close(go[0]);
  return pid;
}
void release(int (&go)[2]) {
  [[maybe_unused]] ssize_t n = ::write(go[1], "x", 1);
  ::close(go[1]);
}
int wait_status(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return st;
}

class CgroupRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  }
  void TearDown() override {
    // The per-test parent directories the managers created.
    for (const auto& dir : parents_) ::rmdir(dir.c_str());
  }
  std::unique_ptr<Cgroup> open(const std::string& path, const std::string& root = kRoot) {
    CgroupOptions o;
    o.root = root;
    o.path = path;
    o.id = "t";
    auto cg = Cgroup::open(o);
    EXPECT_TRUE(cg.ok()) << cg.error().message();
    if (!cg.ok()) return nullptr;
    Json j = (*cg)->to_json();
    std::string parent = path.substr(0, path.rfind('/'));
    if (j.contains("hierarchies"))
      for (const auto& h : j["hierarchies"]) parents_.push_back(h["mount"].get<std::string>() + parent);
    if (j.contains("unified_mount")) parents_.push_back(j["unified_mount"].get<std::string>() + parent);
    if (j["mode"] == "v2") parents_.push_back(root + parent);
    return std::move(cg.value());
  }
  std::vector<std::string> parents_;
};

TEST_F(CgroupRoot, LimitsProcessesFreezeStatsDestroy) {
  auto cg = open(test_path("life"));
  ASSERT_TRUE(cg);
  auto created = cg->create();
  if (!created.ok()) GTEST_SKIP() << "cannot create cgroups here: " << created.error().message();
  Json j = cg->to_json();
  auto dir_of = [&](const std::string& ctrl) -> std::string {
    if (j["mode"] == "v2") return kRoot + cg->path();
    for (const auto& h : j["hierarchies"])
      for (const auto& c : h["controllers"])
        if (c == ctrl) return h["dir"];
    return {};
  };
  bool v2 = j["mode"] == "v2";

  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 64 << 20;
  r.memory->swap = 128 << 20;
  r.cpu = oci::CpuResources{};
  r.cpu->shares = 512;
  r.cpu->quota = 20000;
  r.cpu->period = 100000;
  r.pids = oci::PidsResources{32};
  auto applied = cg->apply(r);
  ASSERT_TRUE(applied.ok()) << applied.error().message();
  if (v2) {
    EXPECT_EQ(read_trim(dir_of("memory") + "/memory.max"), "67108864");
    EXPECT_EQ(read_trim(dir_of("cpu") + "/cpu.weight"), "20");
    EXPECT_EQ(read_trim(dir_of("cpu") + "/cpu.max"), "20000 100000");
  } else {
    EXPECT_EQ(read_trim(dir_of("memory") + "/memory.limit_in_bytes"), "67108864");
    if (cg::has_control(dir_of("memory"), "memory.memsw.limit_in_bytes")) {
      EXPECT_EQ(read_trim(dir_of("memory") + "/memory.memsw.limit_in_bytes"), "134217728");
    }
    EXPECT_EQ(read_trim(dir_of("cpu") + "/cpu.shares"), "512");
    EXPECT_EQ(read_trim(dir_of("cpu") + "/cpu.cfs_quota_us"), "20000");
    // The kernel's own view of the device rules: no "a *:* rwm" any more.
    std::string list = read_trim(dir_of("devices") + "/devices.list");
    EXPECT_EQ(list.find("a *:* rwm"), std::string::npos) << list;
    EXPECT_NE(list.find("c 1:3 rwm"), std::string::npos) << list;
    EXPECT_NE(list.find("c 136:* rwm"), std::string::npos) << list;
    EXPECT_NE(list.find("b *:* m"), std::string::npos) << list;
  }
  EXPECT_EQ(read_trim(dir_of("pids") + "/pids.max"), "32");

  // Raise then lower memory+swap: the kernel refuses a wrong write order
  // (memsw below the limit) with EINVAL.
  for (auto [lim, swap] : std::vector<std::pair<int64_t, int64_t>>{{256 << 20, 512 << 20}, {32 << 20, 48 << 20}}) {
    oci::Resources u;
    u.memory = oci::MemoryResources{};
    u.memory->limit = lim;
    u.memory->swap = swap;
    auto ur = cg->apply(u, true);
    ASSERT_TRUE(ur.ok()) << ur.error().message();
    EXPECT_EQ(read_trim(dir_of("memory") + (v2 ? "/memory.max" : "/memory.limit_in_bytes")), std::to_string(lim));
  }

  int go[2];
  pid_t child = spawn(go, [] {
    for (;;) ::pause();
    return 0;
  });
  ASSERT_GT(child, 0);
  auto added = cg->add_process(child);
  EXPECT_TRUE(added.ok()) << added.error().message();
  release(go);
  auto pids = cg->pids();
  ASSERT_TRUE(pids.ok()) << pids.error().message();
  EXPECT_EQ(*pids, std::vector<pid_t>{child});

  if (!dir_of("freezer").empty() || v2) {
    auto fr = cg->freeze();
    EXPECT_TRUE(fr.ok()) << fr.error().message();
    EXPECT_TRUE(cg->frozen().value_or(false));
    EXPECT_TRUE(cg->thaw().ok());
    EXPECT_FALSE(cg->frozen().value_or(true));
  }

  auto st = cg->stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st)["pids"]["current"], 1) << st->dump();
  EXPECT_EQ((*st)["pids"]["limit"], 32);
  EXPECT_GT((*st)["memory"]["usage"]["limit"].get<uint64_t>(), 0u);
  EXPECT_EQ(cg->oom_kills().value_or(99), 0u);

  // Reopen from the state JSON, as `runc delete` would, and destroy.
  auto again = Cgroup::from_json(cg->to_json());
  ASSERT_TRUE(again.ok());
  auto d = (*again)->destroy();
  ASSERT_TRUE(d.ok()) << d.error().message();
  int status = wait_status(child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  for (const auto& h : j.value("hierarchies", Json::array())) {
    EXPECT_FALSE(cg::file_exists(h["dir"].get<std::string>())) << h["dir"];
  }
  if (j.contains("unified_mount")) {
    EXPECT_FALSE(cg::file_exists(j["unified_mount"].get<std::string>() + j["unified_path"].get<std::string>()));
  }
}

TEST_F(CgroupRoot, OomKillIsCounted) {
  auto cg = open(test_path("oom"));
  ASSERT_TRUE(cg);
  if (!cg->create().ok()) GTEST_SKIP() << "cannot create cgroups here";
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 16 << 20;
  r.memory->swap = 16 << 20;  // no swap beyond the limit
  auto applied = cg->apply(r);
  if (!applied.ok()) {
    (void)cg->destroy();
    GTEST_SKIP() << "no memory controller: " << applied.error().message();
  }
  int go[2];
  pid_t child = spawn(go, [] {
    size_t size = 256 << 20;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 3;
    std::memset(p, 1, size);  // the OOM killer ends us here
    return 0;
  });
  ASSERT_GT(child, 0);
  ASSERT_TRUE(cg->add_process(child).ok());
  release(go);
  int status = wait_status(child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_GE(cg->oom_kills().value_or(0), 1u);
  EXPECT_TRUE(cg->destroy().ok());
}

TEST_F(CgroupRoot, DeviceProgramPassesVerifier) {
  auto fd = load_device_program(device_program(cg::effective_device_rules({})));
  if (!fd.ok() && fd.error().sys_errno() == EPERM) GTEST_SKIP() << fd.error().message();
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  EXPECT_TRUE(fd->valid());
  oci::DeviceRule all;
  all.allow = true;
  auto fd2 = load_device_program(device_program(cg::effective_device_rules({all})));
  ASSERT_TRUE(fd2.ok()) << fd2.error().message();
}

// The v2 manager on the machine's cgroup2 hierarchy (hybrid's unified one
// holds no controllers we limit, but processes, freezing, cgroup.kill and
// device programs work there all the same).
TEST_F(CgroupRoot, V2ManagerAndDeviceFilter) {
  std::string root = v2_root();
  if (root.empty()) GTEST_SKIP() << "no cgroup2 hierarchy";
  auto cg = open(test_path("v2"), root);
  ASSERT_TRUE(cg);
  ASSERT_EQ(cg->mode(), CgroupMode::V2);
  ASSERT_TRUE(cg->create().ok());
  std::string dir = root + cg->path();
  auto applied = cg->apply(oci::Resources{});
  if (!applied.ok() && applied.error().sys_errno() == EPERM) {
    (void)cg->destroy();
    GTEST_SKIP() << applied.error().message();
  }
  ASSERT_TRUE(applied.ok()) << applied.error().message();
  // Update: the new program replaces the old one.
  ASSERT_TRUE(cg->apply(oci::Resources{}).ok());
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_EQ(attached_device_programs(dfd.get()).value_or({}).size(), 1u);

  // /dev/null is allowed, /dev/kmsg (1:11) is not.
  int go[2];
  pid_t child = spawn(go, [] {
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int kmsg_fd = ::open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
    int kmsg_err = errno;
    if (null_fd < 0) return 1;
    if (kmsg_fd >= 0) return 2;
    return kmsg_err == EPERM ? 0 : 3;
  });
  ASSERT_GT(child, 0);
  ASSERT_TRUE(cg->add_process(child).ok());
  release(go);
  int status = wait_status(child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  // Freeze, pids, and destroy through cgroup.kill.
  int go2[2];
  pid_t sleeper = spawn(go2, [] {
    for (;;) ::pause();
    return 0;
  });
  ASSERT_TRUE(cg->add_process(sleeper).ok());
  release(go2);
  EXPECT_EQ(cg->pids().value_or({}), std::vector<pid_t>{sleeper});
  auto fr = cg->freeze();
  EXPECT_TRUE(fr.ok()) << fr.error().message();
  EXPECT_TRUE(cg->frozen().value_or(false));
  EXPECT_TRUE(cg->thaw().ok());
  // A nested cgroup made by the container goes too.
  ASSERT_EQ(::mkdir((dir + "/inner").c_str(), 0755), 0);
  auto d = cg->destroy();
  ASSERT_TRUE(d.ok()) << d.error().message();
  status = wait_status(sleeper);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(cg::file_exists(dir));
}

TEST_F(CgroupRoot, CustomRulesDenyDevNull) {
  // The device filter alone, with rules that leave out /dev/null (the
  // manager always adds it back).
  std::string root = v2_root();
  if (root.empty()) GTEST_SKIP() << "no cgroup2 hierarchy";
  std::string parent = root + fmt::format("/berth-test-{}", ::getpid());
  std::string dir = parent + "/nonull";
  parents_.push_back(parent);
  ASSERT_TRUE(mkdir_all(dir).ok());
  oci::DeviceRule deny_all, zero;
  deny_all.allow = false;
  zero.allow = true;
  zero.type = "c";
  zero.major = 1;
  zero.minor = 5;
  auto fd = load_device_program(device_program({deny_all, zero}));
  if (!fd.ok()) {
    ::rmdir(dir.c_str());
    GTEST_SKIP() << fd.error().message();
  }
  ASSERT_TRUE(replace_device_program(dir, fd->get()).ok());
  int go[2];
  pid_t child = spawn(go, [] {
    int z = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    int n = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (z < 0) return 1;
    if (n >= 0) return 2;
    return errno == EPERM ? 0 : 3;
  });
  ASSERT_GT(child, 0);
  ASSERT_TRUE(cg::write_control(dir, "cgroup.procs", std::to_string(child)).ok());
  release(go);
  int status = wait_status(child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_TRUE(cg::remove_tree(dir).ok());
}

}  // namespace
}  // namespace berth::runtime
