// ContentStore on a real directory: commits that verify, failures that
// leave nothing behind, racing writers, corruption, leases and gc.
#include "image/content_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "base/digest.h"
#include "base/file.h"
#include "image/store_test_util.h"

namespace berth::image {
namespace {

using namespace store_testing;  // NOLINT(google-build-using-namespace)

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = ContentStore::open(dir_.sub("content"));
    ASSERT_TRUE(r.ok()) << r.error().message();
    cs_ = std::move(*r);
  }
  std::set<std::string> blobs() const { return dir_names(dir_.sub("content/blobs/sha256")); }
  std::set<std::string> ingests() const { return dir_names(dir_.sub("content/ingest")); }

  TempDir dir_;
  std::unique_ptr<ContentStore> cs_;
};

TEST_F(ContentStoreTest, WriterCommitsVerifiedBlob) {
  std::string data = "hello, content store\n";
  std::string digest = sha256_digest(data);
  auto lease = cs_->lease();
  auto w = cs_->writer(lease);
  ASSERT_TRUE(w.ok()) << w.error().message();
  ASSERT_TRUE(w->write(data.substr(0, 5)).ok());
  ASSERT_TRUE(w->write(data.substr(5)).ok());
  EXPECT_EQ(w->size(), data.size());
  EXPECT_EQ(ingests().size(), 1u);
  auto info = w->commit(digest, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->digest, digest);
  EXPECT_EQ(info->size, data.size());
  EXPECT_TRUE(ingests().empty());
  EXPECT_EQ(blobs(), std::set<std::string>{std::string(digest_hex(digest))});

  EXPECT_TRUE(cs_->exists(digest));
  EXPECT_EQ(cs_->size(digest).value_or(0), data.size());
  EXPECT_EQ(read_path(cs_->blob_path(digest)), data);
  auto bytes = cs_->read_blob(digest, 1 << 20);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  EXPECT_EQ(*bytes, data);
  EXPECT_TRUE(cs_->verify(digest).ok());
  auto list = cs_->list();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, std::vector<std::string>{digest});

  // A finished writer refuses more work.
  EXPECT_FALSE(w->write("x").ok());
  EXPECT_FALSE(w->commit().ok());
}

TEST_F(ContentStoreTest, CommitWithoutExpectationsNamesTheContent) {
  auto lease = cs_->lease();
  auto w = cs_->writer(lease);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->write("abc").ok());
  auto info = w->commit();
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->digest, sha256_digest("abc"));
  EXPECT_TRUE(cs_->exists(info->digest));
}

TEST_F(ContentStoreTest, EmptyBlob) {
  auto lease = cs_->lease();
  auto info = cs_->put(lease, "", sha256_digest(""));
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->size, 0u);
  EXPECT_EQ(cs_->read_blob(info->digest, 0).value_or("x"), "");
}

TEST_F(ContentStoreTest, DigestMismatchLeavesNothing) {
  auto lease = cs_->lease();
  auto w = cs_->writer(lease);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->write("actual bytes").ok());
  auto r = w->commit(sha256_digest("other bytes"), 12);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.error().message().find("digest mismatch"), std::string::npos) << r.error().message();
  EXPECT_TRUE(blobs().empty());
  EXPECT_TRUE(ingests().empty());

  // put() goes the same way.
  auto p = cs_->put(lease, "actual bytes", sha256_digest("other bytes"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), ErrorCode::InvalidArgument);
  EXPECT_TRUE(blobs().empty());
  EXPECT_TRUE(ingests().empty());
}

TEST_F(ContentStoreTest, SizeMismatchLeavesNothing) {
  std::string data = "twelve bytes";
  auto lease = cs_->lease();
  for (int64_t want : {int64_t{11}, int64_t{13}, int64_t{0}}) {
    auto w = cs_->writer(lease);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write(data).ok());
    auto r = w->commit(sha256_digest(data), want);
    ASSERT_FALSE(r.ok()) << want;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().message().find("size mismatch"), std::string::npos) << r.error().message();
    EXPECT_TRUE(blobs().empty());
    EXPECT_TRUE(ingests().empty());
  }
}

