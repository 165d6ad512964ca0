#include "image/reference.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::image {
namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kDigest = "sha256:" + kHex;

const std::string kFormat = "invalid reference format";
const std::string kLower = "invalid reference format: repository name must be lowercase";
const std::string kTooLong =
    "invalid reference format: repository name must not be more than 255 characters";
const std::string kEmpty =
    "invalid reference format: repository name must have at least one component";

struct Valid {
  std::string input;
  Reference want;  // as parse_reference gives it
};

TEST(ParseReference, Valid) {
  const std::vector<Valid> cases = {
      {"busybox", {"", "busybox", "", ""}},
      {"busybox:1.36", {"", "busybox", "1.36", ""}},
      {"busybox:latest", {"", "busybox", "latest", ""}},
      {"library/busybox", {"", "library/busybox", "", ""}},
      {"foo/bar", {"", "foo/bar", "", ""}},
      {"foo/bar/baz:v1", {"", "foo/bar/baz", "v1", ""}},
      {"a", {"", "a", "", ""}},
      {"0", {"", "0", "", ""}},
      {"a.b", {"", "a.b", "", ""}},
      {"a_b", {"", "a_b", "", ""}},
      {"a__b", {"", "a__b", "", ""}},
      {"a-b", {"", "a-b", "", ""}},
      {"a---b", {"", "a---b", "", ""}},
      {"a.b_c__d-e--f", {"", "a.b_c__d-e--f", "", ""}},
      {"docker.io/library/busybox", {"docker.io", "library/busybox", "", ""}},
      {"ghcr.io/org/app:1.2.3", {"ghcr.io", "org/app", "1.2.3", ""}},
      {"localhost/x", {"localhost", "x", "", ""}},
      {"localhost:5000/x", {"localhost:5000", "x", "", ""}},
      {"localhost:5000/x:5000", {"localhost:5000", "x", "5000", ""}},
      {"127.0.0.1:5000/a/b:c", {"127.0.0.1:5000", "a/b", "c", ""}},
      {"[::1]:5000/x", {"[::1]:5000", "x", "", ""}},
      {"[2001:db8::1]/x", {"[2001:db8::1]", "x", "", ""}},
      {"Registry.Example.COM/x", {"Registry.Example.COM", "x", "", ""}},
      {"my-registry.local:443/team/app", {"my-registry.local:443", "team/app", "", ""}},
      {"busybox@" + kDigest, {"", "busybox", "", kDigest}},
      {"busybox:1@" + kDigest, {"", "busybox", "1", kDigest}},
      {"localhost:5000/x@" + kDigest, {"localhost:5000", "x", "", kDigest}},
      {"localhost:5000/x:t@" + kDigest, {"localhost:5000", "x", "t", kDigest}},
      {"busybox:UPPER_case.tag-1", {"", "busybox", "UPPER_case.tag-1", ""}},
      {"busybox:_underscore", {"", "busybox", "_underscore", ""}},
      {"busybox:" + std::string(128, 't'), {"", "busybox", std::string(128, 't'), ""}},
      // No '/' after it, so "localhost:5000" is a name and a tag, as in Docker.
      {"localhost:5000", {"", "localhost", "5000", ""}},
      // "docker.io" alone is a repository name, not a registry.
      {"docker.io", {"", "docker.io", "", ""}},
      // Parsed as a name with a tag: callers check looks_like_image_id first.
      {kDigest, {"", "sha256", kHex, ""}},
      {std::string(255, 'a'), {"", std::string(255, 'a'), "", ""}},
  };
  for (const auto& c : cases) {
    auto r = parse_reference(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.error().message();
    EXPECT_EQ(*r, c.want) << c.input << " -> " << r->string();
    EXPECT_EQ(r->string(), c.input) << "round trip";
  }
}

struct Invalid {
  std::string input;
  std::string message;
};

TEST(ParseReference, Invalid) {
  const std::vector<Invalid> cases = {
      {"", kEmpty},
      {":tag", kEmpty},
      {"@" + kDigest, kEmpty},
      {"Busybox", kLower},
      {"busyBox:latest", kLower},
      {"foo/Bar", kLower},
      {"FOO/bar", kLower},
      {"docker.io/Library/busybox", kLower},
      {"localhost:5000/X", kLower},
      {"busybox:", kFormat},
      {"busybox:-tag", kFormat},
      {"busybox:.tag", kFormat},
      {"busybox:ta/g", kFormat},  // '/' after ':': read as host:port/path with a bad port
      {"busybox:t@g", kFormat},
      {"busybox:tä", kFormat},
      {"busybox:" + std::string(129, 't'), kFormat},
      {"busybox:a:b", kFormat},
      {"busybox@", kFormat},
      {"busybox@sha256", kFormat},
      {"busybox@:abc", kFormat},
      {"busybox@sha256:" + kHex + "@x", "invalid reference format: digest sha256:" + kHex +
                                              "@x must be sha256 and 64 lowercase hex digits"},
      {"busybox@sha256:abc",
       "invalid reference format: digest sha256:abc must be sha256 and 64 lowercase hex digits"},
      {"busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
       "invalid reference format: digest "
       "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef must be "
       "sha256 and 64 lowercase hex digits"},
      {"busybox@sha512:" + kHex + kHex,
       "invalid reference format: unsupported digest algorithm sha512"},
      {"busybox@sha 1:abc", kFormat},
      {"-busybox", kFormat},
      {"busybox-", kFormat},
      {".busybox", kFormat},
      {"busybox.", kFormat},
      {"_busybox", kFormat},
      {"a___b", kFormat},
      {"a._b", kFormat},
      {"a-.b", kFormat},
      {"a..b", kFormat},
      {"foo//bar", kFormat},
      {"foo/", kFormat},
      {"/foo", kFormat},
      {"foo/bar/", kFormat},
      {"foo bar", kFormat},
      {"foo/b!r", kFormat},
      {"føø", kFormat},
      {"-registry.io/x", kFormat},
      {"registry-.io/x", kFormat},
      {"reg..io/x", kFormat},
      {"registry.io:/x", kFormat},
      {"registry.io:50a/x", kFormat},
      {"registry.io:5000:1/x", kFormat},
      {"[::1/x", kFormat},
      {"[]/x", kFormat},
      {"[::1]5000/x", kFormat},
      {"[::g]/x", kFormat},
      {"localhost:5000/", kFormat},
      {std::string(256, 'a'), kTooLong},
      {"example.com/" + std::string(244, 'a'), kTooLong},
  };
  for (const auto& c : cases) {
    auto r = parse_reference(c.input);
    ASSERT_FALSE(r.ok()) << c.input << " parsed as " << r->string();
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument) << c.input;
    EXPECT_EQ(r.error().message(), c.message) << c.input;
  }
}

