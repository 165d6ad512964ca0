// Loading image archives: `docker save` tars (the legacy layout of
// manifest.json + <id>/layer.tar, and Docker 25's OCI layout in the same
// tar), OCI layout tars and directories.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <set>

#include "base/digest.h"
#include "base/file.h"
#include "base/strings.h"
#include "image/archive.h"
#include "image/archive_internal.h"
#include "image/decompress.h"
#include "image/reference.h"

namespace berth::image {

namespace {

constexpr size_t kBuf = 1 << 20;

// The archive's small JSON files, kept in memory.
bool is_metadata(const std::string& name) {
  return name == "manifest.json" || name == "index.json" || name == "oci-layout" ||
         name == "repositories";
}

struct Libarchive {
  archive* a = archive_read_new();
  ~Libarchive() { archive_read_free(a); }
};

struct ReadCtx {
  ByteSource* src = nullptr;
  std::vector<char> buf = std::vector<char>(kBuf);
  std::string error;
};

la_ssize_t read_cb(archive*, void* p, const void** out) {
  auto* ctx = static_cast<ReadCtx*>(p);
  auto n = ctx->src->read(ctx->buf.data(), ctx->buf.size());
  if (!n) {
    ctx->error = n.error().message();
    return -1;
  }
  *out = ctx->buf.data();
  return static_cast<la_ssize_t>(*n);
}

// Resolve a path inside the archive, following the archive's own symlinks
// (skopeo writes <legacy-id>/layer.tar as a link to <digest>.tar).
Result<std::string> resolve_path(const ArchiveIndex& idx, std::string path) {
  for (int hops = 0; hops < 16; hops++) {
    path = normalize_archive_path(path);
    if (auto it = idx.files.find(path); it != idx.files.end()) return it->second;
    auto link = idx.links.find(path);
    if (link == idx.links.end()) return Error::invalid("archive has no file {:?}", path);
    std::string target = link->second;
    if (!target.empty() && target[0] == '/') {
      path = target;
    } else {
      auto slash = path.rfind('/');
      path = (slash == std::string::npos ? "" : path.substr(0, slash + 1)) + target;
    }
  }
  return Error::invalid("archive path {:?}: too many levels of links", path);
}

Result<Compression> blob_compression(ContentStore& cs, const std::string& digest) {
  Fd fd = BERTH_TRY(cs.open_blob(digest));
  char head[8];
  ssize_t n = pread(fd.get(), head, sizeof head, 0);
  if (n < 0) return Error::sys(errno, "read {}", cs.blob_path(digest));
  return detect_compression(std::string_view(head, static_cast<size_t>(n)));
}

const char* oci_layer_type(Compression c) {
  switch (c) {
    case Compression::Gzip: return media::kOciLayerGzip;
    case Compression::Zstd: return media::kOciLayerZstd;
    case Compression::None: break;
  }
  return media::kOciLayer;
}

// The manifests an index names (nested indexes followed, one platform picked
// per index), with the name each was annotated with.
struct NamedManifest {
  std::string digest;
  std::string name;  // normalised reference, or ""
};

std::string name_from_annotations(const std::map<std::string, std::string>& a) {
  if (auto it = a.find("io.containerd.image.name"); it != a.end()) {
    if (auto r = parse_normalized(it->second); r && !r->tag.empty()) return r->string();
  }
  if (auto it = a.find("org.opencontainers.image.ref.name"); it != a.end()) {
    // A bare tag ("latest") names no repository; a full reference does.
    if (it->second.find_first_of("/:") != std::string::npos)
      if (auto r = parse_normalized(it->second); r && !r->tag.empty()) return r->string();
  }
  return "";
}

Result<void> collect_manifests(ContentStore& cs, const Index& idx, const Platform& want,
                               int depth, std::vector<NamedManifest>& out) {
  if (depth > 4) return Error::invalid("index nesting is too deep");
  bool picked_platform = false;
  for (const auto& d : idx.manifests) {
    std::string name = name_from_annotations(d.annotations);
    if (d.media_type == media::kOciIndex || d.media_type == media::kDockerManifestList) {
      std::string bytes = BERTH_TRY_CTX(cs.read_blob(d.digest, kMaxManifestSize), "index {}", d.digest);
      auto nested = BERTH_TRY_CTX(parse_index(bytes), "index {}", d.digest);
      auto sel = BERTH_TRY(select_platform(nested, want));
      if (sel.media_type == media::kOciIndex || sel.media_type == media::kDockerManifestList)
        return Error::make(ErrorCode::NotImplemented, "index {} selects another index", d.digest);
      out.push_back({sel.digest, name});
      continue;
    }
    if (d.media_type != media::kOciManifest && d.media_type != media::kDockerManifest &&
        !d.media_type.empty())
      continue;  // attestations, signatures and other artifacts
    // An index of platform manifests at the top: take only ours.
    if (d.platform && (d.platform->os != want.os || d.platform->architecture != want.architecture))
      continue;
    if (d.platform) {
      if (picked_platform && name.empty()) continue;
      picked_platform = true;
    }
    out.push_back({d.digest, name});
  }
  return ok();
}

Result<std::vector<LoadedImage>> record_images(ImageStore& store, const ArchiveIndex& idx,
                                               ContentStore::Lease& lease,
                                               const LoadOptions& opts) {
  ContentStore& cs = store.content();
  Platform want = opts.platform.value_or(Platform::host_default());
  struct Pending {
    std::string manifest_digest;
    std::vector<std::string> tags;
  };
  std::vector<Pending> pending;

  // Manifests the OCI part of the archive carries, by config digest: when
  // manifest.json names the same image, storing the original manifest keeps
  // its digest (and a later push) unchanged.
  std::vector<NamedManifest> oci;
  if (!idx.index_json.empty()) {
    auto index = BERTH_TRY_CTX(parse_index(idx.index_json), "index.json");
    for (const auto& d : index.manifests)
      if (!cs.exists(d.digest))
        return Error::invalid("index.json names blob {}, which the archive lacks", d.digest);
    BERTH_TRY_CTX(collect_manifests(cs, index, want, 0, oci), "index.json");
  }

  if (!idx.manifest_json.empty()) {
    auto j = BERTH_TRY(parse_json(idx.manifest_json, "manifest.json"));
    if (!j.is_array()) return Error::invalid("manifest.json: expected an array");
    std::map<std::string, std::string> oci_by_config;
    for (const auto& m : oci) {
      auto bytes = BERTH_TRY(cs.read_blob(m.digest, kMaxManifestSize));
      auto parsed = BERTH_TRY_CTX(parse_manifest(bytes), "manifest {}", m.digest);
      oci_by_config[parsed.config.digest] = m.digest;
    }
    for (size_t i = 0; i < j.size(); i++) {
      JsonReader r(j[i], fmt::format("manifest.json[{}]", i));
      std::string config_path = BERTH_TRY(r.str("Config"));
      std::string config = BERTH_TRY_CTX(resolve_path(idx, config_path), "{}", r.field("Config"));
      auto layer_paths = BERTH_TRY(r.str_array("Layers"));
      std::vector<std::string> layers;
      for (const auto& p : layer_paths)
        layers.push_back(BERTH_TRY_CTX(resolve_path(idx, p), "{}", r.field("Layers")));
      Pending p;
      if (auto it = oci_by_config.find(config); it != oci_by_config.end()) {
        p.manifest_digest = it->second;
      } else {
        // The legacy layout has no manifest: make an OCI one that names the
        // blobs as they are (uncompressed or not).
        std::string cbytes = BERTH_TRY_CTX(cs.read_blob(config, kMaxConfigSize), "config {}", config_path);
        Json m = {{"schemaVersion", 2},
                  {"mediaType", media::kOciManifest},
                  {"config", {{"mediaType", media::kOciConfig}, {"digest", config},
                              {"size", cbytes.size()}}},
                  {"layers", Json::array()}};
        for (const auto& l : layers) {
          uint64_t size = BERTH_TRY(cs.size(l));
          Compression c = BERTH_TRY(blob_compression(cs, l));
          m["layers"].push_back({{"mediaType", oci_layer_type(c)}, {"digest", l}, {"size", size}});
        }
        auto info = BERTH_TRY(cs.put(lease, canonical_json(m)));
        p.manifest_digest = info.digest;
      }
      for (const auto& t : BERTH_TRY(r.str_array("RepoTags"))) {
        auto ref = parse_normalized(t);
        if (!ref || ref->tag.empty())
          return Error::invalid("{}: invalid tag {:?}", r.field("RepoTags"), t);
        p.tags.push_back(ref->string());
      }
      pending.push_back(std::move(p));
    }
  } else if (!idx.index_json.empty()) {
    for (const auto& m : oci) pending.push_back({m.digest, m.name.empty() ? std::vector<std::string>{} : std::vector<std::string>{m.name}});
  } else {
    return Error::invalid("not an image archive: it has neither manifest.json nor index.json");
  }
  if (pending.empty()) return Error::invalid("the archive holds no image for {}", want.string());

  // Record every image before tagging any: when one fails (a diff ID only
  // unpacking can check), the images this load added are deleted again and
  // no tag has moved, so a bad archive records nothing.
  std::vector<std::string> ids, added;
  auto undo = [&] {
    for (const auto& id : added) (void)store.delete_image(id);
  };
  for (const auto& p : pending) {
    auto bytes = cs.read_blob(p.manifest_digest, kMaxManifestSize);
    auto manifest = bytes ? parse_manifest(*bytes) : Result<Manifest>(bytes.error());
    bool existed = manifest && store.get(manifest->config.digest).ok();
    auto rec = store.add_image(p.manifest_digest, opts.add);
    if (!rec) {
      undo();
      return rec.error();
    }
    if (!existed) added.push_back(rec->id);
    ids.push_back(rec->id);
  }
  std::vector<LoadedImage> out;
  for (size_t i = 0; i < pending.size(); i++) {
    for (const auto& t : pending[i].tags) BERTH_TRY(store.tag(ids[i], t));
    out.push_back({ids[i], pending[i].tags});
  }
  return out;
}

}  // namespace

std::string normalize_archive_path(std::string_view p) {
  std::vector<std::string> parts;
  for (auto& c : split(p, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(c));
  }
  return join(parts, "/");
}

Result<ArchiveIndex> ingest_archive(ContentStore& cs, ContentStore::Lease& lease, int fd) {
  Compression c;
  auto src = BERTH_TRY(open_decompressed(fd, &c));
  ReadCtx ctx;
  ctx.src = src.get();
  Libarchive la;
  archive_read_support_format_tar(la.a);
  archive_read_support_format_gnutar(la.a);
  if (archive_read_open(la.a, &ctx, nullptr, read_cb, nullptr) != ARCHIVE_OK)
    return Error::invalid("not a tar archive: {}", archive_error_string(la.a));
  ArchiveIndex idx;
  std::vector<char> buf(kBuf);
  archive_entry* e = nullptr;
  for (;;) {
    int rc = archive_read_next_header(la.a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      std::string why = !ctx.error.empty() ? ctx.error : archive_error_string(la.a);
      return Error::invalid("read archive: {}", why);
    }
    std::string name = normalize_archive_path(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFLNK) {
      idx.links[name] = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
      continue;
    }
    if (const char* hl = archive_entry_hardlink(e); hl != nullptr) {
      idx.links[name] = "/" + normalize_archive_path(hl);
      continue;
    }
    if (type != AE_IFREG) continue;
    int64_t size = archive_entry_size(e);
    if (is_metadata(name)) {
      if (static_cast<uint64_t>(size) > kMaxManifestSize)
        return Error::invalid("{} is {} bytes, more than the {} allowed", name, size, kMaxManifestSize);
      std::string data(static_cast<size_t>(size), '\0');
      la_ssize_t n = archive_read_data(la.a, data.data(), data.size());
      if (n != size)
        return Error::invalid("read {} from the archive: {}", name,
                              !ctx.error.empty() ? ctx.error : "truncated archive");
      (name == "manifest.json" ? idx.manifest_json
       : name == "index.json"  ? idx.index_json
       : name == "repositories" ? idx.repositories
                                : idx.oci_layout) = std::move(data);
      continue;
    }
    // Everything else is content: blobs/sha256/<hex> must hash to its name.
    std::string expected;
    if (name.rfind("blobs/sha256/", 0) == 0) {
      expected = "sha256:" + name.substr(13);
      if (!is_valid_digest(expected))
        return Error::invalid("archive entry {:?} is not named by a sha256 digest", name);
    }
    auto w = BERTH_TRY(cs.writer(lease));
    uint64_t got = 0;
    for (;;) {
      la_ssize_t n = archive_read_data(la.a, buf.data(), buf.size());
      if (n < 0)
        return Error::invalid("read {} from the archive: {}", name,
                              !ctx.error.empty() ? ctx.error : archive_error_string(la.a));
      if (n == 0) break;
      BERTH_TRY(w.write(buf.data(), static_cast<size_t>(n)));
      got += static_cast<uint64_t>(n);
    }
    if (got != static_cast<uint64_t>(size))
      return Error::invalid("read {} from the archive: truncated archive", name);
    auto info = BERTH_TRY_CTX(w.commit(expected, size), "archive entry {}", name);
    idx.files[name] = info.digest;
  }
  return idx;
}

Result<std::vector<LoadedImage>> load_archive(ImageStore& store, int fd, const LoadOptions& opts) {
  auto lease = store.content().lease();
  auto run = [&]() -> Result<std::vector<LoadedImage>> {
    auto idx = BERTH_TRY(ingest_archive(store.content(), lease, fd));
    return record_images(store, idx, lease, opts);
  };
  auto r = run();
  if (!r) {
    // Nothing names what the failed load wrote: drop it now.
    { auto dropped = std::move(lease); }
    (void)store.gc();
    return r.error().context("load image archive");
  }
  return r;
}

Result<std::vector<LoadedImage>> load_oci_layout(ImageStore& store, const std::string& dir,
                                                 const LoadOptions& opts) {
  auto lease = store.content().lease();
  auto run = [&]() -> Result<std::vector<LoadedImage>> {
    ArchiveIndex idx;
    idx.oci_layout = BERTH_TRY(read_file(dir + "/oci-layout"));
    idx.index_json = BERTH_TRY(read_file(dir + "/index.json"));
    if (idx.index_json.size() > kMaxManifestSize)
      return Error::invalid("index.json is more than {} bytes", kMaxManifestSize);
    // Copy every blob the layout has (each verified against its name).
    std::vector<std::string> names;
    {
      auto list = BERTH_TRY(list_dir(dir + "/blobs/sha256"));
      names = std::move(list);
    }
    std::vector<char> buf(kBuf);
    for (const auto& hex : names) {
      std::string digest = "sha256:" + hex;
      if (!is_valid_digest(digest)) continue;
      if (store.content().exists(digest)) {
        lease.add(digest);
        continue;
      }
      Fd in(::open((dir + "/blobs/sha256/" + hex).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!in) return Error::sys(errno, "open {}/blobs/sha256/{}", dir, hex);
      auto w = BERTH_TRY(store.content().writer(lease));
      for (;;) {
        ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0) return Error::sys(errno, "read {}/blobs/sha256/{}", dir, hex);
        if (n == 0) break;
        BERTH_TRY(w.write(buf.data(), static_cast<size_t>(n)));
      }
      BERTH_TRY_CTX(w.commit(digest), "{}/blobs/sha256/{}", dir, hex);
    }
    return record_images(store, idx, lease, opts);
  };
  auto r = run();
  if (!r) {
    { auto dropped = std::move(lease); }
    (void)store.gc();
    return r.error().context("load OCI layout {}", dir);
  }
  return r;
}

}  // namespace berth::image
