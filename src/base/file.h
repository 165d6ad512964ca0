// Whole-file reads and writes with errors that name the path.
#pragma once

#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace berth {

Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(int fd);
// Write (truncating) without fsync: for cgroup and proc files, pid files.
Result<void> write_file(const std::string& path, std::string_view data, int mode = 0644);
// Write to path.tmp, fsync, rename: the file is either old or new after a crash.
Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode = 0644);
Result<void> write_all(int fd, std::string_view data);
// The directory a path names its file in (Go's filepath.Dir without the
// cleaning of "." and ".."): up to its last '/', "/" for a file in the
// root, "." for a bare name.
std::string parent_dir(const std::string& path);
// mkdir -p; existing directories are fine.
Result<void> mkdir_all(const std::string& path, int mode = 0755);

}  // namespace berth
