#include "image/diff_test_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/digest.h"

namespace berth::image::testing {

namespace {

// Throws, which gtest reports as a failure of the running test.
void check(bool good, const std::string& what) {
  if (!good) throw std::runtime_error(fmt::format("{}: {}", what, strerror(errno)));
}

}  // namespace

TempDir::TempDir() {
  char tmpl[] = "/tmp/berth-diff-XXXXXX";
  check(mkdtemp(tmpl) != nullptr, "mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Fd TempDir::open(const std::string& rel) const {
  std::string p = rel.empty() ? path_ : path_ + "/" + rel;
  int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check(fd >= 0, "open " + p);
  return Fd(fd);
}

Fd make_memfd() {
  int fd = memfd_create("tar", MFD_CLOEXEC);
  check(fd >= 0, "memfd_create");
  return Fd(fd);
}

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof(buf), off);
    check(n >= 0, "pread");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

std::vector<TarEntry> read_tar(int fd) {
  std::string bytes = read_all(fd);
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    std::string msg = archive_error_string(a);
    archive_read_free(a);
    throw std::runtime_error("open tar: " + msg);
  }
  std::vector<TarEntry> out;
  archive_entry* en;
  for (;;) {
    int r = archive_read_next_header(a, &en);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      std::string msg = archive_error_string(a);
      archive_read_free(a);
      throw std::runtime_error("read tar: " + msg);
    }
    TarEntry t;
    t.path = archive_entry_pathname(en);
    t.mode = archive_entry_mode(en);
    t.uid = archive_entry_uid(en);
    t.gid = archive_entry_gid(en);
    t.size = archive_entry_size(en);
    t.mtime = archive_entry_mtime(en);
    t.mtime_nsec = archive_entry_mtime_nsec(en);
    t.has_atime = archive_entry_atime_is_set(en);
    t.has_ctime = archive_entry_ctime_is_set(en);
    if (const char* s = archive_entry_uname(en)) t.uname = s;
    if (const char* s = archive_entry_gname(en)) t.gname = s;
    if (const char* s = archive_entry_symlink(en)) t.symlink = s;
    if (const char* s = archive_entry_hardlink(en)) t.hardlink = s;
    t.rdev_major = archive_entry_rdevmajor(en);
    t.rdev_minor = archive_entry_rdevminor(en);
    archive_entry_xattr_reset(en);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(en, &name, &value, &size) == ARCHIVE_OK) {
      t.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
    }
    const void* block;
    size_t len;
    la_int64_t off;
    while (archive_read_data_block(a, &block, &len, &off) == ARCHIVE_OK) {
      t.data.resize(static_cast<size_t>(off));
      t.data.append(static_cast<const char*>(block), len);
    }
    out.push_back(std::move(t));
  }
  archive_read_free(a);
  return out;
}

void make_file(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  check(fd >= 0, "create " + path);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0) close(fd);
    check(n >= 0, "write " + path);
    done += static_cast<size_t>(n);
  }
  close(fd);
  check(chmod(path.c_str(), mode) == 0, "chmod " + path);
}

void make_dir(const std::string& path, mode_t mode) {
  check(mkdir(path.c_str(), 0700) == 0, "mkdir " + path);
  check(chmod(path.c_str(), mode) == 0, "chmod " + path);
}

void make_symlink(const std::string& target, const std::string& path) {
  check(symlink(target.c_str(), path.c_str()) == 0, "symlink " + path);
}

void make_node(const std::string& path, mode_t mode, dev_t dev) {
  check(mknod(path.c_str(), mode, dev) == 0, "mknod " + path);
  check(chmod(path.c_str(), mode & 07777) == 0, "chmod " + path);
}

void make_whiteout(const std::string& path) { make_node(path, S_IFCHR | 0, makedev(0, 0)); }

void set_xattr(const std::string& path, const std::string& name, const std::string& value) {
  check(lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) == 0,
        "setxattr " + name + " on " + path);
}

void set_owner(const std::string& path, uid_t uid, gid_t gid) {
  check(lchown(path.c_str(), uid, gid) == 0, "lchown " + path);
}

void set_mode(const std::string& path, mode_t mode) {
  check(chmod(path.c_str(), mode) == 0, "chmod " + path);
}

void set_mtime(const std::string& path, int64_t sec, long nsec) {
  timespec ts[2];
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_sec = static_cast<time_t>(sec);
  ts[1].tv_nsec = nsec;
  check(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0, "utimensat " + path);
}

void make_opaque(const std::string& path) { set_xattr(path, "trusted.overlay.opaque", "y"); }

namespace {

std::map<std::string, std::string> compared_xattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  char names[65536];
  ssize_t n = llistxattr(path.c_str(), names, sizeof(names));
  if (n < 0 && errno == ENOTSUP) return out;
  check(n >= 0, "llistxattr " + path);
  for (ssize_t pos = 0; pos < n;) {
    std::string name = names + pos;
    pos += static_cast<ssize_t>(name.size()) + 1;
    if (!name.starts_with("user.") && name != "security.capability" &&
        name != "trusted.overlay.opaque") {
      continue;
    }
    char value[65536];
    ssize_t m = lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
    check(m >= 0, "lgetxattr " + path);
    out[name] = std::string(value, static_cast<size_t>(m));
  }
  return out;
}

