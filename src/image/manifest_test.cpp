// Manifests, indexes and configs: table tests over the JSON a registry or an
// archive may hand us, good and bad.
#include "image/manifest.h"

#include <gtest/gtest.h>

#include <functional>

#include "base/digest.h"
#include "image/store_test_util.h"

namespace berth::image {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

Json descriptor(const std::string& mt, const std::string& digest, int64_t size) {
  Json d = {{"digest", digest}, {"size", size}};
  if (!mt.empty()) d["mediaType"] = mt;
  return d;
}

Json manifest_json(const char* mt, const char* config_mt, const char* layer_mt) {
  Json m = {{"schemaVersion", 2},
            {"config", descriptor(config_mt, kA, 123)},
            {"layers", {descriptor(layer_mt, kB, 456), descriptor(layer_mt, kC, 789)}}};
  if (mt != nullptr) m["mediaType"] = mt;
  return m;
}

Json platform_entry(const std::string& digest, const std::string& os, const std::string& arch,
                    const std::string& variant = "") {
  Json d = descriptor(media::kOciManifest, digest, 100);
  d["platform"] = {{"os", os}, {"architecture", arch}};
  if (!variant.empty()) d["platform"]["variant"] = variant;
  return d;
}

// --- detect_manifest_kind / parse_manifest --------------------------------

struct KindCase {
  std::string name;
  std::string bytes;
  std::optional<ManifestKind> kind;  // nullopt: an error
  ErrorCode code = ErrorCode::InvalidArgument;
};

TEST(Manifest, DetectKind) {
  Json oci_index = {{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", Json::array()}};
  Json list = {{"schemaVersion", 2}, {"mediaType", media::kDockerManifestList}, {"manifests", Json::array()}};
  Json bare_index = {{"schemaVersion", 2}, {"manifests", Json::array()}};
  Json schema1 = {{"schemaVersion", 1}, {"name", "x"}, {"fsLayers", Json::array()}};
  Json schema1_mt = {{"schemaVersion", 1},
                     {"mediaType", "application/vnd.docker.distribution.manifest.v1+prettyjws"}};
  const std::vector<KindCase> cases = {
      {"oci manifest", manifest_json(media::kOciManifest, media::kOciConfig, media::kOciLayerGzip).dump(), ManifestKind::Manifest},
      {"docker manifest", manifest_json(media::kDockerManifest, media::kDockerConfig, media::kDockerLayerGzip).dump(), ManifestKind::Manifest},
      {"manifest without mediaType", manifest_json(nullptr, media::kOciConfig, media::kOciLayer).dump(), ManifestKind::Manifest},
      {"oci index", oci_index.dump(), ManifestKind::Index},
      {"docker manifest list", list.dump(), ManifestKind::Index},
      {"index without mediaType", bare_index.dump(), ManifestKind::Index},
      {"schema 1", schema1.dump(), std::nullopt, ErrorCode::NotImplemented},
      {"schema 1 media type", schema1_mt.dump(), std::nullopt, ErrorCode::NotImplemented},
      {"unknown media type", R"({"schemaVersion":2,"mediaType":"text/plain"})", std::nullopt, ErrorCode::NotImplemented},
      {"neither", R"({"schemaVersion":2})", std::nullopt},
      {"array", "[]", std::nullopt},
      {"garbage", "\x01\x02not json", std::nullopt},
      {"empty", "", std::nullopt},
      {"oversize", std::string(kMaxManifestSize + 1, ' '), std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = detect_manifest_kind(c.bytes);
    if (c.kind) {
      ASSERT_TRUE(r.ok()) << r.error().message();
      EXPECT_EQ(*r, *c.kind);
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code(), c.code) << r.error().message();
    }
  }
}

TEST(Manifest, ParsesOciAndDockerManifests) {
  struct Case {
    const char* mt;
    const char* config_mt;
    const char* layer_mt;
    std::string want_mt;
  };
  const std::vector<Case> cases = {
      {media::kOciManifest, media::kOciConfig, media::kOciLayerGzip, media::kOciManifest},
      {media::kOciManifest, media::kOciConfig, media::kOciLayerZstd, media::kOciManifest},
      {media::kDockerManifest, media::kDockerConfig, media::kDockerLayerGzip, media::kDockerManifest},
      {media::kDockerManifest, media::kDockerConfig, media::kDockerForeignLayerGzip, media::kDockerManifest},
      // OCI lets a manifest leave its mediaType out.
      {nullptr, media::kOciConfig, media::kOciLayer, media::kOciManifest},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want_mt + " " + c.layer_mt);
    Json j = manifest_json(c.mt, c.config_mt, c.layer_mt);
    j["annotations"] = {{"org.opencontainers.image.created", "2024"}};
    auto m = parse_manifest(j.dump());
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(m->media_type, c.want_mt);
    EXPECT_EQ(m->config.digest, kA);
    EXPECT_EQ(m->config.size, 123);
    EXPECT_EQ(m->config.media_type, c.config_mt);
    ASSERT_EQ(m->layers.size(), 2u);
    EXPECT_EQ(m->layers[0].digest, kB);
    EXPECT_EQ(m->layers[0].size, 456);
    EXPECT_EQ(m->layers[1].digest, kC);
    EXPECT_EQ(m->layers[1].media_type, c.layer_mt);
    EXPECT_EQ(m->annotations.at("org.opencontainers.image.created"), "2024");
  }
}

TEST(Manifest, RejectsBadManifests) {
  struct Case {
    std::string name;
    std::function<void(Json&)> mutate;
    ErrorCode code = ErrorCode::InvalidArgument;
    std::string says;  // part of the message
  };
  const std::vector<Case> cases = {
      {"schema 1", [](Json& j) { j["schemaVersion"] = 1; }, ErrorCode::NotImplemented, "schema"},
      {"no schemaVersion", [](Json& j) { j.erase("schemaVersion"); }, ErrorCode::InvalidArgument, "schemaVersion"},
      {"index media type", [](Json& j) { j["mediaType"] = media::kOciIndex; }, ErrorCode::InvalidArgument, "not an image manifest"},
      {"config digest bad", [](Json& j) { j["config"]["digest"] = "sha256:../../etc/passwd"; }, ErrorCode::InvalidArgument, "config.digest"},
      {"config digest uppercase", [](Json& j) { j["config"]["digest"] = "sha256:" + std::string(64, 'A'); }, ErrorCode::InvalidArgument, "digest"},
      {"config digest md5", [](Json& j) { j["config"]["digest"] = "md5:d41d8cd98f00b204e9800998ecf8427e"; }, ErrorCode::NotImplemented, "unsupported digest algorithm"},
      {"layer digest short", [](Json& j) { j["layers"][1]["digest"] = "sha256:abc"; }, ErrorCode::InvalidArgument, "digest"},
      {"layer digest missing", [](Json& j) { j["layers"][0].erase("digest"); }, ErrorCode::InvalidArgument, "digest"},
      {"config size negative", [](Json& j) { j["config"]["size"] = -1; }, ErrorCode::InvalidArgument, "negative size"},
      {"layer size negative", [](Json& j) { j["layers"][0]["size"] = -456; }, ErrorCode::InvalidArgument, "negative size"},
      {"layer size missing", [](Json& j) { j["layers"][0].erase("size"); }, ErrorCode::InvalidArgument, "size"},
      {"layer size string", [](Json& j) { j["layers"][0]["size"] = "456"; }, ErrorCode::InvalidArgument, "size"},
      {"config oversize", [](Json& j) { j["config"]["size"] = kMaxConfigSize + 1; }, ErrorCode::InvalidArgument, "config is"},
      {"layers not array", [](Json& j) { j["layers"] = "x"; }, ErrorCode::InvalidArgument, "layers"},
      {"config missing", [](Json& j) { j.erase("config"); }, ErrorCode::InvalidArgument, "config"},
      {"layer media type", [](Json& j) { j["layers"][0]["mediaType"] = "application/vnd.in-toto+json"; }, ErrorCode::NotImplemented, "unsupported media type"},
      {"annotation not string", [](Json& j) { j["annotations"] = {{"k", 1}}; }, ErrorCode::InvalidArgument, "annotations"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json j = manifest_json(media::kOciManifest, media::kOciConfig, media::kOciLayerGzip);
    c.mutate(j);
    auto m = parse_manifest(j.dump());
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code(), c.code) << m.error().message();
    EXPECT_NE(m.error().message().find(c.says), std::string::npos) << m.error().message();
  }
}

TEST(Manifest, ConfigAtTheLimitIsAccepted) {
  Json j = manifest_json(media::kOciManifest, media::kOciConfig, media::kOciLayer);
  j["config"]["size"] = kMaxConfigSize;
  EXPECT_TRUE(parse_manifest(j.dump()).ok());
}

TEST(Manifest, OversizeManifestIsRejected) {
  Json j = manifest_json(media::kOciManifest, media::kOciConfig, media::kOciLayer);
  std::string small = j.dump();
  j["annotations"] = {{"pad", std::string(kMaxManifestSize, 'x')}};
  std::string big = j.dump();
  ASSERT_GT(big.size(), kMaxManifestSize);
  for (auto* parse : {+[](std::string_view b) { return parse_manifest(b).ok() ? std::string() : parse_manifest(b).error().message(); },
                      +[](std::string_view b) { return parse_index(b).ok() ? std::string() : parse_index(b).error().message(); },
                      +[](std::string_view b) { return detect_manifest_kind(b).ok() ? std::string() : detect_manifest_kind(b).error().message(); }}) {
    std::string why = parse(big);
    EXPECT_NE(why.find("more than the 4194304 allowed"), std::string::npos) << why;
  }
  // Whitespace counts too: the limit is on bytes, before parsing.
  std::string padded = small + std::string(kMaxManifestSize, ' ');
  EXPECT_FALSE(parse_manifest(padded).ok());
  EXPECT_TRUE(parse_manifest(small).ok());
}

// --- indexes and platforms ------------------------------------------------

Index parse_ok_index(const Json& j) {
  auto r = parse_index(j.dump());
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r ? *r : Index{};
}

TEST(Index, ParsesOciIndexAndDockerList) {
  for (const char* mt : {media::kOciIndex, media::kDockerManifestList, static_cast<const char*>(nullptr)}) {
    SCOPED_TRACE(mt ? mt : "no mediaType");
    Json j = {{"schemaVersion", 2},
              {"manifests", {platform_entry(kA, "linux", "amd64"), platform_entry(kB, "linux", "arm", "v7")}}};
    if (mt) j["mediaType"] = mt;
    j["manifests"][0]["annotations"] = {{"org.opencontainers.image.ref.name", "latest"}};
    Index idx = parse_ok_index(j);
    EXPECT_EQ(idx.media_type, mt ? mt : media::kOciIndex);
    ASSERT_EQ(idx.manifests.size(), 2u);
    ASSERT_TRUE(idx.manifests[1].platform);
    EXPECT_EQ(idx.manifests[1].platform->string(), "linux/arm/v7");
    EXPECT_EQ(idx.manifests[0].annotations.at("org.opencontainers.image.ref.name"), "latest");
    // Round trip through to_json keeps what matters.
    Json back = idx.manifests[1].to_json();
    EXPECT_EQ(back["platform"]["variant"], "v7");
    EXPECT_EQ(back["digest"], kB);
  }
}

TEST(Index, RejectsBadIndexes) {
  struct Case {
    std::string name;
    Json j;
    ErrorCode code;
  };
  Json neg = platform_entry(kA, "linux", "amd64");
  neg["size"] = -5;
  Json bad_digest = platform_entry("sha256:../../x", "linux", "amd64");
  Json no_arch = platform_entry(kA, "linux", "amd64");
  no_arch["platform"].erase("architecture");
  const std::vector<Case> cases = {
      {"schema 1", {{"schemaVersion", 1}, {"manifests", Json::array()}}, ErrorCode::NotImplemented},
      {"negative size", {{"schemaVersion", 2}, {"manifests", {neg}}}, ErrorCode::InvalidArgument},
      {"bad digest", {{"schemaVersion", 2}, {"manifests", {bad_digest}}}, ErrorCode::InvalidArgument},
      {"platform without architecture", {{"schemaVersion", 2}, {"manifests", {no_arch}}}, ErrorCode::InvalidArgument},
      {"manifests not array", {{"schemaVersion", 2}, {"manifests", 3}}, ErrorCode::InvalidArgument},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = parse_index(c.j.dump());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), c.code) << r.error().message();
  }
}