TEST_F(ContentStoreTest, AbortAndDestructorDropTheIngestFile) {
  auto lease = cs_->lease();
  {
    auto w = cs_->writer(lease);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write("half a blob").ok());
    EXPECT_EQ(ingests().size(), 1u);
  }
  EXPECT_TRUE(ingests().empty());
  auto w = cs_->writer(lease);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->write("half a blob").ok());
  w->abort();
  EXPECT_TRUE(ingests().empty());
  EXPECT_TRUE(blobs().empty());
  EXPECT_FALSE(w->commit().ok());
}

TEST_F(ContentStoreTest, ConcurrentWritersOfTheSameBlobBothSucceed) {
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7 + i / 4096);
  std::string digest = sha256_digest(data);
  constexpr int kWriters = 8;
  std::vector<std::optional<Result<BlobInfo>>> results(kWriters);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int t = 0; t < kWriters; t++)
    threads.emplace_back([&, t] {
      auto lease = cs_->lease();
      auto w = cs_->writer(lease);
      if (!w) {
        results[t].emplace(w.error());
        return;
      }
      // All writers hold an open ingest file before any commits.
      ready++;
      while (ready.load() < kWriters) std::this_thread::yield();
      for (size_t off = 0; off < data.size(); off += 65536) {
        auto r = w->write(std::string_view(data).substr(off, 65536));
        if (!r) {
          results[t].emplace(r.error());
          return;
        }
      }
      results[t].emplace(w->commit(digest, static_cast<int64_t>(data.size())));
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kWriters; t++) {
    ASSERT_TRUE(results[t].has_value());
    ASSERT_TRUE(results[t]->ok()) << results[t]->error().message();
    EXPECT_EQ((*results[t])->digest, digest);
  }
  EXPECT_EQ(blobs(), std::set<std::string>{std::string(digest_hex(digest))});
  EXPECT_TRUE(ingests().empty());
  EXPECT_TRUE(cs_->verify(digest).ok());
}

TEST_F(ContentStoreTest, PutOfAPresentBlobKeepsOneCopy) {
  auto lease = cs_->lease();
  std::string d = sha256_digest("same");
  ASSERT_TRUE(cs_->put(lease, "same", d).ok());
  auto again = cs_->put(lease, "same", d);
  ASSERT_TRUE(again.ok()) << again.error().message();
  auto without = cs_->put(lease, "same");
  ASSERT_TRUE(without.ok()) << without.error().message();
  EXPECT_EQ(without->digest, d);
  EXPECT_EQ(blobs().size(), 1u);
  EXPECT_TRUE(ingests().empty());
}

TEST_F(ContentStoreTest, ReadBlobCapsTheSize) {
  auto lease = cs_->lease();
  std::string data(1000, 'z');
  auto info = cs_->put(lease, data);
  ASSERT_TRUE(info.ok());
  auto too_big = cs_->read_blob(info->digest, 999);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(too_big.error().message().find("more than the 999 allowed"), std::string::npos)
      << too_big.error().message();
  EXPECT_EQ(cs_->read_blob(info->digest, 1000).value_or(""), data);
}

