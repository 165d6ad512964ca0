// Image archives: how images enter and leave a machine without a registry.
//
//   docker save format   manifest.json + repositories, and (Docker 25+) an
//                        OCI layout over the same blobs in the same tar
//   OCI image layout     oci-layout + index.json + blobs/, as a directory
//                        or as a tar
//   rootfs import        a tar of a file system becomes a one-layer image
//   export               a container's file system as a tar
//
// Usage:
//   Fd in = ...;  auto loaded = BERTH_TRY(load_archive(store, in.get()));
//   for (auto& img : loaded) ... img.id, img.tags
//   BERTH_TRY(save_archive(store, {"busybox:latest"}, out.get()));
//   BERTH_TRY(save_oci_layout(store, {"busybox"}, "/tmp/layout"));
//
// Loading reads the whole archive into the content store first (each blob
// verified), then records images; a bad archive (truncated, a missing or
// mismatched blob, an oversized manifest or config) records nothing, and
// what it had written goes with the lease at the next gc.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/image_store.h"

namespace berth::image {

struct LoadedImage {
  std::string id;
  std::vector<std::string> tags;  // normalised names it was tagged with
};

struct LoadOptions {
  AddOptions add;
  // Platform to pick from an index (default: this machine's).
  std::optional<Platform> platform;
};

// A `docker save` tar or an OCI layout tar, plain, gzip or zstd compressed.
Result<std::vector<LoadedImage>> load_archive(ImageStore& store, int fd,
                                              const LoadOptions& opts = {});
// An OCI image layout directory.
Result<std::vector<LoadedImage>> load_oci_layout(ImageStore& store, const std::string& dir,
                                                 const LoadOptions& opts = {});

// `docker save` of images named by tag, name or ID into `out_fd`, with the
// OCI layout beside manifest.json, as Docker 25 writes it. Names that are
// tags are recorded as RepoTags; an image named by ID is saved untagged.
Result<void> save_archive(ImageStore& store, const std::vector<std::string>& names, int out_fd);
// An OCI image layout directory (created; existing blobs are kept).
Result<void> save_oci_layout(ImageStore& store, const std::vector<std::string>& names,
                             const std::string& dir);

// `docker import`: a root file system tar (plain or compressed) as a
// one-layer image; `changes` are Dockerfile instructions that set config
// fields (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER,
// VOLUME, WORKDIR).
struct ImportOptions {
  std::vector<std::string> changes;
  std::string message;
  std::string tag;  // optional name to tag the image with
  std::optional<Platform> platform;
};
Result<LoadedImage> import_rootfs(ImageStore& store, int tar_fd, const ImportOptions& opts);

// Apply `docker import --change` / `docker commit --change` instructions to
// an image config's "config" object.
Result<void> apply_config_changes(Json& container_config, const std::vector<std::string>& changes);

// The end of making an image here (import, commit): the config and manifest
// over `layers` (whose blobs are already in the content store under
// `lease`) are written, the image recorded (its new layers unpacked) and
// tagged with `tag` when one is given (a name from new_image_tag).
Result<LoadedImage> record_new_image(ImageStore& store, ContentStore::Lease& lease, const Json& config,
                                     const std::vector<Descriptor>& layers, const std::string& tag);
// "repo[:tag]" as the normalised name a new image is tagged with (default
// tag latest); a digest is refused.
Result<std::string> new_image_tag(const std::string& name);

}  // namespace berth::image
