#include "runtime/hooks.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "runtime/security_test_util.h"

namespace berth::runtime {
namespace {

class HookDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-hooks-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

oci::Hook sh(const std::string& script, std::optional<int> timeout = std::nullopt) {
  return oci::Hook{"/bin/sh", {"sh", "-c", script}, {"PATH=/usr/bin:/bin"}, timeout};
}

TEST_F(HookDir, StateArrivesOnStdin) {
  std::string out = dir_ + "/state";
  std::string state = R"({"ociVersion":"1.0.2","id":"c1","status":"creating","pid":42,"bundle":"/b"})";
  auto r = run_hooks({sh("cat > " + out)}, state, "prestart");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(testing::slurp(out), state);
}

TEST_F(HookDir, ArgsAndEnvAreTheHooks) {
  std::string out = dir_ + "/args";
  oci::Hook hook{"/bin/sh", {"my-argv0", "-c", "echo \"$0 $FOO $HOME\" > " + out}, {"FOO=bar"}, {}};
  auto r = run_hooks({hook}, "{}", "createRuntime");
  ASSERT_TRUE(r.ok()) << r.error().message();
  // HOME is not inherited from the runtime: the hook gets exactly its env.
  EXPECT_EQ(testing::slurp(out), "my-argv0 bar \n");
}

TEST_F(HookDir, EmptyArgsUsesPath) {
  std::string script = dir_ + "/hook.sh";
  std::string out = dir_ + "/argv0";
  {
    FILE* f = fopen(script.c_str(), "w");
    fprintf(f, "#!/bin/sh\necho \"$0\" > %s\n", out.c_str());
    fclose(f);
    chmod(script.c_str(), 0755);
  }
  auto r = run_hooks({oci::Hook{script, {}, {}, {}}}, "{}", "poststart");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(testing::slurp(out), script + "\n");
}

TEST_F(HookDir, HookThatIgnoresStdinIsFine) {
  std::string big(256 * 1024, 'x');  // more than a pipe holds
  auto r = run_hooks({sh("exit 0")}, big, "prestart");
  EXPECT_TRUE(r.ok()) << r.error().message();
}

TEST_F(HookDir, FailureNamesStatusAndStderr) {
  auto r = run_hooks({sh("echo something broke >&2; exit 3")}, "{}", "createContainer");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "createContainer hook /bin/sh: exited with status 3: something broke");
}

TEST_F(HookDir, StopsAtTheFirstFailure) {
  std::string out = dir_ + "/second";
  auto r = run_hooks({sh("exit 1"), sh("touch " + out)}, "{}", "prestart");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(HookDir, TimeoutKills) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_hooks({sh("sleep 30", 1)}, "{}", "startContainer");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "startContainer hook /bin/sh: timed out after 1 s");
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(HookDir, MissingBinary) {
  auto r = run_hooks({oci::Hook{dir_ + "/nope", {}, {}, {}}}, "{}", "prestart");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("exited with status 127"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace berth::runtime
