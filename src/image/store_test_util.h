// Helpers shared by the image store tests: scratch directories removed with
// everything under them, tars built in memory with libarchive's writer, and
// images (layers, config, manifest) put straight into a content store.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/json.h"
#include "image/content_store.h"
#include "image/manifest.h"

namespace berth {
// gtest prints codes by name, not as bytes.
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << error_code_name(code); }
}  // namespace berth

namespace berth::image::store_testing {

bool is_root();

// Root-only tests skip elsewhere; the ctest label "root" says which they are.
#define BERTH_SKIP_UNLESS_ROOT()                                  \
  do {                                                            \
    if (!::berth::image::store_testing::is_root())                \
      GTEST_SKIP() << "needs root (overlay mounts, file owners)"; \
  } while (0)

// $TMPDIR/berth-store-XXXXXX, removed with its contents (without following
// symlinks) when the object goes. Unmount what was mounted inside first.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string sub(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

struct TarEntry {
  enum Type { File, Dir, Symlink, Hardlink };
  Type type = File;
  std::string name;
  std::string data;  // File contents
  std::string link;  // Symlink or Hardlink target
  mode_t mode = 0644;
};
TarEntry tar_file(std::string name, std::string data, mode_t mode = 0644);
TarEntry tar_dir(std::string name, mode_t mode = 0755);
TarEntry tar_symlink(std::string name, std::string target);
TarEntry tar_hardlink(std::string name, std::string target);

// A PAX tar of `entries`, with fixed owners and times (same input, same
// bytes).
std::string make_tar(const std::vector<TarEntry>& entries);
// A layer tar of regular files, path → content, in path order. A name
// ".wh.NAME" is a whiteout of NAME as image layers write them.
std::string layer_tar(const std::map<std::string, std::string>& files);
// Regular files of a tar (plain or compressed) by path, and symlinks as
// "-> target".
std::map<std::string, std::string> read_tar(std::string_view tar);
// `data` gzip-compressed (libarchive's gzip filter over raw bytes).
std::string gzip(std::string_view data);

// `data` written to `path`, opened for reading at offset 0.
Fd file_with(const std::string& path, std::string_view data);
// An anonymous file holding `data`, at offset 0.
Fd memfd_with(std::string_view data);
// The whole content of an fd from offset 0.
std::string read_all_fd(int fd);

std::string read_path(const std::string& path);
bool path_exists(const std::string& path);  // lstat: links count too
// Names in a directory without "." and ".."; empty when it is missing.
std::set<std::string> dir_names(const std::string& dir);

// A stored test image: what a registry would have handed us.
struct TestImage {
  std::string manifest_digest, config_digest;
  std::string manifest_bytes, config_bytes;
  std::vector<std::string> layer_digests, diff_ids, chain_ids;  // base first
  int64_t tar_bytes = 0;  // the uncompressed layers' total size
};

struct ImageSpec {
  explicit ImageSpec(std::vector<std::string> blobs = {}) : layers(std::move(blobs)) {}
  ImageSpec& with_diff_ids(std::vector<std::string> d) {
    diff_ids = std::move(d);
    return *this;
  }
  ImageSpec& with_created(std::string c) {
    created = std::move(c);
    return *this;
  }
  ImageSpec& with_media_type(std::string mt) {
    manifest_media_type = std::move(mt);
    return *this;
  }

  std::vector<std::string> layers;  // layer blobs as stored (plain or compressed)
  // The config's rootfs.diff_ids; by default the sha256 of each layer blob
  // (right for plain layers: give them for compressed ones).
  std::optional<std::vector<std::string>> diff_ids;
  std::string created = "2024-01-02T03:04:05Z";
  Json config_extra = Json::object();  // merged into the config's "config"
  std::string manifest_media_type = media::kOciManifest;
};

// The config JSON (canonical bytes) for `spec` with these diff IDs.
std::string make_config(const ImageSpec& spec, const std::vector<std::string>& diff_ids);
// The manifest naming a config and layers (mediaTypes from the manifest's
// family; plain layers unless a blob starts with the gzip magic).
std::string make_manifest(const std::string& media_type, const BlobInfo& config,
                          const std::vector<std::string>& layer_blobs);
// Put layers, config and manifest into `cs` under `lease`.
TestImage put_image(ContentStore& cs, ContentStore::Lease& lease, const ImageSpec& spec);
// The same digests without storing anything.
TestImage describe_image(const ImageSpec& spec);

}  // namespace berth::image::store_testing
