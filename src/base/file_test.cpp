#include "base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace berth {
namespace {

class MkdirAll : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-mkdir-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  bool is_dir(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  std::string root_;
};

TEST_F(MkdirAll, MakesEveryMissingParent) {
  ASSERT_TRUE(mkdir_all(root_ + "/a/b/c", 0700).ok());
  EXPECT_TRUE(is_dir(root_ + "/a/b/c"));
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(MkdirAll, ExistingDirectoriesAndOddSlashesAreFine) {
  ASSERT_TRUE(mkdir_all(root_ + "/x", 0755).ok());
  EXPECT_TRUE(mkdir_all(root_ + "/x", 0755).ok());
  EXPECT_TRUE(mkdir_all(root_ + "//x//y///", 0755).ok());
  EXPECT_TRUE(is_dir(root_ + "/x/y"));
  EXPECT_TRUE(mkdir_all("/", 0755).ok());
  EXPECT_TRUE(mkdir_all("", 0755).ok());
}

TEST_F(MkdirAll, AFileInTheWayIsAnError) {
  ASSERT_TRUE(write_file(root_ + "/f", "x", 0600).ok());
  auto r = mkdir_all(root_ + "/f", 0755);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("/f"), std::string::npos);
  EXPECT_FALSE(mkdir_all(root_ + "/f/below", 0755).ok());
}

TEST_F(MkdirAll, RelativePaths) {
  std::string old = std::filesystem::current_path();
  ASSERT_EQ(::chdir(root_.c_str()), 0);
  EXPECT_TRUE(mkdir_all("rel/one", 0755).ok());
  EXPECT_TRUE(mkdir_all("rel/one", 0755).ok());
  ASSERT_EQ(::chdir(old.c_str()), 0);
  EXPECT_TRUE(is_dir(root_ + "/rel/one"));
}

}  // namespace

TEST(ParentDir, AsGoFilepathDir) {
  EXPECT_EQ(parent_dir("/usr/bin/berth"), "/usr/bin");
  EXPECT_EQ(parent_dir("/berth"), "/");
  EXPECT_EQ(parent_dir("berth"), ".");
  EXPECT_EQ(parent_dir("a/b"), "a");
  EXPECT_EQ(parent_dir("/x//y"), "/x");
}

}  // namespace berth
