#include "image/diff.h"

#include <gtest/gtest.h>
#include <locale.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "base/digest.h"
#include "base/scope_exit.h"
#include "image/diff_test_util.h"

namespace berth::image {
namespace {

using testing::make_dir;
using testing::make_file;
using testing::make_node;
using testing::make_opaque;
using testing::make_symlink;
using testing::make_whiteout;
using testing::set_mtime;
using testing::set_owner;
using testing::set_xattr;
using testing::TarEntry;
using testing::TempDir;

std::string show(const std::vector<Change>& changes) {
  std::string out;
  for (const auto& c : changes) {
    const char* k = c.kind == ChangeKind::Added ? "A" : c.kind == ChangeKind::Deleted ? "D" : "C";
    out += fmt::format("{} {}\n", k, c.path);
  }
  return out;
}

class DiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (devices, owners, trusted.* xattrs)";
  }

  // Writes the layer diff of `dir` and reads it back.
  std::vector<TarEntry> layer(const TempDir& dir, TarResult* result = nullptr) {
    return layer_at(dir.open(), result);
  }
  std::vector<TarEntry> layer_at(const Fd& dir, TarResult* result = nullptr) {
    Fd out = testing::make_memfd();
    auto r = write_layer_diff(dir.get(), out.get());
    EXPECT_TRUE(r.ok()) << r.error().message();
    if (!r.ok()) return {};
    std::string bytes = testing::read_all(out.get());
    EXPECT_EQ(r->size, bytes.size());
    EXPECT_EQ(r->diff_id, sha256_digest(bytes));
    if (result) *result = *r;
    return testing::read_tar(out.get());
  }

  static std::vector<std::string> names(const std::vector<TarEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.path);
    return out;
  }

  static const TarEntry& find(const std::vector<TarEntry>& entries, const std::string& path) {
    for (const auto& e : entries) {
      if (e.path == path) return e;
    }
    throw std::runtime_error("no tar entry " + path);
  }
};

TEST_F(DiffTest, WritesEveryFileTypeWithItsMetadata) {
  TempDir d;
  make_dir(d / "dir", 0750);
  set_owner(d / "dir", 12, 34);
  make_file(d / "dir/file", "hello\n", 04755);
  set_owner(d / "dir/file", 1000, 1001);
  testing::set_mode(d / "dir/file", 04755);
  set_mtime(d / "dir/file", 1700000000, 0);
  make_symlink("../target does not exist", d / "link");
  make_node(d / "fifo", S_IFIFO | 0600, 0);
  make_node(d / "null", S_IFCHR | 0666, makedev(1, 3));
  make_node(d / "blk", S_IFBLK | 0660, makedev(7, 300));
  make_file(d / "empty", "", 0);

  auto entries = layer(d);
  ASSERT_EQ(names(entries),
            (std::vector<std::string>{"blk", "dir/", "dir/file", "empty", "fifo", "link", "null"}));

  const auto& dir = find(entries, "dir/");
  EXPECT_EQ(dir.mode, S_IFDIR | 0750);
  EXPECT_EQ(dir.uid, 12);
  EXPECT_EQ(dir.gid, 34);
  EXPECT_EQ(dir.size, 0);

  const auto& file = find(entries, "dir/file");
  EXPECT_EQ(file.mode, S_IFREG | 04755);
  EXPECT_EQ(file.uid, 1000);
  EXPECT_EQ(file.gid, 1001);
  EXPECT_EQ(file.mtime, 1700000000);
  EXPECT_EQ(file.mtime_nsec, 0);
  EXPECT_EQ(file.data, "hello\n");

  EXPECT_EQ(find(entries, "link").symlink, "../target does not exist");
  EXPECT_EQ(find(entries, "link").mode & S_IFMT, S_IFLNK);
  EXPECT_EQ(find(entries, "fifo").mode, S_IFIFO | 0600);
  const auto& null = find(entries, "null");
  EXPECT_EQ(null.mode, S_IFCHR | 0666);
  EXPECT_EQ(null.rdev_major, 1u);
  EXPECT_EQ(null.rdev_minor, 3u);
  const auto& blk = find(entries, "blk");
  EXPECT_EQ(blk.mode, S_IFBLK | 0660);
  EXPECT_EQ(blk.rdev_major, 7u);
  EXPECT_EQ(blk.rdev_minor, 300u);
  EXPECT_EQ(find(entries, "empty").mode, S_IFREG | 0);

  for (const auto& e : entries) {
    EXPECT_EQ(e.uname, "") << e.path;
    EXPECT_EQ(e.gname, "") << e.path;
    EXPECT_FALSE(e.has_atime) << e.path;
    EXPECT_FALSE(e.has_ctime) << e.path;
  }
}

