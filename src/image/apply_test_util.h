// Test helpers for apply: tars built in memory with libarchive's writer
// (so hostile ones can be crafted), gzip (zlib, an encoder independent of
// the ISA-L decoder under test) and zstd, and a scratch directory holding
// the layer beside canaries that must never change.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "image/apply.h"

namespace berth::image::testing {

struct TarEntry {
  enum Type { File, Dir, Symlink, Hardlink, Char, Block, Fifo };
  Type type = File;
  std::string name;
  std::string data;  // File contents
  std::string link;  // Symlink target or Hardlink target
  mode_t mode = 0644;
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t mtime = 1700000000;
  long mtime_nsec = 0;
  unsigned major = 0;
  unsigned minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

TarEntry file(std::string name, std::string data, mode_t mode = 0644);
TarEntry dir(std::string name, mode_t mode = 0755);
TarEntry symlink(std::string name, std::string target);
TarEntry hardlink(std::string name, std::string target);

// A PAX tar (libarchive's writer) of `entries`, ending with the usual zero
// blocks and padded to 10 KiB records as tar(1) does.
std::string make_tar(const std::vector<TarEntry>& entries);
// One 512-byte ustar header for a regular file of `size` bytes (the data
// is the caller's): for bombs whose data is generated, never stored.
std::string ustar_header(const std::string& name, uint64_t size, char type = '0');
// A whole tar of one file whose name is in a PAX "path" record, as Go's
// archive/tar writes non-ASCII and long names (UTF-8, no hdrcharset).
std::string go_style_pax_file(const std::string& name, std::string_view data);

std::string gzip(std::string_view data, int level = 6);
std::string zstd(std::string_view data, int level = 3);

// An fd reading `data` from offset 0 (a memfd).
Fd memfd_with(std::string_view data);
// A file of `data` in the scratch dir, opened for reading.
Fd file_with(const std::string& path, std::string_view data);

std::string sha256_hex_digest(std::string_view data);

// <tmp>/berth-apply-XXXXXX/{layer/, outside/canary, canary}: the layer goes
// into layer/; the canaries must come out byte-identical.
class Scratch {
 public:
  Scratch();
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::string& base() const { return base_; }
  std::string layer() const { return base_ + "/layer"; }
  int layer_fd() const { return layer_fd_.get(); }

  Result<ApplyStats> apply(std::string_view blob, ApplyOptions opts = test_options());
  // Defaults for tests: ownership only as root.
  static ApplyOptions test_options();

  // The canaries are intact and nothing but them lives outside layer/.
  ::testing::AssertionResult outside_untouched() const;

 private:
  std::string base_;
  Fd layer_fd_;
};

// lstat of a path, nullopt when missing.
std::optional<struct stat> lstat_path(const std::string& path);
std::string read_path(const std::string& path);
// The xattr's value, nullopt when missing.
std::optional<std::string> get_xattr(const std::string& path, const std::string& name);
bool is_root();

}  // namespace berth::image::testing
