#include "engine/container_ops.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

TEST(FilterPsOutput, KeepsTheContainersRowsAndTheWholeCommand) {
  std::string out =
      "UID          PID    PPID  C STIME TTY          TIME CMD\n"
      "root           1       0  0 07:00 ?        00:00:01 /sbin/init\n"
      "root        4242    4200  0 08:00 ?        00:00:00 sleep 300\n"
      "root        4250    4242  0 08:00 ?        00:00:00 sh -c echo a  b\n"
      "\n";
  auto r = filter_ps_output(out, {4242, 4250, 99999});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->titles, (std::vector<std::string>{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}));
  ASSERT_EQ(r->processes.size(), 2u);
  EXPECT_EQ(r->processes[0][1], "4242");
  EXPECT_EQ(r->processes[0].back(), "sleep 300");
  EXPECT_EQ(r->processes[0].size(), 8u);
  EXPECT_EQ(r->processes[1].back(), "sh -c echo a b");
}

TEST(FilterPsOutput, NeedsAPidColumn) {
  auto r = filter_ps_output("USER COMMAND\nroot x\n", {1});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("PID"), std::string::npos);
  auto aux = filter_ps_output("USER PID %CPU COMMAND\nroot 7 0.0 top -b\n", {7});
  ASSERT_TRUE(aux);
  EXPECT_EQ(aux->processes, (std::vector<std::vector<std::string>>{{"root", "7", "0.0", "top -b"}}));
}

TEST(ParseFilterTime, Forms) {
  const int64_t now = 1700000000;
  struct Case {
    const char* in;
    int64_t want;
  } cases[] = {
      {"10m", now - 600},       {"1h30m", now - 5400}, {"1.5h", now - 5400}, {"45s", now - 45},
      {"1699999000", 1699999000}, {"1699999000.5", 1699999000},
      {"2023-11-14T22:13:20Z", 1700000000},
  };
  for (const auto& c : cases) {
    auto t = parse_filter_time(c.in, now);
    ASSERT_TRUE(t) << c.in << ": " << t.error().message();
    EXPECT_EQ(*t, c.want) << c.in;
  }
  for (const char* bad : {"", "yesterday", "10x", "-", "12:00"}) EXPECT_FALSE(parse_filter_time(bad, now)) << bad;
}

TEST(MergeImageConfig, DockersRules) {
  Json image = {{"Cmd", {"sh"}},
                {"Env", {"PATH=/bin", "A=1"}},
                {"Labels", {{"a", "1"}, {"b", "2"}}},
                {"WorkingDir", "/w"},
                {"ExposedPorts", {{"80/tcp", Json::object()}}}};
  Json request = {{"Image", "busybox"},
                  {"Cmd", {"sleep", "300"}},
                  {"Env", {"A=2"}},
                  {"Labels", {{"b", "3"}}},
                  {"Tty", true},
                  {"HostConfig", {{"Privileged", false}}}};
  Json c = merge_image_config(request, image);
  EXPECT_EQ(c["Cmd"], Json({"sleep", "300"}));
  EXPECT_EQ(c["Env"], Json({"A=2", "PATH=/bin"}));
  EXPECT_EQ(c["Labels"], Json({{"a", "1"}, {"b", "3"}}));
  EXPECT_EQ(c["WorkingDir"], "/w");
  EXPECT_TRUE(c["ExposedPorts"].contains("80/tcp"));
  EXPECT_FALSE(c.contains("Image"));
  EXPECT_FALSE(c.contains("Tty"));
  EXPECT_FALSE(c.contains("HostConfig"));

  // Nothing asked: all from the base. An entrypoint of one's own: no Cmd.
  EXPECT_EQ(merge_image_config(Json::object(), image)["Cmd"], Json({"sh"}));
  Json ep = merge_image_config({{"Entrypoint", {"/x"}}, {"Cmd", nullptr}}, image);
  EXPECT_EQ(ep["Entrypoint"], Json({"/x"}));
  EXPECT_FALSE(ep.contains("Cmd"));
}

TEST(StatsJson, ZeroObjectAndSample) {
  ContainerRecord rec;
  rec.id = std::string(64, 'a');
  rec.name = "web";
  Json zero = stats_json(rec, nullptr, nullptr, 0);
  EXPECT_EQ(zero["name"], "/web");
  EXPECT_EQ(zero["id"], rec.id);
  EXPECT_EQ(zero["read"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(zero["cpu_stats"]["cpu_usage"]["total_usage"], 0);
  EXPECT_TRUE(zero["memory_stats"].empty());

  StatsPoint pre, cur;
  pre.read = "2024-01-01T00:00:00.000000000Z";
  cur.read = "2024-01-01T00:00:01.000000000Z";
  pre.cgroup.has_cpu = cur.cgroup.has_cpu = true;
  pre.cgroup.cpu_total_ns = 100;
  cur.cgroup.cpu_total_ns = 500;
  cur.cgroup.cpu_percpu_ns = {200, 300};
  pre.system_cpu_ns = 1000;
  cur.system_cpu_ns = 3000;
  cur.online_cpus = 2;
  cur.cgroup.has_memory = true;
  cur.cgroup.mem_usage = 4096;
  cur.cgroup.mem_limit = ~uint64_t{0};
  cur.cgroup.mem_stat = {{"total_inactive_file", 1024}};
  cur.cgroup.has_pids = true;
  cur.cgroup.pids_current = 2;
  cur.cgroup.io_service_bytes = {{8, 0, "Read", 512}};
  Json j = stats_json(rec, &cur, &pre, 8192);
  EXPECT_EQ(j["preread"], pre.read);
  EXPECT_EQ(j["cpu_stats"]["cpu_usage"]["total_usage"], 500);
  EXPECT_EQ(j["cpu_stats"]["cpu_usage"]["percpu_usage"], Json({200, 300}));
  EXPECT_EQ(j["cpu_stats"]["online_cpus"], 2);
  EXPECT_EQ(j["precpu_stats"]["cpu_usage"]["total_usage"], 100);
  EXPECT_EQ(j["precpu_stats"]["system_cpu_usage"], 1000);
  EXPECT_EQ(j["memory_stats"]["usage"], 4096);
  EXPECT_EQ(j["memory_stats"]["limit"], 8192);  // unlimited: the host's memory
  EXPECT_EQ(j["memory_stats"]["stats"]["total_inactive_file"], 1024);
  EXPECT_EQ(j["pids_stats"]["current"], 2);
  EXPECT_FALSE(j["pids_stats"].contains("limit"));
  EXPECT_EQ(j["blkio_stats"]["io_service_bytes_recursive"][0]["op"], "Read");
  EXPECT_TRUE(j["blkio_stats"]["io_serviced_recursive"].is_null());
}

}  // namespace
}  // namespace berth::engine
