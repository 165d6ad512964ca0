#include "engine/events.h"

#include <gtest/gtest.h>

#include <thread>

namespace berth::engine {
namespace {

TEST(EventBus, PastEventsSinceThenLive) {
  EventBus bus;
  bus.publish({"image", "load", "a", {}, 100});
  bus.publish({"image", "tag", "a", {{"name", "x:1"}}, 200});
  auto sub = bus.subscribe(150, {});
  auto e = sub->next(std::chrono::milliseconds(0));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->action, "tag");
  EXPECT_FALSE(sub->next(std::chrono::milliseconds(10)));
  std::thread t([&] { bus.publish({"container", "start", "c", {}, 0}); });
  e = sub->next(std::chrono::seconds(5));
  t.join();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, "container");
  EXPECT_GT(e->time_nano, 0);
}

TEST(EventBus, Filters) {
  Event tag{"image", "tag", "sha256:abc", {{"name", "busybox:latest"}}, 1};
  EXPECT_TRUE(event_matches(tag, {{"type", {"image"}}}));
  EXPECT_FALSE(event_matches(tag, {{"type", {"container"}}}));
  EXPECT_TRUE(event_matches(tag, {{"event", {"untag", "tag"}}}));
  EXPECT_TRUE(event_matches(tag, {{"image", {"busybox:latest"}}}));
  EXPECT_TRUE(event_matches(tag, {{"image", {"sha256:ab"}}}));
  EXPECT_FALSE(event_matches(tag, {{"container", {"x"}}}));
  EXPECT_FALSE(event_matches(tag, {{"nonsense", {"x"}}}));
  Event die{"container", "die", "c1", {{"image", "busybox"}, {"team", "a"}}, 1};
  EXPECT_TRUE(event_matches(die, {{"image", {"busybox"}}}));
  EXPECT_TRUE(event_matches(die, {{"label", {"team=a"}}}));
  EXPECT_FALSE(event_matches(die, {{"label", {"team=b"}}}));
  Event health{"container", "health_status: healthy", "c1", {}, 1};
  EXPECT_TRUE(event_matches(health, {{"event", {"health_status"}}}));
  EXPECT_TRUE(event_matches(health, {{"event", {"health_status: healthy"}}}));
  EXPECT_FALSE(event_matches(health, {{"event", {"health_status: unhealthy"}}}));
}

TEST(EventBus, HistoryIsBounded) {
  EventBus bus;
  for (size_t i = 0; i < EventBus::kHistory + 10; i++) bus.publish({"image", "tag", "a", {}, static_cast<int64_t>(i + 1)});
  auto sub = bus.subscribe(1, {});
  size_t n = 0;
  while (sub->next(std::chrono::milliseconds(0))) n++;
  EXPECT_EQ(n, EventBus::kHistory);
}

TEST(EventTime, Parses) {
  EXPECT_EQ(parse_event_time("1700000000"), int64_t{1700000000} * 1000000000);
  EXPECT_EQ(parse_event_time("1700000000.5"), int64_t{1700000000} * 1000000000 + 500000000);
  EXPECT_EQ(parse_event_time("1970-01-01T00:01:00Z"), int64_t{60} * 1000000000);
  EXPECT_FALSE(parse_event_time(""));
  EXPECT_FALSE(parse_event_time("soon"));
  EXPECT_FALSE(parse_event_time("1.2.3"));
  EXPECT_FALSE(parse_event_time("-5"));
}

TEST(EventJson, CarriesTheFieldsTheCliReads) {
  Json j = Event{"image", "tag", "sha256:abc", {{"name", "x:1"}}, 1500000000123}.to_json();
  EXPECT_EQ(j["Type"], "image");
  EXPECT_EQ(j["Action"], "tag");
  EXPECT_EQ(j["Actor"]["ID"], "sha256:abc");
  EXPECT_EQ(j["Actor"]["Attributes"]["name"], "x:1");
  EXPECT_EQ(j["time"], 1500);
  EXPECT_EQ(j["timeNano"], 1500000000123);
  EXPECT_EQ(j["status"], "tag");
}

}  // namespace
}  // namespace berth::engine
