// A recording MountOps for unit tests: privileged calls are recorded as
// text (paths made relative to the rootfs, "/proc/self/fd/N" read back to
// the path it names), unprivileged file work happens for real in a temp dir.
// mknodat creates a plain file and fstat reports it as the device asked for.
#pragma once

#include <sys/stat.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/mount_ops.h"

namespace berth::runtime::testing {

std::string mount_flags_text(unsigned long flags);

class FakeMountOps final : public MountOps {
 public:
  explicit FakeMountOps(std::string rootfs) : rootfs_(std::move(rootfs)) {}

  Result<void> mount(const std::string& source, const std::string& target,
                     const std::string& fstype, unsigned long flags,
                     const std::string& data) override;
  Result<void> umount2(const std::string& target, int flags) override;
  Result<void> mount_setattr(const std::string& target, unsigned int flags, uint64_t attr_set,
                             uint64_t attr_clr) override;
  Result<void> pivot_root(const std::string& new_root, const std::string& put_old) override;
  Result<void> chroot(const std::string& path) override;
  Result<void> chdir(const std::string& path) override;
  Result<void> mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) override;
  Result<void> fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid) override;
  Result<struct stat> fstat(int fd) override;
  Result<unsigned long> mount_flags(const std::string& path) override;
  Result<std::string> read_file(const std::string& path) override;
  Result<void> write_file(const std::string& path, const std::string& data) override;

  // What a path names, for the record: "/proc" for <rootfs>/proc, "<rootfs>"
  // for the rootfs itself, host paths as they are.
  std::string describe(const std::string& path) const;

  std::vector<std::string> calls;
  std::map<std::string, std::string> files;          // read_file answers
  std::map<std::string, unsigned long> locked_flags;  // mount_flags by described path
  std::map<std::string, int> fail;                    // call prefix → errno

 private:
  Result<void> record(std::string call);

  std::string rootfs_;
  std::map<std::pair<dev_t, ino_t>, std::pair<mode_t, dev_t>> nodes_;
};

}  // namespace berth::runtime::testing
