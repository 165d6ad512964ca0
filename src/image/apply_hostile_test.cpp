// apply_layer against hostile layers. Each case is refused with an error
// naming the entry (or confined inside the layer), and the canaries beside
// the layer directory stay byte-identical with nothing new next to them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/apply.h"
#include "image/apply_test_util.h"

namespace berth::image {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)
using ::testing::HasSubstr;

// Apply, expect an error whose message holds each of `needles`, and check
// that nothing outside the layer moved.
void expect_refused(const std::vector<TarEntry>& entries, const std::vector<std::string>& needles) {
  Scratch s;
  auto r = s.apply(make_tar(entries));
  ASSERT_FALSE(r.ok()) << "applied a hostile layer";
  for (const auto& n : needles) EXPECT_THAT(r.error().message(), HasSubstr(n));
  EXPECT_TRUE(s.outside_untouched());
}

TEST(ApplyHostile, DotDotTraversalIsRefused) {
  expect_refused({file("../canary", "pwned")}, {R"(apply layer: entry "../canary": path escapes the layer)"});
  expect_refused({file("../outside/canary", "pwned")}, {R"(entry "../outside/canary")", "escapes"});
  expect_refused({file("a/../../canary", "pwned")}, {R"(entry "a/../../canary")", "escapes"});
  expect_refused({dir("a/"), file("a/..", "x")}, {"escapes"});
  expect_refused({symlink("ok", "x"), symlink("../evil", "/etc/passwd")}, {"escapes"});
}

