#include "cli/go_compat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace berth::cli {
namespace {

TEST(GoCompat, ParsePort) {
  struct Case {
    const char* in;
    int want;  // -1: an error
    const char* error;
  };
  const Case cases[] = {
      {"80", 80, ""},
      {"0", 0, ""},
      {"65535", 65535, ""},
      {"080", 80, ""},
      {"65536", -1, "strconv.ParseUint: parsing \"65536\": value out of range"},
      {"70000x", -1, "strconv.ParseUint: parsing \"70000x\": value out of range"},
      {"8x", -1, "strconv.ParseUint: parsing \"8x\": invalid syntax"},
      {"", -1, "strconv.ParseUint: parsing \"\": invalid syntax"},
      {"+80", -1, "strconv.ParseUint: parsing \"+80\": invalid syntax"},
      {"-1", -1, "strconv.ParseUint: parsing \"-1\": invalid syntax"},
      {"1_0", -1, "strconv.ParseUint: parsing \"1_0\": invalid syntax"},
      {"a\"b", -1, "strconv.ParseUint: parsing \"a\\\"b\": invalid syntax"},
  };
  for (const auto& c : cases) {
    std::string err;
    auto v = go_parse_port(c.in, err);
    if (c.want < 0) {
      EXPECT_FALSE(v) << c.in;
      EXPECT_EQ(err, c.error) << c.in;
    } else {
      ASSERT_TRUE(v) << c.in;
      EXPECT_EQ(*v, c.want) << c.in;
    }
  }
}

TEST(GoCompat, Quote) {
  EXPECT_EQ(go_quote("abc"), "\"abc\"");
  EXPECT_EQ(go_quote("a\\b\"c"), "\"a\\\\b\\\"c\"");
  EXPECT_EQ(go_quote("a\nb\x01"), "\"a\\nb\\x01\"");
  EXPECT_EQ(go_quote("é"), "\"é\"");
}

TEST(GoCompat, ErrnoText) {
  EXPECT_EQ(go_errno_text(ENOENT), "no such file or directory");
  EXPECT_EQ(go_path_error("open", "nofile", ENOENT), "open nofile: no such file or directory");
  EXPECT_EQ(go_path_error("stat", "/x", EACCES), "stat /x: permission denied");
}

TEST(GoCompat, TrimId) {
  EXPECT_EQ(*trim_id("container", "web"), "web");
  EXPECT_EQ(*trim_id("container", " \tweb \n"), "web");
  for (const char* empty : {"", " ", "\t\n"}) {
    auto r = trim_id("container", empty);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "invalid container name or ID: value is empty");
  }
}

TEST(GoCompat, JoinHostPort) {
  EXPECT_EQ(join_host_port("0.0.0.0", "8080"), "0.0.0.0:8080");
  EXPECT_EQ(join_host_port("::", "8080"), "[::]:8080");
  EXPECT_EQ(join_host_port("", "80"), ":80");
}

TEST(GoCompat, NaturalLess) {
  EXPECT_TRUE(natural_less("a2", "a10"));
  EXPECT_FALSE(natural_less("a10", "a2"));
  EXPECT_TRUE(natural_less("1", "a"));       // digits first
  EXPECT_TRUE(natural_less("a01", "a001"));  // fewer zeros first
  EXPECT_TRUE(natural_less("a1", "a01"));
  EXPECT_TRUE(natural_less("a", "ab"));
  EXPECT_FALSE(natural_less("x", "x"));
  std::vector<std::string> v = {"8080/tcp -> 0.0.0.0:8080", "443/tcp -> 0.0.0.0:8443", "80/tcp -> [::]:8080",
                                "80/tcp -> 0.0.0.0:8080", "53/udp -> 0.0.0.0:53"};
  std::sort(v.begin(), v.end(), [](const std::string& a, const std::string& b) { return natural_less(a, b); });
  EXPECT_EQ(v, (std::vector<std::string>{"53/udp -> 0.0.0.0:53", "80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080",
                                         "443/tcp -> 0.0.0.0:8443", "8080/tcp -> 0.0.0.0:8080"}));
}

TEST(GoCompat, ArgCountError) {
  EXPECT_FALSE(arg_count_error("berth port", "CONTAINER [PRIVATE_PORT[/PROTO]]", 1, 1, 2));
  EXPECT_FALSE(arg_count_error("berth import", "x", 5, 1, kNoMax));
  EXPECT_EQ(*arg_count_error("berth port", "CONTAINER [PRIVATE_PORT[/PROTO]]", 3, 1, 2),
            "berth: 'berth port' requires at least 1 and at most 2 arguments\n\n"
            "Usage:  berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n\n"
            "Run 'berth port --help' for more information");
  EXPECT_EQ(*arg_count_error("berth container diff", "CONTAINER", 0, 1, 1),
            "berth: 'berth container diff' requires 1 argument\n\n"
            "Usage:  berth container diff CONTAINER\n\n"
            "Run 'berth container diff --help' for more information");
  EXPECT_EQ(*arg_count_error("berth import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]", 0, 1, kNoMax),
            "berth: 'berth import' requires at least 1 argument\n\n"
            "Usage:  berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]\n\n"
            "See 'berth import --help' for more information");
}

}  // namespace
}  // namespace berth::cli
