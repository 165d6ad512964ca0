// Root tests: each forks a child, applies part of the process setup to it,
// and the child reports through a pipe what /proc/self/status (or a failing
// syscall) shows; the parent asserts. They skip where privileges lack.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/strings.h"
#include "runtime/capabilities.h"
#include "runtime/process_setup.h"
#include "runtime/security_test_util.h"

namespace berth::runtime {
namespace {

using testing::report;
using testing::run_in_child;
using testing::status_field;

class RootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
  }
};

constexpr uint64_t bit(int cap) { return uint64_t{1} << cap; }

std::string caps_line() {
  return fmt::format("bnd={:x} eff={:x} prm={:x} inh={:x} amb={:x}", status_field("CapBnd"),
                     status_field("CapEff"), status_field("CapPrm"), status_field("CapInh"),
                     status_field("CapAmb"));
}

TEST_F(RootTest, CapabilitiesAllFiveSets) {
  auto r = run_in_child([](int fd) {
    oci::Capabilities caps;
    caps.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_FROM_THE_FUTURE"};
    caps.permitted = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    caps.effective = {"CAP_CHOWN", "CAP_KILL"};
    caps.inheritable = {"CAP_NET_BIND_SERVICE"};
    caps.ambient = {"CAP_NET_BIND_SERVICE"};
    auto a = apply_capabilities(caps);
    report(fd, a.ok() ? caps_line() : a.error().message());
    return 0;
  });
  uint64_t bnd = bit(CAP_CHOWN) | bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE);
  EXPECT_EQ(r.output, fmt::format("bnd={:x} eff={:x} prm={:x} inh={:x} amb={:x}", bnd,
                                  bit(CAP_CHOWN) | bit(CAP_KILL), bnd, bit(CAP_NET_BIND_SERVICE),
                                  bit(CAP_NET_BIND_SERVICE)));
}

TEST_F(RootTest, DropAllCapabilities) {
  auto r = run_in_child([](int fd) {
    auto a = drop_all_capabilities();
    report(fd, a.ok() ? caps_line() : a.error().message());
    return 0;
  });
  EXPECT_EQ(r.output, "bnd=0 eff=0 prm=0 inh=0 amb=0");
}

TEST_F(RootTest, CapabilityOutsideRuntimeBoundingSetFails) {
  auto r = run_in_child([](int fd) {
    prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0);
    oci::Capabilities caps;
    caps.bounding = {"CAP_CHOWN"};
    caps.permitted = caps.effective = {"CAP_CHOWN", "CAP_SYS_RESOURCE"};
    auto a = apply_capabilities(caps);
    report(fd, a.ok() ? "ok" : a.error().message());
    return 0;
  });
  EXPECT_EQ(r.output, "process.capabilities.effective: CAP_SYS_RESOURCE is not in the runtime's bounding set");
}

// The full path up to execve, with a non-root user keeping requested caps
// (keep-caps across setuid) and additional groups; the child stops short of
// exec by asking for a program that does not exist, then reports.
TEST_F(RootTest, NonRootUserKeepsRequestedCapsAndGroups) {
  auto r = run_in_child([](int fd) {
    oci::Process p;
    p.user.uid = 1000;
    p.user.gid = 1001;
    p.user.additional_gids = {2000, 2001};
    p.user.umask = 077;
    p.args = {"no-such-program-xyz"};
    p.env = {"PATH=/nonexistent"};
    p.cwd = "/tmp";
    p.no_new_privileges = true;
    oci::Capabilities caps;
    caps.bounding = caps.permitted = caps.effective = {"CAP_CHOWN", "CAP_NET_RAW"};
    p.capabilities = caps;
    auto e = finalize_and_exec(p, nullptr, 0);
    gid_t groups[8];
    int n = getgroups(8, groups);
    mode_t mask = umask(0);
    char cwd[256] = {};
    (void)!getcwd(cwd, sizeof cwd);
    report(fd, fmt::format("{} | uid={} gid={} groups={} {} {} umask={:o} cwd={} nnp={} {}",
                           e.error().message(), getuid(), getgid(), n, n > 0 ? groups[0] : 0,
                           n > 1 ? groups[1] : 0, mask, cwd, status_field("NoNewPrivs"), caps_line()));
    return 0;
  });
  uint64_t want = bit(CAP_CHOWN) | bit(CAP_NET_RAW);
  EXPECT_EQ(r.output,
            fmt::format("exec: \"no-such-program-xyz\": executable file not found in $PATH | "
                        "uid=1000 gid=1001 groups=2 2000 2001 umask=77 cwd=/tmp nnp=1 "
                        "bnd={:x} eff={:x} prm={:x} inh=0 amb=0",
                        want, want, want));
}

