// ImageStore as root: images recorded from blobs, names and IDs resolved as
// `docker inspect` takes them, tags, deletion with gc, and the reconcile
// that runs at open after a crash.
#include "image/image_store.h"

#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/digest.h"
#include "base/file.h"
#include "image/store_test_util.h"

namespace berth::image {
namespace {

using namespace store_testing;  // NOLINT(google-build-using-namespace)

std::string hex(const std::string& digest) { return std::string(digest_hex(digest)); }

// Three small layers; base is shared by the images built from the others.
struct Layers {
  std::string base = layer_tar({{"etc/os-release", "ID=berth\n"}, {"bin/sh", "#!"}});
  std::string app = layer_tar({{"app/main", "v1"}});
  std::string other = layer_tar({{"srv/data", "other"}});
};
const Layers& layers() {
  static const Layers l;
  return l;
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_SKIP_UNLESS_ROOT();
    reopen();
  }
  void reopen() {
    is_.reset();
    auto r = ImageStore::open(dir_.path());
    ASSERT_TRUE(r.ok()) << r.error().message();
    is_ = std::move(*r);
  }
  // Blobs put under a lease that ends here, then recorded.
  ImageRecord add(const ImageSpec& spec, TestImage* out = nullptr) {
    auto lease = is_->content().lease();
    TestImage img = put_image(is_->content(), lease, spec);
    auto r = is_->add_image(img.manifest_digest);
    EXPECT_TRUE(r.ok()) << r.error().message();
    if (out != nullptr) *out = img;
    return r ? *r : ImageRecord{};
  }
  std::set<std::string> blob_set() const { return dir_names(dir_.sub("content/blobs/sha256")); }
  std::vector<std::string> layer_list() const { return is_->layers().list().value(); }

  TempDir dir_;
  std::unique_ptr<ImageStore> is_;
  const std::string& kBase = layers().base;
  const std::string& kApp = layers().app;
  const std::string& kOther = layers().other;
};



TEST_F(ImageStoreTest, AddImageRecordsAndUnpacks) {
  TestImage img;
  ImageRecord rec = add(ImageSpec({kBase, kApp}), &img);
  EXPECT_EQ(rec.id, img.config_digest);
  EXPECT_EQ(rec.manifest_digest, img.manifest_digest);
  EXPECT_EQ(rec.manifest_media_type, media::kOciManifest);
  EXPECT_EQ(rec.created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(rec.chain_ids, img.chain_ids);
  EXPECT_EQ(rec.size, img.tar_bytes);
  EXPECT_GT(rec.added, 0);
  EXPECT_TRUE(rec.tags.empty());
  for (const auto& c : img.chain_ids) EXPECT_TRUE(is_->layers().has(c)) << c;
  EXPECT_EQ(read_path(is_->layers().diff_path(img.chain_ids[1]) + "/app/main"), "v1");
  EXPECT_TRUE(dir_names(dir_.sub("layers/tmp")).empty());

  auto got = is_->get(rec.id);
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->chain_ids, rec.chain_ids);
  EXPECT_EQ(got->size, rec.size);
  auto list = is_->list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);

  // Adding it again returns the record as it is.
  auto again = is_->add_image(img.manifest_digest);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->id, rec.id);
  EXPECT_EQ(is_->list().value().size(), 1u);
}

TEST_F(ImageStoreTest, DockerManifestWithGzipLayer) {
  std::string gz = gzip(kApp);
  TestImage img;
  ImageRecord rec = add(ImageSpec({kBase, gz})
                            .with_diff_ids({sha256_digest(kBase), sha256_digest(kApp)})
                            .with_media_type(media::kDockerManifest),
                        &img);
  EXPECT_EQ(rec.manifest_media_type, media::kDockerManifest);
  EXPECT_EQ(rec.size, static_cast<int64_t>(kBase.size() + kApp.size()));
  EXPECT_EQ(read_path(is_->layers().diff_path(rec.chain_ids[1]) + "/app/main"), "v1");
}

TEST_F(ImageStoreTest, ImageWithoutLayers) {
  ImageRecord rec = add(ImageSpec());
  EXPECT_TRUE(rec.chain_ids.empty());
  EXPECT_EQ(rec.size, 0);
  EXPECT_TRUE(is_->get(rec.id).ok());
}

