// Walking a directory tree relative to a directory fd, as diff and export
// need it: every entry is reached with *at calls from its parent's fd, never
// through a path and never through a symlink, so a container that plants a
// symlink in its writable layer cannot make the daemon read a host file.
//
// Usage:
//   BERTH_TRY(walk_tree(upper.get(), [&](const TreeEntry& e) -> Result<WalkStep> {
//     fmt::print("{} {}\n", e.path, e.st.st_mode);   // "etc", "etc/hosts", ...
//     return WalkStep::Descend;
//   }));
//
// Order: depth first, a directory before its contents, the children of a
// directory sorted by their names' bytes (or by a caller's key). That is the
// order of Go's filepath.Walk, so our layers list entries as Docker's do.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace berth::image {

struct TreeEntry {
  std::string path;       // relative to the root: "etc/hosts" (no '/' at either end)
  std::string_view name;  // the last component of path
  int parent_fd = -1;     // the directory holding it, for *at calls
  struct stat st {};      // lstat of the entry
  int dir_fd = -1;        // directories only: opened O_DIRECTORY|O_NOFOLLOW
  size_t depth = 0;       // 1 for children of the root
};

enum class WalkStep { Descend, Skip };
using TreeVisitor = std::function<Result<WalkStep>(const TreeEntry&)>;
// Sort key for a child of a directory; children are visited in key order.
using TreeSortKey = std::function<std::string(std::string_view name, const struct stat& st)>;

// Visits every entry below `root_fd` (not the root itself). Fails on the
// first error, from the walk or from `visit`.
Result<void> walk_tree(int root_fd, const TreeVisitor& visit, const TreeSortKey& key = {});

// Names in a directory (no "." or ".."), unsorted.
Result<std::vector<std::string>> list_dir(int dir_fd);

// Opens a directory below `parent_fd` without following a symlink at `name`.
Result<int> open_dir_at(int parent_fd, const std::string& name);

// Overlayfs's on-disk forms. A whiteout (a deleted lower path) is a character
// device 0/0; an opaque directory (one that hides everything below it) has
// trusted.overlay.opaque="y", or user.overlay.opaque="y" when the overlay
// was mounted with userxattr (rootless).
bool is_whiteout(const struct stat& st);
Result<bool> is_opaque_dir(int dir_fd);

// The extended attributes a layer carries: user.* (but not user.overlay.*,
// which is overlay's own bookkeeping) and security.capability (file
// capabilities, which `ping` and friends need). trusted.* and the security
// modules' labels are host state and stay out. Sorted by name.
using Xattrs = std::vector<std::pair<std::string, std::string>>;
bool is_kept_xattr(std::string_view name);
// `fd` is an open regular file or directory.
Result<Xattrs> read_kept_xattrs(int fd);

}  // namespace berth::image
