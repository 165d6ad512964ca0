#include "engine/shim_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "base/file.h"
#include "base/json.h"
#include "base/strings.h"

namespace berth::engine {
namespace {

class JsonFileLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-shim-log-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/c-json.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  JsonFileLog open(uint64_t max_size = 0, int max_file = 1) {
    auto r = JsonFileLog::open(path_, max_size, max_file, [] { return std::string("T"); });
    EXPECT_TRUE(r.ok());
    return std::move(r).value();
  }
  std::vector<Json> entries(const std::string& path) {
    std::vector<Json> out;
    auto text = read_file(path);
    if (!text) return out;
    for (const auto& line : split(*text, '\n')) {
      if (!line.empty()) out.push_back(Json::parse(line));
    }
    return out;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(JsonFileLogTest, SplitsAtNewlinesAndKeepsThem) {
  auto log = open();
  ASSERT_TRUE(log.write("stdout", "one\ntwo\nthr").ok());
  ASSERT_TRUE(log.write("stdout", "ee\n").ok());
  auto e = entries(path_);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0]["log"], "one\n");
  EXPECT_EQ(e[1]["log"], "two\n");
  EXPECT_EQ(e[2]["log"], "three\n");
  EXPECT_EQ(e[2]["stream"], "stdout");
  EXPECT_EQ(e[2]["time"], "T");
}

TEST_F(JsonFileLogTest, StreamsKeepSeparatePartialLines) {
  auto log = open();
  ASSERT_TRUE(log.write("stdout", "out-").ok());
  ASSERT_TRUE(log.write("stderr", "err\n").ok());
  ASSERT_TRUE(log.write("stdout", "line\n").ok());
  auto e = entries(path_);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0]["stream"], "stderr");
  EXPECT_EQ(e[0]["log"], "err\n");
  EXPECT_EQ(e[1]["log"], "out-line\n");
}

TEST_F(JsonFileLogTest, FlushWritesUnterminatedLineWithoutNewline) {
  auto log = open();
  ASSERT_TRUE(log.write("stderr", "no newline").ok());
  EXPECT_TRUE(entries(path_).empty());
  ASSERT_TRUE(log.flush().ok());
  auto e = entries(path_);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]["log"], "no newline");
  EXPECT_EQ(e[0]["stream"], "stderr");
}

TEST_F(JsonFileLogTest, LongLineIsCutIntoPartials) {
  auto log = open();
  std::string big(JsonFileLog::kMaxPartial * 2 + 10, 'x');
  ASSERT_TRUE(log.write("stdout", big + "\n").ok());
  auto e = entries(path_);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0]["log"].get<std::string>().size(), JsonFileLog::kMaxPartial);
  EXPECT_EQ(e[1]["log"].get<std::string>().size(), JsonFileLog::kMaxPartial);
  EXPECT_EQ(e[2]["log"], std::string(10, 'x') + "\n");
}

TEST_F(JsonFileLogTest, EscapesControlCharactersAndBadUtf8) {
  std::string line = JsonFileLog::encode("stdout", "a\"b\t\x01\xff\n", "T");
  auto j = Json::parse(line);
  EXPECT_EQ(j["log"], "a\"b\t\x01\xEF\xBF\xBD\n");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST_F(JsonFileLogTest, RotatesAtMaxSizeKeepingMaxFiles) {
  // Each entry is {"log":"NN\n","stream":"stdout","time":"T"} + newline = 46 bytes.
  auto log = open(100, 3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log.write("stdout", fmt::format("{:02}\n", i)).ok());
  auto cur = entries(path_);
  auto one = entries(path_ + ".1");
  auto two = entries(path_ + ".2");
  EXPECT_FALSE(std::filesystem::exists(path_ + ".3"));
  ASSERT_EQ(cur.size(), 2u);
  ASSERT_EQ(one.size(), 2u);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(cur[1]["log"], "09\n");
  EXPECT_EQ(one[0]["log"], "06\n");
  EXPECT_EQ(two[0]["log"], "04\n");
  EXPECT_LE(std::filesystem::file_size(path_), 100u);
}

TEST_F(JsonFileLogTest, MaxFileOneTruncates) {
  auto log = open(100, 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log.write("stdout", fmt::format("{:02}\n", i)).ok());
  auto cur = entries(path_);
  ASSERT_EQ(cur.size(), 1u);
  EXPECT_EQ(cur[0]["log"], "04\n");
  EXPECT_FALSE(std::filesystem::exists(path_ + ".1"));
}

TEST_F(JsonFileLogTest, AppendsToExistingFileAndCountsItsSize) {
  ASSERT_TRUE(write_file(path_, std::string(90, ' ') + "\n").ok());
  auto log = open(100, 2);
  ASSERT_TRUE(log.write("stdout", "x\n").ok());
  EXPECT_EQ(entries(path_).size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(path_ + ".1"));
}

TEST(JsonFileLogTime, DefaultClockIsRfc3339Nano) {
  char tmpl[] = "/tmp/berth-shim-log-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/l";
  {
    auto log = JsonFileLog::open(path, 0, 1);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE(log->write("stdout", "x\n").ok());
  }
  auto j = Json::parse(*read_file(path));
  std::regex rfc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)");
  EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(), rfc)) << j["time"];
  std::filesystem::remove_all(tmpl);
}

TEST(JsonFileLogTime, Rfc3339FromCalendarArithmetic) {
  EXPECT_EQ(rfc3339_utc(0, 0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(rfc3339_utc(951782400, 5), "2000-02-29T00:00:00.000000005Z");  // a leap day
  EXPECT_EQ(rfc3339_utc(1795477055, 123456789), "2026-11-23T23:37:35.123456789Z");
  EXPECT_EQ(rfc3339_utc(4102444799, 999999999), "2099-12-31T23:59:59.999999999Z");
  for (int64_t t : {int64_t{0}, int64_t{86399}, int64_t{1234567890}, int64_t{1795477055}})
    EXPECT_EQ(parse_rfc3339_seconds(rfc3339_utc(t, 0)), t);
}

TEST(ParseLogSize, Units) {
  EXPECT_EQ(parse_log_size("100"), 100u);
  EXPECT_EQ(parse_log_size("10k"), 10240u);
  EXPECT_EQ(parse_log_size("2m"), 2u * 1024 * 1024);
  EXPECT_EQ(parse_log_size("1g"), 1024ull * 1024 * 1024);
  EXPECT_FALSE(parse_log_size(""));
  EXPECT_FALSE(parse_log_size("m"));
  EXPECT_FALSE(parse_log_size("12x"));
}

}  // namespace
}  // namespace berth::engine
