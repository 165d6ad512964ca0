// Property: for any overlay upper directory, diff then apply gives back the
// same tree, and diffing that tree again gives the same diff ID.
//
// Trees come from a seeded generator; a failure names its seed, and
// BERTH_DIFF_SEED=N reruns just that one.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "image/apply.h"
#include "image/diff.h"
#include "image/diff_test_util.h"

namespace berth::image {
namespace {

using namespace testing;  // NOLINT: the helpers of this test

class TreeGenerator {
 public:
  TreeGenerator(std::string root, uint64_t seed) : root_(std::move(root)), rng_(seed) {}

  void build() {
    dirs_.push_back("");
    int n_dirs = pick(2, 14);
    for (int i = 0; i < n_dirs; ++i) add_dir();
    int n_items = pick(10, 60);
    for (int i = 0; i < n_items; ++i) {
      int what = pick(0, 99);
      if (what < 45) add_file();
      else if (what < 57) add_symlink();
      else if (what < 67) add_hard_link();
      else if (what < 73) add_fifo();
      else if (what < 80) add_device();
      else if (what < 90) add_whiteout();
      else add_dir();
    }
    if (chance(10)) add_file(pick(1 << 20, 3 << 20));  // past 1 MiB
    // Directory times last, deepest first: creating a child moves its
    // parent's mtime.
    std::sort(times_.begin(), times_.end(), [](const auto& a, const auto& b) {
      return std::count(a.first.begin(), a.first.end(), '/') >
             std::count(b.first.begin(), b.first.end(), '/');
    });
    for (const auto& [path, t] : times_) set_mtime(root_ + "/" + path, t.first, t.second);
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return pick(0, 99) < percent; }

  std::string name_in(const std::string& dir) {
    static const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    for (;;) {
      std::string name;
      int len = chance(3) ? pick(100, 200) : pick(1, 12);
      for (int i = 0; i < len; ++i) name += alphabet[pick(0, static_cast<int>(alphabet.size()) - 1)];
      if (chance(5)) name += " with space";
      if (chance(4)) name += "\xc3\xa9";  // é in UTF-8
      if (chance(3)) name += "\xfe";      // not UTF-8 at all
      if (name == "." || name == ".." || name.starts_with(".wh.")) continue;
      std::string path = dir.empty() ? name : dir + "/" + name;
      if (used_.insert(path).second) return path;
    }
  }
  const std::string& any_dir() { return dirs_[pick(0, static_cast<int>(dirs_.size()) - 1)]; }
  std::string abs(const std::string& rel) const { return root_ + "/" + rel; }

  void owner(const std::string& rel) {
    static const uid_t ids[] = {0, 1, 33, 1000, 65534, 100000, 3000000};
    uid_t uid = chance(70) ? ids[pick(0, 6)] : static_cast<uid_t>(pick(0, 1 << 22));
    gid_t gid = chance(70) ? ids[pick(0, 6)] : static_cast<gid_t>(pick(0, 1 << 22));
    set_owner(abs(rel), uid, gid);
  }
  mode_t perms() {
    static const mode_t common[] = {0644, 0755, 0600, 0700, 0444, 0555, 04755, 02755, 01777, 0};
    return chance(60) ? common[pick(0, 9)] : static_cast<mode_t>(pick(0, 07777));
  }
  void mtime(const std::string& rel) {
    int64_t sec = chance(10) ? int64_t{1} << 32 : std::uniform_int_distribution<int64_t>(0, 4000000000)(rng_);
    long nsec = chance(50) ? 0 : pick(0, 999999999);
    times_.push_back({rel, {sec, nsec}});
  }
  void xattrs(const std::string& rel, bool file) {
    int n = chance(30) ? pick(1, 3) : 0;
    for (int i = 0; i < n; ++i) {
      std::string value;
      int len = pick(0, 64);
      for (int j = 0; j < len; ++j) value += static_cast<char>(pick(0, 255));
      set_xattr(abs(rel), "user.x" + std::to_string(pick(0, 9)), value);
    }
    if (file && chance(15)) {
      // VFS_CAP_REVISION_2: magic_etc, then {permitted, inheritable} for
      // the low and the high 32 capabilities, little-endian.
      std::string cap(20, '\0');
      uint32_t words[5] = {0x02000001, static_cast<uint32_t>(pick(0, 1 << 30)),
                           static_cast<uint32_t>(pick(0, 1 << 30)), static_cast<uint32_t>(pick(0, 3)), 0};
      if (chance(50)) words[0] |= 1;  // VFS_CAP_FLAGS_EFFECTIVE is bit 0 of magic_etc
      std::memcpy(cap.data(), words, sizeof(words));
      set_xattr(abs(rel), "security.capability", cap);
    }
  }

  void add_dir() {
    std::string rel = name_in(any_dir());
    make_dir(abs(rel), 0700);
    owner(rel);
    set_mode(abs(rel), perms() | (chance(20) ? 01000 : 0));
    xattrs(rel, false);
    if (chance(15)) make_opaque(abs(rel));
    mtime(rel);
    dirs_.push_back(rel);
  }

