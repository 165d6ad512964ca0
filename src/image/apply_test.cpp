// apply_layer on well-formed layers: every entry type, ownership, modes,
// times, xattrs, whiteouts, and the diff ID over plain, gzip and zstd.
#include "image/apply.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <random>

#include "image/apply_test_util.h"

namespace berth::image {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(ApplyLayer, WritesFilesDirsSymlinksAndHardLinks) {
  Scratch s;
  std::string big = random_bytes(3 << 20, 1);
  auto r = s.apply(make_tar({
      dir("etc/"),
      file("etc/hostname", "box\n"),
      file("usr/bin/tool", big, 0755),  // parents are not listed
      symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
      symlink("bin", "usr/bin"),
      hardlink("usr/bin/tool2", "usr/bin/tool"),
      file("empty", ""),
  }));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->entries, 7u);
  std::string l = s.layer();
  EXPECT_EQ(read_path(l + "/etc/hostname"), "box\n");
  EXPECT_EQ(read_path(l + "/usr/bin/tool"), big);
  EXPECT_EQ(read_path(l + "/empty"), "");
  char target[256] = {};
  ASSERT_GT(::readlink((l + "/etc/localtime").c_str(), target, sizeof target), 0);
  EXPECT_STREQ(target, "/usr/share/zoneinfo/UTC");
  auto tool = lstat_path(l + "/usr/bin/tool");
  auto tool2 = lstat_path(l + "/usr/bin/tool2");
  ASSERT_TRUE(tool && tool2);
  EXPECT_EQ(tool->st_ino, tool2->st_ino);
  EXPECT_EQ(tool->st_nlink, 2u);
  EXPECT_EQ(tool->st_mode & 07777, 0755u);
  // Parents the tar left out are made 0755.
  auto usr = lstat_path(l + "/usr");
  ASSERT_TRUE(usr);
  EXPECT_TRUE(S_ISDIR(usr->st_mode));
  EXPECT_TRUE(S_ISLNK(lstat_path(l + "/bin")->st_mode));
  EXPECT_TRUE(s.outside_untouched());
}