TEST_F(ImageStoreTest, ResolveByNameIdPrefixAndDigest) {
  TestImage img;
  ImageRecord rec = add(ImageSpec({kBase}), &img);
  ASSERT_TRUE(is_->tag(rec.id, "busybox").ok());
  ASSERT_TRUE(is_->tag(rec.id, "localhost:5000/team/app:1.0").ok());

  auto tagged = is_->get(rec.id);
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->tags, (std::vector<std::string>{"docker.io/library/busybox:latest",
                                                    "localhost:5000/team/app:1.0"}));
  struct Case {
    std::string query;
    bool found;
  };
  const std::vector<Case> cases = {
      {"busybox", true},
      {"busybox:latest", true},
      {"library/busybox", true},
      {"docker.io/library/busybox:latest", true},
      {"localhost:5000/team/app:1.0", true},
      {"localhost:5000/team/app", false},  // :latest was never tagged
      {"busybox:1.36", false},
      {rec.id, true},
      {hex(rec.id), true},
      {hex(rec.id).substr(0, 12), true},
      {"sha256:" + hex(rec.id).substr(0, 12), true},
      {hex(rec.id).substr(0, 1), true},  // one image: any prefix is unique
      {"busybox@" + img.manifest_digest, true},
      {"busybox@" + sha256_digest("no such manifest"), false},
      {sha256_digest("no such image"), false},
      {"0123456789ab" == hex(rec.id).substr(0, 12) ? "fedcba987654" : "0123456789ab", false},
      {"", false},
      {"UPPER", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.query);
    auto r = is_->resolve(c.query);
    if (c.found) {
      ASSERT_TRUE(r.ok()) << r.error().message();
      EXPECT_EQ(r->id, rec.id);
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code(), ErrorCode::NotFound) << r.error().message();
    }
  }
}

