#include "image/apply_entry.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

#include "base/log.h"

namespace berth::image {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
// aufs keeps its own bookkeeping under ".wh..wh." names (.wh..wh.plnk,
// .wh..wh.aufs); of those only the opaque marker means something to us.
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
// All xattrs of one entry together: far above any real use (a file
// capability is 24 bytes), far below what would hurt.
constexpr size_t kMaxXattrBytesPerEntry = size_t{1} << 20;

// Which xattrs an image may set. trusted.* would let a layer forge overlay
// metadata (trusted.overlay.opaque hides the layers below,
// trusted.overlay.redirect points a directory at another path, both read by
// the kernel with our privileges); system.* are ACLs and the like that
// Docker drops too; security.* other than file capabilities are LSM labels
// that the host assigns, not the image.
bool keep_xattr(std::string_view name) {
  return name.starts_with("user.") || name == "security.capability";
}

Error sys_at(int err, std::string_view op) { return Error::sys(err, "{}", op); }

}  // namespace

EntryWriter::EntryWriter(struct archive* ar, int layer_fd, const ApplyOptions& opts,
                         std::function<Error()> read_error)
    : ar_(ar), dirs_(layer_fd), opts_(opts), read_error_(std::move(read_error)),
      privileged_(::geteuid() == 0) {}

Result<void> EntryWriter::write(struct archive_entry* e, const std::string& name) {
  mode_t type = archive_entry_filetype(e);
  if (name.empty()) {
    // "./" in the tar: the layer directory itself. Only its metadata can
    // change; nothing may replace it.
    if (type != AE_IFDIR || archive_entry_hardlink(e) != nullptr) {
      return Error::invalid("the layer root can only be a directory");
    }
    return write_dir(e, name, dirs_.root(), "");
  }
  auto [parent, base_view] = split_parent(name);
  std::string base(base_view);
  if (base.starts_with(kWhiteoutPrefix)) return write_whiteout(e, parent, base);
  if (archive_entry_hardlink(e) != nullptr) return write_hardlink(e, name, parent, base);
  int pfd = BERTH_TRY(dirs_.dir(parent, /*create=*/true));
  switch (type) {
    case AE_IFREG: return write_file(e, pfd, base);
    case AE_IFDIR: return write_dir(e, name, pfd, base);
    case AE_IFLNK: return write_symlink(e, pfd, base);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: return write_node(e, pfd, base, type);
    default: return Error::invalid("unsupported entry type {:o}", type);
  }
}

Result<bool> EntryWriter::clear_slot(int pfd, const std::string& base, bool want_dir) {
  struct stat st;
  if (::fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return false;
    return sys_at(errno, "stat existing entry");
  }
  if (S_ISDIR(st.st_mode)) {
    if (want_dir) return true;
    // Docker would delete the whole tree; a layer that turns a directory
    // it just wrote into a file is malformed, and saying so is clearer.
    return Error(ErrorCode::InvalidArgument, "would replace directory with a non-directory");
  }
  if (::unlinkat(pfd, base.c_str(), 0) < 0 && errno != ENOENT) {
    return sys_at(errno, "remove existing entry");
  }
  return false;
}

Result<void> EntryWriter::write_file(struct archive_entry* e, int pfd, const std::string& base) {
  // O_EXCL|O_NOFOLLOW: never open what is already there, so an earlier
  // symlink of the same name cannot send the data elsewhere.
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(pfd, base.c_str(), kFlags, 0600);
  if (fd < 0 && errno == EEXIST) {
    BERTH_TRY(clear_slot(pfd, base, false));
    fd = ::openat(pfd, base.c_str(), kFlags, 0600);
  }
  if (fd < 0) return sys_at(errno, "create file");
  Fd file(fd);
  BERTH_TRY(copy_data(e, fd));
  BERTH_TRY(set_metadata(e, fd, false));
  timespec times[2];
  entry_times(e, times);
  if (::futimens(fd, times) < 0) return sys_at(errno, "set times");
  return ok();
}

Result<void> EntryWriter::copy_data(struct archive_entry* e, int fd) {
  int64_t pos = 0;
  bool holes = false;
  for (;;) {
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(ar_, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_OK) return read_error_();
    if (offset != pos) {
      // A sparse file: leave the gap as a hole, as tar does.
      if (offset < pos) return Error::invalid("sparse map goes backwards");
      if (::lseek(fd, offset, SEEK_SET) < 0) return sys_at(errno, "seek");
      pos = offset;
      holes = true;
    }
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = ::write(fd, p, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_at(errno, "write file");
      }
      p += n;
      size -= static_cast<size_t>(n);
      pos += n;
    }
  }
  if (holes && archive_entry_size_is_set(e) && pos < archive_entry_size(e)) {
    if (::ftruncate(fd, archive_entry_size(e)) < 0) return sys_at(errno, "extend sparse file");
  }
  return ok();
}

