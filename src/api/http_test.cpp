#include "api/http.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::api {
namespace {

TEST(AppendJsonString, MatchesWhatAJsonDumpWrites) {
  const std::string cases[] = {"",
                               "plain",
                               "quote \" and backslash \\",
                               "tab\tnewline\nreturn\rback\bfeed\f",
                               std::string("nul \0 and \x01\x1f", 13),
                               "del \x7f stays",
                               "utf-8: h\xc3\xa9llo \xe2\x9c\x93",
                               "/name_with-dots.and:colons"};
  for (const auto& s : cases) {
    std::string out = "x";
    append_json_string(out, s);
    EXPECT_EQ(out, "x" + Json(s).dump()) << s;
    EXPECT_EQ(Json::parse(out.substr(1)).get<std::string>(), s);
  }
}

}  // namespace
}  // namespace berth::api