TEST_F(RootTest, SeccompErrnoRetAndArgumentCondition) {
  auto r = run_in_child([](int fd) {
    oci::Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    s.syscalls.push_back({{"getcwd", "no_such_call"}, "SCMP_ACT_ERRNO", 42, {}});
    // mkdir fails only for mode 0700 or 0701: two conditions on one index
    // are alternatives. (glibc may use mkdir, mode in arg 1, or mkdirat,
    // mode in arg 2.)
    s.syscalls.push_back({{"mkdir"}, "SCMP_ACT_ERRNO", 13,
                          {{1, 0700, 0, "SCMP_CMP_EQ"}, {1, 0701, 0, "SCMP_CMP_EQ"}}});
    s.syscalls.push_back({{"mkdirat"}, "SCMP_ACT_ERRNO", 13,
                          {{2, 0700, 0, "SCMP_CMP_EQ"}, {2, 0701, 0, "SCMP_CMP_EQ"}}});
    if (auto nnp = set_no_new_privileges(); !nnp.ok()) return 1;
    auto l = load_seccomp(s);
    if (!l.ok()) {
      report(fd, l.error().message());
      return 0;
    }
    char buf[64];
    errno = 0;
    bool cwd_failed = getcwd(buf, sizeof buf) == nullptr;
    int cwd_errno = errno;
    std::string base = fmt::format("/tmp/berth-seccomp-{}", getpid());
    int a = mkdir((base + "-a").c_str(), 0700);
    int a_err = errno;
    int b = mkdir((base + "-b").c_str(), 0701);
    int b_err = errno;
    int c = mkdir((base + "-c").c_str(), 0755);
    rmdir((base + "-c").c_str());
    report(fd, fmt::format("getcwd={} {} mkdir0700={} {} mkdir0701={} {} mkdir0755={} seccomp={}",
                           cwd_failed, cwd_errno, a, a_err, b, b_err, c, status_field("Seccomp")));
    return 0;
  });
  EXPECT_EQ(r.output, "getcwd=true 42 mkdir0700=-1 13 mkdir0701=-1 13 mkdir0755=0 seccomp=2");
}