Result<void> EntryWriter::set_metadata(struct archive_entry* e, int fd, bool is_dir) {
  if (opts_.same_owner) {
    if (::fchown(fd, static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e))) < 0) {
      return sys_at(errno, "chown");
    }
  }
  BERTH_TRY(set_xattrs(e, fd));
  mode_t mode = archive_entry_perm(e) & 07777;
  if (is_dir && !privileged_ && (mode & 0700) != 0700) {
    // Without CAP_DAC_OVERRIDE we could not create the children of a
    // read-only directory; its real mode is set in finish().
    mode |= 0700;
  }
  if (::fchmod(fd, mode) < 0) return sys_at(errno, "chmod");
  return ok();
}

Result<void> EntryWriter::set_xattrs(struct archive_entry* e, int fd) {
  if (archive_entry_xattr_reset(e) == 0) return ok();
  const char* name;
  const void* value;
  size_t size;
  size_t total = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view n(name);
    total += n.size() + size;
    if (total > kMaxXattrBytesPerEntry) return Error::invalid("xattrs larger than {} bytes", kMaxXattrBytesPerEntry);
    if (!keep_xattr(n)) {
      log::debug("apply layer: dropping xattr {}", n);
      continue;
    }
    if (n.size() > XATTR_NAME_MAX || size > XATTR_SIZE_MAX) {
      return Error::invalid("xattr {} too large ({} bytes)", n, size);
    }
    if (::fsetxattr(fd, name, value, size, 0) < 0) {
      // Some filesystems take no user xattrs, and security.capability
      // needs CAP_SETFCAP: skipped, as Docker does.
      if (errno == EOPNOTSUPP || errno == EPERM) {
        log::debug("apply layer: xattr {} not set: {}", n, Error::errno_text(errno));
        continue;
      }
      return Error::sys(errno, "set xattr {}", n);
    }
  }
  return ok();
}