TEST(ApplyHostile, AbsoluteNamesStayInsideTheLayer) {
  Scratch s;
  std::string outside = s.base() + "/outside/evil";
  auto r = s.apply(make_tar({file(outside, "pwned"), file("/etc/berth-apply-test-evil", "pwned")}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(read_path(s.layer() + outside), "pwned");
  EXPECT_EQ(read_path(s.layer() + "/etc/berth-apply-test-evil"), "pwned");
  EXPECT_FALSE(lstat_path("/etc/berth-apply-test-evil"));
  EXPECT_TRUE(s.outside_untouched());
}

TEST(ApplyHostile, NoWriteThroughASymlinkedDirectory) {
  Scratch probe;  // only for the absolute path of a sibling "outside"
  std::string abs_outside = probe.base() + "/outside";
  expect_refused({symlink("a", abs_outside), file("a/evil", "pwned")},
                 {R"(entry "a/evil")", "symlink"});
  expect_refused({symlink("a", "../outside"), file("a/evil", "pwned")}, {R"(entry "a/evil")", "symlink"});
  expect_refused({symlink("a", "../.."), file("a/evil", "pwned")}, {"symlink"});
  expect_refused({dir("d/"), symlink("d/l", "../../outside"), file("d/l/x/y", "pwned")},
                 {R"(entry "d/l/x/y")", R"("d/l" is a symlink)"});
  expect_refused({symlink("a", "../outside"), dir("a/sub/")}, {"symlink"});
  expect_refused({symlink("a", "../outside"), symlink("a/l", "x")}, {"symlink"});
  expect_refused({file("f", "x"), symlink("a", "../outside"), hardlink("a/h", "f")}, {"symlink"});
}

TEST(ApplyHostile, NoWriteThroughASymlinkedDirectoryForDevicesAndWhiteouts) {
  if (!is_root()) GTEST_SKIP() << "device nodes need root";
  TarEntry fifo;
  fifo.type = TarEntry::Fifo;
  fifo.name = "a/fifo";
  expect_refused({symlink("a", "../outside"), fifo}, {"symlink"});
  expect_refused({symlink("a", "../outside"), file("a/.wh.canary", "")}, {R"(entry "a/.wh.canary")", "symlink"});
  expect_refused({symlink("a", "../outside"), file("a/.wh..wh..opq", "")}, {"symlink"});
}

TEST(ApplyHostile, ASymlinkAtTheFinalNameIsReplacedNotFollowed) {
  Scratch s;
  std::string canary = s.base() + "/canary";
  auto r = s.apply(make_tar({symlink("f", canary), file("f", "replaced"),
                             symlink("d", "../outside"), dir("d/"), file("d/x", "inside")}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(S_ISREG(lstat_path(s.layer() + "/f")->st_mode));
  EXPECT_EQ(read_path(s.layer() + "/f"), "replaced");
  EXPECT_TRUE(S_ISDIR(lstat_path(s.layer() + "/d")->st_mode));
  EXPECT_EQ(read_path(s.layer() + "/d/x"), "inside");
  EXPECT_TRUE(s.outside_untouched());
}

TEST(ApplyHostile, HardLinksMustStayInsideTheLayer) {
  Scratch probe;
  expect_refused({hardlink("x", "../canary")}, {R"(entry "x")", "hard link target", "escapes"});
  expect_refused({hardlink("x", "../outside/canary")}, {"escapes"});
  // An absolute target is read inside the layer, where it does not exist.
  expect_refused({hardlink("x", probe.base() + "/canary")}, {"is not in the layer"});
  expect_refused({symlink("s", "../outside"), hardlink("x", "s/canary")}, {R"("s" is a symlink)"});
  expect_refused({hardlink("x", "missing")}, {"is not in the layer"});
  expect_refused({dir("d/"), hardlink("x", "d")}, {"hard link to directory"});
}

TEST(ApplyHostile, WhiteoutsCannotEscape) {
  expect_refused({file(".wh..", "")}, {R"(entry ".wh..")", "escapes"});
  expect_refused({file("a/.wh..", "")}, {R"(entry "a/.wh..")", "escapes"});
  expect_refused({file("../.wh.canary", "")}, {"escapes"});
  expect_refused({file(".wh...", "")}, {R"(entry ".wh...")"});
  expect_refused({file("a/.wh.", "")}, {"whiteout with an empty name"});
  expect_refused({file(".wh.", "")}, {"whiteout with an empty name"});
}

TEST(ApplyHostile, OverlayAndOtherPrivilegedXattrsAreDropped) {
  Scratch s;
  TarEntry d = dir("d/");
  d.xattrs = {{"trusted.overlay.opaque", "y"},
              {"trusted.overlay.redirect", "/etc"},
              {"trusted.overlay.metacopy", ""},
              {"security.selinux", "system_u:object_r:shadow_t:s0"},
              {"system.posix_acl_access", std::string("\x02\x00\x00\x00", 4)},
              {"user.kept", "yes"}};
  TarEntry f = file("d/f", "x");
  f.xattrs = {{"trusted.overlay.origin", "x"}, {"user.kept", "file"}};
  auto r = s.apply(make_tar({d, f}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(get_xattr(s.layer() + "/d", "user.kept"), "yes");
  EXPECT_EQ(get_xattr(s.layer() + "/d/f", "user.kept"), "file");
  // Only root can see trusted.*; as root their absence is proven.
  for (const char* name : {"trusted.overlay.opaque", "trusted.overlay.redirect", "trusted.overlay.metacopy",
                           "security.selinux", "system.posix_acl_access"}) {
    EXPECT_FALSE(get_xattr(s.layer() + "/d", name)) << name;
  }
  EXPECT_FALSE(get_xattr(s.layer() + "/d/f", "trusted.overlay.origin"));
}

TEST(ApplyHostile, ADirectoryIsNeverReplacedByANonDirectory) {
  expect_refused({dir("d/"), file("d/child", "x"), file("d", "file")},
                 {R"(entry "d")", "would replace directory"});
  expect_refused({dir("d/"), symlink("d", "../outside")}, {"would replace directory"});
  expect_refused({file("f", "x"), dir("d/"), hardlink("d", "f")}, {"would replace directory"});
  Scratch s;
  auto r = s.apply(make_tar({dir("d/"), file("d/child", "x"), file("d", "file")}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(read_path(s.layer() + "/d/child"), "x");
}

TEST(ApplyHostile, OverlongNamesAreRefused) {
  std::string name(PATH_MAX + 10, 'a');
  for (size_t i = 100; i < name.size(); i += 100) name[i] = '/';
  expect_refused({file(name, "x")}, {"longer than"});
  expect_refused({symlink("l", std::string(PATH_MAX + 1, 'x'))}, {"longer than"});
}

TEST(ApplyHostile, OversizedXattrsAreRefused) {
  TarEntry f = file("f", "x");
  f.xattrs = {{"user.big", std::string(70000, 'x')}};
  expect_refused({f}, {R"(entry "f")", "too large"});
}

TEST(ApplyHostile, NamesInMessagesAreEscaped) {
  Scratch s;
  auto r = s.apply(make_tar({file("../\nfake log line\x1b[31m", "x")}));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr(R"(entry "../\x0afake log line\x1b[31m")"));
}

}  // namespace
}  // namespace berth::image
