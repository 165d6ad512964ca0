// Image archives as root: `docker save` tars in the legacy layout (and as
// skopeo writes them), Berth's own saves and OCI layouts round-tripped,
// `docker import`, and bad archives that must change nothing.
#include "image/archive.h"

#include <unistd.h>

#include <random>

#include "base/digest.h"
#include "base/file.h"
#include "image/store_test_util.h"

namespace berth::image {
namespace {

using namespace store_testing;  // NOLINT(google-build-using-namespace)

std::string hex(const std::string& digest) { return std::string(digest_hex(digest)); }

// An image as `docker save` (before Docker 25) writes it: one directory per
// layer with layer.tar, the config as <id>.json, manifest.json and
// repositories. With `skopeo_links` the layers lie at the top as
// <diff-id-hex>.tar and each layer.tar is a symlink to one, as skopeo
// writes them.
struct LegacyImage {
  std::vector<std::string> layers;  // plain tars
  std::vector<std::string> repo_tags = {"busybox:latest"};
  std::string created = "2024-03-04T05:06:07Z";

  std::string config() const {
    ImageSpec spec(layers);
    spec.created = created;
    std::vector<std::string> diff_ids;
    for (const auto& l : layers) diff_ids.push_back(sha256_digest(l));
    return make_config(spec, diff_ids);
  }
  std::string id() const { return sha256_digest(config()); }
  // The legacy per-layer directory names (any hex will do here).
  std::string layer_dir(size_t i) const { return hex(sha256_digest(id() + std::to_string(i))); }