Result<void> EntryWriter::write_dir(struct archive_entry* e, const std::string& name, int pfd,
                                    const std::string& base) {
  Fd dir;
  if (name.empty()) {
    dir.reset(::openat(dirs_.root(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  } else {
    if (::mkdirat(pfd, base.c_str(), 0700) < 0) {
      if (errno != EEXIST) return sys_at(errno, "mkdir");
      // An existing directory only gets new metadata (tars list a
      // directory again after its children); anything else is replaced.
      if (!BERTH_TRY(clear_slot(pfd, base, true)) && ::mkdirat(pfd, base.c_str(), 0700) < 0) {
        return sys_at(errno, "mkdir");
      }
    }
    dir.reset(::openat(pfd, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!dir.valid()) return sys_at(errno, "open directory");
  BERTH_TRY(set_metadata(e, dir.get(), true));
  DeferredDir d;
  d.path = name;
  entry_times(e, d.times);
  d.mode = archive_entry_perm(e) & 07777;
  d.fix_mode = !privileged_ && (d.mode & 0700) != 0700;
  deferred_.push_back(std::move(d));
  if (!name.empty()) dirs_.remember(name, std::move(dir));
  return ok();
}

Result<void> EntryWriter::write_symlink(struct archive_entry* e, int pfd, const std::string& base) {
  const char* target = archive_entry_symlink(e);
  if (target == nullptr) target = archive_entry_symlink_utf8(e);
  if (target == nullptr || *target == '\0') return Error::invalid("symlink without a target");
  if (std::strlen(target) >= PATH_MAX) return Error::invalid("symlink target longer than {} bytes", PATH_MAX - 1);
  // The target is only stored, never followed here: it may name anything.
  if (::symlinkat(target, pfd, base.c_str()) < 0) {
    if (errno != EEXIST) return sys_at(errno, "symlink");
    BERTH_TRY(clear_slot(pfd, base, false));
    if (::symlinkat(target, pfd, base.c_str()) < 0) return sys_at(errno, "symlink");
  }
  if (opts_.same_owner &&
      ::fchownat(pfd, base.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) < 0) {
    return sys_at(errno, "chown symlink");
  }
  // Symlinks carry no mode on Linux, and xattrs on them are skipped: the
  // user.* namespace refuses them and nothing in an image needs them.
  timespec times[2];
  entry_times(e, times);
  if (::utimensat(pfd, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) return sys_at(errno, "set symlink times");
  return ok();
}

Result<void> EntryWriter::write_hardlink(struct archive_entry* e, const std::string& name, std::string_view parent,
                                         const std::string& base) {
  const char* raw = archive_entry_hardlink(e);
  auto target = normalize_entry_name(raw);
  if (!target.ok()) return target.error().context("hard link target \"{}\"", raw);
  if (target->empty()) return Error::invalid("hard link to the layer root");
  if (*target == name) return ok();  // a link to itself: nothing to do
  // The target is looked up with the same symlink-refusing walk: a link
  // to "../x", to "/etc/shadow" or through a planted symlink cannot reach
  // a file outside the layer.
  auto [tparent, tbase_view] = split_parent(*target);
  std::string tbase(tbase_view);
  auto tdir = dirs_.open_existing(tparent);
  if (!tdir.ok() && tdir.error().code() == ErrorCode::NotFound) {
    return Error::invalid("hard link target \"{}\" is not in the layer", *target);
  }
  if (!tdir.ok()) return tdir.error().context("hard link target \"{}\"", *target);
  struct stat st;
  if (::fstatat(tdir->get(), tbase.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return Error::invalid("hard link target \"{}\" is not in the layer", *target);
    return Error::sys(errno, "stat hard link target \"{}\"", *target);
  }
  if (S_ISDIR(st.st_mode)) return Error::invalid("hard link to directory \"{}\"", *target);
  int pfd = BERTH_TRY(dirs_.dir(parent, /*create=*/true));
  // linkat without AT_SYMLINK_FOLLOW links a symlink itself, never what it
  // points to; both ends are a dir fd plus one plain name.
  if (::linkat(tdir->get(), tbase.c_str(), pfd, base.c_str(), 0) < 0) {
    if (errno != EEXIST) return Error::sys(errno, "link to \"{}\"", *target);
    BERTH_TRY(clear_slot(pfd, base, false));
    if (::linkat(tdir->get(), tbase.c_str(), pfd, base.c_str(), 0) < 0) {
      return Error::sys(errno, "link to \"{}\"", *target);
    }
  }
  return ok();
}

Result<void> EntryWriter::write_node(struct archive_entry* e, int pfd, const std::string& base, mode_t type) {
  dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
  if (::mknodat(pfd, base.c_str(), type | 0600, dev) < 0) {
    if (errno != EEXIST) return sys_at(errno, "mknod");
    BERTH_TRY(clear_slot(pfd, base, false));
    if (::mknodat(pfd, base.c_str(), type | 0600, dev) < 0) return sys_at(errno, "mknod");
  }
  if (opts_.same_owner &&
      ::fchownat(pfd, base.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) < 0) {
    return sys_at(errno, "chown");
  }
  // The node was just made by mknodat in a directory only we write to, so
  // the name cannot have become a symlink in between.
  if (::fchmodat(pfd, base.c_str(), archive_entry_perm(e) & 07777, 0) < 0) return sys_at(errno, "chmod");
  timespec times[2];
  entry_times(e, times);
  if (::utimensat(pfd, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) return sys_at(errno, "set times");
  return ok();
}

Result<void> EntryWriter::write_whiteout(struct archive_entry* e, std::string_view parent, std::string_view base) {
  if (base == kOpaqueMarker) {
    // Opaque directory: overlayfs hides everything below it in lower
    // layers when it carries trusted.overlay.opaque=y.
    int pfd = BERTH_TRY(dirs_.dir(parent, /*create=*/true));
    Fd dir(::openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return sys_at(errno, "open directory for opaque marker");
    if (::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0) < 0) {
      return sys_at(errno, "set trusted.overlay.opaque");
    }
    return ok();
  }
  if (base.starts_with(kWhiteoutMetaPrefix)) return ok();
  std::string target(base.substr(kWhiteoutPrefix.size()));
  if (target.empty()) return Error::invalid("whiteout with an empty name");
  if (target == "." || target == "..") return Error::invalid("whiteout of \"{}\" escapes its directory", target);
  int pfd = BERTH_TRY(dirs_.dir(parent, /*create=*/true));
  // A deletion in overlay form is a 0/0 character device of the same name.
  BERTH_TRY(remove_all_at(pfd, target));
  if (::mknodat(pfd, target.c_str(), S_IFCHR, makedev(0, 0)) < 0) return sys_at(errno, "mknod whiteout");
  dirs_.forget_under(parent.empty() ? target : std::string(parent) + "/" + target);
  if (opts_.same_owner &&
      ::fchownat(pfd, target.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) < 0) {
    return sys_at(errno, "chown whiteout");
  }
  return ok();
}

void EntryWriter::entry_times(struct archive_entry* e, timespec out[2]) const {
  timespec mtime{0, UTIME_OMIT};
  if (archive_entry_mtime_is_set(e)) mtime = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  out[0] = mtime;
  if (archive_entry_atime_is_set(e)) out[0] = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
  out[1] = mtime;
}

Result<void> EntryWriter::finish() {
  for (const auto& d : deferred_) {
    Fd dir;
    if (d.path.empty()) {
      dir.reset(::openat(dirs_.root(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    } else {
      auto [parent, base] = split_parent(d.path);
      auto pfd = dirs_.dir(parent, /*create=*/false);
      // A later whiteout may have removed it or replaced it: nothing to do.
      if (!pfd.ok()) continue;
      dir.reset(::openat(*pfd, std::string(base).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dir.valid() && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) continue;
    }
    if (!dir.valid()) return Error::sys(errno, "open directory \"{}\"", d.path);
    if (d.fix_mode && ::fchmod(dir.get(), d.mode) < 0) return Error::sys(errno, "chmod \"{}\"", d.path);
    if (::futimens(dir.get(), d.times) < 0) return Error::sys(errno, "set times of \"{}\"", d.path);
  }
  deferred_.clear();
  return ok();
}

}  // namespace berth::image