TEST_F(ContentStoreTest, CorruptionIsDetected) {
  auto lease = cs_->lease();
  std::string data = "precious layer bytes";
  auto info = cs_->put(lease, data);
  ASSERT_TRUE(info.ok());
  // Flip one byte in place, as a bad disk or a stray writer would.
  {
    Fd fd(::open(cs_->blob_path(info->digest).c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    char c = 0;
    ASSERT_EQ(::pread(fd.get(), &c, 1, 3), 1);
    c ^= 0x20;
    ASSERT_EQ(::pwrite(fd.get(), &c, 1, 3), 1);
  }
  auto r = cs_->read_blob(info->digest, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.error().message().find("corrupt"), std::string::npos) << r.error().message();
  auto v = cs_->verify(info->digest);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(v.error().message().find("corrupt"), std::string::npos) << v.error().message();
  // A missing blob is NotFound, not corrupt.
  std::string missing = sha256_digest("never stored");
  EXPECT_EQ(cs_->verify(missing).error().code(), ErrorCode::NotFound);
  EXPECT_EQ(cs_->read_blob(missing, 10).error().code(), ErrorCode::NotFound);
  EXPECT_EQ(cs_->size(missing).error().code(), ErrorCode::NotFound);
  EXPECT_EQ(cs_->open_blob(missing).error().code(), ErrorCode::NotFound);
  EXPECT_FALSE(cs_->exists(missing));
}

TEST_F(ContentStoreTest, InvalidDigestsAreRejected) {
  // A stray file the traversal would reach if the digest were used as a path.
  ASSERT_TRUE(write_file(dir_.sub("x"), "outside").ok());
  const std::vector<std::string> bad = {
      "",
      "sha256:",
      "sha256:../../x",
      "sha256:../../../x",
      "sha256:" + std::string(63, 'a'),
      "sha256:" + std::string(65, 'a'),
      "sha256:" + std::string(64, 'A'),
      "sha256:" + std::string(62, 'a') + "/a",
      std::string(64, 'a'),
      "sha256:" + std::string(63, 'a') + "g",
  };
  auto lease = cs_->lease();
  for (const auto& d : bad) {
    SCOPED_TRACE(d);
    EXPECT_FALSE(cs_->exists(d));
    EXPECT_EQ(cs_->size(d).error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(cs_->open_blob(d).error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(cs_->read_blob(d, 1 << 20).error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(cs_->verify(d).error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(cs_->remove(d).error().code(), ErrorCode::InvalidArgument);
    if (!d.empty()) {
      auto p = cs_->put(lease, "outside", d);
      ASSERT_FALSE(p.ok());
      EXPECT_EQ(p.error().code(), ErrorCode::InvalidArgument);
      auto w = cs_->writer(lease);
      ASSERT_TRUE(w.ok());
      ASSERT_TRUE(w->write("outside").ok());
      EXPECT_FALSE(w->commit(d).ok());
    }
  }
  EXPECT_TRUE(blobs().empty());
  EXPECT_TRUE(ingests().empty());
  EXPECT_EQ(read_path(dir_.sub("x")), "outside");
}

TEST_F(ContentStoreTest, OtherAlgorithmsAreNotSupported) {
  std::string d = "sha512:" + std::string(128, 'a');
  auto lease = cs_->lease();
  EXPECT_FALSE(cs_->exists(d));
  EXPECT_EQ(cs_->open_blob(d).error().code(), ErrorCode::NotImplemented);
  EXPECT_EQ(cs_->put(lease, "x", d).error().code(), ErrorCode::NotImplemented);
  EXPECT_TRUE(blobs().empty());
}

TEST_F(ContentStoreTest, RemoveIsIdempotent) {
  auto lease = cs_->lease();
  auto info = cs_->put(lease, "gone soon");
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(cs_->remove(info->digest).ok());
  EXPECT_FALSE(cs_->exists(info->digest));
  EXPECT_TRUE(cs_->remove(info->digest).ok());
}

TEST_F(ContentStoreTest, GcRemovesUnreferencedKeepsReferenced) {
  std::string kept, dropped;
  {
    auto lease = cs_->lease();
    kept = cs_->put(lease, "referenced").value().digest;
    dropped = cs_->put(lease, "unreferenced!").value().digest;
  }
  auto st = cs_->gc({kept});
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->blobs_removed, 1u);
  EXPECT_EQ(st->bytes_removed, std::string("unreferenced!").size());
  EXPECT_TRUE(cs_->exists(kept));
  EXPECT_FALSE(cs_->exists(dropped));
  // Names in blobs/sha256 that are not digests are not the store's to judge.
  ASSERT_TRUE(write_file(dir_.sub("content/blobs/sha256/README"), "x").ok());
  ASSERT_TRUE(cs_->gc({}).ok());
  EXPECT_FALSE(cs_->exists(kept));
  EXPECT_TRUE(path_exists(dir_.sub("content/blobs/sha256/README")));
}

TEST_F(ContentStoreTest, GcKeepsLeasedBlobsUntilTheLeaseGoes) {
  std::string d;
  std::optional<ContentStore::Lease> lease(cs_->lease());
  d = cs_->put(*lease, "in flight").value().digest;
  auto st = cs_->gc({});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->blobs_removed, 0u);
  EXPECT_TRUE(cs_->exists(d));

  // A second lease on the same blob keeps it after the first goes.
  auto second = cs_->lease();
  second.add(d);
  lease.reset();
  ASSERT_TRUE(cs_->gc({}).ok());
  EXPECT_TRUE(cs_->exists(d));
  { auto dropped = std::move(second); }
  st = cs_->gc({});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->blobs_removed, 1u);
  EXPECT_FALSE(cs_->exists(d));
}

TEST_F(ContentStoreTest, MovedLeaseStillHolds) {
  auto a = cs_->lease();
  std::string d = cs_->put(a, "moved").value().digest;
  ContentStore::Lease b(std::move(a));
  { auto gone = std::move(a); }  // the moved-from lease releases nothing
  ASSERT_TRUE(cs_->gc({}).ok());
  EXPECT_TRUE(cs_->exists(d));
}

TEST_F(ContentStoreTest, GcRemovesAbandonedIngestsNotLiveOnes) {
  // What a writer killed mid-blob leaves: an unlocked file in ingest/.
  ASSERT_TRUE(write_file(dir_.sub("content/ingest/0123456789abcdef"), "abandoned").ok());
  auto lease = cs_->lease();
  auto w = cs_->writer(lease);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->write("still being written").ok());
  ASSERT_EQ(ingests().size(), 2u);

  auto st = cs_->gc({});
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->ingests_removed, 1u);
  EXPECT_EQ(ingests().size(), 1u);
  EXPECT_EQ(ingests().count("0123456789abcdef"), 0u);

  // The live writer finishes undisturbed.
  auto info = w->commit(sha256_digest("still being written"));
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_TRUE(ingests().empty());
  EXPECT_TRUE(cs_->verify(info->digest).ok());
}

TEST_F(ContentStoreTest, GcSkipsIngestsLockedByAnotherProcess) {
  // Another daemon process writing into the same store holds its lock.
  std::string path = dir_.sub("content/ingest/fedcba9876543210");
  ASSERT_TRUE(write_file(path, "other process").ok());
  int pipefd[2];
  ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) _exit(1);
    char c = 1;
    if (::write(pipefd[1], &c, 1) != 1) _exit(1);
    ::pause();
    _exit(0);
  }
  auto reap = [&] {
    ::kill(pid, SIGKILL);
    int status;
    ::waitpid(pid, &status, 0);
  };
  char c = 0;
  ::close(pipefd[1]);
  ASSERT_EQ(::read(pipefd[0], &c, 1), 1);
  ::close(pipefd[0]);
  auto st = cs_->gc({});
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.ok() ? st->ingests_removed : 99u, 0u);
  EXPECT_TRUE(path_exists(path));
  reap();
  st = cs_->gc({});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->ingests_removed, 1u);
  EXPECT_FALSE(path_exists(path));
}

TEST_F(ContentStoreTest, ReopenSeesCommittedBlobs) {
  std::string d;
  {
    auto lease = cs_->lease();
    d = cs_->put(lease, "durable").value().digest;
  }
  cs_.reset();
  auto again = ContentStore::open(dir_.sub("content"));
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ((*again)->read_blob(d, 100).value_or(""), "durable");
}

}  // namespace
}  // namespace berth::image