TEST_F(ImageStoreTest, AmbiguousPrefixIsAConflict) {
  // Two images whose IDs share their first hex digit: vary the config's
  // creation time until they do (at most a few dozen tries).
  ImageSpec a({kBase});
  std::string first = hex(describe_image(a).config_digest);
  ImageSpec b = ImageSpec({kBase}).with_created("2023-01-01T00:00:00Z");
  for (int i = 0; hex(describe_image(b).config_digest)[0] != first[0]; i++)
    b.created = "2024-01-01T00:00:" + std::to_string(i) + "Z";
  ImageRecord ra = add(a);
  ImageRecord rb = add(b);
  ASSERT_NE(ra.id, rb.id);
  auto r = is_->resolve(first.substr(0, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::Conflict) << r.error().message();
  EXPECT_NE(r.error().message().find("ambiguous"), std::string::npos);
  // A longer prefix tells them apart.
  size_t n = 1;
  while (hex(ra.id).substr(0, n) == hex(rb.id).substr(0, n)) n++;
  EXPECT_EQ(is_->resolve(hex(ra.id).substr(0, n)).value().id, ra.id);
  EXPECT_EQ(is_->resolve(hex(rb.id).substr(0, n)).value().id, rb.id);
}

TEST_F(ImageStoreTest, TagsMoveAndUntag) {
  ImageRecord a = add(ImageSpec({kBase}));
  ImageRecord b = add(ImageSpec({kBase, kApp}));
  ASSERT_TRUE(is_->tag(a.id, "app:1").ok());
  ASSERT_TRUE(is_->tag(a.id, "app:stable").ok());
  EXPECT_EQ(is_->resolve("app:1").value().id, a.id);
  // The tag moves; the other tag stays.
  ASSERT_TRUE(is_->tag(b.id, "app:1").ok());
  EXPECT_EQ(is_->resolve("app:1").value().id, b.id);
  EXPECT_EQ(is_->get(a.id).value().tags, std::vector<std::string>{"docker.io/library/app:stable"});
  EXPECT_EQ(is_->get(b.id).value().tags, std::vector<std::string>{"docker.io/library/app:1"});

  ASSERT_TRUE(is_->untag("app:stable").ok());
  EXPECT_TRUE(is_->get(a.id).value().tags.empty());
  EXPECT_EQ(is_->resolve("app:stable").error().code(), ErrorCode::NotFound);
  EXPECT_EQ(is_->untag("app:stable").error().code(), ErrorCode::NotFound);
  // The image itself stays.
  EXPECT_TRUE(is_->get(a.id).ok());

  // Bad names and unknown images change nothing.
  EXPECT_EQ(is_->tag(a.id, "Bad Name").error().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(is_->tag(a.id, "app@" + sha256_digest("x")).error().code(), ErrorCode::InvalidArgument);
  auto missing = is_->tag(sha256_digest("no such image"), "ghost:1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::NotFound) << missing.error().message();
  EXPECT_EQ(is_->resolve("ghost:1").error().code(), ErrorCode::NotFound);
}

TEST_F(ImageStoreTest, DeleteAndGcKeepSharedLayers) {
  TestImage ia, ib;
  ImageRecord a = add(ImageSpec({kBase, kApp}), &ia);
  ImageRecord b = add(ImageSpec({kBase, kOther}), &ib);
  ASSERT_TRUE(is_->tag(a.id, "a").ok());
  ASSERT_EQ(ia.chain_ids[0], ib.chain_ids[0]);  // the shared base
  EXPECT_EQ(layer_list().size(), 3u);
  EXPECT_EQ(blob_set().size(), 7u);  // 3 layers + 2 configs + 2 manifests

  // gc with both images recorded removes nothing.
  auto st = is_->gc();
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->blobs_removed, 0u);
  EXPECT_EQ(st->layers_removed, 0u);

  ASSERT_TRUE(is_->delete_image(a.id).ok());
  EXPECT_EQ(is_->get(a.id).error().code(), ErrorCode::NotFound);
  EXPECT_EQ(is_->resolve("a").error().code(), ErrorCode::NotFound);  // its tags went too
  EXPECT_EQ(is_->delete_image(a.id).error().code(), ErrorCode::NotFound);
  st = is_->gc();
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->blobs_removed, 3u);  // a's manifest, config and app layer
  EXPECT_EQ(st->layers_removed, 1u);
  std::set<std::string> want_blobs = {hex(ib.manifest_digest), hex(ib.config_digest),
                                      hex(ib.layer_digests[0]), hex(ib.layer_digests[1])};
  EXPECT_EQ(blob_set(), want_blobs);
  EXPECT_EQ(layer_list(), (std::vector<std::string>{std::min(ib.chain_ids[0], ib.chain_ids[1]),
                                                    std::max(ib.chain_ids[0], ib.chain_ids[1])}));
  EXPECT_EQ(read_path(is_->layers().diff_path(ib.chain_ids[1]) + "/srv/data"), "other");

  ASSERT_TRUE(is_->delete_image(b.id).ok());
  ASSERT_TRUE(is_->gc().ok());
  EXPECT_TRUE(blob_set().empty());
  EXPECT_TRUE(layer_list().empty());
  EXPECT_TRUE(is_->list().value().empty());

  // The shared layer comes back when an image needs it again.
  ImageRecord again = add(ImageSpec({kBase, kApp}));
  EXPECT_EQ(again.id, a.id);
  EXPECT_EQ(layer_list().size(), 2u);
}

TEST_F(ImageStoreTest, DiffIdMismatchRecordsNothing) {
  TestImage good;
  ImageRecord keep = add(ImageSpec({kOther}), &good);
  auto layers_before = layer_list();

  ImageSpec bad = ImageSpec({kBase, kApp})
                      .with_diff_ids({sha256_digest(kBase), sha256_digest("not the app layer")});
  auto lease = is_->content().lease();
  TestImage img = put_image(is_->content(), lease, bad);
  auto r = is_->add_image(img.manifest_digest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.error().message().find("diff ID"), std::string::npos) << r.error().message();
  EXPECT_EQ(is_->get(img.config_digest).error().code(), ErrorCode::NotFound);
  EXPECT_EQ(is_->list().value().size(), 1u);
  // No layer of the failed image was committed, and nothing is left half
  // unpacked (the base layer unpacked fine but went with its sibling).
  EXPECT_EQ(layer_list(), layers_before);
  EXPECT_TRUE(dir_names(dir_.sub("layers/tmp")).empty());
  { auto dropped = std::move(lease); }
  ASSERT_TRUE(is_->gc().ok());
  EXPECT_EQ(blob_set(), (std::set<std::string>{hex(good.manifest_digest), hex(good.config_digest),
                                               hex(good.layer_digests[0])}));
  EXPECT_TRUE(is_->get(keep.id).ok());
}

TEST_F(ImageStoreTest, BadManifestsAndBlobsRecordNothing) {
  auto lease = is_->content().lease();
  auto& cs = is_->content();
  // A layer whose stored size differs from the manifest's.
  ImageSpec spec({kBase});
  TestImage img = describe_image(spec);
  Json m = Json::parse(img.manifest_bytes);
  m["layers"][0]["size"] = kBase.size() + 1;
  ASSERT_TRUE(cs.put(lease, kBase).ok());
  ASSERT_TRUE(cs.put(lease, img.config_bytes).ok());
  std::string wrong_size = cs.put(lease, canonical_json(m)).value().digest;
  // A layer blob that is missing.
  m["layers"][0]["size"] = kBase.size();
  m["layers"][0]["digest"] = sha256_digest("absent layer");
  std::string missing_layer = cs.put(lease, canonical_json(m)).value().digest;
  // A config whose size differs from the manifest's.
  m = Json::parse(img.manifest_bytes);
  m["config"]["size"] = img.config_bytes.size() - 1;
  std::string wrong_config_size = cs.put(lease, canonical_json(m)).value().digest;
  // An index is not an image manifest.
  std::string index = cs.put(lease, R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciIndex) +
                                        R"(","manifests":[]})").value().digest;
  // Fewer diff IDs than layers.
  ImageSpec short_ids = ImageSpec({kBase, kApp}).with_diff_ids({sha256_digest(kBase)});
  std::string fewer = put_image(cs, lease, short_ids).manifest_digest;

  struct Case {
    std::string name, digest;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {"layer size", wrong_size, ErrorCode::InvalidArgument},
      {"missing layer", missing_layer, ErrorCode::NotFound},
      {"config size", wrong_config_size, ErrorCode::InvalidArgument},
      {"index", index, ErrorCode::InvalidArgument},
      {"fewer diff ids", fewer, ErrorCode::InvalidArgument},
      {"missing manifest", sha256_digest("no manifest"), ErrorCode::NotFound},
      {"bad digest", "sha256:../../berth.db", ErrorCode::InvalidArgument},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = is_->add_image(c.digest);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), c.code) << r.error().message();
  }
  EXPECT_TRUE(is_->list().value().empty());
  EXPECT_TRUE(layer_list().empty());
  EXPECT_TRUE(dir_names(dir_.sub("layers/tmp")).empty());
}