  void add_file(int size = -1) {
    std::string rel = name_in(any_dir());
    if (size < 0) size = chance(20) ? 0 : chance(80) ? pick(1, 4096) : pick(4097, 200000);
    std::string content(static_cast<size_t>(size), '\0');
    for (auto& c : content) c = static_cast<char>(rng_());
    make_file(abs(rel), content, 0600);
    owner(rel);
    set_mode(abs(rel), perms());
    xattrs(rel, true);  // after chown, which clears security.capability
    mtime(rel);
    files_.push_back(rel);
  }

  void add_symlink() {
    std::string rel = name_in(any_dir());
    std::string target;
    switch (pick(0, 3)) {
      case 0: target = files_.empty() ? "nowhere" : "/" + files_[pick(0, static_cast<int>(files_.size()) - 1)]; break;
      case 1: target = "../../dangling/" + std::to_string(pick(0, 999)); break;
      case 2: target = "/etc/passwd"; break;
      default: target = std::string(static_cast<size_t>(pick(1, 300)), 't'); break;
    }
    make_symlink(target, abs(rel));
    owner(rel);
    mtime(rel);
  }

  void add_hard_link() {
    if (files_.empty()) return add_file();
    std::string to = files_[pick(0, static_cast<int>(files_.size()) - 1)];
    std::string rel = name_in(any_dir());
    ASSERT_EQ(link(abs(to).c_str(), abs(rel).c_str()), 0) << rel;
    // The link shares the inode: whatever time it ends up with is set once.
  }

  void add_fifo() {
    std::string rel = name_in(any_dir());
    make_node(abs(rel), S_IFIFO | 0600, 0);
    owner(rel);
    set_mode(abs(rel), perms());
    mtime(rel);
    files_.push_back(rel);  // fifos can be hard-linked too
  }

  void add_device() {
    std::string rel = name_in(any_dir());
    mode_t type = chance(70) ? S_IFCHR : S_IFBLK;
    dev_t dev = makedev(static_cast<unsigned>(pick(1, 300)), static_cast<unsigned>(pick(0, 70000)));
    make_node(abs(rel), type | 0600, dev);
    owner(rel);
    set_mode(abs(rel), perms());
    mtime(rel);
  }

  void add_whiteout() {
    std::string rel = name_in(any_dir());
    if (!whiteouts_.empty() && chance(50)) {
      // As overlayfs does since 5.8: one whiteout inode, many names.
      ASSERT_EQ(link(abs(whiteouts_[0]).c_str(), abs(rel).c_str()), 0);
    } else {
      make_whiteout(abs(rel));
    }
    whiteouts_.push_back(rel);
  }

  std::string root_;
  std::mt19937_64 rng_;
  std::vector<std::string> dirs_, files_, whiteouts_;
  std::set<std::string> used_;
  std::vector<std::pair<std::string, std::pair<int64_t, long>>> times_;
};

class DiffRoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (owners, devices, trusted.* xattrs)";
  }
};

// Diffs `dir` into a memfd, rewound for reading.
Result<TarResult> diff_into(const TempDir& dir, Fd& out) {
  out = make_memfd();
  auto r = write_layer_diff(dir.open().get(), out.get());
  if (r.ok()) lseek(out.get(), 0, SEEK_SET);
  return r;
}

// What the generated trees held, summed over the seeds: a property test
// that never made a whiteout would pass without testing whiteouts.
struct Coverage {
  std::map<std::string, int> seen;
  void count(const Snapshot& snap) {
    for (const auto& [path, n] : snap.nodes) {
      mode_t type = n.mode & S_IFMT;
      if (type == S_IFREG) ++seen[n.size == 0 ? "empty file" : "file"];
      if (type == S_IFREG && n.size > (1 << 20)) ++seen["file over 1 MiB"];
      if (type == S_IFDIR) ++seen["directory"];
      if (type == S_IFLNK) ++seen[n.symlink.starts_with("/") ? "absolute symlink" : "relative symlink"];
      if (type == S_IFIFO) ++seen["fifo"];
      if (type == S_IFBLK) ++seen["block device"];
      if (type == S_IFCHR) ++seen[n.rdev == 0 ? "whiteout" : "char device"];
      if (n.mode & S_ISUID) ++seen["setuid"];
      if (n.mode & S_ISGID) ++seen["setgid"];
      if (n.mode & S_ISVTX) ++seen["sticky"];
      if (n.mtime_nsec != 0) ++seen["mtime with nanoseconds"];
      if (n.uid > 2097151) ++seen["uid past ustar's 7 octal digits"];
      if (path.size() > 100) ++seen["path past 100 bytes"];
      if (path.find('\xfe') != std::string::npos) ++seen["name not UTF-8"];
      for (const auto& [k, v] : n.xattrs) {
        ++seen[k.starts_with("user.") ? "user xattr" : k];
      }
    }
    if (!snap.link_groups.empty()) ++seen["hard link group"];
  }
};

