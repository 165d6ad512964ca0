#include "cli/output.h"

#include <gtest/gtest.h>

#include "cli/attach.h"

namespace berth::cli {
namespace {

TEST(Output, HumanSize) {
  EXPECT_EQ(human_size(0), "0B");
  EXPECT_EQ(human_size(999), "999B");
  EXPECT_EQ(human_size(1000), "1kB");
  EXPECT_EQ(human_size(2140160), "2.14MB");
  EXPECT_EQ(human_size(1234567890), "1.23GB");
  // go-units' HumanSize (prune, df) keeps four digits.
  EXPECT_EQ(human_size(2140160, 4), "2.14MB");
  EXPECT_EQ(human_size(2155000, 4), "2.155MB");
}

TEST(Output, BytesSize) {
  EXPECT_EQ(bytes_size(0), "0B");
  EXPECT_EQ(bytes_size(1023), "1023B");
  EXPECT_EQ(bytes_size(1024), "1KiB");
  EXPECT_EQ(bytes_size(1536 * 1024), "1.5MiB");
  EXPECT_EQ(bytes_size(8346136576.0), "7.773GiB");
}

TEST(Output, HumanDuration) {
  EXPECT_EQ(human_duration(0), "Less than a second");
  EXPECT_EQ(human_duration(1), "1 second");
  EXPECT_EQ(human_duration(59), "59 seconds");
  EXPECT_EQ(human_duration(60), "About a minute");
  EXPECT_EQ(human_duration(150), "2 minutes");
  EXPECT_EQ(human_duration(3600), "About an hour");
  EXPECT_EQ(human_duration(5 * 3600), "5 hours");
  EXPECT_EQ(human_duration(3 * 86400), "3 days");
  EXPECT_EQ(human_duration(20 * 86400), "2 weeks");
  EXPECT_EQ(human_duration(90 * 86400), "3 months");
  EXPECT_EQ(human_duration(int64_t{56} * 365 * 86400 + 86400 * 20), "56 years");
}

TEST(Output, Ellipsis) {
  EXPECT_EQ(ellipsis("short", 20), "short");
  EXPECT_EQ(ellipsis("sh -c 'while true; do sleep 1; done'", 20), "sh -c 'while true; …");
  EXPECT_EQ(short_id("sha256:0fe189ae1965ab29a4bc"), "0fe189ae1965");
}

TEST(Output, Tabwriter) {
  EXPECT_EQ(tabwrite("CONTAINER ID\tIMAGE\tPORTS\tNAMES\nabc\tbusybox\t\tweb\n"),
            "CONTAINER ID   IMAGE     PORTS     NAMES\n"
            "abc            busybox             web\n");
}

TEST(Output, RenderTableAndPlain) {
  Json headers = {{"ID", "CONTAINER ID"}, {"Names", "NAMES"}};
  std::vector<Json> rows = {Json{{"ID", "abc"}, {"Names", "web"}}, Json{{"ID", "defgh"}, {"Names", "db"}}};
  auto t = render("table {{.ID}}\\t{{.Names}}", "", headers, rows);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "CONTAINER ID   NAMES\nabc            web\ndefgh          db\n");
  auto plain = render("{{.Names}}", "", headers, rows);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "web\ndb\n");
  auto def = render("", "table {{.ID}}\t{{.Names}}", headers, rows);
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(*def, *t);
  // "table" alone is the default table; "json" is {{json .}}.
  auto bare = render("table", "table {{.ID}}\t{{.Names}}", headers, rows);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(*bare, *t);
  auto json = render("json", "", headers, {rows[0]});
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, "{\"ID\":\"abc\",\"Names\":\"web\"}\n");
}

TEST(Attach, DetachKeys) {
  EXPECT_EQ(*parse_detach_keys(""), std::string("\x10\x11"));
  EXPECT_EQ(*parse_detach_keys("ctrl-a,x"), std::string("\x01x"));
  EXPECT_FALSE(parse_detach_keys("ctrl-").ok());
  EXPECT_FALSE(parse_detach_keys("abc").ok());
}

TEST(Attach, FrameDemux) {
  std::string out, err;
  FrameDemux d([&](int s, std::string_view data) { (s == 1 ? out : err).append(data); });
  static const char kFrames[] = "\x01\0\0\0\0\0\0\x03hi\n\x02\0\0\0\0\0\0\x02" "e!";
  const std::string_view frames(kFrames, sizeof kFrames - 1);
  for (char c : frames) d.feed(std::string_view(&c, 1));
  EXPECT_EQ(out, "hi\n");
  EXPECT_EQ(err, "e!");
  EXPECT_FALSE(d.pending());
}

}  // namespace
}  // namespace berth::cli
