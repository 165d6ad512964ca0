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

TEST(Output, RendererStreamsObjectsOfAnArray) {
  auto r = Renderer::make("table {{.Names}}\t{{.State}}", "", Json{{"Names", "NAMES"}, {"State", "STATE"}});
  ASSERT_TRUE(r.ok());
  const std::string_view wanted[] = {"Names", "State"};
  int seen = 0;
  auto each = for_each_object(R"([{"Names":"web","State":"running"},{"Names":"db","State":"exited"}])", "list",
                              wanted, [&](const RawObject& e) {
                                ++seen;
                                return r->add(Json{{"Names", *raw_string(e["Names"])}, {"State", *raw_string(e["State"])}});
                              });
  ASSERT_TRUE(each.ok()) << each.error().message();
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(r->finish(), "NAMES     STATE\nweb       running\ndb        exited\n");
  ASSERT_TRUE(for_each_object("[]", "list", wanted, [&](const RawObject&) -> Result<void> {
                return Error::invalid("called");
              }).ok());
  // Members not wanted are skipped, nested ones too; a missing one is "".
  const std::string_view id_names[] = {"Id", "Names"};
  std::vector<std::pair<std::string, std::string>> kept;
  ASSERT_TRUE(for_each_object(R"([{"Id":"a","HostConfig":{"Id":"x","N":[1]},"Names":["/n"]},{"Labels":{"Id":"y"},"Id":"b"}])",
                              "list", id_names, [&](const RawObject& e) {
                                kept.emplace_back(e["Id"], e["Names"]);
                                return ok();
                              }).ok());
  EXPECT_EQ(kept, (std::vector<std::pair<std::string, std::string>>{{R"("a")", R"(["/n"])"}, {R"("b")", ""}}));
  // Not an array, not objects, or not JSON: an error naming the input.
  auto none = [](const RawObject&) { return ok(); };
  auto obj = for_each_object(R"({"a":1})", "the answer", wanted, none);
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().message(), "the answer: expected an array, got object");
  auto scalar = for_each_object(R"([{"a":1},[2]])", "the answer", wanted, none);
  ASSERT_FALSE(scalar.ok());
  EXPECT_EQ(scalar.error().message(), "the answer: expected an array of objects, got array in it");
  auto bad = for_each_object(R"([{"a":1},{"a":)", "the answer", wanted, none);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "the answer: invalid JSON");
  // The first error of `each` is the answer; later objects are not handed over.
  int calls = 0;
  const std::string_view n[] = {"n"};
  auto stop = for_each_object(R"([{"n":1},{"n":2},{"n":3}])", "list", n, [&](const RawObject& e) -> Result<void> {
    ++calls;
    if (raw_int(e["n"]) == 2) return Error::invalid("two");
    return ok();
  });
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().message(), "two");
  EXPECT_EQ(calls, 2);
}

// The members kept are what the parser makes of them; what is skipped is
// only stepped over, but a malformed list is refused either way.
TEST(Output, SkimmedMembersMatchTheParser) {
  const std::string list =
      " [ {\"Id\" : \"a\\\"b\", \"Skip\": \"x\\\\\\\"]}\" , \"N\":-1.5e3,\"U\":18446744073709551615,"
      "\"Z\":0,\"T\":true,\"Nil\":null,\"Ar\":[ {\"k\":[]} ],\"Esc\\u0041\":\"\\u00e9\"},\n\t{} ] ";
  const std::string_view all[] = {"Id", "N", "U", "Z", "T", "Nil", "Ar", "EscA"};
  std::vector<Json> kept;
  ASSERT_TRUE(for_each_object(list, "list", all, [&](const RawObject& e) {
                Json j = Json::object();
                for (std::string_view k : all)
                  if (!e[k].empty()) j[std::string(k)] = raw_json(e[k]);
                kept.push_back(j);
                return ok();
              }).ok());
  Json want = Json::parse(list);
  want[0].erase("Skip");
  EXPECT_EQ(Json(kept), want);
  const std::string_view none[] = {"other"};
  for (const char* bad : {"[{\"a\":tru}]", "[{\"a\":\"x}]", "[{\"a\" 1}]", "[{\"a\":1 \"b\":2}]", "[{\"a\":1}] x",
                          "[{\"a\":[1,}]", "[{\"a\":{\"b\"}}]", "[{\"a\":1},]", "[{a:1}]", "[{\"a\":1}",
                          "[{\"a\":01}]", "[{\"a\":1.}]", "[{\"a\":-}]", "[{\"a\":+1}]", "[{\"a\":1e}]", "[{\"a\":nul}]"}) {
    const std::string_view a[] = {"a", "b"};
    EXPECT_FALSE(for_each_object(bad, "list", a, [](const RawObject&) { return ok(); }).ok()) << bad;
    EXPECT_FALSE(for_each_object(bad, "list", none, [](const RawObject&) { return ok(); }).ok()) << bad;
  }
  // Escapes and control characters are the parser's to check, in what is kept.
  const std::string_view a[] = {"a"};
  for (const char* bad : {"[{\"a\":\"\\q\"}]", "[{\"a\":[\"\x01\"]}]"})
    EXPECT_FALSE(for_each_object(bad, "list", a, [](const RawObject&) { return ok(); }).ok()) << bad;
}

TEST(Output, RawValues) {
  EXPECT_EQ(raw_string(R"("a\"b")"), "a\"b");
  EXPECT_EQ(raw_string(R"("plain")"), "plain");
  EXPECT_EQ(raw_string("1"), std::nullopt);
  EXPECT_EQ(raw_string(""), std::nullopt);
  EXPECT_EQ(raw_int("12"), 12);
  EXPECT_EQ(raw_int("-5"), -5);
  EXPECT_EQ(raw_int("1.5"), std::nullopt);
  EXPECT_EQ(raw_int(R"("1")"), std::nullopt);
  EXPECT_EQ(raw_int("18446744073709551615"), std::nullopt);
  using Strings = std::vector<std::string>;
  EXPECT_EQ(raw_strings(R"(["/a","/b"])"), (Strings{"/a", "/b"}));
  EXPECT_EQ(raw_strings(R"([ "x" , "y" ])"), (Strings{"x", "y"}));
  EXPECT_EQ(raw_strings(R"(["a\"b",""])"), (Strings{"a\"b", ""}));
  EXPECT_EQ(raw_strings("[]"), Strings{});
  for (const char* bad : {"[1]", R"(["a",])", R"(["a""b"])", R"(["a",1])", R"("a")", ""})
    EXPECT_EQ(raw_strings(bad), std::nullopt) << bad;
  EXPECT_TRUE(raw_json("").is_null());
  EXPECT_EQ(raw_json(R"({"a":[1]})"), Json::parse(R"({"a":[1]})"));
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