TEST_F(DiffTest, PlainEntriesNeedNoExtendedHeader) {
  TempDir d;
  make_dir(d / "a");
  make_file(d / "a/b", "x");
  set_mtime(d / "a/b", 1600000000, 0);
  set_mtime(d / "a", 1600000000, 0);
  Fd out = testing::make_memfd();
  ASSERT_TRUE(write_layer_diff(d.open().get(), out.get()).ok());
  std::string bytes = testing::read_all(out.get());
  EXPECT_EQ(bytes.find("PaxHeader"), std::string::npos);
  // Three 512-byte headers and blocks: a/, a/b + its data, then the two
  // zero blocks that end a tar; no padding to a 10 KiB record.
  EXPECT_EQ(bytes.size(), 512u * 5);
}

TEST_F(DiffTest, SubSecondMtimeGoesIntoPax) {
  TempDir d;
  make_file(d / "f", "x");
  set_mtime(d / "f", 1600000000, 123456789);
  make_dir(d / "g");
  set_mtime(d / "g", 1600000001, 1);
  auto entries = layer(d);
  EXPECT_EQ(find(entries, "f").mtime, 1600000000);
  EXPECT_EQ(find(entries, "f").mtime_nsec, 123456789);
  EXPECT_EQ(find(entries, "g/").mtime, 1600000001);
  EXPECT_EQ(find(entries, "g/").mtime_nsec, 1);
}

TEST_F(DiffTest, WhiteoutsBecomeWhFiles) {
  TempDir d;
  make_dir(d / "etc");
  make_whiteout(d / "etc/passwd");
  make_file(d / "etc/hosts", "127.0.0.1 localhost\n");
  make_whiteout(d / "gone");
  make_whiteout(d / "-dash");
  auto entries = layer(d);
  // Whiteouts sort by their tar name: ".wh.-dash" < ".wh.gone" < "etc/".
  ASSERT_EQ(names(entries), (std::vector<std::string>{".wh.-dash", ".wh.gone", "etc/",
                                                       "etc/.wh.passwd", "etc/hosts"}));
  for (const char* p : {".wh.-dash", ".wh.gone", "etc/.wh.passwd"}) {
    const auto& e = find(entries, p);
    EXPECT_EQ(e.mode, S_IFREG | 0) << p;
    EXPECT_EQ(e.uid, 0) << p;
    EXPECT_EQ(e.gid, 0) << p;
    EXPECT_EQ(e.size, 0) << p;
    EXPECT_EQ(e.mtime, 0) << p;
  }
}

TEST_F(DiffTest, SharedWhiteoutInodeIsNotAHardLink) {
  // Since Linux 5.8 overlayfs links one whiteout inode to many names.
  TempDir d;
  make_whiteout(d / "a");
  ASSERT_EQ(link((d / "a").c_str(), (d / "b").c_str()), 0);
  auto entries = layer(d);
  ASSERT_EQ(names(entries), (std::vector<std::string>{".wh.a", ".wh.b"}));
  EXPECT_EQ(entries[1].hardlink, "");
}

