#include "engine/health.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

using namespace std::chrono_literals;

Json parse(const char* s) { return Json::parse(s); }

TEST(ResolveHealthcheck, DefaultsAndForms) {
  auto p = resolve_healthcheck(parse(R"({"Test":["CMD","curl","-f","http://x/"]})"), Json());
  ASSERT_TRUE(p.ok()) << p.error().message();
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->argv, (std::vector<std::string>{"curl", "-f", "http://x/"}));
  EXPECT_EQ((*p)->interval, 30s);
  EXPECT_EQ((*p)->timeout, 30s);
  EXPECT_EQ((*p)->start_period, 0s);
  EXPECT_EQ((*p)->start_interval, 5s);
  EXPECT_EQ((*p)->retries, 3);

  p = resolve_healthcheck(parse(R"({"Test":["CMD-SHELL","test -f /tmp/ok"],"Interval":1000000000,
                                    "Timeout":2500000000,"StartPeriod":3000000000,"Retries":7})"),
                          Json());
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->argv, (std::vector<std::string>{"/bin/sh", "-c", "test -f /tmp/ok"}));
  EXPECT_EQ((*p)->interval, 1s);
  EXPECT_EQ((*p)->timeout, 2500ms);
  EXPECT_EQ((*p)->start_period, 3s);
  EXPECT_EQ((*p)->retries, 7);

  // Config.Shell replaces /bin/sh -c.
  p = resolve_healthcheck(parse(R"({"Test":["CMD-SHELL","true"]})"), Json(), {"/bin/bash", "-ec"});
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->argv, (std::vector<std::string>{"/bin/bash", "-ec", "true"}));
}

TEST(ResolveHealthcheck, ContainerOverImageFieldByField) {
  Json image = parse(R"({"Test":["CMD-SHELL","img-check"],"Interval":5000000000,"Retries":9})");
  // No container healthcheck: the image's.
  auto p = resolve_healthcheck(Json(), image);
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->argv.back(), "img-check");
  EXPECT_EQ((*p)->interval, 5s);
  EXPECT_EQ((*p)->retries, 9);
  // The container sets only the interval: the image's test stays.
  p = resolve_healthcheck(parse(R"({"Interval":2000000000})"), image);
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->argv.back(), "img-check");
  EXPECT_EQ((*p)->interval, 2s);
  EXPECT_EQ((*p)->retries, 9);
  // The container's test wins; its zero fields still come from the image.
  p = resolve_healthcheck(parse(R"({"Test":["CMD","mine"]})"), image);
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->argv, std::vector<std::string>{"mine"});
  EXPECT_EQ((*p)->interval, 5s);
}

TEST(ResolveHealthcheck, NoneOrAbsentDisables) {
  Json image = parse(R"({"Test":["CMD","check"]})");
  for (const char* c : {R"({"Test":["NONE"]})", R"({"Test":["NONE"],"Interval":1})"}) {
    auto p = resolve_healthcheck(parse(c), image);
    ASSERT_TRUE(p.ok()) << c;
    EXPECT_FALSE(p->has_value()) << c;
  }
  auto p = resolve_healthcheck(Json(), Json());
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_value());
  p = resolve_healthcheck(parse(R"({"Healthcheck":null})")["Healthcheck"], parse(R"({"Test":["NONE"]})"));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_value());
}

TEST(ResolveHealthcheck, Invalid) {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"Test":["WHAT","x"]})", "unknown type"},
      {R"({"Test":["CMD"]})", "no command"},
      {R"({"Test":["CMD-SHELL"]})", "one command string"},
      {R"({"Test":"true"})", "expected array of strings"},
      {R"({"Test":["CMD","x"],"Interval":-1})", "Interval: must not be negative"},
      {R"({"Test":["CMD","x"],"Timeout":"1s"})", "Timeout: expected an integer"},
  };
  for (const auto& c : cases) {
    auto p = resolve_healthcheck(parse(c.json), Json());
    ASSERT_FALSE(p.ok()) << c.json;
    EXPECT_NE(p.error().message().find(c.error), std::string::npos) << p.error().message();
  }
}

HealthResult result(int64_t code, std::string out = "") {
  return {"2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", code, std::move(out)};
}