  std::vector<TarEntry> entries(bool skopeo_links = false) const {
    std::vector<TarEntry> out;
    Json layer_paths = Json::array();
    for (size_t i = 0; i < layers.size(); i++) {
      std::string d = layer_dir(i);
      out.push_back(tar_dir(d + "/"));
      out.push_back(tar_file(d + "/VERSION", "1.0"));
      out.push_back(tar_file(d + "/json", R"({"id":")" + d + R"("})"));
      if (skopeo_links) {
        std::string blob = hex(sha256_digest(layers[i])) + ".tar";
        out.push_back(tar_file(blob, layers[i]));
        out.push_back(tar_symlink(d + "/layer.tar", "../" + blob));
      } else {
        out.push_back(tar_file(d + "/layer.tar", layers[i]));
      }
      layer_paths.push_back(d + "/layer.tar");
    }
    out.push_back(tar_file(hex(id()) + ".json", config()));
    Json manifest = Json::array({{{"Config", hex(id()) + ".json"},
                                  {"RepoTags", repo_tags},
                                  {"Layers", layer_paths}}});
    out.push_back(tar_file("manifest.json", manifest.dump()));
    Json repos = Json::object();
    for (const auto& t : repo_tags)
      repos[t.substr(0, t.rfind(':'))][t.substr(t.rfind(':') + 1)] = layer_dir(layers.size() - 1);
    out.push_back(tar_file("repositories", repos.dump()));
    return out;
  }
  std::string tar(bool skopeo_links = false) const { return make_tar(entries(skopeo_links)); }
};

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

LegacyImage busybox() {
  LegacyImage img;
  img.layers = {layer_tar({{"bin/busybox", "#!busybox"}, {"etc/passwd", "root:x:0:0::/root:/bin/sh\n"}}),
                layer_tar({{"etc/motd", "hello\n"}})};
  img.repo_tags = {"busybox:latest", "myorg/tool:2"};
  return img;
}

// An OCI image layout as a tar: oci-layout, index.json and blobs.
std::string oci_tar(const std::vector<std::string>& blobs, const std::string& index_json) {
  std::vector<TarEntry> e = {tar_file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"),
                             tar_file("index.json", index_json), tar_dir("blobs/"),
                             tar_dir("blobs/sha256/")};
  for (const auto& b : blobs) e.push_back(tar_file("blobs/sha256/" + hex(sha256_digest(b)), b));
  return make_tar(e);
}

std::string index_for(const TestImage& img, const std::string& name = "") {
  Json d = {{"mediaType", media::kOciManifest},
            {"digest", img.manifest_digest},
            {"size", img.manifest_bytes.size()}};
  if (!name.empty()) d["annotations"] = {{"io.containerd.image.name", name}};
  return canonical_json({{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", {d}}});
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_SKIP_UNLESS_ROOT();
    store_ = open_store("store");
  }
  std::unique_ptr<ImageStore> open_store(const std::string& name) {
    auto r = ImageStore::open(dir_.sub(name));
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r ? std::move(*r) : nullptr;
  }
  Result<std::vector<LoadedImage>> load(ImageStore& s, std::string_view bytes) {
    Fd fd = file_with(dir_.sub("in-" + std::to_string(files_++) + ".tar"), bytes);
    return load_archive(s, fd.get());
  }
  std::string save(ImageStore& s, const std::vector<std::string>& names) {
    Fd out = memfd_with("");
    auto r = save_archive(s, names, out.get());
    EXPECT_TRUE(r.ok()) << r.error().message();
    return read_all_fd(out.get());
  }

  // What a failed load must leave exactly as it was.
  struct State {
    std::set<std::string> blobs, ingest, layers, layer_tmp;
    std::vector<std::string> images;
    bool operator==(const State&) const = default;
    friend void PrintTo(const State& s, std::ostream* os) {
      *os << "{blobs: " << s.blobs.size() << ", ingest: " << s.ingest.size()
          << ", layers: " << s.layers.size() << ", layers/tmp: " << s.layer_tmp.size()
          << ", images: " << ::testing::PrintToString(s.images) << "}";
    }
  };
  State state(ImageStore& s, const std::string& name = "store") const {
    State st{dir_names(dir_.sub(name + "/content/blobs/sha256")), dir_names(dir_.sub(name + "/content/ingest")),
             dir_names(dir_.sub(name + "/layers")), dir_names(dir_.sub(name + "/layers/tmp")), {}};
    auto images = s.list();
    EXPECT_TRUE(images.ok());
    if (!images.ok()) return st;
    for (const auto& r : *images) {
      std::string line = r.id;
      for (const auto& t : r.tags) line += " " + t;
      st.images.push_back(line);
    }
    return st;
  }

  TempDir dir_;
  std::unique_ptr<ImageStore> store_;
  int files_ = 0;
};

TEST_F(ArchiveTest, LoadsLegacyDockerSave) {
  LegacyImage img = busybox();
  auto r = load(*store_, img.tar());
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, img.id());
  EXPECT_EQ((*r)[0].tags, (std::vector<std::string>{"docker.io/library/busybox:latest",
                                                   "docker.io/myorg/tool:2"}));
  auto rec = store_->resolve("busybox");
  ASSERT_TRUE(rec.ok()) << rec.error().message();
  EXPECT_EQ(rec->id, img.id());
  EXPECT_EQ(store_->resolve("myorg/tool:2").value().id, img.id());
  ASSERT_EQ(rec->chain_ids.size(), 2u);
  EXPECT_EQ(rec->chain_ids[0], sha256_digest(img.layers[0]));
  EXPECT_EQ(read_path(store_->layers().diff_path(rec->chain_ids[1]) + "/etc/motd"), "hello\n");
  // The legacy layout's VERSION and json files went into the content store
  // with the rest (a tar is read once, front to back) and nothing names
  // them: the next gc drops them (VERSION is the same blob twice) and
  // keeps the image's manifest, config and two layers.
  auto st = store_->gc();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->blobs_removed, 3u);
  EXPECT_EQ(dir_names(dir_.sub("store/content/blobs/sha256")).size(), 4u);
  EXPECT_TRUE(dir_names(dir_.sub("store/content/ingest")).empty());

  // Loading it again changes nothing.
  auto again = load(*store_, img.tar());
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(store_->list().value().size(), 1u);
}

TEST_F(ArchiveTest, LoadsSkopeoSymlinkedLayers) {
  LegacyImage img = busybox();
  std::string tar = img.tar(/*skopeo_links=*/true);
  ASSERT_EQ(read_tar(tar).at(img.layer_dir(0) + "/layer.tar"),
            "-> ../" + hex(sha256_digest(img.layers[0])) + ".tar");
  auto r = load(*store_, tar);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, img.id());
  auto rec = store_->get(img.id());
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(read_path(store_->layers().diff_path(rec->chain_ids[0]) + "/bin/busybox"), "#!busybox");
}

TEST_F(ArchiveTest, LoadsGzipCompressedArchiveWithTwoImages) {
  LegacyImage a = busybox();
  LegacyImage b;
  b.layers = {a.layers[0], layer_tar({{"srv/b", "b"}})};
  b.repo_tags = {"b:1"};
  // One manifest.json naming both, sharing the base layer's directory.
  std::vector<TarEntry> entries = a.entries();
  for (auto& e : b.entries())
    if (e.name != "manifest.json" && e.name != "repositories") entries.push_back(e);
  Json manifest = Json::parse(read_tar(a.tar()).at("manifest.json"));
  manifest.push_back(Json::parse(read_tar(b.tar()).at("manifest.json"))[0]);
  for (auto& e : entries)
    if (e.name == "manifest.json") e.data = manifest.dump();
  auto r = load(*store_, gzip(make_tar(entries)));
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, a.id());
  EXPECT_EQ((*r)[1].id, b.id());
  EXPECT_EQ(store_->resolve("b:1").value().id, b.id());
  EXPECT_EQ(store_->layers().list().value().size(), 3u);  // the base is shared
}

