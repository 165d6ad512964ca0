#include "engine/user.h"

#include <gtest/gtest.h>

#include "engine/spec_test_util.h"

namespace berth::engine {
namespace {

using testing::TempRootfs;

TEST(ResolveUser, Table) {
  TempRootfs root;
  root.write("/etc/passwd", testing::kBusyboxPasswd);
  root.write("/etc/group", testing::kBusyboxGroup);
  Fd fd = root.open_dir();
  struct Case {
    std::string spec;
    std::vector<std::string> group_add;
    uint32_t uid, gid;
    std::vector<uint32_t> gids;
  };
  const Case cases[] = {
      {"", {}, 0, 0, {0, 10}},       // root is a member of wheel
      {"root", {}, 0, 0, {0, 10}},
      {"0", {}, 0, 0, {0, 10}},
      {"daemon", {}, 1, 1, {1}},     // no memberships: the primary group
      {"app", {}, 1000, 1000, {1000, 10, 29}},
      {"1000", {}, 1000, 1000, {1000, 10, 29}},
      {"app:audio", {}, 1000, 29, {29}},
      {"1000:1000", {}, 1000, 1000, {1000}},
      {"4242", {}, 4242, 0, {0}},    // unknown numeric uid: gid 0, as Docker
      {"4242:4243", {}, 4242, 4243, {4243}},
      {"nobody:0", {}, 65534, 0, {0}},
      {"daemon", {"audio", "5000"}, 1, 1, {1, 29, 5000}},
  };
  for (const auto& c : cases) {
    auto u = resolve_user(fd.get(), c.spec, c.group_add);
    ASSERT_TRUE(u.ok()) << c.spec << ": " << u.error().message();
    EXPECT_EQ(u->uid, c.uid) << c.spec;
    EXPECT_EQ(u->gid, c.gid) << c.spec;
    EXPECT_EQ(u->additional_gids, c.gids) << c.spec;
  }
  EXPECT_EQ(resolve_user(fd.get(), "app")->home, "/home/app");
}

TEST(ResolveUser, Errors) {
  TempRootfs root;
  root.write("/etc/passwd", testing::kBusyboxPasswd);
  root.write("/etc/group", testing::kBusyboxGroup);
  Fd fd = root.open_dir();
  struct Case {
    std::string spec;
    std::vector<std::string> group_add;
    std::string want;
  };
  const Case cases[] = {
      {"x", {}, "unable to find user x: no matching entries in passwd file"},
      {"app:nosuch", {}, "unable to find group nosuch: no matching entries in group file"},
      {"daemon", {"nosuch"}, "unable to find group nosuch"},
      {"-1", {}, "must be in range"},
      {"99999999999", {}, "must be in range"},
      {"app:", {}, "empty group"},
      {":app", {}, "empty user"},
  };
  for (const auto& c : cases) {
    auto u = resolve_user(fd.get(), c.spec, c.group_add);
    ASSERT_FALSE(u.ok()) << c.spec;
    EXPECT_EQ(u.error().code(), ErrorCode::InvalidArgument) << c.spec;
    EXPECT_NE(u.error().message().find(c.want), std::string::npos) << u.error().message();
  }
}

TEST(ResolveUser, NoPasswdFile) {
  TempRootfs root;
  Fd fd = root.open_dir();
  auto u = resolve_user(fd.get(), "");
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->additional_gids, std::vector<uint32_t>{0});
  EXPECT_TRUE(resolve_user(fd.get(), "123:456").ok());
  EXPECT_FALSE(resolve_user(fd.get(), "root").ok());
}

// A planted symlink must resolve inside the rootfs, never to the host file.
TEST(ResolveUser, SymlinkOutOfRootfsIsNotFollowed) {
  TempRootfs host;  // plays the host: a passwd the container must not see
  host.write("/etc/passwd", "evil:x:0:0::/:/bin/sh\n");
  for (const std::string& target : {host.path() + "/etc/passwd",
                                    std::string("../../../../../../..") + host.path() + "/etc/passwd"}) {
    TempRootfs root;
    ASSERT_EQ(symlink(target.c_str(), (root.path() + "/etc/passwd").c_str()), 0);
    Fd fd = root.open_dir();
    auto u = resolve_user(fd.get(), "evil");
    ASSERT_FALSE(u.ok()) << target;
    EXPECT_NE(u.error().message().find("unable to find user evil"), std::string::npos) << u.error().message();
  }
  // An absolute symlink is resolved against the rootfs: this one works.
  TempRootfs root;
  root.write("/usr/lib/passwd", "inside:x:7:7::/:/bin/sh\n");
  ASSERT_EQ(symlink("/usr/lib/passwd", (root.path() + "/etc/passwd").c_str()), 0);
  Fd fd = root.open_dir();
  auto u = resolve_user(fd.get(), "inside");
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->uid, 7u);
}

TEST(ResolveUser, RefusesNonRegularFiles) {
  TempRootfs root;
  ASSERT_EQ(mkfifo((root.path() + "/etc/passwd").c_str(), 0644), 0);
  Fd fd = root.open_dir();
  auto u = resolve_user(fd.get(), "root");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.error().message().find("not a regular file"), std::string::npos) << u.error().message();
}

}  // namespace
}  // namespace berth::engine
