// Writing image archives: `docker save` tars (manifest.json and the OCI
// layout beside it, as Docker 25 writes them) and OCI layout directories.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "base/digest.h"
#include "base/file.h"
#include "image/archive.h"
#include "image/archive_internal.h"
#include "image/reference.h"

namespace berth::image {

Result<std::vector<std::string>> list_dir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return Error::sys(errno, "open {}", dir);
  std::vector<std::string> out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

constexpr size_t kBuf = 1 << 20;

// One image to save, under the names it was asked by.
struct SaveItem {
  ImageRecord rec;
  Manifest manifest;
  std::string manifest_bytes;
  std::vector<std::string> tags;  // normalised
};

Result<std::vector<SaveItem>> collect(ImageStore& store, const std::vector<std::string>& names) {
  std::vector<SaveItem> items;
  std::map<std::string, size_t> by_id;
  for (const auto& name : names) {
    auto rec = BERTH_TRY(store.resolve(name));
    std::string tag;
    // Saved by name: that name becomes a RepoTag; by ID: untagged.
    if (!looks_like_image_id(name)) {
      if (auto ref = parse_normalized(name); ref && ref->digest.empty()) {
        if (ref->tag.empty()) ref->tag = std::string(kDefaultTag);
        for (const auto& t : rec.tags)
          if (t == ref->string()) tag = t;
      }
    }
    auto it = by_id.find(rec.id);
    if (it == by_id.end()) {
      SaveItem item;
      item.manifest_bytes = BERTH_TRY(store.content().read_blob(rec.manifest_digest, kMaxManifestSize));
      item.manifest = BERTH_TRY(parse_manifest(item.manifest_bytes));
      item.rec = std::move(rec);
      it = by_id.emplace(item.rec.id, items.size()).first;
      items.push_back(std::move(item));
    }
    auto& tags = items[it->second].tags;
    if (!tag.empty() && std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
  }
  return items;
}

std::string familiar_tag(const std::string& normalized) {
  auto r = parse_normalized(normalized);
  return r ? r->familiar() : normalized;
}

std::string tag_part(const std::string& normalized) {
  auto r = parse_normalized(normalized);
  return r ? r->tag : "";
}

// index.json: one entry per tag (annotated the way containerd and Docker
// name them), one unannotated entry for an untagged image.
Json make_index(const std::vector<SaveItem>& items) {
  Json idx = {{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", Json::array()}};
  for (const auto& it : items) {
    Descriptor d{it.rec.manifest_media_type, it.rec.manifest_digest,
                 static_cast<int64_t>(it.manifest_bytes.size()), std::nullopt, {}};
    if (it.tags.empty()) idx["manifests"].push_back(d.to_json());
    for (const auto& t : it.tags) {
      d.annotations = {{"io.containerd.image.name", t}, {"org.opencontainers.image.ref.name", tag_part(t)}};
      idx["manifests"].push_back(d.to_json());
    }
  }
  return idx;
}

std::vector<std::string> blobs_of(const std::vector<SaveItem>& items) {
  std::set<std::string> s;
  for (const auto& it : items) {
    s.insert(it.rec.manifest_digest);
    s.insert(it.manifest.config.digest);
    for (const auto& l : it.manifest.layers) s.insert(l.digest);
  }
  return {s.begin(), s.end()};
}

struct Writer {
  archive* a = archive_write_new();
  ~Writer() { archive_write_free(a); }
};

Result<void> la_check(archive* a, int rc, std::string_view what) {
  if (rc < ARCHIVE_WARN) return Error::sys(archive_errno(a) ? archive_errno(a) : EIO, "write {}: {}", what, archive_error_string(a));
  return ok();
}

Result<void> add_dir(archive* a, const std::string& name) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, (name + "/").c_str());
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, 0755);
  auto r = la_check(a, archive_write_header(a, e), name);
  archive_entry_free(e);
  return r;
}

Result<void> add_bytes(archive* a, const std::string& name, std::string_view data) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  auto r = la_check(a, archive_write_header(a, e), name);
  archive_entry_free(e);
  BERTH_TRY(r);
  if (!data.empty() && archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
    return Error::sys(EIO, "write {}: {}", name, archive_error_string(a));
  return ok();
}

Result<void> add_blob(archive* a, ContentStore& cs, const std::string& digest, std::vector<char>& buf) {
  Fd fd = BERTH_TRY(cs.open_blob(digest));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Error::sys(errno, "stat {}", cs.blob_path(digest));
  std::string name = "blobs/sha256/" + std::string(digest_hex(digest));
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, st.st_size);
  auto r = la_check(a, archive_write_header(a, e), name);
  archive_entry_free(e);
  BERTH_TRY(r);
  Sha256 h;
  for (off_t left = st.st_size; left > 0;) {
    ssize_t n = ::read(fd.get(), buf.data(), std::min<off_t>(left, static_cast<off_t>(buf.size())));
    if (n < 0) return Error::sys(errno, "read {}", cs.blob_path(digest));
    if (n == 0) return Error::invalid("blob {} shrank while being saved", digest);
    h.update(buf.data(), static_cast<size_t>(n));
    if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) != n)
      return Error::sys(EIO, "write {}: {}", name, archive_error_string(a));
    left -= n;
  }
  // What leaves the machine is what the digest says.
  if (h.digest() != digest) return Error::invalid("blob {} is corrupt in the content store", digest);
  return ok();
}

}  // namespace

