#include "image/tree_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>

#include "base/fd.h"

namespace berth::image {

namespace {

struct Child {
  std::string name;
  std::string key;
  struct stat st;
};

// One directory being walked. Holding its fd (not its path) keeps every
// lookup below it on the same directory even if a name above is swapped.
struct Frame {
  Fd owned;  // empty for the caller's root
  int fd = -1;
  std::string prefix;  // "" for the root, "a/b/" below
  std::vector<Child> children;
  size_t next = 0;
};

Result<std::vector<Child>> read_children(int dir_fd, const std::string& prefix,
                                         const TreeSortKey& key) {
  auto names = BERTH_TRY_CTX(list_dir(dir_fd), "read directory /{}", prefix);
  std::vector<Child> children;
  children.reserve(names.size());
  for (auto& name : names) {
    Child c;
    if (fstatat(dir_fd, name.c_str(), &c.st, AT_SYMLINK_NOFOLLOW) != 0) {
      // Removed between readdir and stat: it is no longer part of the tree.
      if (errno == ENOENT) continue;
      return Error::sys(errno, "lstat /{}{}", prefix, name);
    }
    c.name = std::move(name);
    if (key) c.key = key(c.name, c.st);
    children.push_back(std::move(c));
  }
  if (key) {
    std::sort(children.begin(), children.end(),
              [](const Child& a, const Child& b) { return a.key < b.key; });
  } else {
    std::sort(children.begin(), children.end(),
              [](const Child& a, const Child& b) { return a.name < b.name; });
  }
  return children;
}

}  // namespace

Result<std::vector<std::string>> list_dir(int dir_fd) {
  // fdopendir takes the descriptor over, so it gets a duplicate; the
  // duplicate shares the file offset, hence the rewind.
  int dup_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Error::sys(errno, "dup directory fd");
  DIR* dir = fdopendir(dup_fd);
  if (dir == nullptr) {
    int err = errno;
    close(dup_fd);
    return Error::sys(err, "fdopendir");
  }
  rewinddir(dir);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    dirent* d = readdir(dir);
    if (d == nullptr) {
      int err = errno;
      closedir(dir);
      if (err != 0) return Error::sys(err, "readdir");
      break;
    }
    std::string_view n = d->d_name;
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  return names;
}

Result<int> open_dir_at(int parent_fd, const std::string& name) {
  int fd = openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "open directory {}", name);
  return fd;
}

Result<void> walk_tree(int root_fd, const TreeVisitor& visit, const TreeSortKey& key) {
  // An explicit stack, not recursion: a container can nest directories
  // deeper than the daemon's thread stack would allow.
  std::vector<Frame> stack;
  {
    Frame root;
    root.fd = root_fd;
    root.children = BERTH_TRY(read_children(root_fd, "", key));
    stack.push_back(std::move(root));
  }
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.children.size()) {
      stack.pop_back();
      continue;
    }
    const Child& c = f.children[f.next++];
    TreeEntry e;
    e.path = f.prefix + c.name;
    e.name = std::string_view(e.path).substr(f.prefix.size());
    e.parent_fd = f.fd;
    e.st = c.st;
    e.depth = stack.size();
    Fd dir;
    if (S_ISDIR(c.st.st_mode)) {
      dir = Fd(BERTH_TRY_CTX(open_dir_at(f.fd, c.name), "walk /{}", f.prefix));
      e.dir_fd = dir.get();
    }
    WalkStep step = BERTH_TRY(visit(e));
    if (dir && step == WalkStep::Descend) {
      Frame next;
      next.fd = dir.get();
      next.owned = std::move(dir);
      next.prefix = e.path + "/";
      next.children = BERTH_TRY(read_children(next.fd, next.prefix, key));
      stack.push_back(std::move(next));  // invalidates f
    }
  }
  return ok();
}

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

Result<bool> is_opaque_dir(int dir_fd) {
  for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
    char v[2];
    ssize_t n = fgetxattr(dir_fd, name, v, sizeof(v));
    if (n == 1 && v[0] == 'y') return true;
    // ENODATA: not opaque. ERANGE: a longer value (overlay's "x" is one
    // byte too, and means "has xattr whiteouts", not opaque). ENOTSUP: a
    // filesystem without xattrs cannot hold an opaque directory.
    if (n < 0 && errno != ENODATA && errno != ERANGE && errno != ENOTSUP) {
      return Error::sys(errno, "getxattr {}", name);
    }
  }
  return false;
}

bool is_kept_xattr(std::string_view name) {
  if (name == "security.capability") return true;
  return name.starts_with("user.") && !name.starts_with("user.overlay.");
}

Result<Xattrs> read_kept_xattrs(int fd) {
  std::string names;
  for (;;) {
    ssize_t n = flistxattr(fd, nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return Xattrs{};
      return Error::sys(errno, "listxattr");
    }
    if (n == 0) return Xattrs{};
    names.resize(static_cast<size_t>(n));
    n = flistxattr(fd, names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      break;
    }
    if (errno != ERANGE) return Error::sys(errno, "listxattr");
    // The list grew between the two calls: ask again.
  }
  Xattrs out;
  for (size_t pos = 0; pos < names.size();) {
    size_t end = names.find('\0', pos);
    if (end == std::string::npos) end = names.size();
    std::string name = names.substr(pos, end - pos);
    pos = end + 1;
    if (!is_kept_xattr(name)) continue;
    std::string value;
    for (;;) {
      ssize_t n = fgetxattr(fd, name.c_str(), nullptr, 0);
      if (n < 0) {
        if (errno == ENODATA) break;  // removed meanwhile
        return Error::sys(errno, "getxattr {}", name);
      }
      value.resize(static_cast<size_t>(n));
      n = fgetxattr(fd, name.c_str(), value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<size_t>(n));
        out.emplace_back(std::move(name), std::move(value));
        break;
      }
      if (errno == ENODATA) break;
      if (errno != ERANGE) return Error::sys(errno, "getxattr {}", name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace berth::image