TEST(Index, SelectPlatform) {
  const std::string kAmd = "sha256:" + std::string(64, '1');
  const std::string kArm64 = "sha256:" + std::string(64, '2');
  const std::string kArm64V8 = "sha256:" + std::string(64, '3');
  const std::string kArmV7 = "sha256:" + std::string(64, '4');
  const std::string kWindows = "sha256:" + std::string(64, '5');
  const std::string kAttest = "sha256:" + std::string(64, '6');
  Json attest = descriptor(media::kOciManifest, kAttest, 10);
  attest["annotations"] = {{"vnd.docker.reference.type", "attestation-manifest"}};
  Json j = {{"schemaVersion", 2},
            {"mediaType", media::kOciIndex},
            {"manifests",
             {platform_entry(kWindows, "windows", "amd64"), attest,
              platform_entry(kAmd, "linux", "amd64"), platform_entry(kArmV7, "linux", "arm", "v7"),
              platform_entry(kArm64, "linux", "arm64")}}};
  Index idx = parse_ok_index(j);
  Json with_v8 = j;
  with_v8["manifests"].push_back(platform_entry(kArm64V8, "linux", "arm64", "v8"));
  Index idx_v8 = parse_ok_index(with_v8);

  struct Case {
    std::string name;
    const Index* idx;
    Platform want;
    std::string digest;  // "" : NotFound
  };
  const std::vector<Case> cases = {
      {"amd64 picked, windows skipped", &idx, {"linux", "amd64", ""}, kAmd},
      {"windows", &idx, {"windows", "amd64", ""}, kWindows},
      {"arm64 v8 falls back to no variant", &idx, {"linux", "arm64", "v8"}, kArm64},
      {"arm64 v8 exact match wins", &idx_v8, {"linux", "arm64", "v8"}, kArm64V8},
      {"arm64 without variant takes the first", &idx_v8, {"linux", "arm64", ""}, kArm64},
      {"arm v7", &idx, {"linux", "arm", "v7"}, kArmV7},
      {"arm v6 has no match", &idx, {"linux", "arm", "v6"}, ""},
      {"s390x has no match", &idx, {"linux", "s390x", ""}, ""},
      {"other os", &idx, {"freebsd", "amd64", ""}, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = select_platform(*c.idx, c.want);
    if (c.digest.empty()) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
      EXPECT_NE(r.error().message().find(c.want.string()), std::string::npos) << r.error().message();
    } else {
      ASSERT_TRUE(r.ok()) << r.error().message();
      EXPECT_EQ(r->digest, c.digest);
    }
  }
  EXPECT_EQ(select_platform(Index{}, Platform::host_default()).error().code(), ErrorCode::NotFound);
}

