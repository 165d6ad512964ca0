// Helpers shared by the diff tests: scratch trees, reading a tar back with
// libarchive's reader, and a snapshot of a tree that two trees can be
// compared by.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/fd.h"

namespace berth::image::testing {

// A directory under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }
  // A fresh O_DIRECTORY descriptor of the directory (or a subdirectory).
  Fd open(const std::string& rel = "") const;

 private:
  std::string path_;
};

// An anonymous in-memory file for a tar to be written into.
Fd make_memfd();

struct TarEntry {
  std::string path;
  mode_t mode = 0;  // with the file type bits
  int64_t uid = 0, gid = 0;
  int64_t size = 0;
  int64_t mtime = 0;
  long mtime_nsec = 0;
  bool has_atime = false, has_ctime = false;
  std::string uname, gname;
  std::string symlink, hardlink;
  unsigned rdev_major = 0, rdev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // in tar order
  std::string data;
};
// Reads the whole tar in `fd` from offset 0.
std::vector<TarEntry> read_tar(int fd);
std::string read_all(int fd);

// Tree building (paths are absolute); each aborts the test binary on failure
// so a generator can call them freely.
void make_file(const std::string& path, const std::string& content, mode_t mode = 0644);
void make_dir(const std::string& path, mode_t mode = 0755);
void make_symlink(const std::string& target, const std::string& path);
void make_node(const std::string& path, mode_t mode, dev_t dev);
void make_whiteout(const std::string& path);
void set_xattr(const std::string& path, const std::string& name, const std::string& value);
void set_owner(const std::string& path, uid_t uid, gid_t gid);
// chown clears setuid and setgid, so modes with them come after owners.
void set_mode(const std::string& path, mode_t mode);
void set_mtime(const std::string& path, int64_t sec, long nsec);
void make_opaque(const std::string& path);

struct Node {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t size = 0;
  std::string content_digest;
  int64_t mtime = 0;
  long mtime_nsec = 0;
  dev_t rdev = 0;
  std::string symlink;
  std::map<std::string, std::string> xattrs;  // user.*, security.capability, trusted.overlay.opaque
  bool operator==(const Node&) const = default;
};
struct Snapshot {
  std::map<std::string, Node> nodes;               // relative path -> node (root excluded)
  std::set<std::set<std::string>> link_groups;     // paths sharing an inode (2 or more)
};
Snapshot snapshot(const std::string& root);
// "" when equal, else a readable list of the differences.
std::string compare(const Snapshot& want, const Snapshot& got, bool symlink_mtime);
std::string describe(const Node& n);

}  // namespace berth::image::testing
