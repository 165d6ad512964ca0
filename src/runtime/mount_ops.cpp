#include "runtime/mount_ops.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "base/file.h"

namespace berth::runtime {
namespace {

class RealMountOps final : public MountOps {
 public:
  Result<void> mount(const std::string& source, const std::string& target,
                     const std::string& fstype, unsigned long flags,
                     const std::string& data) override {
    if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
                fstype.empty() ? nullptr : fstype.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) != 0) {
      return Error::sys(errno, "mount(2)");
    }
    return ok();
  }
  Result<void> umount2(const std::string& target, int flags) override {
    if (::umount2(target.c_str(), flags) != 0) return Error::sys(errno, "umount2(2)");
    return ok();
  }
  Result<void> mount_setattr(const std::string& target, unsigned int flags, uint64_t attr_set,
                             uint64_t attr_clr) override {
    struct mount_attr attr {};
    attr.attr_set = attr_set;
    attr.attr_clr = attr_clr;
    if (::syscall(SYS_mount_setattr, AT_FDCWD, target.c_str(), flags, &attr, sizeof attr) != 0) {
      return Error::sys(errno, "mount_setattr(2)");
    }
    return ok();
  }
  Result<void> pivot_root(const std::string& new_root, const std::string& put_old) override {
    if (::syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str()) != 0) {
      return Error::sys(errno, "pivot_root(2)");
    }
    return ok();
  }
  Result<void> chroot(const std::string& path) override {
    if (::chroot(path.c_str()) != 0) return Error::sys(errno, "chroot {}", path);
    return ok();
  }
  Result<void> chdir(const std::string& path) override {
    if (::chdir(path.c_str()) != 0) return Error::sys(errno, "chdir {}", path);
    return ok();
  }
  Result<void> mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) override {
    if (::mknodat(dirfd, name.c_str(), mode, dev) != 0) return Error::sys(errno, "mknod");
    return ok();
  }
  Result<void> fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid) override {
    if (::fchownat(dirfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::sys(errno, "chown");
    }
    return ok();
  }
  Result<struct stat> fstat(int fd) override {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Error::sys(errno, "fstat");
    return st;
  }
  Result<unsigned long> mount_flags(const std::string& path) override {
    struct statvfs sv {};
    if (::statvfs(path.c_str(), &sv) != 0) return Error::sys(errno, "statvfs {}", path);
    constexpr struct {
      unsigned long st, ms;
    } kMap[] = {{ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},
                {ST_NODEV, MS_NODEV},       {ST_NOEXEC, MS_NOEXEC},
                {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
                {ST_RELATIME, MS_RELATIME}, {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
                {ST_MANDLOCK, MS_MANDLOCK}};
    unsigned long flags = 0;
    for (const auto& m : kMap) {
      if (sv.f_flag & m.st) flags |= m.ms;
    }
    return flags;
  }
  Result<std::string> read_file(const std::string& path) override {
    return berth::read_file(path);
  }
  Result<void> write_file(const std::string& path, const std::string& data) override {
    return berth::write_file(path, data);
  }
};

}  // namespace

MountOps& real_mount_ops() {
  static RealMountOps ops;
  return ops;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace berth::runtime