TEST(Platform, ParseAndPrint) {
  struct Case {
    std::string in;
    std::string out;  // "" : error
  };
  const std::vector<Case> cases = {
      {"linux/amd64", "linux/amd64"},
      {"linux/arm64/v8", "linux/arm64/v8"},
      {"linux/arm/v7", "linux/arm/v7"},
      {"linux", "linux/" + Platform::host_default().architecture},
      {"", ""},
      {"linux/amd64/v2/x", ""},
      {"Linux/amd64", ""},
      {"linux//v7", ""},
      {"linux/amd64 ", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto r = parse_platform(c.in);
    if (c.out.empty()) {
      EXPECT_FALSE(r.ok());
    } else {
      ASSERT_TRUE(r.ok()) << r.error().message();
      EXPECT_EQ(r->string(), c.out);
    }
  }
  Platform host = Platform::host_default();
  EXPECT_EQ(host.os, "linux");
  EXPECT_FALSE(host.architecture.empty());
}

TEST(Manifest, LayerMediaTypes) {
  for (const char* mt : {media::kOciLayer, media::kOciLayerGzip, media::kOciLayerZstd, media::kDockerLayer,
                         media::kDockerLayerGzip, media::kDockerForeignLayerGzip})
    EXPECT_TRUE(is_layer_media_type(mt)) << mt;
  for (const char* mt : {media::kOciConfig, media::kOciManifest, "", "application/octet-stream"})
    EXPECT_FALSE(is_layer_media_type(mt)) << mt;
}

// --- configs --------------------------------------------------------------

Json config_json() {
  return {{"architecture", "amd64"},
          {"os", "linux"},
          {"variant", ""},
          {"created", "2024-05-06T07:08:09Z"},
          {"author", "someone"},
          {"config", {{"Cmd", {"/bin/sh"}}, {"Env", {"PATH=/bin"}}}},
          {"rootfs", {{"type", "layers"}, {"diff_ids", {kA, kB}}}},
          {"history",
           {{{"created", "2024-05-06T07:08:00Z"}, {"created_by", "ADD rootfs.tar /"}},
            {{"created_by", "ENV PATH=/bin"}, {"empty_layer", true}},
            {{"created_by", "RUN make"}, {"comment", "buildkit"}}}}};
}

TEST(Config, ParsesDiffIdsAndHistory) {
  auto c = parse_config(config_json().dump());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->architecture, "amd64");
  EXPECT_EQ(c->os, "linux");
  EXPECT_EQ(c->created, "2024-05-06T07:08:09Z");
  EXPECT_EQ(c->author, "someone");
  EXPECT_EQ(c->diff_ids, (std::vector<std::string>{kA, kB}));
  ASSERT_EQ(c->history.size(), 3u);
  EXPECT_EQ(c->history[0].created_by, "ADD rootfs.tar /");
  EXPECT_FALSE(c->history[0].empty_layer);
  EXPECT_TRUE(c->history[1].empty_layer);
  EXPECT_EQ(c->history[1].created, "");
  EXPECT_EQ(c->history[2].comment, "buildkit");
  // What Berth does not model stays in the JSON.
  EXPECT_EQ(c->json["config"]["Cmd"][0], "/bin/sh");
}

