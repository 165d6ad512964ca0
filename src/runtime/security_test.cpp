// Tests that need no privilege: PATH lookup, seccomp filter building,
// capability names, rlimit validation, the pty.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/capabilities.h"
#include "runtime/process_setup.h"
#include "runtime/seccomp.h"
#include "runtime/security_test_util.h"
#include "runtime/terminal.h"

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;
using testing::run_in_child;
using testing::seccomp_from_json;
using testing::slurp;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-sec-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string make_file(const std::string& rel, mode_t mode) const {
    std::string p = path_ + "/" + rel;
    fs::create_directories(fs::path(p).parent_path());
    int fd = open(p.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, mode);
    close(fd);
    chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::string path_;
};

TEST(FindExecutable, SearchesPathFromEnv) {
  TempDir dir;
  std::string exe = dir.make_file("b/tool", 0755);
  dir.make_file("a/tool", 0644);  // not executable: skipped for the next one
  auto r = find_executable("tool", {"PATH=" + dir.path() + "/a:" + dir.path() + "/b"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, exe);
}

TEST(FindExecutable, DefaultPath) {
  auto r = find_executable("sh", {"FOO=bar"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(*r == "/usr/bin/sh" || *r == "/bin/sh") << *r;
}

TEST(FindExecutable, NameWithSlashUsedAsIs) {
  auto r = find_executable("./does/not/exist", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "./does/not/exist");
}

TEST(FindExecutable, NotFoundUsesRuncWording) {
  auto r = find_executable("no-such-binary-xyz", {"PATH=/nonexistent"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_EQ(r.error().message(), "exec: \"no-such-binary-xyz\": executable file not found in $PATH");
}

TEST(FindExecutable, NotExecutableIsPermissionDenied) {
  TempDir dir;
  dir.make_file("tool", 0644);
  auto r = find_executable("tool", {"PATH=" + dir.path()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied);
  EXPECT_EQ(r.error().sys_errno(), EACCES);
}

TEST(Capabilities, MaskFromNames) {
  auto m = capability_mask({"CAP_CHOWN", "CAP_KILL"}, "process.capabilities.effective");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(*m, (uint64_t{1} << 0) | (uint64_t{1} << 5));
}

TEST(Capabilities, UnknownNamesAreIgnored) {
  auto m = capability_mask({"CAP_CHOWN", "CAP_FROM_THE_FUTURE", "42"}, "process.capabilities.bounding");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(*m, uint64_t{1});
}

TEST(Capabilities, CapMissingFromOwnBoundingSetIsAnError) {
  // Find a known capability this process lacks in its bounding set (on the
  // build machine: CAP_SYS_RESOURCE for root), or drop one in a child.
  auto report = run_in_child([](int fd) {
    prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0);  // may fail unprivileged: fine
    if (prctl(PR_CAPBSET_READ, CAP_SYS_RESOURCE, 0, 0, 0) == 1) {
      testing::report(fd, "skip");
      return 0;
    }
    auto m = capability_mask({"CAP_CHOWN", "CAP_SYS_RESOURCE"}, "process.capabilities.bounding");
    testing::report(fd, m.ok() ? std::string("ok") : m.error().message());
    return 0;
  });
  if (report.output == "skip") GTEST_SKIP() << "CAP_SYS_RESOURCE cannot be dropped here";
  EXPECT_EQ(report.output,
            "process.capabilities.bounding: CAP_SYS_RESOURCE is not in the runtime's bounding set");
}

TEST(Seccomp, DockerDefaultConfigLoads) {
  auto text = slurp(BERTH_SOURCE_DIR "/tests/fixtures/oci/docker-default-config.json");
  ASSERT_FALSE(text.empty()) << "fixture tests/fixtures/oci/docker-default-config.json missing";
  auto j = Json::parse(text);
  auto bpf = seccomp_bpf(seccomp_from_json(j["linux"]["seccomp"]));
  ASSERT_TRUE(bpf.ok()) << bpf.error().message();
  EXPECT_GT(bpf->size(), 8u);
  EXPECT_EQ(bpf->size() % 8, 0u);  // whole struct sock_filter entries
}

TEST(Seccomp, MobyProfileLoads) {
  auto text = slurp(BERTH_SOURCE_DIR "/tests/fixtures/oci/seccomp-default-moby.json");
  ASSERT_FALSE(text.empty()) << "fixture tests/fixtures/oci/seccomp-default-moby.json missing";
  auto j = Json::parse(text);
  auto s = seccomp_from_json(j);
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  auto bpf = seccomp_bpf(s);
  ASSERT_TRUE(bpf.ok()) << bpf.error().message();
}

TEST(Seccomp, CompiledProgramsAreCachedByTheWholeProfile) {
  auto j = Json::parse(slurp(BERTH_SOURCE_DIR "/tests/fixtures/oci/docker-default-config.json"));
  auto profile = seccomp_from_json(j["linux"]["seccomp"]);
  profile.flags = {"SECCOMP_FILTER_FLAG_LOG"};
  auto fresh = seccomp_bpf(profile);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message();
  char tmpl[] = "/tmp/berth-seccomp-cache-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/@seccomp";
  auto entries = [&] {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path());
    return out;
  };

  auto first = compile_seccomp(profile, dir);  // compiles and stores
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_TRUE(first->bpf == *fresh);
  EXPECT_EQ(first->flags, unsigned{SECCOMP_FILTER_FLAG_LOG});
  ASSERT_EQ(entries().size(), 1u);
  auto second = compile_seccomp(profile, dir);  // from the entry
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->bpf == *fresh);

  // A torn or altered entry is compiled again (and rewritten).
  const auto entry = entries()[0];
  std::string text = slurp(entry.string());
  std::string altered = text;
  altered[altered.size() - 20] ^= 1;  // in the program, before its checksum
  { std::ofstream(entry, std::ios::binary | std::ios::trunc) << altered; }
  auto third = compile_seccomp(profile, dir);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->bpf == *fresh);
  EXPECT_TRUE(slurp(entry.string()) == text);

  // One argument value differs: another program, another entry.
  auto other = profile;
  other.syscalls.push_back({{"acct"}, "SCMP_ACT_ERRNO", 38, {}});  // denied by default with EPERM
  auto o = compile_seccomp(other, dir);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->bpf != first->bpf);
  EXPECT_TRUE(o->bpf == *seccomp_bpf(other));
  EXPECT_EQ(entries().size(), 2u);

  // A bad profile fails the same with or without the cache.
  other.flags = {"SECCOMP_FILTER_FLAG_BOGUS"};
  EXPECT_FALSE(compile_seccomp(other, dir).ok());
  std::filesystem::remove_all(tmpl);
}

oci::Seccomp allow_all() {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  return s;
}

TEST(Seccomp, UnknownSyscallSkippedUnknownActionRejected) {
  auto s = allow_all();
  s.syscalls.push_back({{"no_such_syscall", "getcwd"}, "SCMP_ACT_ERRNO", 38, {}});
  EXPECT_TRUE(seccomp_bpf(s).ok());
  s.syscalls.push_back({{"getpid"}, "SCMP_ACT_BOGUS", std::nullopt, {}});
  auto r = seccomp_bpf(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("linux.seccomp.syscalls[1].action"), std::string::npos) << r.error().message();
}

TEST(Seccomp, RuleEqualToDefaultSkipped) {
  auto s = allow_all();
  s.syscalls.push_back({{"getpid"}, "SCMP_ACT_ALLOW", std::nullopt, {}});
  EXPECT_TRUE(seccomp_bpf(s).ok());
}

TEST(Seccomp, NotifyNeedsListener) {
  auto s = allow_all();
  s.syscalls.push_back({{"getpid"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
  auto r = seccomp_bpf(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("listenerPath"), std::string::npos);
  s.listener_path = "/run/listener.sock";
  r = seccomp_bpf(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::NotImplemented);
}

TEST(Seccomp, FlagsArchesAndOperators) {
  auto s = allow_all();
  s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"};
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"};
  for (const char* op : {"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GE",
                         "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}) {
    s.syscalls.push_back({{"personality"}, "SCMP_ACT_ERRNO", 1, {{0, 8, 8, op}}});
  }
  auto r = seccomp_bpf(s);
  EXPECT_TRUE(r.ok()) << r.error().message();

  s.flags = {"SECCOMP_FILTER_FLAG_BOGUS"};
  EXPECT_FALSE(seccomp_bpf(s).ok());
  s.flags.clear();
  s.architectures = {"SCMP_ARCH_VAX"};
  EXPECT_FALSE(seccomp_bpf(s).ok());
  s.architectures.clear();
  s.syscalls = {{{"personality"}, "SCMP_ACT_ERRNO", 1, {{0, 8, 0, "SCMP_CMP_SORTOF"}}}};
  EXPECT_FALSE(seccomp_bpf(s).ok());
}

TEST(Rlimits, UnknownTypeRejected) {
  auto r = apply_rlimits({{"RLIMIT_BOGUS", 1, 1}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("RLIMIT_BOGUS"), std::string::npos);
}

TEST(Rlimits, SoftAboveHardRejected) {
  auto r = apply_rlimits({{"RLIMIT_NOFILE", 10, 20}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
}

TEST(Terminal, PtyRoundTrip) {
  auto report = run_in_child([](int fd) {
    auto pty = open_pty();
    if (!pty.ok()) {
      testing::report(fd, "open_pty: " + pty.error().message());
      return 1;
    }
    if (pty->slave_path.rfind("/dev/pts/", 0) != 0) {
      testing::report(fd, "bad slave path " + pty->slave_path);
      return 1;
    }
    auto own = become_terminal_owner(*pty, oci::ConsoleSize{24, 80});
    if (!own.ok()) {
      testing::report(fd, "become_terminal_owner: " + own.error().message());
      return 1;
    }
    struct winsize ws {};
    ioctl(1, TIOCGWINSZ, &ws);
    // Raw mode: no echo, no line buffering, so the bytes come back as written.
    struct termios t {};
    tcgetattr(0, &t);
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
    (void)!write(1, "hello", 5);
    char buf[16] = {};
    ssize_t n = read(pty->master.get(), buf, sizeof buf);
    testing::report(fd, fmt::format("{}x{} {} {}", ws.ws_row, ws.ws_col, std::string(buf, n > 0 ? n : 0),
                                    isatty(0) && isatty(2) ? "tty" : "notty"));
    return 0;
  });
  EXPECT_EQ(report.output, "24x80 hello tty");
}

}  // namespace
}  // namespace berth::runtime
