#include "image/image_store.h"

#include <fcntl.h>
#include <time.h>

#include <atomic>
#include <set>
#include <thread>

#include "base/digest.h"
#include "base/file.h"
#include "image/reference.h"

namespace berth::image {

namespace {

// Each step is applied once, in order, by Database::migrate; never edit one.
const std::vector<std::string> kSchema = {
    R"(CREATE TABLE images (
         id TEXT PRIMARY KEY,
         manifest_digest TEXT NOT NULL,
         manifest_media_type TEXT NOT NULL,
         created TEXT NOT NULL,
         size INTEGER NOT NULL,
         added INTEGER NOT NULL,
         chain_ids TEXT NOT NULL,   -- JSON array, base first
         blobs TEXT NOT NULL        -- JSON array: manifest, config, layers
       );
       CREATE TABLE image_tags (
         name TEXT PRIMARY KEY,
         image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
       );
       CREATE INDEX image_tags_by_image ON image_tags(image_id);
       CREATE TABLE layers (
         chain_id TEXT PRIMARY KEY,
         diff_id TEXT NOT NULL,
         parent TEXT NOT NULL,
         size INTEGER NOT NULL
       ))",
};

std::vector<std::string> json_strings(const std::string& text) {
  std::vector<std::string> out;
  auto j = Json::parse(text, nullptr, false);
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

Result<std::string> normalized_tag(const std::string& name) {
  auto ref = BERTH_TRY(parse_normalized(name));
  if (!ref.digest.empty() && ref.tag.empty())
    return Error::invalid("refusing to create a tag with a digest reference: {}", name);
  if (ref.tag.empty()) ref.tag = std::string(kDefaultTag);
  ref.digest.clear();
  return ref.string();
}

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::open(const std::string& data_root) {
  BERTH_TRY(mkdir_all(data_root, 0711));
  auto content = BERTH_TRY(ContentStore::open(data_root + "/content"));
  auto layers = BERTH_TRY(LayerStore::open(data_root + "/layers"));
  auto db = BERTH_TRY(store::Database::open(data_root + "/berth.db"));
  BERTH_TRY(db.migrate("images", kSchema));
  std::unique_ptr<ImageStore> s(new ImageStore(std::move(content), std::move(layers), std::move(db)));
  // Reconcile: what a crash left between the files and the records.
  BERTH_TRY_CTX(s->gc(), "reconcile image store {}", data_root);
  return s;
}

Result<std::vector<std::string>> ImageStore::referenced_blobs(const std::string& manifest_digest) {
  std::string bytes = BERTH_TRY(content_->read_blob(manifest_digest, kMaxManifestSize));
  auto m = BERTH_TRY(parse_manifest(bytes));
  std::vector<std::string> out = {manifest_digest, m.config.digest};
  for (const auto& l : m.layers) out.push_back(l.digest);
  return out;
}

Result<ImageRecord> ImageStore::add_image(const std::string& manifest_digest,
                                          const AddOptions& opts) {
  std::shared_lock<std::shared_mutex> gate(gate_);
  std::string mbytes = BERTH_TRY_CTX(content_->read_blob(manifest_digest, kMaxManifestSize),
                                     "manifest {}", manifest_digest);
  auto m = BERTH_TRY_CTX(parse_manifest(mbytes), "manifest {}", manifest_digest);
  if (static_cast<uint64_t>(m.config.size) > kMaxConfigSize)
    return Error::invalid("config {} is {} bytes, more than the {} allowed", m.config.digest,
                          m.config.size, kMaxConfigSize);
  std::string cbytes = BERTH_TRY_CTX(content_->read_blob(m.config.digest, kMaxConfigSize),
                                     "config of manifest {}", manifest_digest);
  if (cbytes.size() != static_cast<size_t>(m.config.size))
    return Error::invalid("config {} is {} bytes, the manifest says {}", m.config.digest,
                          cbytes.size(), m.config.size);
  auto config = BERTH_TRY_CTX(parse_config(cbytes), "config {}", m.config.digest);
  if (config.diff_ids.size() != m.layers.size())
    return Error::invalid("manifest {} has {} layers but its config names {} diff IDs",
                          manifest_digest, m.layers.size(), config.diff_ids.size());
  if (auto existing = get(m.config.digest); existing) return existing;

  std::vector<std::string> chains;
  for (const auto& d : config.diff_ids) chains.push_back(chain_id(chains.empty() ? "" : chains.back(), d));
  for (const auto& l : m.layers) {
    auto size = content_->size(l.digest);
    if (!size) return size.error().context("layer {} of manifest {}", l.digest, manifest_digest);
    if (*size != static_cast<uint64_t>(l.size))
      return Error::invalid("layer {} is {} bytes, the manifest says {}", l.digest, *size, l.size);
  }

  // Unpack the layers this machine lacks, several at once: each goes into
  // its own directory, independent of its parents (overlay form).
  struct Job {
    size_t index;
    std::optional<PendingLayer> pending;
    std::optional<Result<ApplyStats>> result;
  };
  std::vector<Job> jobs;
  std::set<std::string> queued;
  for (size_t i = 0; i < chains.size(); i++)
    if (!layers_->has(chains[i]) && queued.insert(chains[i]).second) jobs.push_back(Job{i, {}, {}});
  for (auto& j : jobs) j.pending.emplace(BERTH_TRY(layers_->begin()));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < jobs.size();) {
      Job& j = jobs[k];
      auto blob = content_->open_blob(m.layers[j.index].digest);
      if (!blob) {
        j.result.emplace(blob.error());
        continue;
      }
      j.result.emplace(j.pending->apply(blob->get(), opts.apply));
    }
  };
  unsigned n = opts.parallel ? opts.parallel : std::max(1u, std::thread::hardware_concurrency());
  n = std::min<unsigned>(n, static_cast<unsigned>(jobs.size()));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; t++) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  std::vector<int64_t> sizes(chains.size(), -1);
  for (auto& j : jobs) {
    if (!*j.result)
      return j.result->error().context("unpack layer {}", m.layers[j.index].digest);
    const ApplyStats& st = j.result->value();
    if (st.diff_id != config.diff_ids[j.index])
      return Error::invalid("layer {} unpacks to diff ID {}, but the config says {}",
                            m.layers[j.index].digest, st.diff_id, config.diff_ids[j.index]);
    sizes[j.index] = static_cast<int64_t>(st.tar_size);
  }
  if (!jobs.empty()) BERTH_TRY(layers_->sync());
  for (auto& j : jobs) BERTH_TRY(j.pending->commit(chains[j.index]));

  std::lock_guard<std::recursive_mutex> g(mu_);
  auto tx = BERTH_TRY(db_.begin());
  int64_t total = 0;
  for (size_t i = 0; i < chains.size(); i++) {
    if (sizes[i] < 0) {
      auto q = BERTH_TRY(db_.prepare("SELECT size FROM layers WHERE chain_id = ?1"));
      q.bind_text(1, chains[i]);
      sizes[i] = BERTH_TRY(q.step()) ? q.column_int64(0) : 0;
    }
    total += sizes[i];
    auto ins = BERTH_TRY(db_.prepare(
        "INSERT OR IGNORE INTO layers (chain_id, diff_id, parent, size) VALUES (?1, ?2, ?3, ?4)"));
    ins.bind_text(1, chains[i]).bind_text(2, config.diff_ids[i])
        .bind_text(3, i ? chains[i - 1] : "").bind_int64(4, sizes[i]);
    BERTH_TRY(ins.run());
  }
  Json blobs = Json::array({manifest_digest, m.config.digest});
  for (const auto& l : m.layers) blobs.push_back(l.digest);
  ImageRecord rec{m.config.digest, manifest_digest, m.media_type, config.created, total,
                  static_cast<int64_t>(::time(nullptr)), chains, {}};
  auto ins = BERTH_TRY(db_.prepare(
      "INSERT INTO images (id, manifest_digest, manifest_media_type, created, size, added, "
      "chain_ids, blobs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  ins.bind_text(1, rec.id).bind_text(2, rec.manifest_digest).bind_text(3, rec.manifest_media_type)
      .bind_text(4, rec.created).bind_int64(5, rec.size).bind_int64(6, rec.added)
      .bind_text(7, Json(chains).dump()).bind_text(8, blobs.dump());
  auto r = ins.run();
  if (!r && r.error().code() == ErrorCode::AlreadyExists) return get(rec.id);
  if (!r) return r.error();
  BERTH_TRY(tx.commit());
  return rec;
}

Result<ImageRecord> ImageStore::load_record(store::Statement& q) {
  ImageRecord r;
  r.id = q.column_text(0);
  r.manifest_digest = q.column_text(1);
  r.manifest_media_type = q.column_text(2);
  r.created = q.column_text(3);
  r.size = q.column_int64(4);
  r.added = q.column_int64(5);
  r.chain_ids = json_strings(q.column_text(6));
  auto t = BERTH_TRY(db_.prepare("SELECT name FROM image_tags WHERE image_id = ?1 ORDER BY name"));
  t.bind_text(1, r.id);
  while (BERTH_TRY(t.step())) r.tags.push_back(t.column_text(0));
  return r;
}

static constexpr const char* kSelectImage =
    "SELECT id, manifest_digest, manifest_media_type, created, size, added, chain_ids FROM images";

Result<ImageRecord> ImageStore::get(const std::string& id) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  auto q = BERTH_TRY(db_.prepare(fmt::format("{} WHERE id = ?1", kSelectImage)));
  q.bind_text(1, id);
  if (!BERTH_TRY(q.step())) return Error::not_found("No such image: {}", id);
  return load_record(q);
}

