// Resolving `--user` and `--group-add` against the image's /etc/passwd and
// /etc/group, the way Docker does, without running any container code and
// without trusting the image: the files are opened relative to the rootfs
// with RESOLVE_IN_ROOT, so a symlink planted in the image (say /etc/passwd ->
// /etc/shadow, or ../../../../etc/passwd) resolves inside the rootfs and can
// never make the daemon read a host file.
//
// Grammar of a user spec:
//   spec  := "" | user | user ":" group
//   user  := name | uid        group := name | gid      (ids are decimal)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::engine {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // primary, memberships, then GroupAdd
  std::string name;                       // from passwd; empty if unknown
  std::string home;                       // from passwd; "/" if unknown
};

// rootfs_dirfd: a directory fd of the container's root (O_PATH is enough).
// An empty spec means root. A missing passwd or group file is fine for
// numeric ids and an error for names, with Docker's wording:
// "unable to find user x: no matching entries in passwd file".
Result<ResolvedUser> resolve_user(int rootfs_dirfd, std::string_view user_spec,
                                  const std::vector<std::string>& group_add = {});

// Read a file of the rootfs without leaving it (RESOLVE_IN_ROOT), refusing
// anything but a regular file of at most `max_size` bytes. NotFound if it is
// not there.
Result<std::string> read_rootfs_file(int rootfs_dirfd, std::string_view path,
                                     size_t max_size = 4 << 20);

}  // namespace berth::engine
