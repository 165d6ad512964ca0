// The default profile against Docker's: an evaluator decides, for a syscall
// and its arguments, what an OCI seccomp object answers, and the tests
// compare our verdicts with those of Docker 20.10's generated config and of
// current moby's profile.
#include "engine/seccomp_profile.h"

#include <gtest/gtest.h>

#include <set>

#include "base/file.h"
#include "engine/spec.h"

namespace berth::engine {
namespace {

struct Verdict {
  std::string action;
  uint32_t errno_ret = 0;
  bool operator==(const Verdict& o) const { return action == o.action && errno_ret == o.errno_ret; }
};

std::ostream& operator<<(std::ostream& os, const Verdict& v) { return os << v.action << "/" << v.errno_ret; }

bool arg_matches(const Json& a, const std::array<uint64_t, 6>& args) {
  uint64_t v = args.at(a.at("index").get<uint32_t>());
  uint64_t value = a.at("value").get<uint64_t>();
  uint64_t two = a.value("valueTwo", uint64_t{0});
  std::string op = a.at("op");
  if (op == "SCMP_CMP_EQ") return v == value;
  if (op == "SCMP_CMP_NE") return v != value;
  if (op == "SCMP_CMP_LT") return v < value;
  if (op == "SCMP_CMP_LE") return v <= value;
  if (op == "SCMP_CMP_GT") return v > value;
  if (op == "SCMP_CMP_GE") return v >= value;
  if (op == "SCMP_CMP_MASKED_EQ") return (v & value) == two;
  ADD_FAILURE() << "unknown op " << op;
  return false;
}

// libseccomp's rule: among matching rules the most restrictive action wins;
// with none, the default action.
Verdict evaluate(const Json& profile, std::string_view name, std::array<uint64_t, 6> args = {}) {
  static const std::vector<std::string> order = {"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL",
                                                 "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",
                                                 "SCMP_ACT_LOG", "SCMP_ACT_ALLOW"};
  std::optional<Verdict> best;
  auto rank = [&](const std::string& a) { return std::find(order.begin(), order.end(), a) - order.begin(); };
  for (const Json& r : profile.at("syscalls")) {
    const auto& names = r.at("names");
    if (std::find(names.begin(), names.end(), std::string(name)) == names.end()) continue;
    bool all = true;
    for (const Json& a : r.value("args", Json::array())) all = all && arg_matches(a, args);
    if (!all) continue;
    Verdict v{r.at("action"), r.value("errnoRet", 1u)};
    if (v.action != "SCMP_ACT_ERRNO") v.errno_ret = 0;
    if (!best || rank(v.action) < rank(best->action)) best = v;
  }
  if (best) return *best;
  Verdict d{profile.at("defaultAction"), profile.value("defaultErrnoRet", 1u)};
  if (d.action != "SCMP_ACT_ERRNO") d.errno_ret = 0;
  return d;
}

Json docker_2010() {
  auto text = read_file(BERTH_SOURCE_DIR "/tests/fixtures/oci/docker-default-config.json");
  EXPECT_TRUE(text.ok());
  return Json::parse(*text)["linux"]["seccomp"];
}

std::string moby_text() {
  auto text = read_file(BERTH_SOURCE_DIR "/tests/fixtures/oci/seccomp-default-moby.json");
  EXPECT_TRUE(text.ok());
  return *text;
}

std::set<std::string> all_names(const Json& profile) {
  std::set<std::string> out;
  for (const Json& r : profile.at("syscalls"))
    for (const Json& n : r.at("names")) out.insert(n.get<std::string>());
  return out;
}

const std::set<std::string> kBlockedOnPurpose = {"io_uring_setup", "io_uring_enter", "io_uring_register"};

TEST(SeccompProfile, DefaultActionIsEperm) {
  Json ours = default_seccomp_profile(default_capabilities(), "amd64");
  EXPECT_EQ(ours["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(ours["defaultErrnoRet"], 1);
  EXPECT_EQ(evaluate(ours, "keyctl"), evaluate(docker_2010(), "keyctl"));
  EXPECT_EQ(ours["architectures"], Json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
}

TEST(SeccompProfile, SameVerdictAsDocker2010ForEveryNamedSyscall) {
  Json docker = docker_2010();
  Json ours = default_seccomp_profile(default_capabilities(), "amd64");
  int compared = 0;
  for (const auto& name : all_names(docker)) {
    Verdict d = evaluate(docker, name), o = evaluate(ours, name);
    if (kBlockedOnPurpose.count(name)) {
      EXPECT_EQ(o.action, "SCMP_ACT_ERRNO") << name;
      EXPECT_EQ(d.action, "SCMP_ACT_ALLOW") << name;
      continue;
    }
    EXPECT_EQ(o, d) << name;
    ++compared;
  }
  EXPECT_GT(compared, 340);
}

TEST(SeccompProfile, WhatDockerRefusesWeRefuse) {
  Json docker = docker_2010();
  Json ours = default_seccomp_profile(default_capabilities(), "amd64");
  for (const char* name : {"mount", "umount2", "unshare", "setns", "pivot_root", "keyctl", "add_key",
                           "request_key", "userfaultfd", "bpf", "perf_event_open", "open_by_handle_at",
                           "kexec_load", "kexec_file_load", "init_module", "finit_module", "reboot",
                           "clock_settime", "settimeofday", "syslog", "swapon", "swapoff", "set_mempolicy",
                           "lookup_dcookie", "fsopen", "open_tree", "move_mount", "quotactl",
                           "sethostname", "setdomainname", "acct", "iopl", "ioperm", "vhangup",
                           "kcmp", "process_madvise", "name_to_handle_at_bogus"}) {
    EXPECT_EQ(evaluate(docker, name).action, "SCMP_ACT_ERRNO") << name;
    EXPECT_EQ(evaluate(ours, name), evaluate(docker, name)) << name;
  }
}

TEST(SeccompProfile, ArgumentRules) {
  Json docker = docker_2010();
  Json ours = default_seccomp_profile(default_capabilities(), "amd64");
  struct Case {
    const char* name;
    std::array<uint64_t, 6> args;
    const char* want;
  };
  const Case cases[] = {
      {"personality", {0xffffffff}, "SCMP_ACT_ALLOW"},
      {"personality", {0x0}, "SCMP_ACT_ALLOW"},
      {"personality", {0x20008}, "SCMP_ACT_ALLOW"},
      {"personality", {0x0400000}, "SCMP_ACT_ERRNO"},  // READ_IMPLIES_EXEC
      {"clone", {17}, "SCMP_ACT_ALLOW"},                // SIGCHLD
      {"clone", {0x00020000 | 17}, "SCMP_ACT_ERRNO"},   // CLONE_NEWNS
      {"clone", {0x10000000}, "SCMP_ACT_ERRNO"},        // CLONE_NEWUSER
      {"clone", {0x40000000}, "SCMP_ACT_ERRNO"},        // CLONE_NEWNET
      {"socket", {2}, "SCMP_ACT_ALLOW"},                // AF_INET
      {"socket", {16}, "SCMP_ACT_ALLOW"},               // AF_NETLINK
      {"socket", {17}, "SCMP_ACT_ALLOW"},               // AF_PACKET
      {"socket", {39}, "SCMP_ACT_ALLOW"},               // AF_KCM
      {"socket", {44}, "SCMP_ACT_ALLOW"},               // AF_XDP
  };
  for (const auto& c : cases) {
    EXPECT_EQ(evaluate(ours, c.name, c.args).action, c.want) << c.name << " " << c.args[0];
    EXPECT_EQ(evaluate(docker, c.name, c.args).action, c.want) << c.name << " " << c.args[0];
  }
  // clone3 answers ENOSYS so that libc falls back to clone.
  EXPECT_EQ(evaluate(ours, "clone3"), (Verdict{"SCMP_ACT_ERRNO", 38}));
  EXPECT_EQ(evaluate(docker, "clone3"), (Verdict{"SCMP_ACT_ERRNO", 38}));
  // Blocked on purpose though Docker 20.10 allowed them.
  EXPECT_EQ(evaluate(ours, "socket", {38}).action, "SCMP_ACT_ERRNO");  // AF_ALG
  EXPECT_EQ(evaluate(ours, "socket", {40}).action, "SCMP_ACT_ERRNO");  // AF_VSOCK
  EXPECT_EQ(evaluate(ours, "io_uring_setup").action, "SCMP_ACT_ERRNO");
}

// Our table against current moby's profile, for several capability sets:
// the same verdict for every syscall either names.
TEST(SeccompProfile, SameEffectAsMobyProfile) {
  std::vector<std::vector<std::string>> cap_sets = {default_capabilities()};
  for (const char* extra : {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_TIME", "CAP_SYS_MODULE", "CAP_BPF",
                            "CAP_PERFMON", "CAP_SYSLOG", "CAP_SYS_NICE", "CAP_DAC_READ_SEARCH"}) {
    auto caps = default_capabilities();
    caps.push_back(extra);
    cap_sets.push_back(caps);
  }
  cap_sets.push_back({});  // --cap-drop ALL: chroot goes too
  for (const auto& arch : {"amd64", "arm64", "s390x"}) {
    for (const auto& caps : cap_sets) {
      Json ours = default_seccomp_profile(caps, arch);
      auto moby = seccomp_from_docker_profile(moby_text(), caps, arch);
      ASSERT_TRUE(moby.ok()) << moby.error().message();
      EXPECT_EQ(ours["architectures"], (*moby)["architectures"]) << arch;
      auto names = all_names(*moby);
      auto more = all_names(ours);
      names.insert(more.begin(), more.end());
      for (const auto& n : names) {
        for (uint64_t a0 : {uint64_t{0}, uint64_t{17}, uint64_t{0x10000011}, uint64_t{38}, uint64_t{40}}) {
          for (uint64_t a1 : {uint64_t{0}, uint64_t{0x40000000}}) {
            EXPECT_EQ(evaluate(ours, n, {a0, a1}), evaluate(*moby, n, {a0, a1}))
                << n << "(" << a0 << "," << a1 << ") arch " << arch << " caps " << caps.size();
          }
        }
      }
    }
  }
}

TEST(SeccompProfile, CapabilityGatedGroups) {
  auto caps = default_capabilities();
  caps.push_back("CAP_SYS_ADMIN");
  Json admin = default_seccomp_profile(caps, "amd64");
  EXPECT_EQ(evaluate(admin, "mount").action, "SCMP_ACT_ALLOW");
  EXPECT_EQ(evaluate(admin, "clone", {0x10000000}).action, "SCMP_ACT_ALLOW");
  EXPECT_EQ(evaluate(admin, "clone3").action, "SCMP_ACT_ALLOW");
  Json none = default_seccomp_profile({}, "amd64");
  EXPECT_EQ(evaluate(none, "chroot").action, "SCMP_ACT_ERRNO");
}

TEST(SeccompProfile, DockerFormatProfileErrors) {
  const std::vector<std::string> caps = default_capabilities();
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"{", "invalid JSON"},
      {"[]", "expected object"},
      {R"({})", "defaultAction: required field is missing"},
      {R"({"defaultAction": "SCMP_ACT_NOPE"})", "unknown action"},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_Z80"]})", "unknown architecture"},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]})", "syscalls[0].action"},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]})", "names"},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]})", "sixth argument"},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]})", "unknown operator"},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": "read"})", "syscalls: expected array"},
  };
  for (const auto& c : cases) {
    auto r = seccomp_from_docker_profile(c.text, caps, "amd64");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().message().find(c.want), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace berth::engine
