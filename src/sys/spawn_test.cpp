#include "sys/spawn.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "base/fd.h"
#include "base/file.h"

namespace berth::sys {
namespace {

// What the child wrote to a pipe given as its stdout.
std::string run_reading(const std::vector<std::string>& argv, int exec_fd = -1) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  Fd rd(p[0]), wr(p[1]);
  auto pid = spawn(argv, {-1, wr.get(), -1}, exec_fd);
  EXPECT_TRUE(pid.ok()) << pid.error().message();
  wr.reset();
  auto out = read_fd(rd.get());
  EXPECT_EQ(wait_exit(*pid).value_or(-1), 0);
  return out.value_or("");
}

TEST(Spawn, ChildGetsDefaultSignalsAndAnEmptyMask) {
  // What a shim or a daemon started from a script has: ignored and blocked
  // signals, none of which the program it starts may inherit.
  auto old_int = ::signal(SIGINT, SIG_IGN);
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  std::string out = run_reading({"/bin/grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status"});
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::signal(SIGINT, old_int);
  ::signal(SIGPIPE, old_pipe);
  EXPECT_EQ(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST(Spawn, RunsAnOpenFileUnderItsOwnName) {
  Fd exe(::open("/bin/cat", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(exe);
  // argv[0] names a program that does not exist: the open file is what runs.
  EXPECT_EQ(run_reading({"/nonexistent/cat", "/proc/self/comm"}, exe.get()), "cat\n");
}

TEST(Spawn, StdioDefaultsToDevNull) {
  EXPECT_EQ(run_reading({"/bin/sh", "-c", "readlink /proc/self/fd/0 /proc/self/fd/2"}),
            "/dev/null\n/dev/null\n");
}

TEST(Spawn, ExitCodesAndSignals) {
  auto pid = spawn({"/bin/sh", "-c", "exit 7"}, {});
  ASSERT_TRUE(pid.ok());
  EXPECT_EQ(wait_exit(*pid).value_or(-1), 7);
  pid = spawn({"/bin/sh", "-c", "kill -TERM $$"}, {});
  ASSERT_TRUE(pid.ok());
  EXPECT_EQ(wait_exit(*pid).value_or(-1), 128 + SIGTERM);
}

TEST(Spawn, AProgramThatCannotRunIsAnError) {
  auto pid = spawn({"/nonexistent/program"}, {});
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.error().message().find("/nonexistent/program"), std::string::npos) << pid.error().message();
}

}  // namespace
}  // namespace berth::sys
