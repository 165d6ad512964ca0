// Walking inside a layer directory without ever leaving it: the part of
// apply that decides where a hostile tar entry may write.
//
// Usage:
//   auto name = BERTH_TRY(normalize_entry_name("./usr//bin/"));  // "usr/bin"
//   LayerDir dirs(layer_fd);
//   int parent = BERTH_TRY(dirs.dir("usr", /*create=*/true));    // borrowed fd
//   openat(parent, "bin", O_NOFOLLOW | ...);
//
// Every directory is reached one component at a time from the layer's own
// fd, refusing symlinks (O_NOFOLLOW, or openat2 with RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS), so a symlink planted by an earlier entry
// (`a -> /etc`, then `a/passwd`) makes the write fail instead of landing
// outside the layer. The final component is the caller's to handle with
// the *at() calls and O_NOFOLLOW / AT_SYMLINK_NOFOLLOW.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "base/fd.h"
#include "base/result.h"

namespace berth::image {

// Clean a tar entry name into a relative path: leading "/" and "./" go,
// "//" and "/./" collapse, a trailing "/" goes; "" names the layer root.
// A ".." component anywhere is refused rather than resolved, because a
// layer has no business naming it; so are names longer than PATH_MAX.
Result<std::string> normalize_entry_name(std::string_view raw);

// "a/b/c" -> {"a/b", "c"}; "c" -> {"", "c"}.
std::pair<std::string_view, std::string_view> split_parent(std::string_view path);

class LayerDir {
 public:
  explicit LayerDir(int root_fd) : root_(root_fd) {}

  int root() const { return root_; }

  // The directory at normalised path `rel` ("" is the root) as an O_PATH
  // fd, owned by this object and valid until the next call. With `create`,
  // missing directories are made with mode 0755 (as Docker does for
  // parents a tar leaves out). The last answer is cached: tar entries come
  // grouped by directory, so most entries reuse it without a syscall.
  Result<int> dir(std::string_view rel, bool create);

  // As dir(), not cached and never creating: for hard-link targets.
  Result<Fd> open_existing(std::string_view rel) const;

  // Drop the cached directory if it is `rel` or below it: `rel` was removed,
  // and an fd of a deleted directory would swallow writes silently.
  void forget_under(std::string_view rel) {
    if (cached_path_ == rel || (cached_path_.size() > rel.size() && cached_path_.starts_with(rel) &&
                                cached_path_[rel.size()] == '/')) {
      cached_path_.clear();
      cached_.reset();
    }
  }

  // Make `fd` (any fd of the directory at `rel`) the cached answer: a
  // directory entry is usually followed by its children.
  void remember(std::string_view rel, Fd fd) {
    cached_path_.assign(rel);
    cached_ = std::move(fd);
  }

 private:
  Result<Fd> walk(std::string_view rel, bool create) const;

  int root_;
  std::string cached_path_;
  Fd cached_;
};

// Remove `name` in `dirfd`, recursively when it is a directory; never
// follows symlinks. Missing is fine.
Result<void> remove_all_at(int dirfd, const std::string& name);

}  // namespace berth::image
