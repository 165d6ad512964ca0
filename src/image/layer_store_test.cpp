// LayerStore as root on a real file system: unpack, commit, remove,
// reconcile, and overlay mounts of many layers through both mount APIs.
#include "image/layer_store.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/file.h"
#include "base/scope_exit.h"
#include "image/store_test_util.h"

namespace berth::image {
namespace {

using namespace store_testing;  // NOLINT(google-build-using-namespace)

// Linux 6.8 brought fsconfig("lowerdir+"); where the kernel is at least that
// new, Berth must find and use it.
bool kernel_at_least(int major, int minor) {
  utsname u{};
  if (uname(&u) != 0) return false;
  int ma = 0, mi = 0;
  if (sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

// Whether anything is mounted at or below `path` (from mountinfo).
bool mounted_under(const std::string& path) {
  std::string info = read_path("/proc/self/mountinfo");
  size_t pos = 0;
  while ((pos = info.find(" " + path, pos)) != std::string::npos) {
    size_t end = pos + 1 + path.size();
    if (end < info.size() && (info[end] == ' ' || info[end] == '/')) return true;
    pos = end;
  }
  return false;
}

class LayerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_SKIP_UNLESS_ROOT();
    auto r = LayerStore::open(dir_.sub("layers"));
    ASSERT_TRUE(r.ok()) << r.error().message();
    ls_ = std::move(*r);
  }
  void TearDown() override { EXPECT_FALSE(mounted_under(dir_.path())) << "a mount leaked"; }

  // Unpack `tar` (through a file, as blobs come from the content store)
  // and commit it on top of `parent`; returns the chain ID.
  std::string add_layer(const std::string& parent, const std::string& tar) {
    Fd blob = file_with(dir_.sub("blob-" + std::to_string(blobs_++)), tar);
    auto p = ls_->begin();
    EXPECT_TRUE(p.ok()) << p.error().message();
    if (!p) return "";
    auto st = p->apply(blob.get());
    EXPECT_TRUE(st.ok()) << st.error().message();
    if (!st) return "";
    EXPECT_EQ(st->diff_id, sha256_digest(tar));
    std::string chain = chain_id(parent, st->diff_id);
    EXPECT_TRUE(ls_->sync().ok());
    auto c = p->commit(chain);
    EXPECT_TRUE(c.ok()) << c.error().message();
    return chain;
  }
  std::set<std::string> tmp_names() const { return dir_names(dir_.sub("layers/tmp")); }
  std::set<std::string> link_names() const { return dir_names(dir_.sub("layers/l")); }

  TempDir dir_;
  std::unique_ptr<LayerStore> ls_;
  int blobs_ = 0;
};

TEST_F(LayerStoreTest, BeginApplyCommit) {
  std::string tar = make_tar({tar_dir("etc/"), tar_file("etc/hostname", "box\n"),
                              tar_file("bin/tool", "#!/bin/sh\n", 0755), tar_symlink("sbin", "bin")});
  Fd blob = file_with(dir_.sub("layer.tar"), tar);
  auto p = ls_->begin();
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(tmp_names().size(), 1u);
  EXPECT_GE(p->dir_fd(), 0);
  auto st = p->apply(blob.get());
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->diff_id, sha256_digest(tar));
  EXPECT_EQ(st->tar_size, tar.size());
  EXPECT_EQ(st->entries, 4u);
  std::string chain = chain_id("", st->diff_id);
  EXPECT_EQ(chain, st->diff_id);  // the base layer's chain ID is its diff ID
  EXPECT_FALSE(ls_->has(chain));
  ASSERT_TRUE(ls_->sync().ok());
  auto c = p->commit(chain);
  ASSERT_TRUE(c.ok()) << c.error().message();

  EXPECT_TRUE(ls_->has(chain));
  EXPECT_TRUE(tmp_names().empty());
  std::string diff = ls_->diff_path(chain);
  EXPECT_EQ(diff, dir_.sub("layers/" + std::string(digest_hex(chain)) + "/diff"));
  EXPECT_EQ(read_path(diff + "/etc/hostname"), "box\n");
  struct stat sb;
  ASSERT_EQ(::lstat((diff + "/bin/tool").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0755u);
  ASSERT_EQ(::lstat((diff + "/sbin").c_str(), &sb), 0);
  EXPECT_TRUE(S_ISLNK(sb.st_mode));
  auto list = ls_->list();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, std::vector<std::string>{chain});

