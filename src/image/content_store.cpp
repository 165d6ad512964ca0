#include "image/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <random>

#include "base/file.h"

namespace berth::image {

namespace {

constexpr size_t kChunk = 1 << 20;

Result<Fd> open_dir(int parent, const char* name, const std::string& shown) {
  if (mkdirat(parent, name, 0700) != 0 && errno != EEXIST)
    return Error::sys(errno, "mkdir {}", shown);
  int fd = openat(parent, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "open {}", shown);
  return Fd(fd);
}

std::string random_name() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

}  // namespace

// --- ContentStore ---------------------------------------------------------

Result<std::unique_ptr<ContentStore>> ContentStore::open(const std::string& root) {
  BERTH_TRY(mkdir_all(root, 0700));
  int rfd = ::open(root.c_str(), O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return Error::sys(errno, "open content store {}", root);
  Fd root_fd(rfd);
  Fd blobs_parent = BERTH_TRY(open_dir(root_fd.get(), "blobs", root + "/blobs"));
  Fd blobs = BERTH_TRY(open_dir(blobs_parent.get(), "sha256", root + "/blobs/sha256"));
  Fd ingest = BERTH_TRY(open_dir(root_fd.get(), "ingest", root + "/ingest"));
  return std::unique_ptr<ContentStore>(
      new ContentStore(root, std::move(root_fd), std::move(blobs), std::move(ingest)));
}

std::string ContentStore::blob_path(std::string_view digest) const {
  return fmt::format("{}/blobs/sha256/{}", root_, digest_hex(digest));
}

Result<ContentWriter> ContentStore::writer(Lease& lease) {
  // Create and lock under the mutex gc holds while it sweeps ingest/, so gc
  // never sees a new file before its lock is taken.
  std::lock_guard<std::mutex> g(mu_);
  for (int attempt = 0;; attempt++) {
    std::string name = random_name();
    int fd = openat(ingest_fd_.get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST && attempt < 8) continue;
      return Error::sys(errno, "create {}/ingest/{}", root_, name);
    }
    // Held for the writer's life: gc skips ingest files it cannot lock.
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      ::close(fd);
      return Error::sys(e, "lock {}/ingest/{}", root_, name);
    }
    return ContentWriter(this, &lease, Fd(fd), std::move(name));
  }
}

