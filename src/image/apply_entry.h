// One tar entry written into a layer directory (internal to apply): the
// file types, whiteouts, ownership, modes, times and xattrs. apply.cpp
// runs the tar loop and owns the limits; this part owns the filesystem.
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/apply.h"
#include "image/layer_dir.h"

struct archive;
struct archive_entry;

namespace berth::image {

// Directory times (and modes loosened for a non-root caller) are set once
// every entry is written: creating a child changes its parent's mtime.
struct DeferredDir {
  std::string path;  // normalised; "" is the layer root
  timespec times[2];
  mode_t mode = 0;
  bool fix_mode = false;
};

class EntryWriter {
 public:
  // `read_error` explains a failed archive_read_data_block: the source's
  // own error (corrupt gzip, limits) when it has one.
  EntryWriter(struct archive* ar, int layer_fd, const ApplyOptions& opts,
              std::function<Error()> read_error);

  // Writes `entry` (name already normalised) below the layer directory.
  Result<void> write(struct archive_entry* entry, const std::string& name);

  // Applies the deferred directory times and modes; call after the last entry.
  Result<void> finish();

 private:
  Result<void> write_whiteout(struct archive_entry* e, std::string_view parent, std::string_view base);
  Result<void> write_file(struct archive_entry* e, int pfd, const std::string& base);
  Result<void> write_dir(struct archive_entry* e, const std::string& name, int pfd, const std::string& base);
  Result<void> write_symlink(struct archive_entry* e, int pfd, const std::string& base);
  Result<void> write_hardlink(struct archive_entry* e, const std::string& name, std::string_view parent,
                              const std::string& base);
  Result<void> write_node(struct archive_entry* e, int pfd, const std::string& base, mode_t type);
  // Make room for a new entry named `base`: unlink an existing non-directory;
  // an existing directory is an error unless `want_dir` (then true: keep it).
  Result<bool> clear_slot(int pfd, const std::string& base, bool want_dir);
  // Owner, xattrs, mode, in the order the kernel needs: chown clears
  // setuid/setgid and security.capability, so both come after it.
  Result<void> set_metadata(struct archive_entry* e, int fd, bool is_dir);
  Result<void> set_xattrs(struct archive_entry* e, int fd);
  Result<void> copy_data(struct archive_entry* e, int fd);
  void entry_times(struct archive_entry* e, timespec out[2]) const;

  struct archive* ar_;
  LayerDir dirs_;
  ApplyOptions opts_;
  std::function<Error()> read_error_;
  bool privileged_;
  std::vector<DeferredDir> deferred_;
};

}  // namespace berth::image