  // The short link names the layer's diff directory.
  std::string link = read_path(dir_.sub("layers/" + std::string(digest_hex(chain)) + "/link"));
  EXPECT_EQ(link.size(), 10u);
  EXPECT_EQ(link_names(), std::set<std::string>{link});
  EXPECT_EQ(read_path(dir_.sub("layers/l/" + link + "/etc/hostname")), "box\n");

  // A reopened store sees the same layers.
  ls_.reset();
  auto again = LayerStore::open(dir_.sub("layers"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->has(chain));
}

TEST_F(LayerStoreTest, PendingLayerWithoutCommitLeavesNothing) {
  {
    auto p = ls_->begin();
    ASSERT_TRUE(p.ok());
    Fd blob = file_with(dir_.sub("l.tar"), layer_tar({{"a", "1"}}));
    ASSERT_TRUE(p->apply(blob.get()).ok());
    EXPECT_EQ(tmp_names().size(), 1u);
  }
  EXPECT_TRUE(tmp_names().empty());
  EXPECT_TRUE(ls_->list().value().empty());
  // A failed apply, too.
  {
    auto p = ls_->begin();
    ASSERT_TRUE(p.ok());
    Fd blob = file_with(dir_.sub("bad.tar"), make_tar({tar_file("../escape", "x")}));
    EXPECT_FALSE(p->apply(blob.get()).ok());
  }
  EXPECT_TRUE(tmp_names().empty());
  EXPECT_FALSE(path_exists(dir_.sub("layers/escape")));
}

TEST_F(LayerStoreTest, DuplicateCommitOfTheSameChainKeepsOne) {
  std::string tar = layer_tar({{"shared", "same bytes"}});
  std::string chain = chain_id("", sha256_digest(tar));
  auto first = ls_->begin();
  auto second = ls_->begin();
  ASSERT_TRUE(first.ok() && second.ok());
  Fd b1 = file_with(dir_.sub("1.tar"), tar);
  Fd b2 = file_with(dir_.sub("2.tar"), tar);
  ASSERT_TRUE(first->apply(b1.get()).ok());
  ASSERT_TRUE(second->apply(b2.get()).ok());
  ASSERT_TRUE(ls_->sync().ok());
  ASSERT_TRUE(first->commit(chain).ok());
  auto r = second->commit(chain);
  EXPECT_TRUE(r.ok()) << r.error().message();
  { auto drop = std::move(*second); }
  EXPECT_EQ(ls_->list().value(), std::vector<std::string>{chain});
  EXPECT_TRUE(tmp_names().empty());
  EXPECT_EQ(link_names().size(), 1u);
  EXPECT_EQ(read_path(ls_->diff_path(chain) + "/shared"), "same bytes");
}

TEST_F(LayerStoreTest, CommitRefusesABadChainId) {
  auto p = ls_->begin();
  ASSERT_TRUE(p.ok());
  for (const char* bad : {"sha256:../../x", "", "sha256:ABC", "latest"}) {
    auto r = p->commit(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument) << bad;
  }
  EXPECT_FALSE(path_exists(dir_.sub("x")));
  EXPECT_TRUE(link_names().empty());
  EXPECT_FALSE(ls_->has("sha256:../../x"));
}

TEST_F(LayerStoreTest, Remove) {
  std::string a = add_layer("", layer_tar({{"a", "1"}}));
  std::string b = add_layer(a, layer_tar({{"b", "2"}}));
  ASSERT_EQ(link_names().size(), 2u);
  ASSERT_TRUE(ls_->remove(a).ok());
  EXPECT_FALSE(ls_->has(a));
  EXPECT_TRUE(ls_->has(b));
  EXPECT_EQ(ls_->list().value(), std::vector<std::string>{b});
  EXPECT_EQ(link_names().size(), 1u);
  EXPECT_TRUE(tmp_names().empty());
  EXPECT_TRUE(ls_->remove(a).ok());  // already gone
  EXPECT_EQ(ls_->remove("sha256:../../layers").error().code(), ErrorCode::InvalidArgument);
}

TEST_F(LayerStoreTest, ReconcileRemovesLeftoversAndUnkeptLayers) {
  std::string a = add_layer("", layer_tar({{"a", "1"}}));
  std::string b = add_layer(a, layer_tar({{"b", "2"}}));
  std::string c = add_layer(b, layer_tar({{"c", "3"}}));
  // What a crash leaves: a half-unpacked layer, a half-removed one, and a
  // short link whose layer never arrived.
  ASSERT_TRUE(mkdir_all(dir_.sub("layers/tmp/HALFUNPACKED/diff/usr/bin")).ok());
  ASSERT_TRUE(write_file(dir_.sub("layers/tmp/HALFUNPACKED/diff/usr/bin/x"), "partial").ok());
  ASSERT_TRUE(mkdir_all(dir_.sub("layers/tmp/rm-HALFREMOVED/diff")).ok());
  std::string ghost = std::string(64, 'e');
  ASSERT_EQ(::symlink(("../" + ghost + "/diff").c_str(), dir_.sub("layers/l/GHOSTLINK0").c_str()), 0);
  // Something in the store that is not a layer is left alone.
  ASSERT_TRUE(mkdir_all(dir_.sub("layers/not-a-layer")).ok());

  auto r = ls_->reconcile({a, c});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, 1u);
  EXPECT_EQ(ls_->list().value(), (std::vector<std::string>{std::min(a, c), std::max(a, c)}));
  EXPECT_FALSE(ls_->has(b));
  EXPECT_TRUE(tmp_names().empty());
  EXPECT_EQ(link_names().size(), 2u);
  EXPECT_EQ(link_names().count("GHOSTLINK0"), 0u);
  EXPECT_EQ(read_path(ls_->diff_path(c) + "/c"), "3");
  EXPECT_TRUE(path_exists(dir_.sub("layers/not-a-layer")));

