#include "runtime/safe_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;

class SafePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-safepath-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = fs::canonical(tmpl).string();
    root_ = base_ + "/root";
    outside_ = base_ + "/outside";
    fs::create_directories(root_);
    fs::create_directories(outside_);
    root_fd_ = Fd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_);
  }
  void TearDown() override { fs::remove_all(base_); }

  // Where an O_PATH descriptor points, relative to the root.
  std::string where(const Fd& fd) {
    std::string p = fs::read_symlink("/proc/self/fd/" + std::to_string(fd.get())).string();
    if (p == root_) return "/";
    if (p.rfind(root_ + "/", 0) == 0) return p.substr(root_.size());
    return "OUTSIDE:" + p;
  }

  std::string base_, root_, outside_;
  Fd root_fd_;
};

TEST(CleanPath, Table) {
  EXPECT_EQ(clean_path("/"), "/");
  EXPECT_EQ(clean_path(""), "/");
  EXPECT_EQ(clean_path("//a/./b/"), "/a/b");
  EXPECT_EQ(clean_path("a/b"), "/a/b");
  EXPECT_EQ(clean_path("/a/../b"), "/a/../b");
}

TEST_F(SafePathTest, CreatesDirectoriesAndFile) {
  auto d = create_in_root(root_fd_.get(), "/a/b/c", CreateLast::Dir);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(where(*d), "/a/b/c");
  EXPECT_TRUE(fs::is_directory(root_ + "/a/b/c"));

  auto f = create_in_root(root_fd_.get(), "/etc/hosts", CreateLast::File);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_TRUE(fs::is_regular_file(root_ + "/etc/hosts"));
  EXPECT_EQ(where(*f), "/etc/hosts");
}

TEST_F(SafePathTest, AbsoluteSymlinkStaysInside) {
  fs::create_directories(outside_ + "/etc");
  fs::create_directory_symlink("/../../" + outside_.substr(1) + "/etc", root_ + "/evil");
  auto d = create_in_root(root_fd_.get(), "/evil/x", CreateLast::Dir);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(where(*d), outside_ + "/etc/x");
  EXPECT_FALSE(fs::exists(outside_ + "/etc/x"));
  EXPECT_TRUE(fs::is_directory(root_ + outside_ + "/etc/x"));
}

TEST_F(SafePathTest, RelativeSymlinkCannotClimb) {
  fs::create_directories(root_ + "/a");
  fs::create_directory_symlink("../../../../../../outside", root_ + "/a/up");
  auto d = create_in_root(root_fd_.get(), "/a/up/file", CreateLast::File);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(where(*d), "/outside/file");
  EXPECT_FALSE(fs::exists(outside_ + "/file"));
}

TEST_F(SafePathTest, DotDotInPathStaysInside) {
  auto d = create_in_root(root_fd_.get(), "/../../../x", CreateLast::Dir);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(where(*d), "/x");
}

TEST_F(SafePathTest, ResolveFollowsInsideAndReportsMissing) {
  fs::create_directories(root_ + "/real");
  fs::create_directory_symlink("/real", root_ + "/link");
  auto r = resolve_in_root(root_fd_.get(), "/link");
  ASSERT_TRUE(r);
  EXPECT_EQ(where(*r), "/real");
  auto missing = resolve_in_root(root_fd_.get(), "/nope/x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sys_errno(), ENOENT);
}

TEST_F(SafePathTest, FileInTheMiddleIsNotADirectory) {
  { std::FILE* f = std::fopen((root_ + "/file").c_str(), "w"); std::fclose(f); }
  auto r = create_in_root(root_fd_.get(), "/file/x", CreateLast::Dir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno(), ENOTDIR);
}

TEST_F(SafePathTest, SymlinkLoop) {
  fs::create_symlink("/b", root_ + "/a");
  fs::create_symlink("/a", root_ + "/b");
  auto r = create_in_root(root_fd_.get(), "/a/x", CreateLast::Dir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno(), ELOOP);
}

TEST_F(SafePathTest, ParentOfPath) {
  std::string name;
  auto p = open_parent_in_root(root_fd_.get(), "/dev/null", &name);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(name, "null");
  EXPECT_EQ(where(*p), "/dev");
}

}  // namespace
}  // namespace berth::runtime