Result<std::vector<ImageRecord>> ImageStore::list() {
  std::lock_guard<std::recursive_mutex> g(mu_);
  auto q = BERTH_TRY(db_.prepare(fmt::format("{} ORDER BY added DESC, id", kSelectImage)));
  std::vector<ImageRecord> out;
  while (BERTH_TRY(q.step())) out.push_back(BERTH_TRY(load_record(q)));
  return out;
}

Result<std::vector<int64_t>> ImageStore::layer_sizes(const ImageRecord& rec) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  std::vector<int64_t> out;
  for (const auto& c : rec.chain_ids) {
    auto q = BERTH_TRY(db_.prepare("SELECT size FROM layers WHERE chain_id = ?1"));
    q.bind_text(1, c);
    out.push_back(BERTH_TRY(q.step()) ? q.column_int64(0) : 0);
  }
  return out;
}

Result<ImageConfig> ImageStore::config(const ImageRecord& rec) {
  std::string bytes = BERTH_TRY(content_->read_blob(rec.id, kMaxConfigSize));
  return parse_config(bytes);
}

Result<ImageRecord> ImageStore::resolve(const std::string& name_or_id) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  const std::string& s = name_or_id;
  if (looks_like_image_id(s)) return get(s.rfind("sha256:", 0) == 0 ? s : "sha256:" + s);
  if (auto ref = parse_normalized(s); ref) {
    if (!ref->digest.empty()) {
      auto q = BERTH_TRY(db_.prepare(fmt::format("{} WHERE manifest_digest = ?1", kSelectImage)));
      q.bind_text(1, ref->digest);
      if (BERTH_TRY(q.step())) return load_record(q);
    } else {
      auto q = BERTH_TRY(db_.prepare("SELECT image_id FROM image_tags WHERE name = ?1"));
      q.bind_text(1, ref->string());
      if (BERTH_TRY(q.step())) return get(q.column_text(0));
    }
  }
  // A unique prefix of an ID, as Docker's short IDs.
  std::string prefix = s.rfind("sha256:", 0) == 0 ? s.substr(7) : s;
  bool hex = !prefix.empty() && prefix.size() <= 64 &&
             prefix.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (hex) {
    auto q = BERTH_TRY(db_.prepare(
        fmt::format("{} WHERE substr(id, 8, ?2) = ?1 LIMIT 2", kSelectImage)));
    q.bind_text(1, prefix).bind_int64(2, static_cast<int64_t>(prefix.size()));
    if (BERTH_TRY(q.step())) {
      auto rec = BERTH_TRY(load_record(q));
      if (BERTH_TRY(q.step()))
        return Error::make(ErrorCode::Conflict, "image ID prefix {} is ambiguous", prefix);
      return rec;
    }
  }
  return Error::not_found("No such image: {}", s);
}