TEST_F(ImageStoreTest, ReopenReconcilesWhatACrashLeft) {
  TestImage kept;
  ImageRecord rec = add(ImageSpec({kBase, kApp}), &kept);
  ASSERT_TRUE(is_->tag(rec.id, "kept:1").ok());
  is_.reset();

  // Files written before a crash that no record names: blobs of an image
  // that was never recorded, its unpacked layer, an ingest in progress and
  // a layer half unpacked.
  TestImage orphan;
  {
    auto cs = ContentStore::open(dir_.sub("content"));
    ASSERT_TRUE(cs.ok());
    auto lease = (*cs)->lease();
    orphan = put_image(**cs, lease, ImageSpec({kOther}));
  }
  std::string orphan_layer = dir_.sub("layers/" + hex(orphan.chain_ids[0]));
  ASSERT_TRUE(mkdir_all(orphan_layer + "/diff/srv").ok());
  ASSERT_TRUE(write_file(orphan_layer + "/diff/srv/data", "other").ok());
  ASSERT_TRUE(write_file(orphan_layer + "/link", "ORPHANLINK").ok());
  ASSERT_EQ(::symlink(("../" + hex(orphan.chain_ids[0]) + "/diff").c_str(),
                      dir_.sub("layers/l/ORPHANLINK").c_str()),
            0);
  ASSERT_TRUE(write_file(dir_.sub("content/ingest/00000000deadbeef"), "half a blob").ok());
  ASSERT_TRUE(mkdir_all(dir_.sub("layers/tmp/CRASHEDUNPACK/diff/usr")).ok());
  ASSERT_TRUE(write_file(dir_.sub("layers/tmp/CRASHEDUNPACK/diff/usr/x"), "x").ok());
  ASSERT_EQ(blob_set().size(), 7u);

  reopen();
  EXPECT_EQ(blob_set(), (std::set<std::string>{hex(kept.manifest_digest), hex(kept.config_digest),
                                               hex(kept.layer_digests[0]), hex(kept.layer_digests[1])}));
  EXPECT_TRUE(dir_names(dir_.sub("content/ingest")).empty());
  EXPECT_TRUE(dir_names(dir_.sub("layers/tmp")).empty());
  EXPECT_FALSE(path_exists(orphan_layer));
  EXPECT_FALSE(path_exists(dir_.sub("layers/l/ORPHANLINK")));
  EXPECT_EQ(dir_names(dir_.sub("layers/l")).size(), 2u);
  EXPECT_EQ(layer_list().size(), 2u);

  // The recorded image survived, with its tag and its layers.
  auto r = is_->resolve("kept:1");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->id, rec.id);
  EXPECT_EQ(r->chain_ids, kept.chain_ids);
  for (const auto& c : kept.chain_ids) EXPECT_TRUE(is_->layers().has(c));
  EXPECT_EQ(read_path(is_->layers().diff_path(kept.chain_ids[1]) + "/app/main"), "v1");

  // The orphan can still be added properly later.
  ImageRecord o = add(ImageSpec({kOther}));
  EXPECT_EQ(o.id, orphan.config_digest);
}

