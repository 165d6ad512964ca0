// The image model: OCI image manifests, indexes and configs, and Docker's
// Image Manifest V2 Schema 2 and manifest lists, parsed from the exact bytes
// that name them (an image ID is the digest of its config's bytes, as in
// Docker, so the bytes are kept and never re-serialised).
//
// Usage:
//   auto kind = BERTH_TRY(detect_manifest_kind(bytes));
//   if (kind == ManifestKind::Index) {
//     auto idx = BERTH_TRY(parse_index(bytes));
//     auto d = BERTH_TRY(select_platform(idx, Platform::host_default()));
//   }
//   auto m = BERTH_TRY(parse_manifest(bytes));       // config + layers
//   auto c = BERTH_TRY(parse_config(config_bytes));  // diff IDs, Cmd, Env...
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace berth::image {

namespace media {
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr const char* kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media

// Size limits for what a client, an archive or a registry may hand us.
inline constexpr uint64_t kMaxManifestSize = uint64_t{4} << 20;
inline constexpr uint64_t kMaxConfigSize = uint64_t{20} << 20;

bool is_layer_media_type(std::string_view mt);

struct Platform {
  std::string os, architecture, variant;
  static Platform host_default();  // linux/amd64 (the machine's arch)
  std::string string() const;      // "linux/amd64", "linux/arm/v7"
};
Result<Platform> parse_platform(std::string_view s);  // "linux/arm64/v8"

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
  Json to_json() const;
};

enum class ManifestKind { Manifest, Index };
Result<ManifestKind> detect_manifest_kind(std::string_view bytes);

struct Manifest {
  std::string media_type;  // as written, or inferred (OCI manifests may omit it)
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};
Result<Manifest> parse_manifest(std::string_view bytes);

struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};
Result<Index> parse_index(std::string_view bytes);
// The entry for `want` (variant matched when the wanted one names one).
Result<Descriptor> select_platform(const Index& idx, const Platform& want);

struct HistoryEntry {
  std::string created, created_by, comment;
  bool empty_layer = false;
};

// The parts of an image config Berth reads; the rest stays in `json`.
struct ImageConfig {
  Json json;
  std::string architecture, os, variant, created, author;
  std::vector<std::string> diff_ids;
  std::vector<HistoryEntry> history;
};
Result<ImageConfig> parse_config(std::string_view bytes);

// Serialise without whitespace and with sorted keys, as Go's encoding/json
// writes the structs of Docker and containerd: deterministic bytes.
std::string canonical_json(const Json& j);

}  // namespace berth::image