TEST_F(ArchiveTest, SaveRoundTripsAndIsDeterministic) {
  LegacyImage img = busybox();
  ASSERT_TRUE(load(*store_, img.tar()).ok());
  auto rec = store_->resolve("busybox").value();

  std::string first = save(*store_, {"busybox:latest"});
  std::string second = save(*store_, {"busybox:latest"});
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, second) << "two saves of the same image differ";

  // Docker 25's layout: manifest.json and an OCI layout over the same blobs.
  auto files = read_tar(first);
  ASSERT_TRUE(files.count("manifest.json") && files.count("index.json") && files.count("oci-layout"));
  Json manifest = Json::parse(files.at("manifest.json"));
  ASSERT_EQ(manifest.size(), 1u);
  EXPECT_EQ(manifest[0]["RepoTags"], Json::array({"busybox:latest"}));
  EXPECT_EQ(manifest[0]["Config"], "blobs/sha256/" + hex(rec.id));
  EXPECT_EQ(files.at("blobs/sha256/" + hex(rec.id)), img.config());
  EXPECT_EQ(files.at("blobs/sha256/" + hex(rec.manifest_digest)),
            store_->content().read_blob(rec.manifest_digest, kMaxManifestSize).value());
  Json index = Json::parse(files.at("index.json"));
  EXPECT_EQ(index["manifests"][0]["digest"], rec.manifest_digest);
  EXPECT_EQ(index["manifests"][0]["annotations"]["io.containerd.image.name"],
            "docker.io/library/busybox:latest");

  auto fresh = open_store("fresh");
  auto r = load(*fresh, first);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  auto got = fresh->resolve("busybox:latest");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->id, rec.id);
  EXPECT_EQ(got->manifest_digest, rec.manifest_digest);
  EXPECT_EQ(got->chain_ids, rec.chain_ids);
  EXPECT_EQ(got->tags, std::vector<std::string>{"docker.io/library/busybox:latest"});
  // And the fresh store saves the same bytes.
  EXPECT_EQ(save(*fresh, {"busybox:latest"}), first);
}

TEST_F(ArchiveTest, SaveByIdIsUntagged) {
  LegacyImage img = busybox();
  ASSERT_TRUE(load(*store_, img.tar()).ok());
  std::string bytes = save(*store_, {img.id()});
  Json manifest = Json::parse(read_tar(bytes).at("manifest.json"));
  EXPECT_TRUE(manifest[0]["RepoTags"].is_null()) << manifest.dump();
  auto fresh = open_store("fresh");
  auto r = load(*fresh, bytes);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ((*r)[0].id, img.id());
  EXPECT_TRUE((*r)[0].tags.empty());
  EXPECT_TRUE(fresh->get(img.id()).value().tags.empty());
  // Unknown names are an error and write nothing.
  Fd out = memfd_with("");
  auto bad = save_archive(*store_, {"no-such-image"}, out.get());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::NotFound);
  EXPECT_FALSE(save_archive(*store_, {}, out.get()).ok());
}

