#include "runtime/mount_options.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

namespace berth::runtime {
namespace {

struct FlagCase {
  std::vector<std::string> options;
  unsigned long flags;
  unsigned long cleared;
};

TEST(MountOptions, Flags) {
  const FlagCase cases[] = {
      {{}, 0, 0},
      {{"defaults"}, 0, 0},
      {{"ro"}, MS_RDONLY, 0},
      {{"ro", "rw"}, 0, MS_RDONLY},
      {{"rw", "ro"}, MS_RDONLY, 0},
      {{"nosuid", "nodev", "noexec"}, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0},
      {{"suid", "dev", "exec"}, 0, MS_NOSUID | MS_NODEV | MS_NOEXEC},
      {{"sync"}, MS_SYNCHRONOUS, 0},
      {{"sync", "async"}, 0, MS_SYNCHRONOUS},
      {{"dirsync"}, MS_DIRSYNC, 0},
      {{"remount"}, MS_REMOUNT, 0},
      {{"mand"}, MS_MANDLOCK, 0},
      {{"nomand"}, 0, MS_MANDLOCK},
      {{"noatime"}, MS_NOATIME, 0},
      {{"atime"}, 0, MS_NOATIME},
      {{"nodiratime"}, MS_NODIRATIME, 0},
      {{"diratime"}, 0, MS_NODIRATIME},
      {{"relatime"}, MS_RELATIME, 0},
      {{"norelatime"}, 0, MS_RELATIME},
      {{"strictatime"}, MS_STRICTATIME, 0},
      {{"nostrictatime"}, 0, MS_STRICTATIME},
      {{"lazytime"}, MS_LAZYTIME, 0},
      {{"nolazytime"}, 0, MS_LAZYTIME},
      {{"silent"}, MS_SILENT, 0},
      {{"loud"}, 0, MS_SILENT},
      {{"nosymfollow"}, MS_NOSYMFOLLOW, 0},
      {{"symfollow"}, 0, MS_NOSYMFOLLOW},
      {{"bind"}, MS_BIND, 0},
      {{"rbind"}, MS_BIND | MS_REC, 0},
      {{"rbind", "ro", "nosuid"}, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID, 0},
  };
  for (const auto& c : cases) {
    auto m = parse_mount_options(c.options);
    std::string name = c.options.empty() ? "(none)" : c.options.front();
    EXPECT_EQ(m.flags, c.flags) << name;
    EXPECT_EQ(m.cleared, c.cleared) << name;
    EXPECT_EQ(m.data, "") << name;
    EXPECT_TRUE(m.propagation.empty()) << name;
    EXPECT_FALSE(m.has_rec_attr()) << name;
  }
}

TEST(MountOptions, AtimeGiven) {
  EXPECT_FALSE(parse_mount_options({"ro", "nosuid"}).atime_given);
  EXPECT_TRUE(parse_mount_options({"strictatime"}).atime_given);
  EXPECT_TRUE(parse_mount_options({"norelatime"}).atime_given);
}

TEST(MountOptions, Propagation) {
  const std::pair<std::string, unsigned long> cases[] = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  for (const auto& [name, flag] : cases) {
    auto m = parse_mount_options({"rbind", name});
    ASSERT_EQ(m.propagation.size(), 1u) << name;
    EXPECT_EQ(m.propagation[0], flag) << name;
    EXPECT_EQ(m.flags, MS_BIND | MS_REC) << name;
    EXPECT_EQ(propagation_flag(name), flag) << name;
  }
  EXPECT_EQ(propagation_flag("bogus"), 0u);
  auto two = parse_mount_options({"rprivate", "runbindable"});
  EXPECT_EQ(two.propagation,
            (std::vector<unsigned long>{MS_PRIVATE | MS_REC, MS_UNBINDABLE | MS_REC}));
}

struct RecCase {
  std::string option;
  uint64_t set;
  uint64_t clr;
};

TEST(MountOptions, RecursiveAttributes) {
  const RecCase cases[] = {
      {"rro", MOUNT_ATTR_RDONLY, 0},
      {"rrw", 0, MOUNT_ATTR_RDONLY},
      {"rnosuid", MOUNT_ATTR_NOSUID, 0},
      {"rsuid", 0, MOUNT_ATTR_NOSUID},
      {"rnodev", MOUNT_ATTR_NODEV, 0},
      {"rdev", 0, MOUNT_ATTR_NODEV},
      {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
      {"rexec", 0, MOUNT_ATTR_NOEXEC},
      {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
      {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
      {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
      {"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
      // The atime mode: whole mask cleared, one mode set (relatime is 0).
      {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
      {"ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
      {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
      {"rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
      {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
      {"rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
  };
  for (const auto& c : cases) {
    auto m = parse_mount_options({c.option});
    EXPECT_EQ(m.rec_attr_set, c.set) << c.option;
    EXPECT_EQ(m.rec_attr_clr, c.clr) << c.option;
    EXPECT_EQ(m.flags, 0u) << c.option;
  }
  auto m = parse_mount_options({"rbind", "rro", "rnosuid", "rrw"});
  EXPECT_EQ(m.rec_attr_set, static_cast<uint64_t>(MOUNT_ATTR_NOSUID));
  EXPECT_EQ(m.rec_attr_clr, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
  EXPECT_TRUE(m.has_rec_attr());
}

TEST(MountOptions, DataAndSpecials) {
  auto m = parse_mount_options({"nosuid", "size=65536k", "mode=755", "strictatime"});
  EXPECT_EQ(m.data, "size=65536k,mode=755");
  EXPECT_EQ(m.flags, MS_NOSUID | MS_STRICTATIME);

  auto d = parse_mount_options({"newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
  EXPECT_EQ(d.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");

  EXPECT_TRUE(parse_mount_options({"idmap"}).idmap);
  EXPECT_FALSE(parse_mount_options({"idmap"}).recursive_idmap);
  EXPECT_TRUE(parse_mount_options({"ridmap"}).recursive_idmap);
  EXPECT_TRUE(parse_mount_options({"tmpcopyup"}).tmpcopyup);
  EXPECT_EQ(parse_mount_options({"tmpcopyup"}).data, "");
}

TEST(MountOptions, RemountFlags) {
  auto m = parse_mount_options({"rbind", "ro", "nosuid", "remount"});
  EXPECT_EQ(m.remount_flags(), static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  EXPECT_TRUE(m.is_bind());
  EXPECT_EQ(parse_mount_options({"rbind", "rprivate"}).remount_flags(), 0u);
}

}  // namespace
}  // namespace berth::runtime