void round_trip(uint64_t seed, Coverage* coverage = nullptr) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed << " (rerun: BERTH_DIFF_SEED=" << seed << ")");
  TempDir src;
  TreeGenerator(src.path(), seed).build();
  if (::testing::Test::HasFatalFailure()) return;
  Snapshot want = snapshot(src.path());
  if (coverage) coverage->count(want);

  Fd tar;
  auto d1 = diff_into(src, tar);
  ASSERT_TRUE(d1.ok()) << d1.error().message();

  TempDir dst;
  auto applied = apply_layer(dst.open().get(), tar.get());
  ASSERT_TRUE(applied.ok()) << applied.error().message();
  EXPECT_EQ(applied->diff_id, d1->diff_id);
  EXPECT_EQ(applied->tar_size, d1->size);

  Snapshot got = snapshot(dst.path());
  EXPECT_EQ(compare(want, got, /*symlink_mtime=*/true), "");

  Fd tar2;
  auto d2 = diff_into(dst, tar2);
  ASSERT_TRUE(d2.ok()) << d2.error().message();
  EXPECT_EQ(d2->diff_id, d1->diff_id) << "diff of the applied tree is not a fixed point";
}

TEST_F(DiffRoundTrip, RandomTreesSurviveDiffAndApply) {
  if (const char* s = getenv("BERTH_DIFF_SEED")) return round_trip(std::strtoull(s, nullptr, 10));
  Coverage coverage;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    round_trip(seed, &coverage);
    if (HasFailure()) return;  // one seed's report is enough to read
  }
  for (const char* want :
       {"file", "empty file", "file over 1 MiB", "directory", "absolute symlink", "relative symlink",
        "fifo", "block device", "char device", "whiteout", "setuid", "setgid", "sticky",
        "mtime with nanoseconds", "uid past ustar's 7 octal digits", "path past 100 bytes",
        "name not UTF-8", "user xattr", "security.capability", "trusted.overlay.opaque",
        "hard link group"}) {
    EXPECT_GT(coverage.seen[want], 0) << "no tree had: " << want;
  }
}

// The comparison the property rests on sees each kind of difference.
TEST_F(DiffRoundTrip, ComparisonNoticesChanges) {
  TempDir a, b;
  for (const TempDir* d : {&a, &b}) {
    make_file(*d / "f", "same");
    set_mtime(*d / "f", 100, 5);
    make_file(*d / "g", "same");
    make_symlink("t", *d / "l");
    // Fixed times: two trees made a tick apart must compare equal.
    set_mtime(*d / "g", 200, 0);
    set_mtime(*d / "l", 300, 0);
  }
  EXPECT_EQ(compare(snapshot(a.path()), snapshot(b.path()), true), "");
  auto differs = [&](auto&& change) {
    TempDir c;
    make_file(c / "f", "same");
    set_mtime(c / "f", 100, 5);
    make_file(c / "g", "same");
    make_symlink("t", c / "l");
    set_mtime(c / "g", 200, 0);
    set_mtime(c / "l", 300, 0);
    change(c);
    return compare(snapshot(a.path()), snapshot(c.path()), true) != "";
  };
  EXPECT_TRUE(differs([](TempDir& c) { set_mtime(c / "f", 100, 6); }));
  EXPECT_TRUE(differs([](TempDir& c) { set_mode(c / "f", 0600); }));
  EXPECT_TRUE(differs([](TempDir& c) { set_owner(c / "g", 1, 0); }));
  EXPECT_TRUE(differs([](TempDir& c) { make_file(c / "g", "diff"); }));
  EXPECT_TRUE(differs([](TempDir& c) { set_xattr(c / "g", "user.a", ""); }));
  EXPECT_TRUE(differs([](TempDir& c) { make_opaque(c / "g"); }));
  EXPECT_TRUE(differs([](TempDir& c) { ASSERT_EQ(link((c / "g").c_str(), (c / "h").c_str()), 0); }));
  EXPECT_TRUE(differs([](TempDir& c) {
    ASSERT_EQ(unlink((c / "l").c_str()), 0);
    make_symlink("u", c / "l");
    set_mtime(c / "l", 300, 0);
  }));
}

// Not a benchmark (no timing is asserted): it checks that a tree of 10,000
// files goes through, and prints how long the diff took.
TEST_F(DiffRoundTrip, TenThousandFiles) {
  TempDir src;
  for (int d = 0; d < 100; ++d) {
    std::string dir = src / ("dir" + std::to_string(d));
    make_dir(dir);
    for (int f = 0; f < 100; ++f) {
      make_file(dir + "/file" + std::to_string(f), std::string(static_cast<size_t>(f * 40), 'x'));
    }
  }
  Fd tar;
  auto start = std::chrono::steady_clock::now();
  auto d = diff_into(src, tar);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(d.ok()) << d.error().message();
  std::printf("diff of 10,100 entries (%.1f MiB tar): %.1f ms\n", d->size / 1048576.0, ms);
  RecordProperty("diff_ms", static_cast<int>(ms));
  EXPECT_EQ(read_tar(tar.get()).size(), 10100u);
}

}  // namespace
}  // namespace berth::image