TEST_F(ArchiveTest, OciLayoutRoundTrip) {
  LegacyImage img = busybox();
  ASSERT_TRUE(load(*store_, img.tar()).ok());
  auto rec = store_->resolve("busybox").value();
  std::string layout = dir_.sub("layout");
  auto s = save_oci_layout(*store_, {"busybox"}, layout);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(read_path(layout + "/oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  EXPECT_EQ(dir_names(layout + "/blobs/sha256").size(), 4u);
  // Saving again over the existing layout keeps it valid.
  ASSERT_TRUE(save_oci_layout(*store_, {"busybox"}, layout).ok());

  auto fresh = open_store("fresh");
  auto r = load_oci_layout(*fresh, layout);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, rec.id);
  EXPECT_EQ((*r)[0].tags, std::vector<std::string>{"docker.io/library/busybox:latest"});
  auto got = fresh->resolve("busybox");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->manifest_digest, rec.manifest_digest);
  EXPECT_EQ(read_path(fresh->layers().diff_path(got->chain_ids[1]) + "/etc/motd"), "hello\n");

  // The same layout as a tar (no manifest.json) loads too.
  std::vector<std::string> blobs;
  for (const auto& h : dir_names(layout + "/blobs/sha256")) blobs.push_back(read_path(layout + "/blobs/sha256/" + h));
  auto third = open_store("third");
  auto t = load(*third, oci_tar(blobs, read_path(layout + "/index.json")));
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(third->resolve("busybox").value().manifest_digest, rec.manifest_digest);
}

TEST_F(ArchiveTest, ImportRootfsWithChanges) {
  std::string rootfs = make_tar({tar_dir("app/"), tar_file("app/run.sh", "#!/bin/sh\necho hi\n", 0755),
                                 tar_file("etc/hostname", "imported\n")});
  ImportOptions opts;
  opts.changes = {R"(CMD ["/app/run.sh", "--serve"])",
                  R"(ENV A=1 B="two words")",
                  "ENV LEGACY form value",
                  "WORKDIR /app",
                  "EXPOSE 80 53/udp",
                  R"(LABEL org.example.team=store "org.example.note"="quoted value")",
                  "ENTRYPOINT /bin/sh -c",
                  "USER 1000:1000",
                  "VOLUME /data",
                  "STOPSIGNAL SIGTERM"};
  opts.message = "from a test";
  opts.tag = "imported:1";
  Fd fd = file_with(dir_.sub("rootfs.tar.gz"), gzip(rootfs));
  auto r = import_rootfs(*store_, fd.get(), opts);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->tags, std::vector<std::string>{"docker.io/library/imported:1"});
  auto rec = store_->resolve("imported:1");
  ASSERT_TRUE(rec.ok()) << rec.error().message();
  EXPECT_EQ(rec->id, r->id);
  ASSERT_EQ(rec->chain_ids.size(), 1u);
  // Stored uncompressed, so the layer's digest is its diff ID.
  EXPECT_EQ(rec->chain_ids[0], sha256_digest(rootfs));
  EXPECT_EQ(read_path(store_->layers().diff_path(rec->chain_ids[0]) + "/app/run.sh"), "#!/bin/sh\necho hi\n");

  auto cfg = parse_config(store_->content().read_blob(rec->id, kMaxConfigSize).value());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  const Json& c = cfg->json["config"];
  EXPECT_EQ(c["Cmd"], Json::array({"/app/run.sh", "--serve"}));
  EXPECT_EQ(c["Env"], Json::array({"A=1", "B=two words", "LEGACY=form value"}));
  EXPECT_EQ(c["WorkingDir"], "/app");
  EXPECT_EQ(c["ExposedPorts"], Json({{"80/tcp", Json::object()}, {"53/udp", Json::object()}}));
  EXPECT_EQ(c["Labels"], Json({{"org.example.team", "store"}, {"org.example.note", "quoted value"}}))
      << c["Labels"].dump();
  EXPECT_EQ(c["Entrypoint"], Json::array({"/bin/sh", "-c", "/bin/sh -c"}));
  EXPECT_EQ(c["User"], "1000:1000");
  EXPECT_EQ(c["Volumes"], Json({{"/data", Json::object()}}));
  EXPECT_EQ(c["StopSignal"], "SIGTERM");
  EXPECT_EQ(cfg->diff_ids, std::vector<std::string>{sha256_digest(rootfs)});
  ASSERT_EQ(cfg->history.size(), 1u);
  EXPECT_EQ(cfg->history[0].comment, "from a test");
  EXPECT_EQ(cfg->os, "linux");
  EXPECT_EQ(cfg->architecture, Platform::host_default().architecture);
}

