#include "image/store_test_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/digest.h"
#include "base/file.h"
#include "sys/tree.h"

namespace berth::image::store_testing {

namespace {

la_ssize_t append_cb(struct archive*, void* out, const void* buf, size_t len) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), len);
  return static_cast<la_ssize_t>(len);
}

bool is_gzip(std::string_view blob) {
  return blob.size() >= 2 && static_cast<unsigned char>(blob[0]) == 0x1f &&
         static_cast<unsigned char>(blob[1]) == 0x8b;
}

}  // namespace

bool is_root() { return ::geteuid() == 0; }

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/berth-store-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << tmpl << ": " << errno;
  path_ = tmpl;
}

TempDir::~TempDir() {
  auto r = sys::remove_tree(path_);
  if (!r) ADD_FAILURE() << "remove " << path_ << ": " << r.error().message();
}

TarEntry tar_file(std::string name, std::string data, mode_t mode) {
  return TarEntry{TarEntry::File, std::move(name), std::move(data), "", mode};
}
TarEntry tar_dir(std::string name, mode_t mode) {
  return TarEntry{TarEntry::Dir, std::move(name), "", "", mode};
}
TarEntry tar_symlink(std::string name, std::string target) {
  return TarEntry{TarEntry::Symlink, std::move(name), "", std::move(target), 0777};
}
TarEntry tar_hardlink(std::string name, std::string target) {
  return TarEntry{TarEntry::Hardlink, std::move(name), "", std::move(target), 0644};
}

std::string make_tar(const std::vector<TarEntry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, append_cb, nullptr), ARCHIVE_OK);
  for (const auto& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, t.name.c_str());
    archive_entry_set_filetype(e, t.type == TarEntry::Dir       ? AE_IFDIR
                                  : t.type == TarEntry::Symlink ? AE_IFLNK
                                                                : AE_IFREG);
    archive_entry_set_perm(e, t.mode);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (t.type == TarEntry::Symlink) archive_entry_copy_symlink(e, t.link.c_str());
    if (t.type == TarEntry::Hardlink) archive_entry_copy_hardlink(e, t.link.c_str());
    if (t.type == TarEntry::File) archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (t.type == TarEntry::File && !t.data.empty()) {
      EXPECT_EQ(archive_write_data(a, t.data.data(), t.data.size()),
                static_cast<la_ssize_t>(t.data.size()));
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string layer_tar(const std::map<std::string, std::string>& files) {
  std::vector<TarEntry> entries;
  for (const auto& [path, data] : files) entries.push_back(tar_file(path, data));
  return make_tar(entries);
}

std::map<std::string, std::string> read_tar(std::string_view tar) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_filter_all(a);
  EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (archive_entry_filetype(e) == AE_IFLNK) {
      out[name] = std::string("-> ") + archive_entry_symlink(e);
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
    if (!data.empty()) {
      EXPECT_EQ(archive_read_data(a, data.data(), data.size()), static_cast<la_ssize_t>(data.size()));
    }
    out[name] = std::move(data);
  }
  archive_read_free(a);
  return out;
}

std::string gzip(std::string_view data) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  archive_write_add_filter_gzip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, append_cb, nullptr), ARCHIVE_OK);
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "data");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
  EXPECT_EQ(archive_write_data(a, data.data(), data.size()), static_cast<la_ssize_t>(data.size()));
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

Fd file_with(const std::string& path, std::string_view data) {
  EXPECT_TRUE(write_file(path, data).ok()) << path;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << path;
  return fd;
}

Fd memfd_with(std::string_view data) {
  Fd fd(::memfd_create("store-test", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_TRUE(write_all(fd.get(), data).ok());
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

std::string read_all_fd(int fd) {
  ::lseek(fd, 0, SEEK_SET);
  auto r = read_fd(fd);
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r ? *r : "";
}

std::string read_path(const std::string& path) {
  auto r = read_file(path);
  return r ? *r : "<" + r.error().message() + ">";
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::set<std::string> dir_names(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.insert(n);
  }
  ::closedir(d);
  return out;
}

std::string make_config(const ImageSpec& spec, const std::vector<std::string>& diff_ids) {
  Json history = Json::array();
  for (size_t i = 0; i < diff_ids.size(); i++)
    history.push_back({{"created", spec.created}, {"created_by", "layer " + std::to_string(i)}});
  Json cfg = {{"architecture", Platform::host_default().architecture},
              {"os", "linux"},
              {"created", spec.created},
              {"config", spec.config_extra},
              {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
              {"history", history}};
  return canonical_json(cfg);
}

std::string make_manifest(const std::string& media_type, const BlobInfo& config,
                          const std::vector<std::string>& layer_blobs) {
  bool docker = media_type == media::kDockerManifest;
  Json layers = Json::array();
  for (const auto& l : layer_blobs) {
    const char* mt = docker ? (is_gzip(l) ? media::kDockerLayerGzip : media::kDockerLayer)
                            : (is_gzip(l) ? media::kOciLayerGzip : media::kOciLayer);
    layers.push_back({{"mediaType", mt}, {"digest", sha256_digest(l)}, {"size", l.size()}});
  }
  Json m = {{"schemaVersion", 2},
            {"mediaType", media_type},
            {"config",
             {{"mediaType", docker ? media::kDockerConfig : media::kOciConfig},
              {"digest", config.digest},
              {"size", config.size}}},
            {"layers", layers}};
  return canonical_json(m);
}

TestImage describe_image(const ImageSpec& spec) {
  TestImage img;
  std::vector<std::string> diff_ids;
  for (const auto& l : spec.layers) {
    img.layer_digests.push_back(sha256_digest(l));
    diff_ids.push_back(sha256_digest(l));
    img.tar_bytes += static_cast<int64_t>(l.size());
  }
  if (spec.diff_ids) diff_ids = *spec.diff_ids;
  img.diff_ids = diff_ids;
  for (const auto& d : diff_ids)
    img.chain_ids.push_back(chain_id(img.chain_ids.empty() ? "" : img.chain_ids.back(), d));
  img.config_bytes = make_config(spec, diff_ids);
  img.config_digest = sha256_digest(img.config_bytes);
  img.manifest_bytes = make_manifest(spec.manifest_media_type,
                                     BlobInfo{img.config_digest, img.config_bytes.size()},
                                     spec.layers);
  img.manifest_digest = sha256_digest(img.manifest_bytes);
  return img;
}

TestImage put_image(ContentStore& cs, ContentStore::Lease& lease, const ImageSpec& spec) {
  TestImage img = describe_image(spec);
  for (const auto& l : spec.layers) {
    auto r = cs.put(lease, l, sha256_digest(l));
    EXPECT_TRUE(r.ok()) << r.error().message();
  }
  auto c = cs.put(lease, img.config_bytes, img.config_digest);
  EXPECT_TRUE(c.ok()) << c.error().message();
  auto m = cs.put(lease, img.manifest_bytes, img.manifest_digest);
  EXPECT_TRUE(m.ok()) << m.error().message();
  return img;
}

}  // namespace berth::image::store_testing
