#include "runtime/self_protect.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "base/fd.h"
#include "base/log.h"

namespace berth::runtime {
namespace {

bool running_protected() {
  Fd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  struct statvfs vfs;
  if (fstatvfs(self.get(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) return true;
  // A sealed memfd copy cannot be written either.
  int seals = fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE);
}

int readonly_clone_of_self() {
  int tree = static_cast<int>(
      syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (tree < 0) return -1;
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    close(tree);
    return -1;
  }
  return tree;
}

int sealed_copy_of_self() {
  Fd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return -1;
  int mfd = memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) return -1;
  struct stat st;
  if (fstat(self.get(), &st) < 0) {
    close(mfd);
    return -1;
  }
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(mfd, self.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n <= 0) {
      close(mfd);
      return -1;
    }
  }
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    close(mfd);
    return -1;
  }
  return mfd;
}

}  // namespace

void ensure_readonly_self(char** argv, char** envp) {
  if (running_protected()) return;
  int fd = readonly_clone_of_self();
  if (fd < 0) fd = sealed_copy_of_self();
  if (fd < 0) {
    log::warn("cannot make a read-only copy of the runtime binary: {}", strerror(errno));
    return;
  }
  syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
  log::warn("re-executing the runtime from a read-only mount: {}", strerror(errno));
  close(fd);
}

}  // namespace berth::runtime
