// The byte sources under apply: detection, round trips through odd read
// sizes and short pipe reads, member and frame boundaries.
#include "image/decompress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "image/apply_test_util.h"

namespace berth::image {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)
using ::testing::HasSubstr;

std::string sample(size_t n) {
  std::mt19937 rng(11);
  std::string s(n, '\0');
  // Half random, half text: both stored and Huffman-coded deflate blocks.
  for (size_t i = 0; i < n; ++i) s[i] = i < n / 2 ? static_cast<char>(rng()) : "abcdefgh\n"[rng() % 9];
  return s;
}

Result<std::string> read_all(int fd, size_t chunk, Compression* c = nullptr) {
  auto src = BERTH_TRY(open_decompressed(fd, c));
  std::string out, buf(chunk, '\0');
  for (;;) {
    size_t n = BERTH_TRY(src->read(buf.data(), buf.size()));
    if (n == 0) break;
    out.append(buf.data(), n);
  }
  return out;
}

TEST(Decompress, DetectsByMagic) {
  struct Case {
    std::string head;
    Compression want;
  } cases[] = {
      {"", Compression::None},
      {"\x1f", Compression::None},
      {"\x1f\x8b", Compression::Gzip},
      {"\x1f\x8b\x08\x00", Compression::Gzip},
      {"\x28\xb5\x2f", Compression::None},
      {"\x28\xb5\x2f\xfd", Compression::Zstd},
      {"ustar", Compression::None},
      {std::string(512, '\0'), Compression::None},
  };
  for (const auto& c : cases) EXPECT_EQ(detect_compression(c.head), c.want) << c.head.size();
  EXPECT_STREQ(compression_name(Compression::Zstd), "zstd");
}

TEST(Decompress, RoundTripsAtEveryReadSize) {
  std::string data = sample(3 * (1 << 20) + 12345);
  struct Blob {
    std::string bytes;
    Compression want;
  } blobs[] = {{data, Compression::None}, {gzip(data), Compression::Gzip}, {zstd(data), Compression::Zstd}};
  for (const auto& b : blobs) {
    for (size_t chunk : {size_t{1} << 22, size_t{1} << 20, size_t{65536}, size_t{4097}}) {
      Fd fd = memfd_with(b.bytes);
      Compression got;
      auto r = read_all(fd.get(), chunk, &got);
      ASSERT_TRUE(r.ok()) << r.error().message();
      EXPECT_EQ(got, b.want);
      EXPECT_TRUE(*r == data) << compression_name(b.want) << " chunk " << chunk;
    }
  }
}

TEST(Decompress, TinyReadsAcrossGzipMembersAndZstdFrames) {
  std::string a = sample(5000), b = "second", c = sample(70000);
  std::string gz = gzip(a) + gzip("") + gzip(b) + gzip(c);
  std::string zs = zstd(a) + zstd("") + zstd(b) + zstd(c);
  for (const auto& blob : {gz, zs}) {
    Fd fd = memfd_with(blob);
    auto r = read_all(fd.get(), 7);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(*r == a + b + c);
  }
}

TEST(Decompress, ShortReadsFromAPipe) {
  // A socket fed one byte at a time: the magic number and every member
  // boundary arrive split over reads.
  std::string data = sample(20000);
  for (const auto& blob : {gzip(data.substr(0, 9999)) + gzip(data.substr(9999)), zstd(data)}) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    Fd rd(sv[0]), wr(sv[1]);
    std::thread writer([&] {
      for (char ch : blob) {
        if (::write(wr.get(), &ch, 1) != 1) break;
      }
      wr.reset();
    });
    auto r = read_all(rd.get(), 1 << 20);
    writer.join();
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(*r == data);
  }
}

TEST(Decompress, CountsCompressedBytes) {
  std::string data = sample(1 << 20);
  std::string gz = gzip(data);
  Fd fd = memfd_with(gz);
  auto src = open_decompressed(fd.get());
  ASSERT_TRUE(src.ok());
  std::string buf(1 << 16, '\0');
  while (true) {
    auto n = (*src)->read(buf.data(), buf.size());
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
  }
  EXPECT_EQ((*src)->compressed_bytes(), gz.size());
}

TEST(Decompress, ErrorsAreNeverShortReads) {
  std::string gz = gzip(sample(100000));
  for (size_t cut : {size_t{3}, size_t{10}, gz.size() / 3, gz.size() - 4}) {
    Fd fd = memfd_with(gz.substr(0, cut));
    auto r = read_all(fd.get(), 4096);
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    EXPECT_THAT(r.error().message(), HasSubstr("gzip"));
  }
  std::string zs = zstd(sample(100000));
  for (size_t cut : {size_t{4}, size_t{9}, zs.size() / 3, zs.size() - 1}) {
    Fd fd = memfd_with(zs.substr(0, cut));
    auto r = read_all(fd.get(), 4096);
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    EXPECT_THAT(r.error().message(), HasSubstr("zstd"));
  }
}

}  // namespace
}  // namespace berth::image
