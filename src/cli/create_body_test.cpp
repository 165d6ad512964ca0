#include "cli/create_body.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

TEST(CreateBody, Units) {
  EXPECT_EQ(*parse_ram("512m"), 512LL << 20);
  EXPECT_EQ(*parse_ram("1g"), 1LL << 30);
  EXPECT_EQ(*parse_ram("1.5k"), 1536);
  EXPECT_EQ(*parse_ram("100"), 100);
  EXPECT_EQ(*parse_ram("64MiB"), 64LL << 20);
  EXPECT_FALSE(parse_ram("lots").ok());
  EXPECT_EQ(*parse_go_duration("30s"), 30000000000LL);
  EXPECT_EQ(*parse_go_duration("1m30s"), 90000000000LL);
  EXPECT_EQ(*parse_go_duration("500ms"), 500000000LL);
  EXPECT_FALSE(parse_go_duration("5").ok());
  EXPECT_FALSE(parse_go_duration("5x").ok());
  EXPECT_EQ(with_default_tag("busybox"), "busybox:latest");
  EXPECT_EQ(with_default_tag("localhost:5000/a/b"), "localhost:5000/a/b:latest");
  EXPECT_EQ(with_default_tag("a:1"), "a:1");
}

TEST(CreateBody, LikeTheDockerCli) {
  RunFlags f;
  f.rm = true;
  f.tty = f.interactive = true;
  f.env = {"A=1"};
  f.labels = {"k=v"};
  f.memory = "64m";
  f.cpus = 1.5;
  f.pids_limit = 50;
  f.restart = "on-failure:3";
  f.cap_drop = {"ALL"};
  f.cap_add = {"net_admin", "CAP_CHOWN"};
  f.tmpfs = {"/run:size=1m"};
  f.ulimits = {"nofile=100:200"};
  f.health_cmd = "true";
  f.health_interval = "2s";
  f.entrypoint = "";
  f.network = "none";
  auto b = create_body(f, "busybox", {"sh", "-c", "echo"}, 24, 80);
  ASSERT_TRUE(b.ok()) << b.error().message();
  const Json& j = *b;
  EXPECT_EQ(j["Image"], "busybox");
  EXPECT_EQ(j["Cmd"], Json({"sh", "-c", "echo"}));
  EXPECT_EQ(j["Entrypoint"], Json({""}));
  EXPECT_TRUE(j["Tty"] && j["OpenStdin"] && j["StdinOnce"] && j["AttachStdin"]);
  EXPECT_EQ(j["Env"], Json({"A=1"}));
  EXPECT_EQ(j["Labels"]["k"], "v");
  EXPECT_EQ(j["Healthcheck"]["Test"], Json({"CMD-SHELL", "true"}));
  EXPECT_EQ(j["Healthcheck"]["Interval"], 2000000000LL);
  const Json& h = j["HostConfig"];
  EXPECT_EQ(h["Memory"], 64LL << 20);
  EXPECT_EQ(h["NanoCpus"], 1500000000LL);
  EXPECT_EQ(h["PidsLimit"], 50);
  EXPECT_EQ(h["AutoRemove"], true);
  EXPECT_EQ(h["RestartPolicy"], Json({{"Name", "on-failure"}, {"MaximumRetryCount", 3}}));
  EXPECT_EQ(h["CapDrop"], Json({"ALL"}));
  EXPECT_EQ(h["CapAdd"], Json({"CAP_NET_ADMIN", "CAP_CHOWN"}));
  EXPECT_EQ(h["Tmpfs"]["/run"], "size=1m");
  EXPECT_EQ(h["Ulimits"][0], Json({{"Name", "nofile"}, {"Soft", 100}, {"Hard", 200}}));
  EXPECT_EQ(h["ConsoleSize"], Json({24, 80}));
  EXPECT_EQ(h["NetworkMode"], "none");
  EXPECT_TRUE(j["NetworkingConfig"]["EndpointsConfig"].contains("none"));

  RunFlags plain;
  auto p = create_body(plain, "busybox", {}, 0, 0);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE((*p)["Cmd"].is_null());
  EXPECT_TRUE((*p)["Env"].is_null());
  EXPECT_EQ((*p)["HostConfig"]["RestartPolicy"]["Name"], "no");
  EXPECT_FALSE((*p)["Tty"]);
}

TEST(CreateBody, BadFlags) {
  RunFlags f;
  f.restart = "sometimes";
  EXPECT_FALSE(create_body(f, "b", {}, 0, 0).ok());
  RunFlags u;
  u.ulimits = {"nofile"};
  EXPECT_FALSE(create_body(u, "b", {}, 0, 0).ok());
  RunFlags m;
  m.memory = "much";
  EXPECT_FALSE(create_body(m, "b", {}, 0, 0).ok());
}

}  // namespace
}  // namespace berth::cli
