// ContentStore: every blob (layer, config, manifest, index) by its digest
// under <root>/blobs/sha256/<hex>.
//
// Usage:
//   auto cs = BERTH_TRY(ContentStore::open("/var/lib/berth/content"));
//   auto lease = cs->lease();                    // protects what we add from gc
//   auto w = BERTH_TRY(cs->writer(lease));
//   BERTH_TRY(w.write(chunk)); ...
//   auto info = BERTH_TRY(w.commit(expected_digest, expected_size));  // "" / -1: any
//   ... record the image in the database, then drop the lease.
//   auto bytes = BERTH_TRY(cs->read_blob(digest, 4 << 20));  // verified, size-capped
//
// Crash safety: a writer fills <root>/ingest/<random>, verifies size and
// digest, fsyncs and only then renames into blobs/ (RENAME_NOREPLACE), so a
// real digest never names half a blob. Two writers of the same blob both
// succeed and one copy remains. The ingest file is flock'ed while it is being
// written, so gc (this or another process) removes only abandoned ingests.
// gc removes blobs that are neither in the caller's referenced set nor held
// by a live lease or writer of this store object.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "base/digest.h"
#include "base/fd.h"
#include "base/result.h"

namespace berth::image {

struct BlobInfo {
  std::string digest;
  uint64_t size = 0;
};

class ContentWriter;

class ContentStore {
 public:
  // A set of digests gc must keep while the lease lives (an operation that
  // has written blobs but not yet recorded what names them).
  class Lease {
   public:
    Lease(Lease&& o) noexcept : store_(std::exchange(o.store_, nullptr)), digests_(std::move(o.digests_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    void add(const std::string& digest);

   private:
    friend class ContentStore;
    friend class ContentWriter;
    explicit Lease(ContentStore* s) : store_(s) {}
    ContentStore* store_;
    std::vector<std::string> digests_;
  };

  static Result<std::unique_ptr<ContentStore>> open(const std::string& root);

  // Blobs the writer commits join `lease`, which must outlive the writer.
  Result<ContentWriter> writer(Lease& lease);
  // Write a whole small blob (manifests, configs).
  Result<BlobInfo> put(Lease& lease, std::string_view data, std::string_view expected_digest = {});
  Lease lease() { return Lease(this); }

  bool exists(std::string_view digest) const;
  Result<uint64_t> size(std::string_view digest) const;
  Result<Fd> open_blob(std::string_view digest) const;
  // Read a blob of at most max_size bytes and check its digest.
  Result<std::string> read_blob(std::string_view digest, uint64_t max_size) const;
  // Re-hash a blob on disk: NotFound, or InvalidArgument naming the mismatch.
  Result<void> verify(std::string_view digest) const;
  Result<void> remove(std::string_view digest);
  std::string blob_path(std::string_view digest) const;
  const std::string& root() const { return root_; }
  int root_fd() const { return root_fd_.get(); }

  struct GcStats {
    uint64_t blobs_removed = 0, bytes_removed = 0, ingests_removed = 0;
  };
  Result<GcStats> gc(const std::set<std::string>& referenced);
  // Every digest in blobs/sha256.
  Result<std::vector<std::string>> list() const;

 private:
  friend class ContentWriter;
  friend class Lease;
  ContentStore(std::string root, Fd root_fd, Fd blobs_fd, Fd ingest_fd)
      : root_(std::move(root)), root_fd_(std::move(root_fd)), blobs_fd_(std::move(blobs_fd)),
        ingest_fd_(std::move(ingest_fd)) {}
  void hold(const std::string& digest);
  void release(const std::string& digest);
  bool held(const std::string& digest);

  std::string root_;
  Fd root_fd_, blobs_fd_, ingest_fd_;
  std::mutex mu_;  // guards held_ and serialises gc against commits
  std::unordered_map<std::string, int> held_;
};

class ContentWriter {
 public:
  ContentWriter(ContentWriter&&) noexcept = default;
  ContentWriter& operator=(ContentWriter&&) noexcept = default;
  ~ContentWriter();

  Result<void> write(std::string_view data);
  Result<void> write(const void* data, size_t len) {
    return write(std::string_view(static_cast<const char*>(data), len));
  }
  uint64_t size() const { return hasher_.size(); }
  // Verify (when expected_digest is non-empty / expected_size >= 0), fsync,
  // and move into place. With `sync` false the caller promises one syncfs
  // before it records anything that names the blob.
  Result<BlobInfo> commit(std::string_view expected_digest = {}, int64_t expected_size = -1,
                          bool sync = true);
  // Drop the ingest file (also what the destructor does without commit).
  void abort();

 private:
  friend class ContentStore;
  ContentWriter(ContentStore* store, ContentStore::Lease* lease, Fd fd, std::string name)
      : store_(store), lease_(lease), fd_(std::move(fd)), name_(std::move(name)) {}
  ContentStore* store_;
  ContentStore::Lease* lease_;
  Fd fd_;
  std::string name_;  // file name under ingest/
  Sha256 hasher_;
};

}  // namespace berth::image
