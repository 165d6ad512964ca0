// Layer diffs and tree exports: a tree walked in a fixed order, written as a
// pax tar through libarchive's writer into a caller's fd, hashed on the way.
//
// Why full pax and not pax_restricted: the restricted form stores an mtime's
// nanoseconds only when some other field already forces an extended header,
// so two files differing only in sub-second mtime would lose the difference
// at random. Full pax adds the "mtime" record exactly when nanoseconds are
// non-zero. We never set atime, ctime or birthtime on an entry, and
// libarchive's extended-header names ("dir/PaxHeader/name") carry no pid or
// time, so the bytes depend only on the tree.
#include "image/diff.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/sysmacros.h>

#include <map>
#include <memory>

#include "base/digest.h"
#include "base/fd.h"
#include "base/file.h"
#include "image/tree_walk.h"

namespace berth::image {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveEntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

// Names are bytes, but libarchive converts them from the locale's charset
// to UTF-8 for pax headers: under the C locale a non-ASCII name is stored as
// raw bytes with hdrcharset=BINARY, under a UTF-8 locale without it, and
// under Latin-1 it would be transcoded. So that a tree hashes the same in
// any process, the writing thread uses the C locale while it writes.
class CLocaleScope {
 public:
  CLocaleScope() : c_(newlocale(LC_ALL_MASK, "C", locale_t{})) {
    if (c_ != locale_t{}) old_ = uselocale(c_);
  }
  ~CLocaleScope() {
    if (c_ == locale_t{}) return;
    uselocale(old_);
    freelocale(c_);
  }
  CLocaleScope(const CLocaleScope&) = delete;
  CLocaleScope& operator=(const CLocaleScope&) = delete;

 private:
  locale_t c_;
  locale_t old_{};
};

enum class TreeMode {
  Layer,   // overlay upper: whiteouts and opaque dirs become .wh. entries
  Export,  // a plain tree: a char device 0/0 is a device
};

class TreeTarWriter {
 public:
  TreeTarWriter(int out_fd, TreeMode mode) : out_fd_(out_fd), mode_(mode) {}
  TreeTarWriter(const TreeTarWriter&) = delete;
  TreeTarWriter& operator=(const TreeTarWriter&) = delete;
  ~TreeTarWriter() {
    // After a failure, freeing the writer must not append an end-of-archive
    // to the output as if the tar were whole.
    if (a_ && !closed_) archive_write_fail(a_.get());
  }

  Result<TarResult> run(int root_fd) {
    BERTH_TRY(open());
    TreeSortKey key;
    if (mode_ == TreeMode::Layer) {
      // Sort a whiteout by the name it gets in the tar, so that the entries
      // of a directory are in byte order of what a reader sees.
      key = [](std::string_view name, const struct stat& st) {
        std::string k;
        if (is_whiteout(st)) k = kWhiteoutPrefix;
        k += name;
        return k;
      };
    }
    BERTH_TRY(walk_tree(
        root_fd, [this](const TreeEntry& e) { return add(e); }, key));
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return archive_error("finish tar");
    closed_ = true;
    TarResult r;
    r.size = hash_.size();
    r.diff_id = hash_.digest();
    return r;
  }

