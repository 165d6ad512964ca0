// Paths inside the container's root, resolved as if that root were "/".
//
// The rootfs comes from an image and is hostile: any component may be a
// symlink to "/../../etc" or a magic link of /proc. Every lookup here is
// relative to a descriptor of the root and never leaves it: openat2(2) with
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS where it suffices, and a walk of one
// O_NOFOLLOW component at a time (symlinks re-resolved by hand under the
// root) where components must be created (CVE-2021-30465).
#pragma once

#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace berth::runtime {

enum class CreateLast {
  None,  // everything must exist
  Dir,   // missing components become directories (0755)
  File,  // as Dir, but the last one becomes an empty regular file (0644)
};

// Lexically clean an absolute container path: "//a/./b/" → "/a/b"; ".." is
// kept (it is resolved under the root, where it cannot climb above "/").
std::string clean_path(const std::string& path);

// An O_PATH descriptor of `path` under root_fd, following symlinks inside
// the root only. ENOENT comes back as an Error with sys_errno() == ENOENT.
Result<Fd> resolve_in_root(int root_fd, const std::string& path);

// As resolve_in_root, creating what is missing.
Result<Fd> create_in_root(int root_fd, const std::string& path, CreateLast last);

// The parent directory of `path` (created as directories if missing), and
// the last component in *name. The last component itself is not looked up,
// so the caller can tell a symlink (fstatat AT_SYMLINK_NOFOLLOW).
Result<Fd> open_parent_in_root(int root_fd, const std::string& path, std::string* name);

}  // namespace berth::runtime
