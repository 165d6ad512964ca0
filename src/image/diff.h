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
// The tar is deterministic: entries sorted by path (a directory before its
// contents), PAX headers with uid/gid/mode/mtime (and sub-second mtime),
// no user/group names, atime/ctime left out; hard links within the tree are
// written as links to the first path in that order. Deletions (overlay char
// device 0/0) become `.wh.NAME`, opaque directories (trusted.overlay.opaque)
// `DIR/.wh..wh..opq`. Xattrs user.* and security.capability are kept.
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
Result<std::vector<Change>> list_changes(int upper_dirfd, const std::vector<int>& lower_dirfds);

// The whole tree under `root_dirfd` as a tar (no whiteout translation).
Result<TarResult> write_tree_tar(int root_dirfd, int out_fd);

}  // namespace berth::image