TEST_F(DiffTest, OpaqueDirectoryGetsMarkerRightAfterIt) {
  TempDir d;
  make_dir(d / "opq");
  make_opaque(d / "opq");
  make_file(d / "opq/!first", "1");
  make_file(d / "opq/z", "2");
  make_dir(d / "userx");
  set_xattr(d / "userx", "user.overlay.opaque", "y");
  make_dir(d / "notopq");
  set_xattr(d / "notopq", "trusted.overlay.opaque", "x");
  auto entries = layer(d);
  ASSERT_EQ(names(entries),
            (std::vector<std::string>{"notopq/", "opq/", "opq/.wh..wh..opq", "opq/!first", "opq/z",
                                      "userx/", "userx/.wh..wh..opq"}));
  EXPECT_TRUE(find(entries, "opq/").xattrs.empty());
  EXPECT_TRUE(find(entries, "userx/").xattrs.empty());
  EXPECT_EQ(find(entries, "opq/.wh..wh..opq").mode, S_IFREG | 0);
}

TEST_F(DiffTest, HardLinksPointAtFirstPathInOrder) {
  TempDir d;
  make_dir(d / "b");
  make_file(d / "b/orig", "shared content", 0640);
  ASSERT_EQ(link((d / "b/orig").c_str(), (d / "a").c_str()), 0);
  ASSERT_EQ(link((d / "b/orig").c_str(), (d / "c").c_str()), 0);
  make_node(d / "fifo", S_IFIFO | 0644, 0);
  ASSERT_EQ(link((d / "fifo").c_str(), (d / "fifo2").c_str()), 0);
  make_symlink("x", d / "sym");
  ASSERT_EQ(link((d / "sym").c_str(), (d / "sym2").c_str()), 0);
  auto entries = layer(d);
  ASSERT_EQ(names(entries), (std::vector<std::string>{"a", "b/", "b/orig", "c", "fifo", "fifo2",
                                                       "sym", "sym2"}));
  EXPECT_EQ(find(entries, "a").data, "shared content");
  EXPECT_EQ(find(entries, "a").hardlink, "");
  for (const char* p : {"b/orig", "c"}) {
    EXPECT_EQ(find(entries, p).hardlink, "a") << p;
    EXPECT_EQ(find(entries, p).data, "") << p;
  }
  EXPECT_EQ(find(entries, "fifo2").hardlink, "fifo");
  EXPECT_EQ(find(entries, "sym2").hardlink, "sym");
}

TEST_F(DiffTest, KeepsUserXattrsAndCapabilitiesOnly) {
  TempDir d;
  make_file(d / "ping", "elf");
  std::string cap("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                  20);
  set_xattr(d / "ping", "security.capability", cap);
  set_xattr(d / "ping", "user.zeta", "last");
  set_xattr(d / "ping", "user.alpha", std::string("bin\0ary\n=", 9));
  set_xattr(d / "ping", "trusted.secret", "host");
  set_xattr(d / "ping", "user.overlay.origin", "overlay");
  make_dir(d / "dir");
  set_xattr(d / "dir", "user.on-dir", "v");
  auto entries = layer(d);
  using X = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(find(entries, "ping").xattrs,
            (X{{"security.capability", cap},
               {"user.alpha", std::string("bin\0ary\n=", 9)},
               {"user.zeta", "last"}}));
  EXPECT_EQ(find(entries, "dir/").xattrs, (X{{"user.on-dir", "v"}}));

  // Docker and containerd read SCHILY.xattr.*; libarchive's base64 copies
  // would only double the headers.
  Fd out = testing::make_memfd();
  ASSERT_TRUE(write_layer_diff(d.open().get(), out.get()).ok());
  std::string bytes = testing::read_all(out.get());
  EXPECT_NE(bytes.find("SCHILY.xattr.user.zeta=last\n"), std::string::npos);
  EXPECT_EQ(bytes.find("LIBARCHIVE.xattr"), std::string::npos);
  EXPECT_EQ(bytes.find("trusted"), std::string::npos);
}

TEST_F(DiffTest, ChildrenSortByNameBytesDepthFirst) {
  TempDir d;
  make_dir(d / "a");
  make_file(d / "a/b", "");
  make_file(d / "a-c", "");
  make_file(d / "a.txt", "");
  make_file(d / "B", "");
  make_file(d / "\xc3\xa9t\xc3\xa9", "utf-8");
  make_file(d / "raw\xff", "not utf-8");
  std::string deep = "d";
  make_dir(d / deep);
  std::string long_name(200, 'n');
  make_file(d / (deep + "/" + long_name), "long");
  auto entries = layer(d);
  EXPECT_EQ(names(entries),
            (std::vector<std::string>{"B", "a/", "a/b", "a-c", "a.txt", "d/", "d/" + long_name,
                                      "raw\xff", "\xc3\xa9t\xc3\xa9"}));
  EXPECT_EQ(find(entries, "raw\xff").data, "not utf-8");
}

TEST_F(DiffTest, LargeFileContentIsExact) {
  TempDir d;
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  make_file(d / "big", big);
  auto entries = layer(d);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].size, static_cast<int64_t>(big.size()));
  EXPECT_TRUE(entries[0].data == big);
}

