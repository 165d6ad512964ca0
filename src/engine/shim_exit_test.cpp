#include "engine/shim_exit.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>

#include "base/file.h"

namespace berth::engine {
namespace {

// Wait statuses built the way the kernel encodes them.
int exited(int code) { return (code & 0xff) << 8; }
int killed(int sig) { return sig & 0x7f; }

TEST(ExitFromWaitStatus, Table) {
  struct Case {
    int status;
    int code;
    int signal;
  } cases[] = {
      {exited(0), 0, 0},       {exited(3), 3, 0},           {exited(255), 255, 0},
      {killed(SIGKILL), 137, SIGKILL}, {killed(SIGTERM), 143, SIGTERM},
      {killed(SIGSEGV) | 0x80, 139, SIGSEGV},  // core dumped
  };
  for (const auto& c : cases) {
    auto e = exit_from_wait_status(c.status, "T");
    EXPECT_EQ(e.exit_code, c.code) << c.status;
    EXPECT_EQ(e.signal, c.signal) << c.status;
    EXPECT_FALSE(e.oom_killed);
    EXPECT_EQ(e.exited_at, "T");
  }
}

TEST(ExitRecord, JsonRoundTrip) {
  ExitRecord e{137, 9, true, "2026-11-23T05:00:00.123456789Z"};
  auto j = e.to_json();
  EXPECT_EQ(j.dump(),
            R"({"exit_code":137,"exited_at":"2026-11-23T05:00:00.123456789Z","oom_killed":true,"signal":9})");
  auto back = ExitRecord::from_json(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->exit_code, 137);
  EXPECT_EQ(back->signal, 9);
  EXPECT_TRUE(back->oom_killed);
  EXPECT_FALSE(ExitRecord::from_json(Json{{"exit_code", "x"}}).ok());
}

TEST(OomKillCount, ParsesV1AndV2Files) {
  EXPECT_EQ(parse_oom_kill_count("low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n"), 1u);
  EXPECT_EQ(parse_oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3u);
  EXPECT_EQ(parse_oom_kill_count("oom_kill_disable 1\nunder_oom 0\n"), 0u);
  EXPECT_EQ(parse_oom_kill_count(""), 0u);
}

TEST(CgroupOomKilled, LooksInV2ThenV1) {
  char tmpl[] = "/tmp/berth-shim-cg-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  ASSERT_TRUE(mkdir_all(root + "/memory/p/c1").ok());
  ASSERT_TRUE(write_file(root + "/memory/p/c1/memory.oom_control", "oom_kill_disable 0\noom_kill 1\n").ok());
  ASSERT_TRUE(mkdir_all(root + "/p/c2").ok());
  ASSERT_TRUE(write_file(root + "/p/c2/memory.events", "oom 0\noom_kill 0\n").ok());
  EXPECT_TRUE(cgroup_oom_killed("/p/c1", root));
  EXPECT_TRUE(cgroup_oom_killed("p/c1", root));
  EXPECT_FALSE(cgroup_oom_killed("/p/c2", root));
  EXPECT_FALSE(cgroup_oom_killed("/p/missing", root));
  EXPECT_FALSE(cgroup_oom_killed("system.slice:berth:c1", root));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace berth::engine