Result<void> ImageStore::tag(const std::string& image_id, const std::string& name) {
  std::string tag = BERTH_TRY(normalized_tag(name));
  std::lock_guard<std::recursive_mutex> g(mu_);
  auto q = BERTH_TRY(db_.prepare(
      "INSERT INTO image_tags (name, image_id) VALUES (?1, ?2) "
      "ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id"));
  q.bind_text(1, tag).bind_text(2, image_id);
  auto r = q.run();
  if (!r && r.error().code() == ErrorCode::FailedPrecondition)
    return Error::not_found("No such image: {}", image_id);
  return r;
}

Result<void> ImageStore::untag(const std::string& name) {
  std::string tag = BERTH_TRY(normalized_tag(name));
  std::lock_guard<std::recursive_mutex> g(mu_);
  auto q = BERTH_TRY(db_.prepare("DELETE FROM image_tags WHERE name = ?1"));
  q.bind_text(1, tag);
  BERTH_TRY(q.run());
  if (db_.changes() == 0) return Error::not_found("No such image: {}", name);
  return ok();
}

Result<void> ImageStore::delete_image(const std::string& image_id) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  auto q = BERTH_TRY(db_.prepare("DELETE FROM images WHERE id = ?1"));
  q.bind_text(1, image_id);
  BERTH_TRY(q.run());
  if (db_.changes() == 0) return Error::not_found("No such image: {}", image_id);
  return ok();
}