TEST_F(DiffTest, NeverFollowsSymlinks) {
  TempDir outside;
  make_file(outside / "secret", "host data");
  TempDir d;
  make_symlink(outside.path(), d / "escape");
  make_symlink(outside / "secret", d / "file");
  auto entries = layer(d);
  ASSERT_EQ(names(entries), (std::vector<std::string>{"escape", "file"}));
  for (const auto& e : entries) {
    EXPECT_EQ(e.mode & S_IFMT, S_IFLNK);
    EXPECT_EQ(e.data, "");
  }
}

TEST_F(DiffTest, RefusesRealFileNamedLikeAWhiteout) {
  TempDir d;
  make_file(d / ".wh.sneaky", "");
  Fd out = testing::make_memfd();
  auto r = write_layer_diff(d.open().get(), out.get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.error().message().find(".wh.sneaky"), std::string::npos) << r.error().message();
  // Nothing that could pass for a whole (empty) tar was written.
  EXPECT_EQ(testing::read_all(out.get()), "");
}

TEST_F(DiffTest, LocaleDoesNotChangeTheBytes) {
  TempDir d;
  make_file(d / "caf\xc3\xa9", "utf-8 name");
  make_file(d / "raw\xfe", "binary name");
  TarResult in_c, in_utf8;
  layer(d, &in_c);
  locale_t utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", locale_t{});
  if (utf8 == locale_t{}) GTEST_SKIP() << "no C.UTF-8 locale";
  locale_t old = uselocale(utf8);
  auto entries = layer(d, &in_utf8);
  uselocale(old);
  freelocale(utf8);
  EXPECT_EQ(in_c.diff_id, in_utf8.diff_id);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].path, "caf\xc3\xa9");
  EXPECT_EQ(entries[1].path, "raw\xfe");
}

// Builds the same small tree at `root`, in an order given by `reverse`.
void build_fixture(const std::string& root, bool reverse) {
  auto files = [&] {
    make_file(root + "/d/one", "1", 0600);
    make_file(root + "/d/two", std::string(5000, 't'), 0755);
  };
  make_dir(root + "/d");
  if (reverse) {
    make_file(root + "/d/two", std::string(5000, 't'), 0755);
    make_file(root + "/d/one", "1", 0600);
  } else {
    files();
  }
  ASSERT_EQ(link((root + "/d/one").c_str(), (root + "/hl").c_str()), 0);
  set_xattr(root + "/d/one", "user.b", "2");
  set_xattr(root + "/d/one", "user.a", "1");
  make_symlink("d/one", root + "/sym");
  make_whiteout(root + "/wh");
  make_dir(root + "/o");
  make_opaque(root + "/o");
  for (const char* p : {"d/one", "d/two", "d", "o", "wh"}) {
    set_mtime(root + "/" + p, 1650000000, 5000);
  }
  set_mtime(root + "/sym", 1650000001, 0);
}