TEST_F(ArchiveTest, ImportRejectsBadChangesAndBadTars) {
  State before = state(*store_);
  struct Case {
    std::string name;
    std::vector<std::string> changes;
    std::string tar;
  };
  std::string good = make_tar({tar_file("a", "1")});
  const std::vector<Case> cases = {
      {"unknown instruction", {"RUN rm -rf /"}, good},
      {"FROM", {"FROM busybox"}, good},
      {"bad port", {"EXPOSE 70000"}, good},
      {"bad protocol", {"EXPOSE 80/icmp"}, good},
      {"ENV without value", {"ENV"}, good},
      {"WORKDIR without dir", {"WORKDIR"}, good},
      {"unterminated quote", {R"(LABEL a="b)"}, good},
      {"garbage tar", {}, random_bytes(10000, 7)},
      {"escaping tar", {}, make_tar({tar_file("../../etc/evil", "x")})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ImportOptions opts;
    opts.changes = c.changes;
    opts.tag = "bad:1";
    Fd fd = file_with(dir_.sub("import.tar"), c.tar);
    auto r = import_rootfs(*store_, fd.get(), opts);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(r.error().message().empty());
    EXPECT_EQ(state(*store_), before);
  }
  EXPECT_FALSE(path_exists("/etc/evil"));
}

// Bad archives: each gives a clear error and leaves the store as it was
// (an image loaded before stays; no record, blob, layer or ingest file is
// added).
TEST_F(ArchiveTest, BadArchivesChangeNothing) {
  LegacyImage existing = busybox();
  ASSERT_TRUE(load(*store_, existing.tar()).ok());
  ASSERT_TRUE(store_->gc().ok());  // the legacy layout's spare files
  State before = state(*store_);
  ASSERT_EQ(before.images.size(), 1u);

  // A new image with a big layer to cut through.
  LegacyImage fresh;
  fresh.layers = {layer_tar({{"big", random_bytes(256 << 10, 1)}}), layer_tar({{"small", "s"}})};
  fresh.repo_tags = {"fresh:1"};
  std::string fresh_tar = fresh.tar();

  std::string truncated = fresh_tar.substr(0, fresh_tar.size() / 2);

  std::vector<TarEntry> missing_blob = fresh.entries();
  for (auto& e : missing_blob)
    if (e.name == "manifest.json") {
      Json m = Json::parse(e.data);
      m[0]["Layers"].push_back("0000/layer.tar");
      e.data = m.dump();
    }

  // An OCI layout whose layer blob does not hash to its name.
  ImageSpec spec({layer_tar({{"oci", "layer"}})});
  TestImage oci = describe_image(spec);
  std::string tampered_layer = spec.layers[0];
  tampered_layer[tampered_layer.size() / 3] ^= 1;
  std::vector<TarEntry> mismatched = {tar_file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"),
                                      tar_file("index.json", index_for(oci, "docker.io/library/oci:1")),
                                      tar_file("blobs/sha256/" + hex(oci.manifest_digest), oci.manifest_bytes),
                                      tar_file("blobs/sha256/" + hex(oci.config_digest), oci.config_bytes),
                                      tar_file("blobs/sha256/" + hex(oci.layer_digests[0]), tampered_layer)};

  // A config past 20 MiB (the legacy layout does not say its size).
  std::vector<TarEntry> huge_config = fresh.entries();
  {
    Json cfg = Json::parse(fresh.config());
    cfg["config"]["Labels"] = {{"pad", std::string(kMaxConfigSize, 'x')}};
    std::string bytes = canonical_json(cfg);
    Json m = Json::array({{{"Config", "huge.json"}, {"RepoTags", {"huge:1"}}, {"Layers", Json::array()}}});
    for (auto& e : huge_config) {
      if (e.name == "manifest.json") e.data = m.dump();
    }
    huge_config.push_back(tar_file("huge.json", bytes));
  }

  // A manifest.json past 4 MiB.
  std::vector<TarEntry> huge_manifest = fresh.entries();
  for (auto& e : huge_manifest)
    if (e.name == "manifest.json") {
      Json m = Json::parse(e.data);
      m[0]["Padding"] = std::string(kMaxManifestSize, ' ');
      e.data = m.dump();
    }

  // index.json naming a manifest the archive lacks (the others are there).
  TestImage absent = describe_image(ImageSpec({layer_tar({{"x", "y"}})}));
  std::string missing_manifest =
      oci_tar({absent.config_bytes, spec.layers[0]}, index_for(absent, "docker.io/library/absent:1"));

  struct Case {
    std::string name;
    std::string bytes;
    std::string says;  // part of the error message
  };
  const std::vector<Case> cases = {
      {"truncated tar", truncated, "Truncated tar archive"},
      {"truncated gzip", gzip(fresh_tar).substr(0, 2000), "unexpected end of stream"},
      {"manifest.json names a missing blob", make_tar(missing_blob), "0000/layer.tar"},
      {"blob content does not match its name", make_tar(mismatched), "digest mismatch"},
      {"config over 20 MiB", make_tar(huge_config), "more than the 20971520 allowed"},
      {"manifest.json over 4 MiB", make_tar(huge_manifest), "more than the 4194304 allowed"},
      {"garbage", random_bytes(100000, 3), "not a tar archive"},
      {"empty file", "", "not a tar archive"},
      {"tar without manifest.json or index.json", make_tar({tar_file("hello", "x")}), "not an image archive"},
      {"index.json names a missing manifest", missing_manifest, hex(absent.manifest_digest)},
      {"manifest.json not an array", make_tar({tar_file("manifest.json", "{}")}), "expected an array"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = load(*store_, c.bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find(c.says), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().message().rfind("load image archive: ", 0), 0u) << r.error().message();
    EXPECT_EQ(state(*store_), before);
  }
  EXPECT_EQ(store_->resolve("busybox").value().id, existing.id());
  EXPECT_EQ(store_->resolve("fresh:1").error().code(), ErrorCode::NotFound);
}

TEST_F(ArchiveTest, BadSecondImageRecordsNeitherImage) {
  // Two images in one archive; the second's config names a diff ID its
  // layer does not have, which only unpacking can tell.
  LegacyImage a = busybox();
  LegacyImage b;
  b.layers = {layer_tar({{"srv/b", "b"}})};
  std::string bad_config = make_config(ImageSpec(b.layers), {sha256_digest("another layer")});
  std::vector<TarEntry> entries = a.entries();
  entries.push_back(tar_file("b/layer.tar", b.layers[0]));
  entries.push_back(tar_file("b.json", bad_config));
  for (auto& e : entries)
    if (e.name == "manifest.json") {
      Json m = Json::parse(e.data);
      m.push_back({{"Config", "b.json"}, {"RepoTags", {"b:1"}}, {"Layers", {"b/layer.tar"}}});
      e.data = m.dump();
    }
  State before = state(*store_);
  auto r = load(*store_, make_tar(entries));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("diff ID"), std::string::npos) << r.error().message();
  EXPECT_EQ(state(*store_), before);
  EXPECT_FALSE(store_->resolve("busybox").ok());

  // An image that was here before the failed load stays, tags and all.
  ASSERT_TRUE(load(*store_, a.tar()).ok());
  ASSERT_TRUE(store_->gc().ok());
  before = state(*store_);
  r = load(*store_, make_tar(entries));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(state(*store_), before);
  EXPECT_EQ(store_->resolve("myorg/tool:2").value().id, a.id());
}

TEST_F(ArchiveTest, BadOciLayoutDirectoryChangesNothing) {
  LegacyImage img = busybox();
  ASSERT_TRUE(load(*store_, img.tar()).ok());
  std::string layout = dir_.sub("layout");
  ASSERT_TRUE(save_oci_layout(*store_, {"busybox"}, layout).ok());
  auto fresh = open_store("fresh");
  State before = state(*fresh, "fresh");
  // Corrupt one layer blob in the layout.
  auto rec = store_->resolve("busybox").value();
  Json m = Json::parse(store_->content().read_blob(rec.manifest_digest, kMaxManifestSize).value());
  std::string layer = layout + "/blobs/sha256/" + hex(m["layers"][1]["digest"].get<std::string>());
  std::string bytes = read_path(layer);
  bytes[bytes.size() / 2] ^= 1;
  ASSERT_TRUE(write_file(layer, bytes).ok());
  auto r = load_oci_layout(*fresh, layout);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("digest mismatch"), std::string::npos) << r.error().message();
  EXPECT_EQ(state(*fresh, "fresh"), before);
  // A directory that is no layout at all.
  auto none = load_oci_layout(*fresh, dir_.sub("nowhere"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::NotFound) << none.error().message();
  EXPECT_EQ(state(*fresh, "fresh"), before);
}

}  // namespace
}  // namespace berth::image
