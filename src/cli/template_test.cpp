#include "cli/template.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

std::string run(const std::string& tmpl, const Json& data) {
  auto t = Template::parse(tmpl);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  if (!t) return "<parse error>";
  auto out = t->execute(data);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message());
  return out.ok() ? *out : "<exec error>";
}

const Json kContainer = Json::parse(R"({
  "Id": "abc", "Names": ["/web", "/other"], "State": {"Status": "running", "Pid": 42, "Running": true},
  "Config": {"Labels": {"a": "1", "b": "2"}, "Env": ["A=1", "B=2"], "Entrypoint": null},
  "Mounts": [{"Source": "/x", "Destination": "/y"}, {"Source": "/p", "Destination": "/q"}],
  "Labels": "com.x=1,com.y=two", "Big": 1795424731, "Ratio": 0.5
})");

TEST(Template, Table) {
  struct Case {
    const char* tmpl;
    const char* want;
  } cases[] = {
      {"{{.Id}}", "abc"},
      {"id={{.Id}} pid={{.State.Pid}}", "id=abc pid=42"},
      {"{{.State.Status}}", "running"},
      {"{{.State.Running}}", "true"},
      {"{{.Big}} {{.Ratio}}", "1795424731 0.5"},
      {"{{.Names}}", "[/web /other]"},
      {"{{.Config.Labels}}", "map[a:1 b:2]"},
      {"{{.Config.Entrypoint}}", "<nil>"},
      {"{{.Nope}}", "<no value>"},
      {"{{json .State}}", R"({"Pid":42,"Running":true,"Status":"running"})"},
      {"{{json .Names}}", R"(["/web","/other"])"},
      {"{{.State | json}}", R"({"Pid":42,"Running":true,"Status":"running"})"},
      {"{{join .Config.Env \",\"}}", "A=1,B=2"},
      {"{{index .Config.Labels \"b\"}}", "2"},
      {"{{index .Names 1}}", "/other"},
      {"{{index .Config.Labels \"zz\"}}", ""},
      {"{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", "/x:/y /p:/q "},
      {"{{range .Config.Env}}[{{.}}]{{end}}", "[A=1][B=2]"},
      {"{{range .Nothing}}x{{else}}empty{{end}}", "empty"},
      {"{{if .State.Running}}up{{else}}down{{end}}", "up"},
      {"{{if eq .State.Status \"exited\"}}gone{{else}}here{{end}}", "here"},
      {"{{with .State}}{{.Pid}}{{end}}", "42"},
      {"{{upper .Id}} {{lower \"AB\"}} {{title \"hello world\"}}", "ABC ab Hello World"},
      {"{{len .Names}}", "2"},
      {"{{.Label \"com.y\"}}", "two"},
      {"{{printf \"%s-%d\" .Id .State.Pid}}", "abc-42"},
      {"{{println .Id}}", "abc\n"},
      {"{{split \"a:b\" \":\"}}", "[a b]"},
      {"{{join (split \"a:b\" \":\") \"+\"}}", "a+b"},
      {"a  {{- .Id -}}  b", "aabcb"},
      {"{{/* a comment */}}x", "x"},
      {"{{$.Id}}", "abc"},
      {"{{json .}}", R"({"Big":1795424731,"Config":{"Entrypoint":null,"Env":["A=1","B=2"],"Labels":{"a":"1","b":"2"}},"Id":"abc","Labels":"com.x=1,com.y=two","Mounts":[{"Destination":"/y","Source":"/x"},{"Destination":"/q","Source":"/p"}],"Names":["/web","/other"],"Ratio":0.5,"State":{"Pid":42,"Running":true,"Status":"running"}})"},
  };
  for (const auto& c : cases) EXPECT_EQ(run(c.tmpl, kContainer), c.want) << c.tmpl;
}

TEST(Template, JsonWithoutHtmlEscapes) { EXPECT_EQ(go_json(Json("<a&b>")), "\"<a&b>\""); }

TEST(Template, IndexOfNothing) {
  Json d = {{"L", nullptr}, {"M", {{"k", "v"}}}};
  EXPECT_EQ(run("{{index .L \"k\"}}|{{index .M \"x\"}}|{{index .M \"k\"}}", d), "<no value>||v");
}

TEST(Template, FieldsReadFromTheData) {
  using Set = std::set<std::string>;
  auto fields = [](const char* text) {
    auto t = Template::parse(text);
    EXPECT_TRUE(t.ok()) << text;
    return t->fields();
  };
  EXPECT_EQ(fields("{{.ID}}\t{{.Names}}"), Set({"ID", "Names"}));
  EXPECT_EQ(fields("{{.State.Status}} {{$.Name}} {{upper (index .Labels \"a\")}}"), Set({"State", "Name", "Labels"}));
  EXPECT_EQ(fields("{{.Label \"com.x\"}} {{if eq .Status \"up\"}}{{.ID}}{{else}}{{.Size}}{{end}}"),
            Set({"Labels", "Status", "ID", "Size"}));
  EXPECT_EQ(fields("plain text"), Set());
  // The data itself, or a moved dot: anything may be read.
  for (const char* all : {"{{json .}}", "{{.}}", "{{range .Mounts}}{{.Name}}{{end}}", "{{with .State}}{{.Pid}}{{end}}"})
    EXPECT_FALSE(fields(all).has_value()) << all;
}

TEST(Template, ParseErrors) {
  for (const char* bad : {"{{.Id", "{{range .X}}", "{{end}}", "{{\"open}}", "{{.A |}}", "{{if}}{{end}}"}) {
    EXPECT_FALSE(Template::parse(bad).ok()) << bad;
  }
}

TEST(Template, ExecErrors) {
  auto t = Template::parse("{{nosuchfunc .Id}}");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->execute(kContainer).ok());
  auto nilfield = Template::parse("{{.Config.Entrypoint.X}}");
  ASSERT_TRUE(nilfield.ok());
  EXPECT_FALSE(nilfield->execute(kContainer).ok());
  auto missing = Template::parse("{{.Nope.Deeper}}");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->execute(kContainer).ok());
  auto range = Template::parse("{{range .Id}}x{{end}}");
  ASSERT_TRUE(range.ok());
  EXPECT_FALSE(range->execute(kContainer).ok());
}

}  // namespace
}  // namespace berth::cli