TEST_F(DiffTest, SameTreeGivesSameBytes) {
  TempDir a;
  build_fixture(a.path(), false);
  TarResult first, second;
  layer(a, &first);
  // Reading the tree again (atimes move, the inode cache is warm) changes nothing.
  sleep(1);
  layer(a, &second);
  EXPECT_EQ(first.diff_id, second.diff_id);

  // A copy made in another order at another time: other inode numbers,
  // atimes and ctimes, the same content.
  TempDir b;
  build_fixture(b.path(), true);
  TarResult copy;
  layer(b, &copy);
  EXPECT_EQ(first.diff_id, copy.diff_id);
  EXPECT_EQ(first.size, copy.size);

  // And a real change changes the digest.
  set_mtime(b / "d/two", 1650000000, 5001);
  TarResult changed;
  layer(b, &changed);
  EXPECT_NE(first.diff_id, changed.diff_id);
}

TEST_F(DiffTest, ExportKeepsDevicesAndDropsOverlayMarkers) {
  TempDir d;
  make_whiteout(d / "zero");
  make_dir(d / "o");
  make_opaque(d / "o");
  make_file(d / ".wh.literal", "a real file in a container's root");
  Fd out = testing::make_memfd();
  auto r = write_tree_tar(d.open().get(), out.get());
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto entries = testing::read_tar(out.get());
  ASSERT_EQ(names(entries), (std::vector<std::string>{".wh.literal", "o/", "zero"}));
  EXPECT_EQ(find(entries, "zero").mode & S_IFMT, S_IFCHR);
  EXPECT_EQ(find(entries, "zero").rdev_major, 0u);
  EXPECT_TRUE(find(entries, "o/").xattrs.empty());
  EXPECT_EQ(find(entries, ".wh.literal").data, "a real file in a container's root");
}

// The whole path with the kernel making the upper directory: deletions,
// an rm -rf then mkdir (an opaque directory) and a copy-up.
TEST_F(DiffTest, RealOverlayfsUpper) {
  TempDir t;
  for (const char* dir : {"lower", "upper", "work", "merged", "lower/etc", "lower/var",
                          "lower/var/log"}) {
    make_dir(t / dir);
  }
  make_file(t / "lower/etc/hosts", "old");
  make_file(t / "lower/etc/passwd", "root:x:0:0");
  make_file(t / "lower/var/log/a", "log");
  std::string opts = fmt::format("lowerdir={},upperdir={},workdir={}", t / "lower", t / "upper",
                                 t / "work");
  if (mount("overlay", (t / "merged").c_str(), "overlay", 0, opts.c_str()) != 0) {
    GTEST_SKIP() << "cannot mount overlayfs here: " << strerror(errno);
  }
  // Unmounted before the scratch directory goes, whatever happens below.
  auto unmount = ScopeExit([&] { umount2((t / "merged").c_str(), MNT_DETACH); });
  std::string m = t / "merged";
  EXPECT_EQ(unlink((m + "/etc/passwd").c_str()), 0);
  make_file(m + "/etc/hosts", "new");
  std::filesystem::remove_all(m + "/var/log");
  make_dir(m + "/var/log");
  make_file(m + "/var/log/new", "fresh");
  // The upper is read once the overlay is gone, as a commit of a stopped
  // container does.
  ASSERT_EQ(umount2((t / "merged").c_str(), 0), 0) << strerror(errno);
  unmount.dismiss();

  auto entries = layer_at(t.open("upper"));
  EXPECT_EQ(names(entries),
            (std::vector<std::string>{"etc/", "etc/.wh.passwd", "etc/hosts", "var/", "var/log/",
                                      "var/log/.wh..wh..opq", "var/log/new"}));
  Fd lower = t.open("lower");
  auto r = list_changes(t.open("upper").get(), {lower.get()});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(show(*r),
            "C /etc\nC /etc/hosts\nD /etc/passwd\nC /var\nC /var/log\nD /var/log/a\n"
            "A /var/log/new\n");
}

