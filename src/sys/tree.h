// Removing directory trees that an image or a container wrote: fd-relative,
// never following a symlink, so a planted link cannot point the removal at
// the host.
#pragma once

#include <string>

#include "base/result.h"

namespace berth::sys {

// Remove `name` under `parent_fd` and everything beneath it; a missing
// `name` is fine.
Result<void> remove_tree_at(int parent_fd, const std::string& name);
// Same for an absolute or cwd-relative path (its last component is removed).
Result<void> remove_tree(const std::string& path);

}  // namespace berth::sys