Result<void> save_archive(ImageStore& store, const std::vector<std::string>& names, int out_fd) {
  if (names.empty()) return Error::invalid("save: no images named");
  auto items = BERTH_TRY(collect(store, names));
  Writer w;
  archive_write_set_format_pax_restricted(w.a);
  archive_write_set_bytes_per_block(w.a, 10240);
  if (archive_write_open_fd(w.a, out_fd) != ARCHIVE_OK)
    return Error::sys(EIO, "save: {}", archive_error_string(w.a));
  std::vector<char> buf(kBuf);
  BERTH_TRY(add_dir(w.a, "blobs"));
  BERTH_TRY(add_dir(w.a, "blobs/sha256"));
  for (const auto& d : blobs_of(items)) BERTH_TRY(add_blob(w.a, store.content(), d, buf));
  BERTH_TRY(add_bytes(w.a, "index.json", canonical_json(make_index(items))));

  Json manifest = Json::array();
  Json repositories = Json::object();
  for (const auto& it : items) {
    Json tags = Json::array();
    for (const auto& t : it.tags) {
      tags.push_back(familiar_tag(t));
      auto ref = parse_normalized(t);
      if (ref && !it.manifest.layers.empty())
        repositories[ref->familiar().substr(0, ref->familiar().rfind(':'))][ref->tag] =
            std::string(digest_hex(it.manifest.layers.back().digest));
    }
    Json layers = Json::array();
    for (const auto& l : it.manifest.layers) layers.push_back("blobs/sha256/" + std::string(digest_hex(l.digest)));
    manifest.push_back({{"Config", "blobs/sha256/" + std::string(digest_hex(it.manifest.config.digest))},
                        {"RepoTags", tags.empty() ? Json(nullptr) : tags},
                        {"Layers", layers}});
  }
  BERTH_TRY(add_bytes(w.a, "manifest.json", manifest.dump()));
  BERTH_TRY(add_bytes(w.a, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  if (!repositories.empty()) BERTH_TRY(add_bytes(w.a, "repositories", repositories.dump()));
  if (archive_write_close(w.a) != ARCHIVE_OK)
    return Error::sys(EIO, "save: {}", archive_error_string(w.a));
  return ok();
}

Result<void> save_oci_layout(ImageStore& store, const std::vector<std::string>& names,
                             const std::string& dir) {
  if (names.empty()) return Error::invalid("save: no images named");
  auto items = BERTH_TRY(collect(store, names));
  BERTH_TRY(mkdir_all(dir + "/blobs/sha256", 0755));
  std::vector<char> buf(kBuf);
  for (const auto& d : blobs_of(items)) {
    std::string path = dir + "/blobs/sha256/" + std::string(digest_hex(d));
    uint64_t size = BERTH_TRY(store.content().size(d));
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == size)
      continue;
    Fd in = BERTH_TRY(store.content().open_blob(d));
    std::string tmp = path + ".tmp";
    Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!out) return Error::sys(errno, "create {}", tmp);
    for (;;) {
      ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0) return Error::sys(errno, "read {}", store.content().blob_path(d));
      if (n == 0) break;
      BERTH_TRY(write_all(out.get(), std::string_view(buf.data(), static_cast<size_t>(n))));
    }
    if (fsync(out.get()) != 0) return Error::sys(errno, "fsync {}", tmp);
    if (rename(tmp.c_str(), path.c_str()) != 0) return Error::sys(errno, "rename {}", path);
  }
  BERTH_TRY(write_file_atomic(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  BERTH_TRY(write_file_atomic(dir + "/index.json", canonical_json(make_index(items))));
  return ok();
}

}  // namespace berth::image