struct Normalized {
  std::string input;
  std::string full;      // string() after normalisation
  std::string familiar;  // familiar() after normalisation
};

TEST(ParseNormalized, DockerNormalisation) {
  const std::vector<Normalized> cases = {
      {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
      {"busybox@" + kDigest, "docker.io/library/busybox@" + kDigest, "busybox@" + kDigest},
      {"busybox:1@" + kDigest, "docker.io/library/busybox:1@" + kDigest,
       "busybox:1@" + kDigest},
      {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/library/busybox:latest", "docker.io/library/busybox:latest",
       "busybox:latest"},
      {"index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/foo/bar:x", "docker.io/foo/bar:x", "foo/bar:x"},
      {"foo/bar", "docker.io/foo/bar:latest", "foo/bar:latest"},
      {"docker.io/foo/bar", "docker.io/foo/bar:latest", "foo/bar:latest"},
      {"foo/bar/baz", "docker.io/foo/bar/baz:latest", "foo/bar/baz:latest"},
      // library/ is dropped only in front of a single component.
      {"library/foo/bar", "docker.io/library/foo/bar:latest", "library/foo/bar:latest"},
      {"localhost/x", "localhost/x:latest", "localhost/x:latest"},
      {"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"},
      {"localhost:5000/x@" + kDigest, "localhost:5000/x@" + kDigest,
       "localhost:5000/x@" + kDigest},
      {"ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2"},
      // Only docker.io gets library/: another registry's single component stays.
      {"quay.io/app", "quay.io/app:latest", "quay.io/app:latest"},
      {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"},
      {"docker.io", "docker.io/library/docker.io:latest", "docker.io:latest"},
  };
  for (const auto& c : cases) {
    auto r = parse_normalized(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.error().message();
    EXPECT_EQ(r->string(), c.full) << c.input;
    EXPECT_EQ(r->familiar(), c.familiar) << c.input;
    // Normalising is idempotent: the full and familiar forms name the same image.
    auto again = parse_normalized(r->string());
    ASSERT_TRUE(again.ok()) << r->string();
    EXPECT_EQ(*again, *r);
    auto from_familiar = parse_normalized(r->familiar());
    ASSERT_TRUE(from_familiar.ok()) << r->familiar();
    EXPECT_EQ(*from_familiar, *r);
  }
}

TEST(ParseNormalized, Fields) {
  auto r = parse_normalized("busybox");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->domain, "docker.io");
  EXPECT_EQ(r->path, "library/busybox");
  EXPECT_EQ(r->tag, "latest");
  EXPECT_EQ(r->digest, "");
  EXPECT_EQ(r->name(), "docker.io/library/busybox");

  r = parse_normalized("busybox@" + kDigest);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, "");  // a digest alone gets no default tag
  EXPECT_EQ(r->digest, kDigest);
}

TEST(ParseNormalized, Invalid) {
  const std::vector<Invalid> cases = {
      {kHex, "invalid repository name (" + kHex + "), cannot specify 64-byte hexadecimal strings"},
      {"", kEmpty},
      {"Busybox", kLower},
      {"docker.io/Foo/bar", kLower},
      {"busybox:", kFormat},
      {"foo//bar", kFormat},
      // Fits as written, but not once docker.io/library/ is added.
      {std::string(250, 'a'), kTooLong},
  };
  for (const auto& c : cases) {
    auto r = parse_normalized(c.input);
    ASSERT_FALSE(r.ok()) << c.input << " parsed as " << r->string();
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument) << c.input;
    EXPECT_EQ(r.error().message(), c.message) << c.input;
  }
  // 63 or 65 hex digits are ordinary names.
  EXPECT_TRUE(parse_normalized(kHex.substr(1)).ok());
  EXPECT_TRUE(parse_normalized(kHex + "0").ok());
}

TEST(Familiar, WithoutNormalisation) {
  EXPECT_EQ((Reference{"", "busybox", "", ""}).familiar(), "busybox");
  EXPECT_EQ((Reference{"", "library/busybox", "1", ""}).familiar(), "busybox:1");
  EXPECT_EQ((Reference{"docker.io", "foo/bar", "", ""}).familiar(), "foo/bar");
  EXPECT_EQ((Reference{"localhost:5000", "library/x", "", ""}).familiar(),
            "localhost:5000/library/x");
  EXPECT_EQ((Reference{"docker.io", "library", "", ""}).familiar(), "library");
}

TEST(LooksLikeImageId, Table) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {kHex, true},
      {kDigest, true},
      {kHex.substr(1), false},
      {kHex + "0", false},
      {"sha256:" + kHex.substr(1), false},
      {"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false},
      {"sha512:" + kHex, false},
      {"busybox", false},
      {"", false},
      {"sha256:", false},
      {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", false},
  };
  for (const auto& [input, want] : cases) EXPECT_EQ(looks_like_image_id(input), want) << input;
}

}  // namespace
}  // namespace berth::image
