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

TEST(Output, TabwriterEdges) {
  EXPECT_EQ(tabwrite(""), "");
  EXPECT_EQ(tabwrite("\n"), "\n");
  EXPECT_EQ(tabwrite("a\tb"), "a         b\n");  // no final newline: one is added
  EXPECT_EQ(tabwrite("a\n\n"), "a\n\n");
  // Ragged lines: a column is as wide as its widest cell that is not last.
  EXPECT_EQ(tabwrite("NAME\tSTATUS\tX\nabcdefghijkl\tup\n"),
            "NAME           STATUS    X\n"
            "abcdefghijkl   up\n");
  // Widths count code points.
  EXPECT_EQ(tabwrite("\xc3\xa9t\xc3\xa9\tx\nab\ty\n"), "\xc3\xa9t\xc3\xa9       x\nab        y\n");
}

TEST(Output, RendererStreamsElementsOfAnArray) {
  auto r = Renderer::make("table {{.Names}}\t{{.State}}", "", Json{{"Names", "NAMES"}, {"State", "STATE"}});
  ASSERT_TRUE(r.ok());
  int seen = 0;
  auto each = for_each_element(R"([{"Names":"web","State":"running"},{"Names":"db","State":"exited"}])", "list",
                               [&](Json& e) {
                                 ++seen;
                                 return r->add(e);
                               });
  ASSERT_TRUE(each.ok()) << each.error().message();
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(r->finish(), "NAMES     STATE\nweb       running\ndb        exited\n");
  // Scalars and nested arrays are elements too; an empty array has none.
  std::vector<std::string> got;
  ASSERT_TRUE(for_each_element(R"([1,"x",[2,[3]],{"a":[4]},null])", "list", [&](Json& e) {
                got.push_back(e.dump());
                return ok();
              }).ok());
  EXPECT_EQ(got, (std::vector<std::string>{"1", "\"x\"", "[2,[3]]", "{\"a\":[4]}", "null"}));
  ASSERT_TRUE(for_each_element("[]", "list", [&](Json&) -> Result<void> { return Error::invalid("called"); }).ok());
  // Members an element's reader does not want are skipped, nested ones too.
  std::vector<Json> kept;
  ASSERT_TRUE(for_each_element(
                  R"([{"Id":"a","HostConfig":{"Id":"x","N":[1]},"Names":["/n"]},{"Labels":{"Id":"y"},"Id":"b"}])",
                  "list",
                  [&](Json& e) {
                    kept.push_back(std::move(e));
                    return ok();
                  },
                  [](const std::string& key) { return key == "Id" || key == "Names"; })
                  .ok());
  EXPECT_EQ(kept, (std::vector<Json>{Json::parse(R"({"Id":"a","Names":["/n"]})"), Json::parse(R"({"Id":"b"})")}));
  // Not an array, or not JSON: an error naming the input.
  auto obj = for_each_element(R"({"a":1})", "the answer", [&](Json&) { return ok(); });
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().message(), "the answer: expected an array, got object");
  auto bad = for_each_element(R"([{"a":1},{"a":)", "the answer", [&](Json&) { return ok(); });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "the answer: invalid JSON");
  // The first error of `each` is the answer; later elements are not handed over.
  int calls = 0;
  auto stop = for_each_element("[1,2,3]", "list", [&](Json& e) -> Result<void> {
    ++calls;
    if (e == 2) return Error::invalid("two");
    return ok();
  });
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().message(), "two");
  EXPECT_EQ(calls, 2);
}

// The members kept are what the parser would make of them; what is skipped
// is only stepped over, but a malformed list is refused either way.
TEST(Output, SkimmedElementsMatchTheParser) {
  const std::string list =
      " [ {\"Id\" : \"a\\\"b\", \"Skip\": \"x\\\\\\\"]}\" , \"N\":-1.5e3,\"U\":18446744073709551615,"
      "\"Z\":0,\"T\":true,\"Nil\":null,\"Ar\":[ {\"k\":[]} ],\"Esc\\u0041\":\"\\u00e9\"},\n\t{} ] ";
  std::vector<Json> kept;
  auto all = [](const std::string& key) { return key != "Skip"; };
  ASSERT_TRUE(for_each_element(list, "list", [&](Json& e) {
                kept.push_back(std::move(e));
                return ok();
              }, all).ok());
  Json want = Json::parse(list);
  want[0].erase("Skip");
  EXPECT_EQ(Json(kept), want);
  for (const char* bad : {"[{\"a\":tru}]", "[{\"a\":\"x}]", "[{\"a\" 1}]", "[{\"a\":1 \"b\":2}]", "[{\"a\":1}] x",
                          "[{\"a\":[1,}]", "[{\"a\":{\"b\"}}]", "[{\"a\":1},]", "[{a:1}]", "[{\"a\":1}"}) {
    auto r = for_each_element(bad, "list", [](Json&) { return ok(); }, all);
    EXPECT_FALSE(r.ok()) << bad;
    auto skipped = for_each_element(bad, "list", [](Json&) { return ok(); }, [](const std::string&) { return false; });
    EXPECT_FALSE(skipped.ok()) << bad;
  }
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
