#include "runtime/rootfs_fake_ops.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace berth::runtime::testing {

std::string mount_flags_text(unsigned long flags) {
  constexpr struct {
    unsigned long flag;
    const char* name;
  } kNames[] = {
      {MS_RDONLY, "RDONLY"},       {MS_NOSUID, "NOSUID"},         {MS_NODEV, "NODEV"},
      {MS_NOEXEC, "NOEXEC"},       {MS_SYNCHRONOUS, "SYNC"},      {MS_REMOUNT, "REMOUNT"},
      {MS_MANDLOCK, "MANDLOCK"},   {MS_DIRSYNC, "DIRSYNC"},       {MS_NOSYMFOLLOW, "NOSYMFOLLOW"},
      {MS_NOATIME, "NOATIME"},     {MS_NODIRATIME, "NODIRATIME"}, {MS_BIND, "BIND"},
      {MS_MOVE, "MOVE"},           {MS_REC, "REC"},               {MS_SILENT, "SILENT"},
      {MS_UNBINDABLE, "UNBINDABLE"}, {MS_PRIVATE, "PRIVATE"},     {MS_SLAVE, "SLAVE"},
      {MS_SHARED, "SHARED"},       {MS_RELATIME, "RELATIME"},     {MS_STRICTATIME, "STRICTATIME"},
      {MS_LAZYTIME, "LAZYTIME"},
  };
  std::string out;
  for (const auto& n : kNames) {
    if (!(flags & n.flag)) continue;
    if (!out.empty()) out += '|';
    out += n.name;
  }
  return out.empty() ? "0" : out;
}

std::string FakeMountOps::describe(const std::string& path) const {
  std::string p = path;
  if (p.rfind("/proc/self/fd/", 0) == 0) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(p, ec);
    if (!ec) p = target.string();
  }
  if (p == rootfs_) return "<rootfs>";
  if (p.rfind(rootfs_ + "/", 0) == 0) return p.substr(rootfs_.size());
  return p;
}

Result<void> FakeMountOps::record(std::string call) {
  calls.push_back(call);
  for (const auto& [prefix, err] : fail) {
    if (call.rfind(prefix, 0) == 0) return Error::sys(err, "fake");
  }
  return ok();
}

Result<void> FakeMountOps::mount(const std::string& source, const std::string& target,
                                 const std::string& fstype, unsigned long flags,
                                 const std::string& data) {
  std::string call = "mount " + (source.empty() ? "-" : describe(source)) + " " +
                     describe(target) + " " + (fstype.empty() ? "-" : fstype) + " " +
                     mount_flags_text(flags);
  if (!data.empty()) call += " " + data;
  return record(call);
}

Result<void> FakeMountOps::umount2(const std::string& target, int flags) {
  return record("umount2 " + target + (flags & MNT_DETACH ? " DETACH" : ""));
}

Result<void> FakeMountOps::mount_setattr(const std::string& target, unsigned int flags,
                                         uint64_t attr_set, uint64_t attr_clr) {
  char buf[96];
  std::snprintf(buf, sizeof buf, " set=%#llx clr=%#llx", static_cast<unsigned long long>(attr_set),
                static_cast<unsigned long long>(attr_clr));
  return record("mount_setattr " + describe(target) + (flags & AT_RECURSIVE ? " REC" : "") + buf);
}

Result<void> FakeMountOps::pivot_root(const std::string& new_root, const std::string& put_old) {
  return record("pivot_root " + new_root + " " + put_old);
}

Result<void> FakeMountOps::chroot(const std::string& path) { return record("chroot " + path); }

Result<void> FakeMountOps::chdir(const std::string& path) {
  return record("chdir " + describe(path));
}

Result<void> FakeMountOps::mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) {
  std::string dir = describe("/proc/self/fd/" + std::to_string(dirfd));
  char buf[64];
  std::snprintf(buf, sizeof buf, " %s %04o %u:%u", S_ISBLK(mode) ? "b" : S_ISFIFO(mode) ? "p" : "c",
                mode & 07777, major(dev), minor(dev));
  int fd = ::openat(dirfd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Error::sys(errno, "fake mknod");
  struct stat st {};
  ::fstat(fd, &st);
  ::close(fd);
  nodes_[{st.st_dev, st.st_ino}] = {mode, dev};
  return record("mknod " + dir + "/" + name + buf);
}

Result<void> FakeMountOps::fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid) {
  std::string dir = describe("/proc/self/fd/" + std::to_string(dirfd));
  return record("chown " + dir + "/" + name + " " + std::to_string(uid) + ":" +
                std::to_string(gid));
}

Result<struct stat> FakeMountOps::fstat(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error::sys(errno, "fstat");
  auto it = nodes_.find({st.st_dev, st.st_ino});
  if (it != nodes_.end()) {
    st.st_mode = it->second.first;
    st.st_rdev = it->second.second;
  }
  return st;
}

Result<unsigned long> FakeMountOps::mount_flags(const std::string& path) {
  auto it = locked_flags.find(describe(path));
  return it == locked_flags.end() ? 0ul : it->second;
}

Result<std::string> FakeMountOps::read_file(const std::string& path) {
  auto it = files.find(path);
  if (it == files.end()) return Error::sys(ENOENT, "fake read {}", path);
  return it->second;
}

Result<void> FakeMountOps::write_file(const std::string& path, const std::string& data) {
  return record("write " + path + " " + data);
}

}  // namespace berth::runtime::testing