// list_changes ---------------------------------------------------------------

class ChangesTest : public DiffTest {};

TEST_F(ChangesTest, ReportsAddedModifiedDeletedLikeDockerDiff) {
  TempDir base;  // the image's first layer
  for (const char* dir : {"etc", "usr", "usr/bin", "var", "var/log", "opt", "opt/sub", "srv"}) {
    make_dir(base / dir);
  }
  for (const char* f : {"etc/hosts", "etc/passwd", "usr/bin/ls", "var/log/a", "var/log/b",
                        "opt/x", "opt/sub/y", "srv/old"}) {
    make_file(base / f, "base");
  }
  make_dir(base / "var/log/sub");
  make_symlink("etc", base / "link");

  TempDir top;  // a later layer: adds, deletes and hides
  make_dir(top / "etc");
  make_file(top / "etc/newconf", "top");
  make_dir(top / "usr");
  make_dir(top / "usr/bin");
  make_whiteout(top / "usr/bin/ls");
  make_dir(top / "srv");
  make_opaque(top / "srv");
  make_dir(top / "var");
  make_dir(top / "var/log");
  make_whiteout(top / "var/log/b");
  make_file(top / "var/log/t", "top");

  TempDir up;  // the container's writes
  make_dir(up / "etc");
  make_file(up / "etc/hosts", "changed");
  make_whiteout(up / "etc/passwd");
  make_file(up / "etc/newconf", "changed");
  make_dir(up / "tmp");
  make_file(up / "tmp/f", "new");
  make_dir(up / "usr");
  make_dir(up / "usr/bin");
  make_file(up / "usr/bin/ls", "recreated over a lower whiteout");
  make_dir(up / "var");
  make_dir(up / "var/log");
  make_opaque(up / "var/log");
  make_file(up / "var/log/a", "kept through the opaque dir");
  make_file(up / "var/log/c", "new");
  make_whiteout(up / "never-existed");
  make_whiteout(up / "opt");  // rm -rf /opt: one whiteout, no entries below
  make_dir(up / "srv");
  make_whiteout(up / "srv/old");  // hidden by the top layer's opaque /srv already
  make_dir(up / "link");          // a directory where the lower has a symlink
  make_file(up / "link/hosts", "not /etc/hosts");

  Fd top_fd = top.open(), base_fd = base.open();
  auto r = list_changes(up.open().get(), {top_fd.get(), base_fd.get()});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(show(*r),
            "C /etc\n"
            "C /etc/hosts\n"
            "C /etc/newconf\n"
            "D /etc/passwd\n"
            "C /link\n"
            "A /link/hosts\n"
            "D /opt\n"
            "C /srv\n"
            "A /tmp\n"
            "A /tmp/f\n"
            "C /usr\n"
            "C /usr/bin\n"
            "A /usr/bin/ls\n"
            "C /var\n"
            "C /var/log\n"
            "C /var/log/a\n"
            "A /var/log/c\n"
            "D /var/log/sub\n"
            "D /var/log/t\n");
}

TEST_F(ChangesTest, NoLowersMeansEverythingIsAdded) {
  TempDir up;
  make_dir(up / "app");
  make_file(up / "app/main", "x");
  make_whiteout(up / "gone");
  auto r = list_changes(up.open().get(), {});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(show(*r), "A /app\nA /app/main\n");
  EXPECT_EQ(static_cast<int>(ChangeKind::Modified), 0);
  EXPECT_EQ(static_cast<int>(ChangeKind::Added), 1);
  EXPECT_EQ(static_cast<int>(ChangeKind::Deleted), 2);
}

}  // namespace
}  // namespace berth::image