 private:
  Result<void> open() {
    a_.reset(archive_write_new());
    entry_.reset(archive_entry_new());
    if (!a_ || !entry_) return Error::internal("libarchive: out of memory");
    if (archive_write_set_format_pax(a_.get()) != ARCHIVE_OK ||
        // Only SCHILY.xattr.* records (what Docker and containerd read),
        // not libarchive's base64 duplicates of every attribute.
        archive_write_set_format_option(a_.get(), "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a_.get(), 64 * 1024) != ARCHIVE_OK ||
        // No padding after the end-of-archive blocks: the tar ends where
        // Docker's does, and its size is the same on every write.
        archive_write_set_bytes_in_last_block(a_.get(), 1) != ARCHIVE_OK) {
      return archive_error("set up tar writer");
    }
    if (archive_write_open(a_.get(), this, nullptr, &TreeTarWriter::write_cb, nullptr) !=
        ARCHIVE_OK) {
      return archive_error("open tar writer");
    }
    return ok();
  }

  static la_ssize_t write_cb(archive* a, void* self_ptr, const void* buf, size_t n) {
    auto* self = static_cast<TreeTarWriter*>(self_ptr);
    auto r = write_all(self->out_fd_, std::string_view(static_cast<const char*>(buf), n));
    if (!r.ok()) {
      archive_set_error(a, r.error().sys_errno() ? r.error().sys_errno() : EIO, "%s",
                        r.error().message().c_str());
      return -1;
    }
    self->hash_.update(buf, n);
    return static_cast<la_ssize_t>(n);
  }

  Error archive_error(std::string_view what) const {
    const char* msg = archive_error_string(a_.get());
    int err = archive_errno(a_.get());
    return Error(err > 0 ? Error::code_for_errno(err) : ErrorCode::Internal,
                 fmt::format("{}: {}", what, msg ? msg : "libarchive error"), err > 0 ? err : 0);
  }

  Result<WalkStep> add(const TreeEntry& e) {
    const struct stat& st = e.st;
    if (mode_ == TreeMode::Layer) {
      if (is_whiteout(st)) {
        BERTH_TRY(add_marker(std::string(e.path, 0, e.path.size() - e.name.size()) +
                             std::string(kWhiteoutPrefix) + std::string(e.name)));
        return WalkStep::Skip;
      }
      if (e.name.starts_with(kWhiteoutPrefix)) {
        // A reader would take it for a deletion; writing it would change
        // the layer's meaning.
        return Error::invalid("/{}: a file named {}* cannot be stored in a layer", e.path,
                              kWhiteoutPrefix);
      }
    }

    archive_entry* en = entry_.get();
    archive_entry_clear(en);
    fill_header(en, st);
    if (S_ISDIR(st.st_mode)) {
      std::string name = e.path + "/";
      archive_entry_copy_pathname(en, name.c_str());
      auto xattrs = BERTH_TRY_CTX(read_kept_xattrs(e.dir_fd), "/{}", e.path);
      add_xattrs(en, xattrs);
      BERTH_TRY(write_header(e.path));
      if (mode_ == TreeMode::Layer && BERTH_TRY_CTX(is_opaque_dir(e.dir_fd), "/{}", e.path)) {
        BERTH_TRY(add_marker(name + std::string(kOpaqueMarker)));
      }
      return WalkStep::Descend;
    }
    archive_entry_copy_pathname(en, e.path.c_str());

    // A second name for an inode already written becomes a hard link to
    // the first name, which is also the first in walk order.
    if (st.st_nlink > 1) {
      auto [it, inserted] = links_.try_emplace({st.st_dev, st.st_ino}, e.path);
      if (!inserted) {
        archive_entry_copy_hardlink(en, it->second.c_str());
        archive_entry_set_size(en, 0);
        BERTH_TRY(write_header(e.path));
        return WalkStep::Skip;
      }
    }

    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      for (;;) {
        ssize_t n = readlinkat(e.parent_fd, std::string(e.name).c_str(), target.data(),
                               target.size());
        if (n < 0) return Error::sys(errno, "readlink /{}", e.path);
        if (static_cast<size_t>(n) < target.size()) {
          target.resize(static_cast<size_t>(n));
          break;
        }
        target.resize(target.size() * 2);  // it grew since the lstat
      }
      archive_entry_copy_symlink(en, target.c_str());
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdevmajor(en, major(st.st_rdev));
      archive_entry_set_rdevminor(en, minor(st.st_rdev));
    } else if (S_ISREG(st.st_mode)) {
      return add_regular(e);
    } else if (!S_ISFIFO(st.st_mode)) {
      // Sockets are not kept by tar (Docker skips them too).
      return WalkStep::Skip;
    }
    BERTH_TRY(write_header(e.path));
    return WalkStep::Skip;
  }

