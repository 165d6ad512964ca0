// Diff: turn a container's writable overlay upper directory back into a
// layer tarball, list its changes as `docker diff` shows them, and write a
// whole tree (a container's root) as a tar for `docker export`.
//
// Usage:
//   Fd upper = ...;  // containers/<id>/upper, O_DIRECTORY
//   auto d = BERTH_TRY(write_layer_diff(upper.get(), out.get()));
//   d.diff_id;       // sha256 of the tar written: same change, same digest
//   auto ch = BERTH_TRY(list_changes(upper.get(), {lower_top.get(), lower_base.get()}));
//
// The tar is deterministic: entries depth first, a directory before its
// contents, siblings sorted by name bytes (Go's filepath.Walk order, as in
// Docker's layers); pax with uid/gid/mode/mtime (an "mtime" record only for
// sub-second times), no user/group names, atime/ctime left out; hard links
// within the tree are written as links to the first path in that order.
// Deletions (overlay char device 0/0) become `.wh.NAME`, opaque directories
// (trusted.overlay.opaque or user.overlay.opaque = "y") get
// `DIR/.wh..wh..opq` right after DIR; both are empty files, mode 0, owned by
// root, mtime 0. Xattrs user.* (not user.overlay.*) and security.capability
// are kept, as SCHILY.xattr records. A real file named `.wh.*` in the upper
// cannot be told from a deletion, so the layer diff refuses it
// (InvalidArgument); the export writes it as it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::image {

struct TarResult {
  std::string diff_id;  // sha256 of the bytes written
  uint64_t size = 0;
};

Result<TarResult> write_layer_diff(int upper_dirfd, int out_fd);

// Docker's change kinds, with its numeric values (the API sends them).
enum class ChangeKind { Modified = 0, Added = 1, Deleted = 2 };
struct Change {
  ChangeKind kind;
  std::string path;  // absolute inside the container: "/etc/hosts"
};
// Changes in `upper_dirfd` over the lower directories (top first), sorted by
// path. A path present in a lower layer is Modified, otherwise Added; parent
// directories of a change that exist below are Modified, as Docker reports.
// Lower lookups follow overlay's rules (whiteouts and opaque directories in
// the lowers hide what is below them) and never follow a symlink. A whiteout
// is Deleted when the lowers have the path; an opaque upper directory makes
// each lower child it hides, and the upper does not recreate, Deleted.
Result<std::vector<Change>> list_changes(int upper_dirfd, const std::vector<int>& lower_dirfds);

// The whole tree under `root_dirfd` as a tar (no whiteout translation).
Result<TarResult> write_tree_tar(int root_dirfd, int out_fd);

}  // namespace berth::image