TEST(HealthState, StartingHealthyUnhealthy) {
  HealthState s;
  EXPECT_FALSE(apply_health_result(s, result(1), 3, false));
  EXPECT_EQ(s.status, "starting");
  EXPECT_EQ(s.failing_streak, 1);
  EXPECT_TRUE(apply_health_result(s, result(0), 3, false));
  EXPECT_EQ(s.status, "healthy");
  EXPECT_EQ(s.failing_streak, 0);
  EXPECT_FALSE(apply_health_result(s, result(1), 3, false));
  EXPECT_FALSE(apply_health_result(s, result(-1), 3, false));
  EXPECT_EQ(s.status, "healthy");
  EXPECT_EQ(s.failing_streak, 2);
  EXPECT_TRUE(apply_health_result(s, result(2), 3, false));
  EXPECT_EQ(s.status, "unhealthy");
  EXPECT_EQ(s.failing_streak, 3);
  EXPECT_FALSE(apply_health_result(s, result(1), 3, false));
  EXPECT_EQ(s.failing_streak, 4);
  EXPECT_TRUE(apply_health_result(s, result(0), 3, false));
  EXPECT_EQ(s.status, "healthy");
  EXPECT_EQ(s.failing_streak, 0);
}

TEST(HealthState, UnhealthyStraightFromStarting) {
  HealthState s;
  EXPECT_TRUE(apply_health_result(s, result(1), 1, false));
  EXPECT_EQ(s.status, "unhealthy");
}

TEST(HealthState, StartPeriodFailuresDoNotCount) {
  HealthState s;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(apply_health_result(s, result(1), 1, true));
  EXPECT_EQ(s.status, "starting");
  EXPECT_EQ(s.failing_streak, 0);
  EXPECT_EQ(s.log.size(), 5u);  // logged all the same
  EXPECT_TRUE(apply_health_result(s, result(0), 1, true));
  // Once healthy, the start period no longer protects.
  EXPECT_TRUE(apply_health_result(s, result(1), 1, true));
  EXPECT_EQ(s.status, "unhealthy");
}

TEST(HealthState, LogKeepsLastFiveAndCapsOutput) {
  HealthState s;
  for (int i = 0; i < 8; ++i) apply_health_result(s, result(i == 7 ? 0 : 1, std::to_string(i)), 100, false);
  ASSERT_EQ(s.log.size(), kMaxHealthLog);
  EXPECT_EQ(s.log.front().output, "3");
  EXPECT_EQ(s.log.back().output, "7");
  apply_health_result(s, result(0, std::string(10000, 'x')), 3, false);
  EXPECT_EQ(s.log.back().output.size(), kMaxHealthOutput);

  Json j = health_json(s);
  EXPECT_EQ(j["Status"], "healthy");
  EXPECT_EQ(j["FailingStreak"], 0);
  ASSERT_EQ(j["Log"].size(), kMaxHealthLog);
  EXPECT_EQ(j["Log"][0]["ExitCode"], 1);
  EXPECT_EQ(j["Log"][0]["Start"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(j["Log"][0]["End"], "2024-01-01T00:00:01Z");
  EXPECT_EQ(j["Log"][0]["Output"], "4");
}

TEST(GoDuration, AsGoPrintsIt) {
  EXPECT_EQ(go_duration(0s), "0s");
  EXPECT_EQ(go_duration(30s), "30s");
  EXPECT_EQ(go_duration(90s), "1m30s");
  EXPECT_EQ(go_duration(1h), "1h0m0s");
  EXPECT_EQ(go_duration(1500ms), "1.5s");
  EXPECT_EQ(go_duration(500ms), "500ms");
  EXPECT_EQ(go_duration(2500us), "2.5ms");
  EXPECT_EQ(go_duration(std::chrono::nanoseconds(15)), "15ns");
}

std::string frame(int stream, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  uint32_t n = static_cast<uint32_t>(payload.size());
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
  return h + payload;
}

TEST(UnframeOutput, SplitFramesAndLimit) {
  std::string stream = frame(1, "hello ") + frame(2, "err\n") + frame(1, std::string(300, 'y'));
  std::string pending, out;
  // Byte by byte: headers and payloads split anywhere.
  for (char ch : stream) {
    pending.push_back(ch);
    unframe_output(pending, out, 100);
  }
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(out, "hello err\n" + std::string(90, 'y'));
}

}  // namespace
}  // namespace berth::engine
