#include "sys/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "base/fd.h"

namespace berth::sys {

namespace {

// Depth-first; the recursion depth is bounded by the tree's depth, which for
// an unpacked layer is bounded by PATH_MAX (4096 / 2 levels).
Result<void> empty_dir(int dfd, const std::string& shown) {
  int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "open {}", shown);
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return Error::sys(errno, "read {}", shown);
  }
  std::vector<std::pair<std::string, bool>> entries;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    entries.emplace_back(std::move(n), e->d_type == DT_DIR || e->d_type == DT_UNKNOWN);
  }
  closedir(d);
  for (const auto& [name, maybe_dir] : entries) {
    if (unlinkat(dfd, name.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR && !(maybe_dir && errno == EPERM))
      return Error::sys(errno, "remove {}/{}", shown, name);
    BERTH_TRY(remove_tree_at(dfd, name));
  }
  return ok();
}

}  // namespace

Result<void> remove_tree_at(int parent_fd, const std::string& name) {
  if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return ok();
  if (errno == ENOTDIR) {
    if (unlinkat(parent_fd, name.c_str(), 0) == 0 || errno == ENOENT) return ok();
    return Error::sys(errno, "remove {}", name);
  }
  if (errno != ENOTEMPTY && errno != EEXIST) return Error::sys(errno, "remove {}", name);
  int fd = openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "open {}", name);
  Fd dir(fd);
  // A directory without write or search permission cannot be emptied, even
  // by root without CAP_DAC_OVERRIDE; make it so first.
  struct stat st;
  if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700) fchmod(fd, (st.st_mode & 07777) | 0700);
  BERTH_TRY(empty_dir(fd, name));
  if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Error::sys(errno, "remove {}", name);
  return ok();
}

Result<void> remove_tree(const std::string& path) {
  auto slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ok();
    return Error::sys(errno, "open {}", parent);
  }
  Fd pfd(fd);
  auto r = remove_tree_at(pfd.get(), name);
  if (!r) return r.error().context("remove {}", path);
  return ok();
}

}  // namespace berth::sys