void snapshot_dir(const std::string& root, const std::string& rel, Snapshot& snap,
                  std::map<std::pair<dev_t, ino_t>, std::set<std::string>>& inodes) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  std::vector<std::string> names;
  for (const auto& de : std::filesystem::directory_iterator(dir)) {
    names.push_back(de.path().filename().string());
  }
  for (const auto& name : names) {
    std::string r = rel.empty() ? name : rel + "/" + name;
    std::string p = root + "/" + r;
    struct stat st;
    check(lstat(p.c_str(), &st) == 0, "lstat " + p);
    Node n;
    n.mode = st.st_mode;
    n.uid = st.st_uid;
    n.gid = st.st_gid;
    n.mtime = st.st_mtim.tv_sec;
    n.mtime_nsec = st.st_mtim.tv_nsec;
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) n.rdev = st.st_rdev;
    if (S_ISREG(st.st_mode)) {
      n.size = st.st_size;
      int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      check(fd >= 0, "open " + p);
      Sha256 h;
      char buf[65536];
      for (;;) {
        ssize_t m = read(fd, buf, sizeof(buf));
        if (m < 0) close(fd);
        check(m >= 0, "read " + p);
        if (m == 0) break;
        h.update(buf, static_cast<size_t>(m));
      }
      close(fd);
      n.content_digest = h.digest();
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[8192];
      ssize_t m = readlink(p.c_str(), buf, sizeof(buf));
      check(m >= 0, "readlink " + p);
      n.symlink.assign(buf, static_cast<size_t>(m));
    } else {
      n.xattrs = compared_xattrs(p);
    }
    // Overlay shares one whiteout inode among many names; the links mean
    // nothing and a layer does not keep them.
    bool whiteout = S_ISCHR(st.st_mode) && st.st_rdev == 0;
    if (!S_ISDIR(st.st_mode) && !whiteout && st.st_nlink > 1) {
      inodes[{st.st_dev, st.st_ino}].insert(r);
    }
    snap.nodes[r] = n;
    if (S_ISDIR(st.st_mode)) snapshot_dir(root, r, snap, inodes);
  }
}

}  // namespace

Snapshot snapshot(const std::string& root) {
  Snapshot snap;
  std::map<std::pair<dev_t, ino_t>, std::set<std::string>> inodes;
  snapshot_dir(root, "", snap, inodes);
  for (auto& [ino, paths] : inodes) {
    if (paths.size() > 1) snap.link_groups.insert(paths);
  }
  return snap;
}

std::string describe(const Node& n) {
  std::string x;
  for (const auto& [k, v] : n.xattrs) x += fmt::format(" {}({}B)", k, v.size());
  return fmt::format("mode={:o} uid={} gid={} size={} digest={} mtime={}.{:09} rdev={}:{} link={}{}",
                     n.mode, n.uid, n.gid, n.size, n.content_digest.substr(0, 19), n.mtime,
                     n.mtime_nsec, major(n.rdev), minor(n.rdev), n.symlink, x);
}

std::string compare(const Snapshot& want, const Snapshot& got, bool symlink_mtime) {
  std::string out;
  for (const auto& [path, w] : want.nodes) {
    auto it = got.nodes.find(path);
    if (it == got.nodes.end()) {
      out += fmt::format("missing {}: want {}\n", path, describe(w));
      continue;
    }
    Node g = it->second;
    // A whiteout is only a name: a layer stores no owner, mode or time for it.
    auto whiteout = [](const Node& n) { return S_ISCHR(n.mode) && n.rdev == 0; };
    if (whiteout(w)) {
      if (!whiteout(g)) out += fmt::format("{}: want a whiteout, got {}\n", path, describe(g));
      continue;
    }
    if (!symlink_mtime && S_ISLNK(w.mode)) {
      g.mtime = w.mtime;
      g.mtime_nsec = w.mtime_nsec;
    }
    if (!(g == w)) out += fmt::format("differs {}:\n  want {}\n  got  {}\n", path, describe(w), describe(g));
  }
  for (const auto& [path, g] : got.nodes) {
    if (!want.nodes.contains(path)) out += fmt::format("extra {}: {}\n", path, describe(g));
  }
  if (want.link_groups != got.link_groups) {
    auto show = [](const std::set<std::set<std::string>>& groups) {
      std::string s;
      for (const auto& g : groups) s += fmt::format(" {{{}}}", fmt::join(g, ","));
      return s;
    };
    out += fmt::format("hard links differ:\n  want{}\n  got {}\n", show(want.link_groups),
                       show(got.link_groups));
  }
  return out;
}

}  // namespace berth::image::testing
