// Applying a layer: unpack one layer tarball (plain, gzip or zstd) into the
// empty directory of that layer, in overlayfs form, treating the tar as
// hostile.
//
// Usage:
//   Fd dir = ...;    // layers/<chain-id>/diff, empty, opened O_DIRECTORY
//   Fd blob = ...;   // the layer blob as stored (compressed or not)
//   auto st = BERTH_TRY(apply_layer(dir.get(), blob.get(), {}));
//   st.diff_id;      // sha256 of the uncompressed tar: check it against the config
//
// The result is an overlay lower directory: a whiteout `.wh.NAME` becomes a
// character device 0/0 named NAME, an opaque marker `.wh..wh..opq` becomes
// the xattr trusted.overlay.opaque="y" on its directory. Every entry is
// written relative to `dirfd`, walking one component at a time without
// following symlinks; nothing outside the directory is ever touched.
// Absolute names are read relative to the layer ("/etc/x" is etc/x).
// Entries that would escape (a `..` component anywhere, writes through a
// symlink, hard links to outside the layer or to directories, whiteouts
// naming `..`) or that replace a directory with a non-directory fail the
// whole apply with an error that names the entry:
//   apply layer: entry "../etc/passwd": path escapes the layer
// Xattrs other than user.* and security.capability are dropped
// (trusted.overlay.* above all); a filesystem refusing them (EOPNOTSUPP,
// EPERM) skips them, as Docker does. Symlinks get no xattrs.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace berth::image {

struct ApplyOptions {
  // Refuse a layer whose uncompressed tar grows past this many bytes.
  uint64_t max_uncompressed = uint64_t{256} << 30;
  // Refuse a layer that expands more than this many times its compressed
  // size once it is past `ratio_floor` bytes: a decompression bomb.
  uint64_t max_ratio = 250;
  uint64_t ratio_floor = uint64_t{64} << 20;
  // Apply ownership from the tar (root); otherwise files belong to the caller.
  bool same_owner = true;
};

struct ApplyStats {
  std::string diff_id;        // sha256 of the uncompressed tar stream
  uint64_t tar_size = 0;      // bytes of the uncompressed tar stream
  uint64_t compressed_size = 0;
  uint64_t entries = 0;
};

// Reads the layer from `blob_fd` (from its current offset to EOF) into
// `dirfd`. On error the directory holds a partial tree: the caller removes it.
Result<ApplyStats> apply_layer(int dirfd, int blob_fd, const ApplyOptions& opts = {});

}  // namespace berth::image
