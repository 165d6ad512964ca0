// apply_layer against hostile streams: decompression bombs, truncated and
// corrupt gzip/zstd, truncated tars. The bombs are generated here: one
// member (or frame) of 64 MiB of zeros compresses to ~64 KiB, and
// repeating it makes gigabytes of output from a few MiB of blob.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "image/apply.h"
#include "image/apply_test_util.h"

namespace berth::image {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)
using ::testing::HasSubstr;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kChunkZeros = 64 * kMiB;

enum class Codec { Gzip, Zstd };

// gzip -9 reaches ~1000:1 on zeros (level 1 only ~230:1).
std::string compress(Codec c, std::string_view data) { return c == Codec::Gzip ? gzip(data, 9) : zstd(data, 1); }

// `prefix` compressed, then `chunks` x 64 MiB of zeros as separate members.
std::string zeros_bomb(Codec c, std::string_view prefix, int chunks) {
  static const std::string zeros(kChunkZeros, '\0');
  static const std::string members[] = {compress(Codec::Gzip, zeros), compress(Codec::Zstd, zeros)};
  const std::string& member = members[static_cast<int>(c)];
  std::string out = compress(c, prefix);
  for (int i = 0; i < chunks; ++i) out += member;
  return out;
}

std::string random_bytes(size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(rng());
  return s;
}

class Bomb : public ::testing::TestWithParam<Codec> {};

TEST_P(Bomb, AFileOfGigabytesOfZerosStopsAtMaxUncompressed) {
  Scratch s;
  // A tar header promising a 4 GiB file, then 4 GiB of zeros.
  std::string blob = zeros_bomb(GetParam(), ustar_header("bomb", 64 * kChunkZeros), 64);
  EXPECT_LT(blob.size(), 8 * kMiB);
  ApplyOptions o = Scratch::test_options();
  o.max_uncompressed = 32 * kMiB;
  auto r = s.apply(blob, o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("layer expands past 33554432 bytes"));
  auto st = lstat_path(s.layer() + "/bomb");
  if (st) {
    EXPECT_LE(static_cast<uint64_t>(st->st_size), 33 * kMiB);
  }
  EXPECT_TRUE(s.outside_untouched());
}

TEST_P(Bomb, AHighRatioStopsPastTheFloor) {
  Scratch s;
  std::string blob = zeros_bomb(GetParam(), ustar_header("bomb", 64 * kChunkZeros), 64);
  ApplyOptions o = Scratch::test_options();
  o.ratio_floor = 4 * kMiB;
  o.max_ratio = 20;
  auto r = s.apply(blob, o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("layer expands past 20 times its compressed size"));
  EXPECT_TRUE(s.outside_untouched());
}

TEST_P(Bomb, DefaultLimitsCatchZerosHiddenAfterTheArchive) {
  // The tar ends early; the gigabytes follow its end-of-archive blocks,
  // where only the diff-ID drain reads them. Nothing is written to disk.
  Scratch s;
  std::string blob = zeros_bomb(GetParam(), make_tar({file("x", "1")}), 64);
  auto r = s.apply(blob);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("layer expands past 250 times its compressed size"));
  EXPECT_TRUE(s.outside_untouched());
}

INSTANTIATE_TEST_SUITE_P(Codecs, Bomb, ::testing::Values(Codec::Gzip, Codec::Zstd),
                         [](const auto& info) { return info.param == Codec::Gzip ? "gzip" : "zstd"; });

std::string sample_tar() {
  return make_tar({dir("d/"), file("d/a", random_bytes(300000)), file("d/b", std::string(100000, 'b'))});
}

void expect_stream_refused(std::string_view blob, const std::string& needle) {
  Scratch s;
  auto r = s.apply(blob);
  ASSERT_FALSE(r.ok()) << "applied a broken stream";
  EXPECT_THAT(r.error().message(), HasSubstr(needle));
  EXPECT_TRUE(s.outside_untouched());
}

TEST(ApplyStream, TruncatedGzipIsAnError) {
  std::string gz = gzip(sample_tar());
  expect_stream_refused(gz.substr(0, gz.size() / 2), "truncated");
  // Everything but the trailer: the data is complete, its CRC unchecked.
  expect_stream_refused(gz.substr(0, gz.size() - 8), "truncated");
  expect_stream_refused(gz.substr(0, gz.size() - 1), "truncated");
  expect_stream_refused(gz.substr(0, 5), "truncated");
}

TEST(ApplyStream, CorruptGzipIsAnError) {
  std::string gz = gzip(sample_tar());
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 0x01;
  expect_stream_refused(bad_crc, "gzip: CRC or length mismatch");
  std::string bad_len = gz;
  bad_len[bad_len.size() - 1] ^= 0x01;
  expect_stream_refused(bad_len, "gzip: CRC or length mismatch");
  std::string bad_data = gz;
  bad_data[bad_data.size() / 2] ^= 0x10;
  expect_stream_refused(bad_data, "gzip:");
  expect_stream_refused(gz + "junk after the stream", "trailing garbage");
}

TEST(ApplyStream, TruncatedOrCorruptZstdIsAnError) {
  std::string zs = zstd(sample_tar());
  expect_stream_refused(zs.substr(0, zs.size() / 2), "zstd");
  expect_stream_refused(zs.substr(0, zs.size() - 1), "zstd");
  std::string bad = zs;
  bad[bad.size() / 2] ^= 0x10;
  expect_stream_refused(bad, "zstd");
  expect_stream_refused(zs + "junk", "zstd");
}

TEST(ApplyStream, TruncatedTarIsAnError) {
  std::string tar = sample_tar();
  // In the middle of d/a's data, and in the middle of a header.
  expect_stream_refused(tar.substr(0, 512 * 6 + 1000), "runcated");
  expect_stream_refused(tar.substr(0, 1024 + 100), "apply layer");
  expect_stream_refused(gzip(tar.substr(0, 512 * 6 + 1000)), "runcated");
}

TEST(ApplyStream, NotATarIsAnError) { expect_stream_refused(random_bytes(4096), "apply layer: read tar"); }

}  // namespace
}  // namespace berth::image
