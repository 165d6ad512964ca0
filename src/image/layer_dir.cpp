#include "image/layer_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <vector>

namespace berth::image {
namespace {

// openat2(2) resolves a whole path in one call while refusing symlinks and
// anything outside the starting directory. It is missing before Linux 5.6
// and some seccomp profiles answer ENOSYS or EPERM; then the
// component-by-component walk below does the same job one openat at a time.
std::atomic<bool> g_no_openat2{false};

int open_beneath(int dirfd, const std::string& rel) {
  if (g_no_openat2.load(std::memory_order_relaxed)) {
    errno = ENOSYS;
    return -1;
  }
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename somewhere on the system; try again.
    if (errno == EINTR || errno == EAGAIN) continue;
    if (errno == ENOSYS || errno == EPERM || errno == E2BIG) g_no_openat2.store(true);
    return -1;
  }
}

}  // namespace

Result<std::string> normalize_entry_name(std::string_view raw) {
  if (raw.size() >= PATH_MAX) return Error::invalid("name longer than {} bytes", PATH_MAX - 1);
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    size_t slash = raw.find('/', i);
    if (slash == std::string_view::npos) slash = raw.size();
    std::string_view comp = raw.substr(i, slash - i);
    i = slash + 1;
    if (comp.empty() || comp == ".") continue;
    // A layer never needs "..": Docker would clean it away, but a name that
    // tries to climb is hostile, and refusing it is the safe reading.
    if (comp == "..") return Error::invalid("path escapes the layer");
    if (!out.empty()) out.push_back('/');
    out.append(comp);
  }
  return out;
}

std::pair<std::string_view, std::string_view> split_parent(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

Result<int> LayerDir::dir(std::string_view rel, bool create) {
  if (rel.empty()) return root_;
  if (cached_.valid() && rel == cached_path_) return cached_.get();
  cached_ = BERTH_TRY(walk(rel, create));
  cached_path_.assign(rel);
  return cached_.get();
}

Result<Fd> LayerDir::open_existing(std::string_view rel) const {
  if (rel.empty()) {
    int fd = ::openat(root_, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error::sys(errno, "open layer directory");
    return Fd(fd);
  }
  return walk(rel, false);
}

Result<Fd> LayerDir::walk(std::string_view rel, bool create) const {
  std::string path(rel);
  int fast = open_beneath(root_, path);
  if (fast >= 0) return Fd(fast);
  // ENOENT (a parent to create) or a refusal (ELOOP, ENOTDIR, EXDEV) that
  // the slow walk reports with the component at fault.
  Fd cur;
  int at = root_;
  size_t i = 0;
  while (i < path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string::npos) slash = path.size();
    std::string comp = path.substr(i, slash - i);
    std::string_view so_far = std::string_view(path).substr(0, slash);
    i = slash + 1;
    // O_NOFOLLOW with O_PATH|O_DIRECTORY: a symlink fails with ENOTDIR
    // (or ELOOP) instead of being followed.
    int fd = ::openat(at, comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(at, comp.c_str(), 0755) < 0 && errno != EEXIST) {
        return Error::sys(errno, "mkdir \"{}\"", so_far);
      }
      fd = ::openat(at, comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      int err = errno;
      if (err == ENOTDIR || err == ELOOP) {
        struct stat st;
        if (::fstatat(at, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
          return Error(ErrorCode::InvalidArgument,
                       fmt::format("\"{}\" is a symlink: refusing to write through it", so_far));
        }
        return Error(ErrorCode::InvalidArgument, fmt::format("\"{}\" is not a directory", so_far));
      }
      if (err == ENOENT) return Error(ErrorCode::NotFound, fmt::format("\"{}\" does not exist", so_far), err);
      return Error::sys(err, "open \"{}\"", so_far);
    }
    cur.reset(fd);
    at = fd;
  }
  return cur;
}

Result<void> remove_all_at(int dirfd, const std::string& name) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0) return ok();
  if (errno == ENOENT) return ok();
  if (errno != EISDIR) return Error::sys(errno, "remove \"{}\"", name);
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "open \"{}\"", name);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    ::close(fd);
    return Error::sys(err, "read directory \"{}\"", name);
  }
  std::vector<std::string> children;
  while (dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n != "." && n != "..") children.emplace_back(n);
  }
  for (const auto& child : children) {
    auto r = remove_all_at(::dirfd(d), child);
    if (!r.ok()) {
      ::closedir(d);
      return r.error().context("in \"{}\"", name);
    }
  }
  ::closedir(d);
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) {
    return Error::sys(errno, "remove directory \"{}\"", name);
  }
  return ok();
}

}  // namespace berth::image