Result<ImageStore::GcStats> ImageStore::gc() {
  std::unique_lock<std::shared_mutex> gate(gate_);
  std::lock_guard<std::recursive_mutex> g(mu_);
  std::set<std::string> blobs;
  std::set<std::string> chains;
  auto q = BERTH_TRY(db_.prepare("SELECT chain_ids, blobs FROM images"));
  while (BERTH_TRY(q.step())) {
    for (auto& c : json_strings(q.column_text(0))) chains.insert(std::move(c));
    for (auto& b : json_strings(q.column_text(1))) blobs.insert(std::move(b));
  }
  GcStats stats;
  // Records first: a layer row without an image goes before its directory.
  auto rows = BERTH_TRY(db_.prepare("SELECT chain_id FROM layers"));
  std::vector<std::string> dead_rows;
  while (BERTH_TRY(rows.step()))
    if (!chains.count(rows.column_text(0))) dead_rows.push_back(rows.column_text(0));
  for (const auto& c : dead_rows) {
    auto del = BERTH_TRY(db_.prepare("DELETE FROM layers WHERE chain_id = ?1"));
    del.bind_text(1, c);
    BERTH_TRY(del.run());
  }
  stats.layers_removed = BERTH_TRY(layers_->reconcile({chains.begin(), chains.end()}));
  auto cs = BERTH_TRY(content_->gc(blobs));
  stats.blobs_removed = cs.blobs_removed;
  stats.bytes_removed = cs.bytes_removed;
  return stats;
}

}  // namespace berth::image