TEST(Config, MinimalConfig) {
  // An image with no layers (FROM scratch + ENV) still has a rootfs.
  auto c = parse_config(R"({"rootfs":{"type":"layers","diff_ids":[]}})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->diff_ids.empty());
  EXPECT_TRUE(c->history.empty());
}

TEST(Config, RejectsBadConfigs) {
  struct Case {
    std::string name;
    std::function<void(Json&)> mutate;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"rootfs.type", [](Json& j) { j["rootfs"]["type"] = "snapshot"; }, "rootfs.type"},
      {"rootfs.type missing", [](Json& j) { j["rootfs"].erase("type"); }, "type"},
      {"rootfs missing", [](Json& j) { j.erase("rootfs"); }, "rootfs"},
      {"diff id bad", [](Json& j) { j["rootfs"]["diff_ids"][1] = "sha256:xyz"; }, "diff_ids"},
      {"diff id traversal", [](Json& j) { j["rootfs"]["diff_ids"][0] = "sha256:../../x"; }, "diff_ids"},
      {"diff ids not strings", [](Json& j) { j["rootfs"]["diff_ids"] = {1, 2}; }, "diff_ids"},
      {"history not objects", [](Json& j) { j["history"] = {"x"}; }, "history"},
      {"empty_layer not bool", [](Json& j) { j["history"][1]["empty_layer"] = "yes"; }, "empty_layer"},
      {"created not string", [](Json& j) { j["created"] = 5; }, "created"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json j = config_json();
    c.mutate(j);
    auto r = parse_config(j.dump());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().message().find(c.says), std::string::npos) << r.error().message();
  }
  EXPECT_FALSE(parse_config("[]").ok());
  EXPECT_FALSE(parse_config("not json").ok());
}

TEST(Config, OversizeConfigIsRejected) {
  Json j = config_json();
  j["config"]["Labels"] = {{"pad", std::string(kMaxConfigSize, 'x')}};
  std::string big = j.dump();
  auto r = parse_config(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.error().message().find("more than the 20971520 allowed"), std::string::npos)
      << r.error().message();
  // Just under the limit is fine.
  j["config"]["Labels"]["pad"] = std::string(kMaxConfigSize - config_json().dump().size() - 64, 'x');
  std::string under = j.dump();
  ASSERT_LE(under.size(), kMaxConfigSize);
  EXPECT_TRUE(parse_config(under).ok());
}

TEST(CanonicalJson, SortedKeysNoWhitespace) {
  Json j = Json::parse(R"({ "b": 1, "a": { "d": [1, 2], "c": "x<y&z" } })");
  // The same value always gives the same bytes, so digests are stable.
  EXPECT_EQ(canonical_json(j), R"({"a":{"c":"x<y&z","d":[1,2]},"b":1})");
  EXPECT_EQ(canonical_json(j), canonical_json(Json::parse(canonical_json(j))));
}

}  // namespace
}  // namespace berth::image