TEST_F(RootTest, SeccompKillProcessDefault) {
  auto r = run_in_child([](int) {
    oci::Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.syscalls.push_back({{"getppid"}, "SCMP_ACT_KILL_PROCESS", std::nullopt, {}});
    if (!set_no_new_privileges().ok() || !load_seccomp(s).ok()) return 1;
    getppid();
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(r.status));
  EXPECT_EQ(WTERMSIG(r.status), SIGSYS);
}

TEST_F(RootTest, SeccompDockerProfileLoadsWithoutNNP) {
  auto text = testing::slurp(BERTH_SOURCE_DIR "/tests/fixtures/oci/docker-default-config.json");
  ASSERT_FALSE(text.empty()) << "fixture tests/fixtures/oci/docker-default-config.json missing";
  auto s = testing::seccomp_from_json(Json::parse(text)["linux"]["seccomp"]);
  auto r = run_in_child([&](int fd) {
    auto l = load_seccomp(s);  // as root, with CAP_SYS_ADMIN: no NNP needed
    // Docker's profile refuses unshare of a user namespace... it allows
    // getpid: check the process still works and is filtered.
    report(fd, l.ok() ? fmt::format("seccomp={} nnp={}", status_field("Seccomp"), status_field("NoNewPrivs"))
                      : l.error().message());
    return 0;
  });
  EXPECT_EQ(r.output, "seccomp=2 nnp=0");
}

TEST_F(RootTest, RlimitAboveHardLimitFailsClearly) {
  auto r = run_in_child([](int fd) {
    // Drop CAP_SYS_RESOURCE as the runtime lacks it on the build machine.
    oci::Capabilities caps;
    caps.bounding = caps.permitted = caps.effective = {"CAP_SETPCAP"};
    if (!apply_capabilities(caps).ok()) return 1;
    struct rlimit cur {};
    getrlimit(RLIMIT_NOFILE, &cur);
    if (cur.rlim_max == RLIM_INFINITY) {
      report(fd, "skip");
      return 0;
    }
    auto a = apply_rlimits({{"RLIMIT_NOFILE", cur.rlim_max + 1, cur.rlim_max}});
    auto b = apply_rlimits({{"RLIMIT_NOFILE", 100, 50}, {"RLIMIT_CORE", 0, 0}});
    struct rlimit now {};
    getrlimit(RLIMIT_NOFILE, &now);
    report(fd, fmt::format("{}|{}|{} {}|{}", a.ok() ? "ok" : a.error().message(),
                           b.ok() ? "ok" : b.error().message(), now.rlim_cur, now.rlim_max, cur.rlim_max));
    return 0;
  });
  if (r.output == "skip") GTEST_SKIP() << "RLIMIT_NOFILE hard limit is unlimited";
  auto parts = split(r.output, '|');
  ASSERT_EQ(parts.size(), 4u) << r.output;
  uint64_t hard = std::stoull(parts[3]);
  EXPECT_EQ(parts[0], fmt::format("process.rlimits: RLIMIT_NOFILE hard {} exceeds the allowed {}", hard + 1, hard));
  EXPECT_EQ(parts[1], "ok");
  EXPECT_EQ(parts[2], "50 100");
}

TEST_F(RootTest, DescriptorsAboveStdioCloseOnExec) {
  auto r = run_in_child([](int fd) {
    // The report pipe (O_CLOEXEC, maybe fd 3 or 4) would close: the shell
    // writes to stdout, a copy of it.
    dup2(fd, 1);
    // fd 3 and 4 survive (preserve_fds = 2); a few others must close on exec.
    int keep3 = open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
    int keep4 = open("/dev/null", O_RDONLY);
    dup2(keep3, 3);
    dup2(keep4, 4);
    for (int i = 0; i < 3; ++i) (void)open("/", O_RDONLY | O_DIRECTORY);  // leaked host dirs
    oci::Process p;
    p.env = {"PATH=/bin:/usr/bin"};
    p.args = {"/bin/sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"};
    auto e = finalize_and_exec(p, nullptr, 2);
    report(fd, "exec failed: " + e.error().message());
    return 1;
  });
  // 0 1 2, the preserved 3 and 4, and ls's own directory fd.
  EXPECT_EQ(r.output, "0 1 2 3 4 5 ") << r.output;
}

TEST_F(RootTest, ExecGetsExactlyProcessEnvPlusHome) {
  auto r = run_in_child([](int fd) {
    dup2(fd, 1);
    setenv("LEAK_FROM_RUNTIME", "1", 1);
    oci::Process p;
    p.env = {"PATH=/usr/bin:/bin", "FOO=bar"};
    p.args = {"env"};  // found through PATH
    auto e = finalize_and_exec(p, nullptr, 0);
    report(fd, "exec failed: " + e.error().message());
    return 1;
  });
  // HOME from /etc/passwd for uid 0 (root's home on the test machine).
  EXPECT_EQ(r.output, "PATH=/usr/bin:/bin\nFOO=bar\nHOME=/root\n");
}

TEST_F(RootTest, CwdOutsideRootIsRefused) {
  char tmpl[] = "/tmp/berth-chroot-XXXXXX";
  std::string root = mkdtemp(tmpl);
  mkdir((root + "/proc").c_str(), 0755);
  auto r = run_in_child([&](int fd) {
    // A leaked directory fd from outside a chroot: cwd = /proc/self/fd/N.
    int host = open("/", O_RDONLY | O_DIRECTORY);
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("proc", (root + "/proc").c_str(), "proc", 0, nullptr) != 0 || chroot(root.c_str()) != 0) {
      report(fd, "skip");
      return 0;
    }
    oci::Process p;
    p.args = {"/bin/true"};
    p.cwd = fmt::format("/proc/self/fd/{}", host);
    auto e = finalize_and_exec(p, nullptr, 0);
    report(fd, e.error().message());
    return 0;
  });
  // The child's mounts died with its mount namespace.
  std::filesystem::remove_all(root);
  if (r.output == "skip") GTEST_SKIP() << "cannot chroot here";
  EXPECT_NE(r.output.find("is outside the container's root"), std::string::npos) << r.output;
}

TEST_F(RootTest, OomScoreAdj) {
  auto r = run_in_child([](int fd) {
    auto a = set_oom_score_adj(getpid(), 500);
    report(fd, a.ok() ? testing::slurp("/proc/self/oom_score_adj") : a.error().message());
    return 0;
  });
  EXPECT_EQ(r.output, "500\n");
  EXPECT_FALSE(set_oom_score_adj(getpid(), 5000).ok());
}

}  // namespace
}  // namespace berth::runtime