  r = ls_->reconcile({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 2u);
  EXPECT_TRUE(ls_->list().value().empty());
  EXPECT_TRUE(link_names().empty());
}

// --- mounts ---------------------------------------------------------------

class LayerMountTest : public LayerStoreTest {
 protected:
  void SetUp() override {
    LayerStoreTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(mkdir_all(target()).ok());
  }
  std::string target() const { return dir_.sub("rootfs"); }
  std::string upper() const { return dir_.sub("upper"); }
  std::string work() const { return dir_.sub("work"); }

  // 120 layers: layer N adds /fN and rewrites /common. Layer 0 also brings
  // /doomed and /dir/a; layer 50 whites out /doomed; layer 70 makes /dir
  // opaque and adds /dir/b. Returns the chain IDs base first.
  std::vector<std::string> build_stack() {
    std::vector<std::string> chains;
    std::string parent;
    for (int n = 0; n < 120; n++) {
      std::map<std::string, std::string> files = {{"f" + std::to_string(n), std::to_string(n)},
                                                  {"common", "layer " + std::to_string(n)}};
      if (n == 0) {
        files["doomed"] = "lower file";
        files["dir/a"] = "a";
      }
      if (n == 50) files[".wh.doomed"] = "";
      if (n == 70) {
        files["dir/.wh..wh..opq"] = "";
        files["dir/b"] = "b";
      }
      parent = add_layer(parent, layer_tar(files));
      chains.push_back(parent);
    }
    return chains;
  }