Result<BlobInfo> ContentStore::put(Lease& lease, std::string_view data,
                                   std::string_view expected_digest) {
  if (!expected_digest.empty()) {
    BERTH_TRY(check_digest(expected_digest));
    std::lock_guard<std::mutex> g(mu_);
    struct stat st;
    if (fstatat(blobs_fd_.get(), std::string(digest_hex(expected_digest)).c_str(), &st,
                AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == data.size() &&
        sha256_digest(data) == expected_digest) {
      held_[std::string(expected_digest)]++;
      lease.digests_.emplace_back(expected_digest);
      return BlobInfo{std::string(expected_digest), data.size()};
    }
  }
  auto w = BERTH_TRY(writer(lease));
  BERTH_TRY(w.write(data));
  return w.commit(expected_digest, static_cast<int64_t>(data.size()));
}

bool ContentStore::exists(std::string_view digest) const {
  if (!is_valid_digest(digest)) return false;
  struct stat st;
  return fstatat(blobs_fd_.get(), std::string(digest_hex(digest)).c_str(), &st,
                 AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode);
}

Result<uint64_t> ContentStore::size(std::string_view digest) const {
  BERTH_TRY(check_digest(digest));
  struct stat st;
  if (fstatat(blobs_fd_.get(), std::string(digest_hex(digest)).c_str(), &st,
              AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Error::not_found("blob {} not found", digest);
    return Error::sys(errno, "stat {}", blob_path(digest));
  }
  return static_cast<uint64_t>(st.st_size);
}

Result<Fd> ContentStore::open_blob(std::string_view digest) const {
  BERTH_TRY(check_digest(digest));
  int fd = openat(blobs_fd_.get(), std::string(digest_hex(digest)).c_str(),
                  O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Error::not_found("blob {} not found", digest);
    return Error::sys(errno, "open {}", blob_path(digest));
  }
  return Fd(fd);
}

Result<std::string> ContentStore::read_blob(std::string_view digest, uint64_t max_size) const {
  Fd fd = BERTH_TRY(open_blob(digest));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Error::sys(errno, "stat {}", blob_path(digest));
  if (static_cast<uint64_t>(st.st_size) > max_size)
    return Error::invalid("blob {} is {} bytes, more than the {} allowed", digest, st.st_size,
                          max_size);
  std::string data = BERTH_TRY(read_fd(fd.get()));
  if (data.size() > max_size)
    return Error::invalid("blob {} grew past {} bytes", digest, max_size);
  if (std::string got = sha256_digest(data); got != digest)
    return Error::invalid("blob {} is corrupt: its content hashes to {}", digest, got);
  return data;
}

Result<void> ContentStore::verify(std::string_view digest) const {
  Fd fd = BERTH_TRY(open_blob(digest));
  Sha256 h;
  std::string buf(kChunk, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "read {}", blob_path(digest));
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  if (std::string got = h.digest(); got != digest)
    return Error::invalid("blob {} is corrupt: its content hashes to {}", digest, got);
  return ok();
}

Result<void> ContentStore::remove(std::string_view digest) {
  BERTH_TRY(check_digest(digest));
  std::lock_guard<std::mutex> g(mu_);
  if (unlinkat(blobs_fd_.get(), std::string(digest_hex(digest)).c_str(), 0) != 0 &&
      errno != ENOENT)
    return Error::sys(errno, "remove {}", blob_path(digest));
  return ok();
}

Result<std::vector<std::string>> ContentStore::list() const {
  std::vector<std::string> out;
  int fd = openat(blobs_fd_.get(), ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "open {}/blobs/sha256", root_);
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return Error::sys(errno, "read {}/blobs/sha256", root_);
  }
  while (dirent* e = readdir(d)) {
    std::string digest = std::string("sha256:") + e->d_name;
    if (is_valid_digest(digest)) out.push_back(std::move(digest));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Result<ContentStore::GcStats> ContentStore::gc(const std::set<std::string>& referenced) {
  GcStats stats;
  // Abandoned ingest files: nobody holds their lock.
  {
    std::lock_guard<std::mutex> g(mu_);
    int fd = openat(ingest_fd_.get(), ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error::sys(errno, "open {}/ingest", root_);
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      return Error::sys(errno, "read {}/ingest", root_);
    }
    std::vector<std::string> names;
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    closedir(d);
    for (const auto& name : names) {
      int f = openat(ingest_fd_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (f < 0) continue;
      Fd ingest(f);
      if (flock(f, LOCK_EX | LOCK_NB) != 0) continue;  // a live writer
      if (unlinkat(ingest_fd_.get(), name.c_str(), 0) == 0) stats.ingests_removed++;
    }
  }
  auto all = BERTH_TRY(list());
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& digest : all) {
    if (referenced.count(digest) != 0 || held_.count(digest) != 0) continue;
    std::string hex(digest_hex(digest));
    struct stat st;
    if (fstatat(blobs_fd_.get(), hex.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (unlinkat(blobs_fd_.get(), hex.c_str(), 0) != 0)
      return Error::sys(errno, "remove {}", blob_path(digest));
    stats.blobs_removed++;
    stats.bytes_removed += static_cast<uint64_t>(st.st_size);
  }
  return stats;
}

void ContentStore::hold(const std::string& digest) { held_[digest]++; }

void ContentStore::release(const std::string& digest) {
  auto it = held_.find(digest);
  if (it != held_.end() && --it->second == 0) held_.erase(it);
}

// --- Lease ----------------------------------------------------------------

ContentStore::Lease::~Lease() {
  if (store_ == nullptr) return;
  std::lock_guard<std::mutex> g(store_->mu_);
  for (const auto& d : digests_) store_->release(d);
}

void ContentStore::Lease::add(const std::string& digest) {
  std::lock_guard<std::mutex> g(store_->mu_);
  store_->hold(digest);
  digests_.push_back(digest);
}

// --- ContentWriter --------------------------------------------------------

ContentWriter::~ContentWriter() { abort(); }

void ContentWriter::abort() {
  if (!fd_.valid()) return;
  unlinkat(store_->ingest_fd_.get(), name_.c_str(), 0);
  fd_.reset();
}

Result<void> ContentWriter::write(std::string_view data) {
  if (!fd_.valid()) return Error::internal("write to a finished content writer");
  hasher_.update(data);
  BERTH_TRY_CTX(write_all(fd_.get(), data), "write {}/ingest/{}", store_->root_, name_);
  return ok();
}

Result<BlobInfo> ContentWriter::commit(std::string_view expected_digest, int64_t expected_size,
                                       bool sync) {
  if (!fd_.valid()) return Error::internal("commit of a finished content writer");
  uint64_t size = hasher_.size();
  std::string digest = hasher_.digest();
  auto fail = [&](Error e) {
    abort();
    return e;
  };
  if (expected_size >= 0 && size != static_cast<uint64_t>(expected_size))
    return fail(Error::invalid("size mismatch: expected {} bytes, got {}", expected_size, size));
  if (!expected_digest.empty() && digest != expected_digest)
    return fail(Error::invalid("digest mismatch: expected {}, got {}", expected_digest, digest));
  if (sync && fsync(fd_.get()) != 0)
    return fail(Error::sys(errno, "fsync {}/ingest/{}", store_->root_, name_));
  std::string hex(digest_hex(digest));
  {
    std::lock_guard<std::mutex> g(store_->mu_);
    if (renameat2(store_->ingest_fd_.get(), name_.c_str(), store_->blobs_fd_.get(), hex.c_str(),
                  RENAME_NOREPLACE) != 0) {
      if (errno != EEXIST)
        return fail(Error::sys(errno, "rename ingest into {}", store_->blob_path(digest)));
      // Someone committed the same content first: keep theirs, drop ours.
      unlinkat(store_->ingest_fd_.get(), name_.c_str(), 0);
    }
    store_->hold(digest);
    lease_->digests_.push_back(digest);
  }
  fd_.reset();
  if (sync && fsync(store_->blobs_fd_.get()) != 0)
    return Error::sys(errno, "fsync {}/blobs/sha256", store_->root_);
  return BlobInfo{std::move(digest), size};
}

}  // namespace berth::image
