#include "runtime/safe_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

#include "base/strings.h"

namespace berth::runtime {
namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's MAXSYMLINKS

std::deque<std::string> components(const std::string& path) {
  std::deque<std::string> out;
  for (auto& c : split(path, '/')) {
    if (!c.empty() && c != ".") out.push_back(std::move(c));
  }
  return out;
}

Result<Fd> openat2_in_root(int root_fd, const std::string& path) {
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path.empty() ? "." : path;
  for (int attempt = 0; attempt < 16; ++attempt) {
    long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return Fd(static_cast<int>(fd));
    // EAGAIN: a rename raced with the lookup; the kernel asks for a retry.
    if (errno != EAGAIN) return Error::sys(errno, "open {} in rootfs", path);
  }
  return Error::sys(EAGAIN, "open {} in rootfs", path);
}

Result<Fd> reopen(int root_fd, const std::vector<std::string>& at) {
  std::string p = "/" + join(at, "/");
  auto r = openat2_in_root(root_fd, p);
  if (r || r.error().sys_errno() != ENOSYS) return r;
  // Before 5.6: the path was built by the walk from real directories
  // (no symlinks, no ".."), so a NOFOLLOW open of each is as safe.
  Fd cur(::openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!cur) return Error::sys(errno, "open rootfs");
  for (const auto& c : at) {
    Fd next(::openat(cur.get(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return Error::sys(errno, "open {} in rootfs", p);
    cur = std::move(next);
  }
  return cur;
}

// One component at a time, creating as asked. `cur` is always a directory
// we hold open; `at` is its path under the root (no symlinks, no "..").
Result<Fd> walk(int root_fd, const std::string& path, CreateLast last_kind) {
  std::deque<std::string> todo = components(path);
  std::vector<std::string> at;
  Fd cur = BERTH_TRY(reopen(root_fd, at));
  int links = 0;
  int steps = 0;
  while (!todo.empty()) {
    if (++steps > 4096) return Error::sys(ELOOP, "resolve {} in rootfs", path);
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == "..") {
      if (!at.empty()) at.pop_back();  // ".." of the root is the root
      cur = BERTH_TRY(reopen(root_fd, at));
      continue;
    }
    const bool last = todo.empty();
    struct stat st {};
    if (::fstatat(cur.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT || last_kind == CreateLast::None) {
        return Error::sys(errno, "stat {} in rootfs", path);
      }
      int rc;
      if (last && last_kind == CreateLast::File) {
        rc = ::openat(cur.get(), c.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                      0644);
        if (rc >= 0) ::close(rc);
      } else {
        rc = ::mkdirat(cur.get(), c.c_str(), 0755);
      }
      // EEXIST: something appeared meanwhile (perhaps a symlink): look again.
      if (rc < 0 && errno != EEXIST) return Error::sys(errno, "create {} in rootfs", path);
      todo.push_front(std::move(c));
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return Error::sys(ELOOP, "resolve {} in rootfs", path);
      char buf[4096];
      ssize_t n = ::readlinkat(cur.get(), c.c_str(), buf, sizeof buf - 1);
      if (n < 0) return Error::sys(errno, "readlink {} in rootfs", path);
      std::string target(buf, static_cast<size_t>(n));
      // An absolute target starts again at the container's root, not the host's.
      if (!target.empty() && target[0] == '/') {
        at.clear();
        cur = BERTH_TRY(reopen(root_fd, at));
      }
      auto more = components(target);
      todo.insert(todo.begin(), more.begin(), more.end());
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      Fd next(::openat(cur.get(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next) return Error::sys(errno, "open {} in rootfs", path);
      cur = std::move(next);
      at.push_back(std::move(c));
      continue;
    }
    if (!last) return Error::sys(ENOTDIR, "resolve {} in rootfs", path);
    Fd next(::openat(cur.get(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return Error::sys(errno, "open {} in rootfs", path);
    return next;
  }
  return cur;
}

}  // namespace

std::string clean_path(const std::string& path) {
  std::string out;
  for (const auto& c : components(path)) {
    out += '/';
    out += c;
  }
  return out.empty() ? "/" : out;
}

Result<Fd> resolve_in_root(int root_fd, const std::string& path) {
  auto r = openat2_in_root(root_fd, clean_path(path));
  if (r || r.error().sys_errno() != ENOSYS) return r;
  return walk(root_fd, path, CreateLast::None);
}

Result<Fd> create_in_root(int root_fd, const std::string& path, CreateLast last) {
  // The common case (the destination exists) takes one syscall.
  auto r = openat2_in_root(root_fd, clean_path(path));
  if (r) return r;
  int e = r.error().sys_errno();
  if (e != ENOENT && e != ENOSYS) return r;
  return walk(root_fd, path, last);
}

Result<Fd> open_parent_in_root(int root_fd, const std::string& path, std::string* name) {
  auto parts = components(path);
  if (parts.empty()) return Error::invalid("{}: no last component", path);
  *name = parts.back();
  if (*name == "..") return Error::invalid("{}: ends in \"..\"", path);
  parts.pop_back();
  std::string parent = "/";
  for (const auto& c : parts) parent += c + "/";
  return create_in_root(root_fd, parent, CreateLast::Dir);
}

}  // namespace berth::runtime