  // The default path uses lowerdir+ wherever the kernel has it.
  void skip_without_lowerdir_plus() {
    if (kernel_at_least(6, 8)) {
      EXPECT_TRUE(lowerdir_plus_supported()) << "kernel >= 6.8 but lowerdir+ not detected";
    } else if (!lowerdir_plus_supported()) {
      GTEST_SKIP() << "this kernel has no overlay lowerdir+";
    }
  }
};

class ManyLayersMountTest : public LayerMountTest, public ::testing::WithParamInterface<bool> {};

TEST_P(ManyLayersMountTest, HundredTwentyLayers) {
  bool legacy = GetParam();
  if (!legacy) skip_without_lowerdir_plus();
  if (IsSkipped()) return;
  std::vector<std::string> chains = build_stack();
  std::vector<std::string> top_first(chains.rbegin(), chains.rend());
  ASSERT_EQ(ls_->list().value().size(), 120u);

  auto unmount = ScopeExit([&] { ::umount2(target().c_str(), MNT_DETACH); });
  MountOptions opts;
  opts.force_legacy = legacy;
  auto m = ls_->mount(top_first, upper(), work(), target(), opts);
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_TRUE(mounted_under(target()));

  for (int n = 0; n < 120; n++)
    ASSERT_EQ(read_path(target() + "/f" + std::to_string(n)), std::to_string(n)) << n;
  EXPECT_EQ(read_path(target() + "/common"), "layer 119");
  // The whiteout in layer 50 hides layer 0's file; the opaque directory of
  // layer 70 hides what was below it.
  EXPECT_FALSE(path_exists(target() + "/doomed"));
  EXPECT_EQ(dir_names(target() + "/dir"), std::set<std::string>{"b"});
  // No whiteout or opaque marker shows through.
  for (const auto& n : dir_names(target())) EXPECT_EQ(n.rfind(".wh.", 0), std::string::npos) << n;

  // Writes go to the upper directory; the layers stay as they were.
  ASSERT_TRUE(write_file(target() + "/new", "written in the container").ok());
  ASSERT_TRUE(write_file(target() + "/common", "changed").ok());
  ASSERT_EQ(::unlink((target() + "/f3").c_str()), 0);
  EXPECT_EQ(read_path(upper() + "/new"), "written in the container");
  EXPECT_EQ(read_path(upper() + "/common"), "changed");
  EXPECT_EQ(read_path(ls_->diff_path(top_first[0]) + "/common"), "layer 119");
  EXPECT_EQ(read_path(ls_->diff_path(chains[3]) + "/f3"), "3");
  struct stat st;
  ASSERT_EQ(::lstat((upper() + "/f3").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) << "deletion is a whiteout";
  EXPECT_FALSE(path_exists(target() + "/f3"));

  ASSERT_EQ(::umount2(target().c_str(), 0), 0) << errno;
  unmount.dismiss();
  EXPECT_FALSE(mounted_under(target()));
  EXPECT_TRUE(dir_names(target()).empty());
}

INSTANTIATE_TEST_SUITE_P(Api, ManyLayersMountTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Legacy" : "LowerdirPlus"; });

class MountVariantTest : public LayerMountTest, public ::testing::WithParamInterface<bool> {
 protected:
  MountOptions options(bool read_only = false) {
    MountOptions o;
    o.force_legacy = GetParam();
    o.read_only = read_only;
    return o;
  }
  void SetUp() override {
    LayerMountTest::SetUp();
    if (IsSkipped()) return;
    if (!GetParam()) skip_without_lowerdir_plus();
  }
};

TEST_P(MountVariantTest, ReadOnly) {
  std::string a = add_layer("", layer_tar({{"etc/os-release", "ID=test\n"}, {"base", "0"}}));
  std::string b = add_layer(a, layer_tar({{"app", "1"}}));
  auto unmount = ScopeExit([&] { ::umount2(target().c_str(), MNT_DETACH); });
  auto m = ls_->mount({b, a}, upper(), work(), target(), options(/*read_only=*/true));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(read_path(target() + "/etc/os-release"), "ID=test\n");
  EXPECT_EQ(read_path(target() + "/app"), "1");
  int fd = ::open((target() + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  int err = errno;
  if (fd >= 0) ::close(fd);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(err, EROFS);
  // A read-only view needs no upper: none was made.
  EXPECT_FALSE(path_exists(upper()));
}

TEST_P(MountVariantTest, SingleLayerReadOnly) {
  std::string a = add_layer("", layer_tar({{"only", "1"}}));
  auto unmount = ScopeExit([&] { ::umount2(target().c_str(), MNT_DETACH); });
  auto m = ls_->mount({a}, "", "", target(), options(/*read_only=*/true));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(read_path(target() + "/only"), "1");
}

TEST_P(MountVariantTest, EmptyImage) {
  auto unmount = ScopeExit([&] { ::umount2(target().c_str(), MNT_DETACH); });
  auto m = ls_->mount({}, upper(), work(), target(), options());
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_TRUE(dir_names(target()).empty());
  ASSERT_TRUE(write_file(target() + "/hello", "from scratch").ok());
  EXPECT_EQ(read_path(upper() + "/hello"), "from scratch");
  ASSERT_EQ(::umount2(target().c_str(), 0), 0);
  unmount.dismiss();

  // Read-only, too; the shared empty lower is still empty.
  auto ro = ScopeExit([&] { ::umount2(target().c_str(), MNT_DETACH); });
  m = ls_->mount({}, "", "", target(), options(/*read_only=*/true));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_TRUE(dir_names(target()).empty());
}

TEST_P(MountVariantTest, MissingLayerIsNotFound) {
  std::string a = add_layer("", layer_tar({{"a", "1"}}));
  std::string missing = chain_id(a, sha256_digest("never unpacked"));
  auto unmount = ScopeExit([&] { ::umount2(target().c_str(), MNT_DETACH); });
  auto m = ls_->mount({missing, a}, upper(), work(), target(), options());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), ErrorCode::NotFound);
  EXPECT_FALSE(mounted_under(target()));
}

INSTANTIATE_TEST_SUITE_P(Api, MountVariantTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Legacy" : "LowerdirPlus"; });

}  // namespace
}  // namespace berth::image
