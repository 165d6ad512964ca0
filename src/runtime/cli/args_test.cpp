#include "runtime/cli/args.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "runtime/container.h"
#include "runtime/state.h"

namespace berth::runtime {
namespace {

const std::vector<cli::FlagDef> kFlags = {
    {"bundle,b", true, ""},
    {"detach,d", false, ""},
    {"no-subreaper", false, ""},
    {"env,e", true, ""},
};

cli::Args parse(std::vector<std::string> argv) {
  auto r = cli::Args::parse(kFlags, argv);
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? *r : cli::Args{};
}

TEST(Args, GoFlagForms) {
  // containerd's shim sends `-no-subreaper` with one dash; Go's flag package
  // treats -x and --x alike, and takes values after a space or an "=".
  auto a = parse({"-no-subreaper", "--bundle=/b", "-d", "id"});
  EXPECT_TRUE(a.flag("no-subreaper"));
  EXPECT_TRUE(a.flag("detach"));
  EXPECT_EQ(a.get("bundle"), "/b");
  EXPECT_EQ(a.positional(), std::vector<std::string>{"id"});
  auto b = parse({"-b", "/x", "--detach=false", "id"});
  EXPECT_EQ(b.get("bundle"), "/x");
  EXPECT_FALSE(b.flag("detach"));
}

TEST(Args, StopsAtFirstPositional) {
  auto a = parse({"-e", "A=1", "--env", "B=2", "id", "sh", "-c", "--bundle"});
  EXPECT_EQ(a.all("env"), (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"id", "sh", "-c", "--bundle"}));
  auto b = parse({"--", "-d"});
  EXPECT_EQ(b.positional(), std::vector<std::string>{"-d"});
  EXPECT_FALSE(b.flag("detach"));
}

TEST(Args, Errors) {
  struct Case {
    std::vector<std::string> argv;
    const char* message;
  } cases[] = {
      {{"--nope"}, "flag provided but not defined: -nope"},
      {{"--bundle"}, "flag needs an argument: -bundle"},
      {{"--detach=maybe"}, "invalid boolean value \"maybe\" for -detach"},
  };
  for (const auto& c : cases) {
    auto r = cli::Args::parse(kFlags, c.argv);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), c.message);
  }
}

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(*parse_signal("9"), SIGKILL);
  EXPECT_EQ(*parse_signal("KILL"), SIGKILL);
  EXPECT_EQ(*parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*parse_signal("sigusr1"), SIGUSR1);
  EXPECT_EQ(*parse_signal("RTMIN+2"), SIGRTMIN + 2);
  EXPECT_FALSE(parse_signal("NOPE").ok());
  EXPECT_FALSE(parse_signal("0").ok());
  EXPECT_FALSE(parse_signal("999").ok());
}

TEST(StateDir, ContainerIds) {
  for (const char* good : {"a", "web-1", "x.y_z", "A9"}) EXPECT_TRUE(StateDir::validate_id(good).ok()) << good;
  for (const char* bad : {"", ".", "..", "../x", "a/b", "a b", "a\n"})
    EXPECT_FALSE(StateDir::validate_id(bad).ok()) << bad;
  EXPECT_FALSE(StateDir::validate_id(std::string(1025, 'a')).ok());
}

}  // namespace
}  // namespace berth::runtime