TEST_F(ImageStoreTest, ParallelUnpackOfManyLayers) {
  for (unsigned parallel : {1u, 4u, 0u}) {
    SCOPED_TRACE(parallel);
    std::vector<std::string> layers;
    for (int i = 0; i < 24; i++)
      layers.push_back(layer_tar({{"l" + std::to_string(i), std::string(1000 + i, 'x')},
                                  {"parallel", std::to_string(parallel)}}));
    auto lease = is_->content().lease();
    ImageSpec spec = ImageSpec(layers).with_created("parallel " + std::to_string(parallel));
    TestImage img = put_image(is_->content(), lease, spec);
    AddOptions opts;
    opts.parallel = parallel;
    auto r = is_->add_image(img.manifest_digest, opts);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->chain_ids, img.chain_ids);
    EXPECT_EQ(r->size, img.tar_bytes);
    for (int i = 0; i < 24; i++)
      EXPECT_EQ(read_path(is_->layers().diff_path(img.chain_ids[i]) + "/l" + std::to_string(i)).size(),
                1000u + i);
  }
  EXPECT_EQ(layer_list().size(), 72u);
  EXPECT_TRUE(dir_names(dir_.sub("layers/tmp")).empty());
}

TEST_F(ImageStoreTest, SharedLayersAreNotUnpackedTwice) {
  TestImage a;
  add(ImageSpec({kBase, kApp}), &a);
  // Mark the unpacked base: a second unpack would replace the directory.
  ASSERT_TRUE(write_file(is_->layers().diff_path(a.chain_ids[0]) + "/marker", "first").ok());
  TestImage b;
  ImageRecord rb = add(ImageSpec({kBase, kApp}).with_created("later"), &b);
  EXPECT_EQ(rb.chain_ids, a.chain_ids);
  EXPECT_EQ(rb.size, a.tar_bytes);  // sizes of shared layers come from their records
  EXPECT_EQ(read_path(is_->layers().diff_path(a.chain_ids[0]) + "/marker"), "first");
}

TEST_F(ImageStoreTest, GcDuringAddNeverTakesLayersInFlight) {
  // gc running in a loop beside add_image must neither remove a layer being
  // unpacked nor one committed but not yet recorded.
  std::vector<std::string> layers;
  for (int i = 0; i < 40; i++)
    layers.push_back(layer_tar({{"g" + std::to_string(i), std::string(20000, 'g')}}));
  auto lease = is_->content().lease();
  TestImage img = put_image(is_->content(), lease, ImageSpec(layers).with_created("gc race"));
  std::atomic<bool> done{false};
  std::thread sweeper([&] {
    while (!done.load()) (void)is_->gc();
  });
  auto r = is_->add_image(img.manifest_digest);
  done = true;
  sweeper.join();
  ASSERT_TRUE(r.ok()) << r.error().message();
  for (int i = 0; i < 40; i++)
    EXPECT_EQ(read_path(is_->layers().diff_path(img.chain_ids[i]) + "/g" + std::to_string(i)).size(),
              20000u);
}

}  // namespace
}  // namespace berth::image