  Result<WalkStep> add_regular(const TreeEntry& e) {
    std::string name(e.name);
    // O_NONBLOCK: if the file was swapped for a fifo, the open must not
    // hang. O_NOATIME: committing a container should not touch its files;
    // the kernel refuses it to non-owners without CAP_FOWNER.
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    int raw = openat(e.parent_fd, name.c_str(), flags | O_NOATIME);
    if (raw < 0 && errno == EPERM) raw = openat(e.parent_fd, name.c_str(), flags);
    if (raw < 0) return Error::sys(errno, "open /{}", e.path);
    Fd fd(raw);
    struct stat now;
    if (fstat(fd.get(), &now) != 0) return Error::sys(errno, "stat /{}", e.path);
    if (!S_ISREG(now.st_mode) || now.st_ino != e.st.st_ino || now.st_dev != e.st.st_dev) {
      return Error::make(ErrorCode::Conflict, "/{} changed while it was being read", e.path);
    }
    archive_entry* en = entry_.get();
    auto size = static_cast<uint64_t>(e.st.st_size);
    archive_entry_set_size(en, static_cast<la_int64_t>(size));
    auto xattrs = BERTH_TRY_CTX(read_kept_xattrs(fd.get()), "/{}", e.path);
    add_xattrs(en, xattrs);
    BERTH_TRY(write_header(e.path));

    // Exactly the size in the header: a file that shrinks meanwhile is
    // padded with zeros by libarchive, one that grows is cut.
    if (buf_.empty()) buf_.resize(256 * 1024);
    uint64_t left = size;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, buf_.size()));
      ssize_t n = read(fd.get(), buf_.data(), want);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::sys(errno, "read /{}", e.path);
      }
      if (n == 0) break;
      if (archive_write_data(a_.get(), buf_.data(), static_cast<size_t>(n)) != n) {
        return archive_error(fmt::format("write /{}", e.path));
      }
      left -= static_cast<uint64_t>(n);
    }
    if (archive_write_finish_entry(a_.get()) != ARCHIVE_OK) {
      return archive_error(fmt::format("write /{}", e.path));
    }
    return WalkStep::Skip;
  }

  // Whiteouts and the opaque marker: empty regular files owned by root with
  // mode 0 and mtime 0, so that a deletion always reads the same however the
  // kernel dated its whiteout (overlay shares one whiteout inode among many).
  Result<void> add_marker(const std::string& path) {
    archive_entry* en = entry_.get();
    archive_entry_clear(en);
    archive_entry_copy_pathname(en, path.c_str());
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0);
    archive_entry_set_uid(en, 0);
    archive_entry_set_gid(en, 0);
    archive_entry_set_mtime(en, 0, 0);
    archive_entry_set_size(en, 0);
    return write_header(path);
  }

  static void fill_header(archive_entry* en, const struct stat& st) {
    archive_entry_set_mode(en, st.st_mode);
    archive_entry_set_uid(en, st.st_uid);
    archive_entry_set_gid(en, st.st_gid);
    archive_entry_set_mtime(en, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    archive_entry_set_size(en, 0);
  }

  static void add_xattrs(archive_entry* en, const Xattrs& xattrs) {
    for (const auto& [name, value] : xattrs) {
      archive_entry_xattr_add_entry(en, name.c_str(), value.data(), value.size());
    }
  }

  Result<void> write_header(std::string_view path) {
    int r = archive_write_header(a_.get(), entry_.get());
    // ARCHIVE_WARN: a name that is not text in this locale, stored as raw
    // bytes with hdrcharset=BINARY; the entry is written in full.
    if (r < ARCHIVE_WARN) return archive_error(fmt::format("write header for /{}", path));
    return ok();
  }

  int out_fd_;
  TreeMode mode_;
  Sha256 hash_;
  std::unique_ptr<archive, ArchiveWriteDeleter> a_;
  std::unique_ptr<archive_entry, ArchiveEntryDeleter> entry_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::string buf_;
  bool closed_ = false;
};

}  // namespace

Result<TarResult> write_layer_diff(int upper_dirfd, int out_fd) {
  CLocaleScope c_locale;
  TreeTarWriter w(out_fd, TreeMode::Layer);
  return BERTH_TRY_CTX(w.run(upper_dirfd), "write layer diff");
}

Result<TarResult> write_tree_tar(int root_dirfd, int out_fd) {
  CLocaleScope c_locale;
  TreeTarWriter w(out_fd, TreeMode::Export);
  return BERTH_TRY_CTX(w.run(root_dirfd), "export tree");
}

}  // namespace berth::image