TEST(ApplyLayer, HardLinkToSymlinkLinksTheSymlinkItself) {
  Scratch s;
  auto r = s.apply(make_tar({symlink("l", "/nowhere"), hardlink("l2", "l")}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto st = lstat_path(s.layer() + "/l2");
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISLNK(st->st_mode));
  EXPECT_EQ(st->st_nlink, 2u);
}

TEST(ApplyLayer, DevicesAndFifos) {
  if (!is_root()) GTEST_SKIP() << "mknod of devices needs root";
  Scratch s;
  TarEntry c;
  c.type = TarEntry::Char;
  c.name = "dev/null";
  c.major = 1;
  c.minor = 3;
  c.mode = 0666;
  TarEntry b = c;
  b.type = TarEntry::Block;
  b.name = "dev/sda";
  b.major = 8;
  b.minor = 0;
  b.mode = 0660;
  TarEntry p;
  p.type = TarEntry::Fifo;
  p.name = "run/fifo";
  p.mode = 0620;
  auto r = s.apply(make_tar({c, b, p}));
  if (!r.ok() && r.error().sys_errno() == EPERM) GTEST_SKIP() << "kernel refuses mknod here";
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto null = lstat_path(s.layer() + "/dev/null");
  ASSERT_TRUE(null);
  EXPECT_TRUE(S_ISCHR(null->st_mode));
  EXPECT_EQ(null->st_rdev, makedev(1, 3));
  EXPECT_EQ(null->st_mode & 07777, 0666u);
  auto sda = lstat_path(s.layer() + "/dev/sda");
  ASSERT_TRUE(sda);
  EXPECT_TRUE(S_ISBLK(sda->st_mode));
  EXPECT_EQ(sda->st_rdev, makedev(8, 0));
  auto fifo = lstat_path(s.layer() + "/run/fifo");
  ASSERT_TRUE(fifo);
  EXPECT_TRUE(S_ISFIFO(fifo->st_mode));
  EXPECT_EQ(fifo->st_mode & 07777, 0620u);
}

TEST(ApplyLayer, OwnersAndSpecialModeBits) {
  if (!is_root()) GTEST_SKIP() << "chown needs root";
  Scratch s;
  TarEntry suid = file("bin/su", "#!", 04755);
  suid.uid = 0;
  suid.gid = 0;
  TarEntry sgid = file("bin/wall", "w", 02755);
  sgid.uid = 1234;
  sgid.gid = 5678;
  TarEntry tmp = dir("tmp/", 01777);
  TarEntry home = dir("home/u/", 02750);
  home.uid = 1000;
  home.gid = 1001;
  TarEntry link = symlink("home/u/l", "x");
  link.uid = 1000;
  link.gid = 1001;
  auto r = s.apply(make_tar({suid, sgid, tmp, home, link}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto st = lstat_path(s.layer() + "/bin/su");
  EXPECT_EQ(st->st_mode & 07777, 04755u);
  st = lstat_path(s.layer() + "/bin/wall");
  EXPECT_EQ(st->st_mode & 07777, 02755u);  // chown did not clear it: mode comes after
  EXPECT_EQ(st->st_uid, 1234u);
  EXPECT_EQ(st->st_gid, 5678u);
  EXPECT_EQ(lstat_path(s.layer() + "/tmp")->st_mode & 07777, 01777u);
  st = lstat_path(s.layer() + "/home/u");
  EXPECT_EQ(st->st_mode & 07777, 02750u);
  EXPECT_EQ(st->st_uid, 1000u);
  st = lstat_path(s.layer() + "/home/u/l");
  EXPECT_EQ(st->st_uid, 1000u);
  EXPECT_EQ(st->st_gid, 1001u);
}

TEST(ApplyLayer, MtimesWithNanosecondsIncludingDirectories) {
  Scratch s;
  TarEntry d = dir("d/");
  d.mtime = 1500000000;
  d.mtime_nsec = 111111111;
  TarEntry f = file("d/f", "x");
  f.mtime = 1600000000;
  f.mtime_nsec = 123456789;
  TarEntry l = symlink("d/l", "f");
  l.mtime = 1400000000;
  l.mtime_nsec = 5;
  auto r = s.apply(make_tar({d, f, l, file("d/later", "y")}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto st = lstat_path(s.layer() + "/d/f");
  EXPECT_EQ(st->st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st->st_mtim.tv_nsec, 123456789);
  st = lstat_path(s.layer() + "/d/l");
  EXPECT_EQ(st->st_mtim.tv_sec, 1400000000);
  EXPECT_EQ(st->st_mtim.tv_nsec, 5);
  // Children written after the directory do not move its mtime.
  st = lstat_path(s.layer() + "/d");
  EXPECT_EQ(st->st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(st->st_mtim.tv_nsec, 111111111);
}

TEST(ApplyLayer, KeepsUserXattrsAndFileCapabilities) {
  Scratch s;
  TarEntry f = file("f", "data");
  f.xattrs = {{"user.note", "hello"}, {"user.empty", ""}};
  TarEntry d = dir("d/");
  d.xattrs = {{"user.dir", "1"}};
  if (is_root()) {
    // VFS_CAP_REVISION_2 with the effective bit, CAP_NET_BIND_SERVICE (10).
    std::string cap(20, '\0');
    cap[0] = 0x01;
    cap[3] = 0x02;
    cap[5] = 0x04;  // permitted[0] bit 10
    f.xattrs.emplace_back("security.capability", cap);
  }
  auto r = s.apply(make_tar({f, d}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(get_xattr(s.layer() + "/f", "user.note"), "hello");
  EXPECT_EQ(get_xattr(s.layer() + "/f", "user.empty"), "");
  EXPECT_EQ(get_xattr(s.layer() + "/d", "user.dir"), "1");
  if (is_root()) {
    auto cap = get_xattr(s.layer() + "/f", "security.capability");
    ASSERT_TRUE(cap);
    EXPECT_EQ(cap->size(), 20u);
  }
}

TEST(ApplyLayer, WhiteoutsBecomeOverlayCharDevicesAndOpaqueXattrs) {
  if (!is_root()) GTEST_SKIP() << "whiteout devices and trusted xattrs need root";
  Scratch s;
  auto r = s.apply(make_tar({
      dir("etc/"),
      file("etc/.wh.motd", ""),
      dir("var/cache/"),
      file("var/cache/.wh..wh..opq", ""),
      file(".wh.gone-dir", ""),
      file(".wh..wh.plnk", ""),  // aufs bookkeeping: skipped
  }));
  if (!r.ok() && r.error().sys_errno() == EPERM) GTEST_SKIP() << "kernel refuses: " << r.error().message();
  ASSERT_TRUE(r.ok()) << r.error().message();
  for (const char* p : {"/etc/motd", "/gone-dir"}) {
    auto st = lstat_path(s.layer() + p);
    ASSERT_TRUE(st) << p;
    EXPECT_TRUE(S_ISCHR(st->st_mode)) << p;
    EXPECT_EQ(st->st_rdev, makedev(0, 0)) << p;
  }
  EXPECT_FALSE(lstat_path(s.layer() + "/etc/.wh.motd"));
  EXPECT_FALSE(lstat_path(s.layer() + "/.wh..wh.plnk"));
  EXPECT_FALSE(lstat_path(s.layer() + "/var/cache/.wh..wh..opq"));
  EXPECT_EQ(get_xattr(s.layer() + "/var/cache", "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(get_xattr(s.layer() + "/var", "trusted.overlay.opaque"));
}

TEST(ApplyLayer, WhiteoutRemovesWhatTheSameLayerWroteEarlier) {
  if (!is_root()) GTEST_SKIP() << "whiteout devices need root";
  Scratch s;
  auto r = s.apply(make_tar({file("a/f", "1"), dir("a/sub/"), file("a/sub/x", "2"), file(".wh.a", "")}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto st = lstat_path(s.layer() + "/a");
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISCHR(st->st_mode));
  // Writing below the whited-out directory afterwards is an error, not a
  // file lost in the deleted directory.
  Scratch s2;
  r = s2.apply(make_tar({dir("a/"), file("a/x", "1"), file(".wh.a", ""), file("a/y", "2")}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(R"(entry "a/y": "a" is not a directory)"), std::string::npos)
      << r.error().message();
}

TEST(ApplyLayer, DiffIdIsSha256OfTheUncompressedTarForEveryCompression) {
  std::string tar = make_tar({dir("a/"), file("a/b", random_bytes(200000, 2)), symlink("c", "a/b")});
  std::string want = sha256_hex_digest(tar);
  for (const auto& [label, blob] : std::vector<std::pair<std::string, std::string>>{
           {"plain", tar}, {"gzip", gzip(tar)}, {"zstd", zstd(tar)}}) {
    Scratch s;
    auto r = s.apply(blob);
    ASSERT_TRUE(r.ok()) << label << ": " << r.error().message();
    EXPECT_EQ(r->diff_id, want) << label;
    EXPECT_EQ(r->tar_size, tar.size()) << label;
    EXPECT_EQ(r->compressed_size, blob.size()) << label;
    EXPECT_EQ(r->entries, 3u) << label;
    EXPECT_EQ(read_path(s.layer() + "/a/b").size(), 200000u) << label;
  }
}

TEST(ApplyLayer, GzipWithSeveralMembers) {
  std::string tar = make_tar({file("x", random_bytes(100000, 3)), file("y", std::string(50000, 'y'))});
  // pigz and `cat a.gz b.gz` make one stream out of several members; split
  // in the middle of an entry so that no member ends at a tar boundary.
  std::string blob = gzip(tar.substr(0, 777)) + gzip("") + gzip(tar.substr(777, 60000)) + gzip(tar.substr(60777));
  Scratch s;
  auto r = s.apply(blob);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256_hex_digest(tar));
  EXPECT_EQ(read_path(s.layer() + "/y"), std::string(50000, 'y'));
}

TEST(ApplyLayer, ZstdWithSeveralFrames) {
  std::string tar = make_tar({file("x", random_bytes(300000, 4))});
  std::string blob = zstd(tar.substr(0, 1000)) + zstd(tar.substr(1000), 19);
  Scratch s;
  auto r = s.apply(blob);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256_hex_digest(tar));
}

TEST(ApplyLayer, BytesAfterTheEndOfArchiveCountInTheDiffId) {
  std::string tar = make_tar({file("x", "1")}) + std::string(8192, '\0') + "trailing";
  Scratch s;
  auto r = s.apply(gzip(tar));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256_hex_digest(tar));
  EXPECT_EQ(r->tar_size, tar.size());
}

TEST(ApplyLayer, EmptyStreamIsAnEmptyLayer) {
  Scratch s;
  auto r = s.apply("");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256_hex_digest(""));
  EXPECT_EQ(r->entries, 0u);
}

TEST(ApplyLayer, LaterEntriesReplaceEarlierOnesAndDirectoriesAreUpdated) {
  Scratch s;
  auto r = s.apply(make_tar({
      file("f", "old"), file("f", "new", 0600),
      symlink("l", "one"), file("l", "now a file"),
      file("g", "x"), symlink("g", "target"),
      dir("d/", 0755), file("d/keep", "k"), dir("d/", 0700),
  }));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(read_path(s.layer() + "/f"), "new");
  EXPECT_EQ(lstat_path(s.layer() + "/f")->st_mode & 07777, 0600u);
  EXPECT_TRUE(S_ISREG(lstat_path(s.layer() + "/l")->st_mode));
  EXPECT_EQ(read_path(s.layer() + "/l"), "now a file");
  EXPECT_TRUE(S_ISLNK(lstat_path(s.layer() + "/g")->st_mode));
  EXPECT_EQ(read_path(s.layer() + "/d/keep"), "k");
  EXPECT_EQ(lstat_path(s.layer() + "/d")->st_mode & 07777, 0700u);
}

TEST(ApplyLayer, RootEntryAndOddSpellingsAreNormalised) {
  Scratch s;
  auto r = s.apply(make_tar({dir("./", 0750), dir(".//a//b/"), file("./a/./b//f", "ok"), file("/abs", "in")}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(read_path(s.layer() + "/a/b/f"), "ok");
  EXPECT_EQ(read_path(s.layer() + "/abs"), "in");
  EXPECT_EQ(lstat_path(s.layer())->st_mode & 07777, 0750u);
}

TEST(ApplyLayer, NonAsciiNamesAreKeptAsBytes) {
  // UTF-8 in a PAX path record, whatever the process locale.
  Scratch s;
  std::string name = "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac" + std::string(120, 'x');
  auto r = s.apply(go_style_pax_file(name, "utf8"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(read_path(s.layer() + "/" + name), "utf8");
  // Raw bytes that are not UTF-8 in a plain ustar header (old tars).
  Scratch s2;
  std::string raw = "latin1-caf\xe9";
  std::string tar = ustar_header(raw, 3) + "abc" + std::string(509 + 1024, '\0');
  r = s2.apply(tar);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(read_path(s2.layer() + "/" + raw), "abc");
}

TEST(ApplyLayer, ReadOnlyDirectoriesStillReceiveTheirChildren) {
  Scratch s;
  ApplyOptions o = Scratch::test_options();
  auto r = s.apply(make_tar({dir("ro/", 0555), file("ro/f", "x"), dir("ro/sub/", 0500), file("ro/sub/g", "y")}), o);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(read_path(s.layer() + "/ro/sub/g"), "y");
  EXPECT_EQ(lstat_path(s.layer() + "/ro")->st_mode & 07777, 0555u);
  EXPECT_EQ(lstat_path(s.layer() + "/ro/sub")->st_mode & 07777, 0500u);
  ::chmod((s.layer() + "/ro/sub").c_str(), 0755);
  ::chmod((s.layer() + "/ro").c_str(), 0755);
}

}  // namespace
}  // namespace berth::image
