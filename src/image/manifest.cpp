#include "image/manifest.h"

#include <sys/utsname.h>

#include "base/digest.h"
#include "base/strings.h"

namespace berth::image {

bool is_layer_media_type(std::string_view mt) {
  return mt == media::kOciLayer || mt == media::kOciLayerGzip || mt == media::kOciLayerZstd ||
         mt == media::kDockerLayer || mt == media::kDockerLayerGzip ||
         mt == media::kDockerForeignLayerGzip ||
         mt == "application/vnd.oci.image.layer.nondistributable.v1.tar" ||
         mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
         mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
}

// --- platforms ------------------------------------------------------------

namespace {

// Go's GOARCH names for uname's machine field.
std::string go_arch(std::string_view machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i686" || machine == "i386") return "386";
  if (machine.substr(0, 3) == "arm") return "arm";
  return std::string(machine);
}

}  // namespace

Platform Platform::host_default() {
  utsname u{};
  uname(&u);
  Platform p{"linux", go_arch(u.machine), ""};
  if (p.architecture == "arm64") p.variant = "v8";
  return p;
}

std::string Platform::string() const {
  return variant.empty() ? os + "/" + architecture : os + "/" + architecture + "/" + variant;
}

Result<Platform> parse_platform(std::string_view s) {
  auto parts = split(s, '/');
  auto valid = [](const std::string& p) {
    if (p.empty() || p.size() > 32) return false;
    for (char c : p)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        return false;
    return true;
  };
  if (parts.empty() || parts.size() > 3)
    return Error::invalid("invalid platform {:?}: want os[/arch[/variant]]", std::string(s));
  for (const auto& p : parts)
    if (!valid(p)) return Error::invalid("invalid platform {:?}", std::string(s));
  Platform p{parts[0], parts.size() > 1 ? parts[1] : go_arch(Platform::host_default().architecture),
             parts.size() > 2 ? parts[2] : ""};
  if (parts.size() == 1) p.architecture = Platform::host_default().architecture;
  return p;
}

// --- JSON parsing ---------------------------------------------------------

namespace {

Result<std::map<std::string, std::string>> parse_annotations(const JsonReader& r) {
  std::map<std::string, std::string> out;
  if (!r.has("annotations")) return out;
  const Json& a = r.json().at("annotations");
  if (!a.is_object()) return r.type_error("annotations", "object");
  for (const auto& [k, v] : a.items()) {
    if (!v.is_string()) return Error::invalid("{}.{}: expected string", r.field("annotations"), k);
    out[k] = v.get<std::string>();
  }
  return out;
}

Result<Descriptor> parse_descriptor(const JsonReader& r) {
  Descriptor d;
  d.media_type = BERTH_TRY(r.opt_str("mediaType")).value_or("");
  d.digest = BERTH_TRY(r.str("digest"));
  BERTH_TRY_CTX(check_digest(d.digest), "{}", r.field("digest"));
  auto size = BERTH_TRY(r.opt_int("size"));
  if (!size) return Error::invalid("{}: missing", r.field("size"));
  if (*size < 0) return Error::invalid("{}: negative size {}", r.field("size"), *size);
  d.size = *size;
  if (r.has("platform")) {
    auto p = BERTH_TRY(r.object("platform"));
    Platform plat;
    plat.os = BERTH_TRY(p.str("os"));
    plat.architecture = BERTH_TRY(p.str("architecture"));
    plat.variant = BERTH_TRY(p.opt_str("variant")).value_or("");
    d.platform = plat;
  }
  d.annotations = BERTH_TRY(parse_annotations(r));
  return d;
}

Result<Json> parse_bounded(std::string_view bytes, uint64_t max, const char* what) {
  if (bytes.size() > max)
    return Error::invalid("{} is {} bytes, more than the {} allowed", what, bytes.size(), max);
  auto j = BERTH_TRY(parse_json(bytes, what));
  if (!j.is_object()) return Error::invalid("{}: expected a JSON object", what);
  return j;
}

Result<void> check_schema_version(const JsonReader& r) {
  auto v = BERTH_TRY(r.opt_int("schemaVersion"));
  if (!v) return Error::invalid("schemaVersion: missing");
  if (*v != 2)
    return Error::make(ErrorCode::NotImplemented,
                       "schemaVersion {} is not supported (only schema 2)", *v);
  return ok();
}

}  // namespace

Json Descriptor::to_json() const {
  Json j = {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
  if (platform) {
    Json p = {{"os", platform->os}, {"architecture", platform->architecture}};
    if (!platform->variant.empty()) p["variant"] = platform->variant;
    j["platform"] = p;
  }
  if (!annotations.empty()) j["annotations"] = annotations;
  return j;
}

Result<ManifestKind> detect_manifest_kind(std::string_view bytes) {
  auto j = BERTH_TRY(parse_bounded(bytes, kMaxManifestSize, "manifest"));
  std::string mt = j.contains("mediaType") && j["mediaType"].is_string()
                       ? j["mediaType"].get<std::string>()
                       : "";
  if (mt == media::kOciIndex || mt == media::kDockerManifestList) return ManifestKind::Index;
  if (mt == media::kOciManifest || mt == media::kDockerManifest) return ManifestKind::Manifest;
  if (!mt.empty())
    return Error::make(ErrorCode::NotImplemented, "unsupported manifest media type {:?}", mt);
  if (j.contains("manifests")) return ManifestKind::Index;
  if (j.contains("config") && j.contains("layers")) return ManifestKind::Manifest;
  if (j.contains("fsLayers"))
    return Error::make(ErrorCode::NotImplemented,
                       "Docker Image Manifest V2 Schema 1 is deprecated and not supported");
  return Error::invalid("not an image manifest or index");
}

Result<Manifest> parse_manifest(std::string_view bytes) {
  auto j = BERTH_TRY(parse_bounded(bytes, kMaxManifestSize, "manifest"));
  JsonReader r(j, "");
  BERTH_TRY_CTX(check_schema_version(r), "manifest");
  Manifest m;
  m.media_type = BERTH_TRY(r.opt_str("mediaType")).value_or(media::kOciManifest);
  if (m.media_type != media::kOciManifest && m.media_type != media::kDockerManifest)
    return Error::invalid("manifest: media type {:?} is not an image manifest", m.media_type);
  m.config = BERTH_TRY_CTX(parse_descriptor(BERTH_TRY(r.object("config"))), "manifest");
  if (static_cast<uint64_t>(m.config.size) > kMaxConfigSize)
    return Error::invalid("manifest: config is {} bytes, more than the {} allowed", m.config.size,
                          kMaxConfigSize);
  auto layers = BERTH_TRY(r.obj_array("layers"));
  for (const auto& l : layers) {
    auto d = BERTH_TRY_CTX(parse_descriptor(l), "manifest");
    if (!d.media_type.empty() && !is_layer_media_type(d.media_type))
      return Error::make(ErrorCode::NotImplemented, "manifest: layer {} has unsupported media type {:?}",
                         d.digest, d.media_type);
    m.layers.push_back(std::move(d));
  }
  m.annotations = BERTH_TRY(parse_annotations(r));
  return m;
}

Result<Index> parse_index(std::string_view bytes) {
  auto j = BERTH_TRY(parse_bounded(bytes, kMaxManifestSize, "index"));
  JsonReader r(j, "");
  BERTH_TRY_CTX(check_schema_version(r), "index");
  Index idx;
  idx.media_type = BERTH_TRY(r.opt_str("mediaType")).value_or(media::kOciIndex);
  auto entries = BERTH_TRY(r.obj_array("manifests"));
  for (const auto& e : entries) idx.manifests.push_back(BERTH_TRY_CTX(parse_descriptor(e), "index"));
  idx.annotations = BERTH_TRY(parse_annotations(r));
  return idx;
}

Result<Descriptor> select_platform(const Index& idx, const Platform& want) {
  const Descriptor* loose = nullptr;
  for (const auto& d : idx.manifests) {
    if (!d.platform) continue;
    if (d.platform->os != want.os || d.platform->architecture != want.architecture) continue;
    if (want.variant.empty() || d.platform->variant == want.variant) return d;
    // arm64 images often carry no variant; v8 is what they mean.
    if (d.platform->variant.empty() && loose == nullptr) loose = &d;
  }
  if (loose != nullptr) return *loose;
  return Error::not_found("no matching manifest for {} in the manifest list entries",
                          want.string());
}

Result<ImageConfig> parse_config(std::string_view bytes) {
  if (bytes.size() > kMaxConfigSize)
    return Error::invalid("image config is {} bytes, more than the {} allowed", bytes.size(),
                          kMaxConfigSize);
  ImageConfig c;
  c.json = BERTH_TRY(parse_json(bytes, "image config"));
  if (!c.json.is_object()) return Error::invalid("image config: expected a JSON object");
  JsonReader r(c.json, "");
  c.architecture = BERTH_TRY(r.opt_str("architecture")).value_or("");
  c.os = BERTH_TRY(r.opt_str("os")).value_or("");
  c.variant = BERTH_TRY(r.opt_str("variant")).value_or("");
  c.created = BERTH_TRY(r.opt_str("created")).value_or("");
  c.author = BERTH_TRY(r.opt_str("author")).value_or("");
  auto rootfs = BERTH_TRY_CTX(r.object("rootfs"), "image config");
  std::string type = BERTH_TRY_CTX(rootfs.str("type"), "image config");
  if (type != "layers") return Error::invalid("image config: rootfs.type {:?} is not \"layers\"", type);
  c.diff_ids = BERTH_TRY_CTX(rootfs.str_array("diff_ids"), "image config");
  for (const auto& d : c.diff_ids) BERTH_TRY_CTX(check_digest(d), "image config: rootfs.diff_ids");
  auto history = BERTH_TRY_CTX(r.obj_array("history"), "image config");
  for (const auto& h : history) {
    HistoryEntry e;
    e.created = BERTH_TRY(h.opt_str("created")).value_or("");
    e.created_by = BERTH_TRY(h.opt_str("created_by")).value_or("");
    e.comment = BERTH_TRY(h.opt_str("comment")).value_or("");
    e.empty_layer = BERTH_TRY(h.opt_bool("empty_layer")).value_or(false);
    c.history.push_back(std::move(e));
  }
  return c;
}

std::string canonical_json(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::strict); }

}  // namespace berth::image
