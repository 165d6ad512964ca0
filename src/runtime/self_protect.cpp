#include "runtime/self_protect.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "base/fd.h"
#include "base/log.h"
#include "sys/readonly_exec.h"

namespace berth::runtime {
namespace {

bool running_protected() {
  Fd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  if (sys::on_readonly_mount(self.get())) return true;
  // A sealed memfd copy cannot be written either.
  int seals = fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE);
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
  int fd = sys::readonly_clone("/proc/self/exe").release();
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
