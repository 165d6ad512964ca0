// The syscall seam of the rootfs code: every operation that needs privilege
// or changes the mount table goes through MountOps, so that unit tests can
// run the real logic against a recording fake without root (the fake lets
// unprivileged file operations through to a temp directory).
//
// Paths handed to mount()/umount2()/mount_setattr() are usually
// "/proc/self/fd/N" of an O_PATH descriptor resolved inside the rootfs: the
// kernel follows that magic link to the very inode that was checked, so a
// symlink swapped in later cannot redirect the mount (CVE-2021-30465).
// Errors name only the syscall; callers add what is mounted where.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/result.h"

namespace berth::runtime {

class MountOps {
 public:
  virtual ~MountOps() = default;

  virtual Result<void> mount(const std::string& source, const std::string& target,
                             const std::string& fstype, unsigned long flags,
                             const std::string& data) = 0;
  virtual Result<void> umount2(const std::string& target, int flags) = 0;
  // mount_setattr(2) on a path (AT_RECURSIVE in `flags` for the whole tree).
  virtual Result<void> mount_setattr(const std::string& target, unsigned int flags,
                                     uint64_t attr_set, uint64_t attr_clr) = 0;
  virtual Result<void> pivot_root(const std::string& new_root, const std::string& put_old) = 0;
  virtual Result<void> chroot(const std::string& path) = 0;
  virtual Result<void> chdir(const std::string& path) = 0;
  virtual Result<void> mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) = 0;
  virtual Result<void> fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid) = 0;
  virtual Result<struct stat> fstat(int fd) = 0;
  // The MS_* flags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, atime) of
  // the mount holding `path`, from statvfs(2).
  virtual Result<unsigned long> mount_flags(const std::string& path) = 0;
  virtual Result<std::string> read_file(const std::string& path) = 0;
  virtual Result<void> write_file(const std::string& path, const std::string& data) = 0;
};

// The real syscalls.
MountOps& real_mount_ops();

// "/proc/self/fd/N".
std::string fd_path(int fd);

}  // namespace berth::runtime
