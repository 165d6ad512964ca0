// ImageStore: the images on this machine — blobs in the content store,
// unpacked layers in the layer store, and the records (images, tags,
// layers) in berth.db — kept consistent across crashes.
//
// Usage:
//   auto is = BERTH_TRY(ImageStore::open("/var/lib/berth"));   // reconciles
//   auto lease = is->content().lease();
//   ... put the manifest, config and layer blobs with that lease ...
//   auto img = BERTH_TRY(is->add_image(manifest_digest));     // unpacks, records
//   BERTH_TRY(is->tag(img.id, "busybox:latest"));
//   auto found = BERTH_TRY(is->resolve("busybox"));           // name, ID or short ID
//   BERTH_TRY(is->delete_image(found.id));  BERTH_TRY(is->gc());
//
// The order of every change is files first, record last: blobs are
// committed and layers renamed into place (and synced) before the row that
// names them; deleting removes the row first and the files after. At open,
// reconcile() removes every blob and layer that no record names, so a crash
// anywhere leaves the old or the new state and no orphans.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/content_store.h"
#include "image/layer_store.h"
#include "image/manifest.h"
#include "store/database.h"

namespace berth::image {

struct ImageRecord {
  std::string id;               // config digest
  std::string manifest_digest;  // the manifest this image was stored with
  std::string manifest_media_type;
  std::string created;          // from the config
  int64_t size = 0;             // uncompressed bytes of its layers
  int64_t added = 0;            // unix seconds when it came to this machine
  std::vector<std::string> chain_ids;  // base first
  std::vector<std::string> tags;       // normalised: "docker.io/library/busybox:latest"
};

struct AddOptions {
  ApplyOptions apply;
  // Unpack up to this many layers at once (0: one per CPU).
  unsigned parallel = 0;
};

class ImageStore {
 public:
  static Result<std::unique_ptr<ImageStore>> open(const std::string& data_root);

  ContentStore& content() { return *content_; }
  LayerStore& layers() { return *layers_; }
  store::Database& db() { return db_; }

  // Records the image whose manifest, config and layer blobs are already in
  // the content store, unpacking the layers it lacks (in parallel). The
  // blobs are checked against the manifest (size, digest) and each layer's
  // diff ID against the config. An image already present is returned as is.
  Result<ImageRecord> add_image(const std::string& manifest_digest, const AddOptions& opts = {});

  Result<ImageRecord> get(const std::string& id);
  // A name ("busybox", "busybox:1", "x@sha256:..."), a full ID, or a unique
  // ID prefix (at least one hex digit), as `docker inspect` takes them.
  Result<ImageRecord> resolve(const std::string& name_or_id);
  Result<std::vector<ImageRecord>> list();
  // Uncompressed size of each layer of the image, base first.
  Result<std::vector<int64_t>> layer_sizes(const ImageRecord& rec);
  // The image's config bytes (parsed) and manifest.
  Result<ImageConfig> config(const ImageRecord& rec);

  // Point `name` (normalised, default tag latest) at the image; a tag that
  // named another image moves.
  Result<void> tag(const std::string& image_id, const std::string& name);
  // NotFound when the tag does not exist.
  Result<void> untag(const std::string& name);
  // The record and its tags; the files go with the next gc().
  Result<void> delete_image(const std::string& image_id);

  struct GcStats {
    uint64_t blobs_removed = 0, bytes_removed = 0, layers_removed = 0;
  };
  // Remove blobs and layers no image names (leases keep in-flight blobs).
  Result<GcStats> gc();

 private:
  ImageStore(std::unique_ptr<ContentStore> c, std::unique_ptr<LayerStore> l, store::Database db)
      : content_(std::move(c)), layers_(std::move(l)), db_(std::move(db)) {}
  Result<std::vector<std::string>> referenced_blobs(const std::string& manifest_digest);
  Result<ImageRecord> load_record(store::Statement& q);

  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<LayerStore> layers_;
  store::Database db_;
  // The database connection is single-threaded: every use holds mu_
  // (recursive: public methods call each other).
  std::recursive_mutex mu_;
  // add_image holds it shared from its first unpack to its record; gc holds
  // it exclusively, so gc never takes a layer in flight for an orphan.
  std::shared_mutex gate_;
};

}  // namespace berth::image
