#include "store/database.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace berth::store {
namespace {

namespace fs = std::filesystem;

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "berth-db-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/berth.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  Database open(OpenOptions o = {}) {
    auto db = Database::open(path_, o);
    EXPECT_TRUE(db.ok()) << db.error().message();
    return std::move(db).value();
  }

  static int64_t count(Database& db, const std::string& table) {
    auto q = db.prepare("SELECT count(*) FROM " + table);
    EXPECT_TRUE(q.ok()) << q.error().message();
    auto row = q->step();
    EXPECT_TRUE(row.ok() && *row);
    return q->column_int64(0);
  }

  std::string dir_;
  std::string path_;
};

const std::vector<std::string> kSteps = {
    "CREATE TABLE images (id TEXT PRIMARY KEY, config BLOB, size INTEGER)",
    "CREATE TABLE tags (name TEXT PRIMARY KEY, "
    "image TEXT NOT NULL REFERENCES images(id) ON DELETE RESTRICT); "
    "CREATE INDEX tags_image ON tags(image)",
};

TEST_F(DatabaseTest, OpenSetsPragmas) {
  auto db = open();
  auto q = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->column_text(0), "wal");
  EXPECT_TRUE(fs::exists(path_ + "-wal") || fs::exists(path_));

  auto fk = db.prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(fk.ok());
  ASSERT_TRUE(*fk->step());
  EXPECT_EQ(fk->column_int64(0), 1);

  auto sync = db.prepare("PRAGMA synchronous");
  ASSERT_TRUE(sync.ok());
  ASSERT_TRUE(*sync->step());
  EXPECT_EQ(sync->column_int64(0), 1);  // NORMAL

  auto uv = db.prepare("PRAGMA user_version");
  ASSERT_TRUE(uv.ok());
  ASSERT_TRUE(*uv->step());
  EXPECT_EQ(uv->column_int64(0), 1);
}

TEST_F(DatabaseTest, OpenMissingDirectoryFails) {
  auto db = Database::open(dir_ + "/no/such/dir/berth.db");
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message().find("open database"), std::string::npos);
}

TEST_F(DatabaseTest, InMemory) {
  auto db = Database::open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message();
  ASSERT_TRUE(db->migrate("images", kSteps).ok());
}

TEST_F(DatabaseTest, MigrateIsIdempotentAndVersioned) {
  auto db = open();
  EXPECT_EQ(*db.schema_version("images"), 0);
  auto r = db.migrate("images", {kSteps[0]});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*db.schema_version("images"), 1);
  // Again: nothing re-runs (a second CREATE TABLE would fail).
  ASSERT_TRUE(db.migrate("images", {kSteps[0]}).ok());
  EXPECT_EQ(*db.schema_version("images"), 1);
  // A new step is applied on top.
  r = db.migrate("images", kSteps);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*db.schema_version("images"), 2);
  ASSERT_TRUE(db.migrate("images", kSteps).ok());
  EXPECT_EQ(*db.schema_version("images"), 2);
}

TEST_F(DatabaseTest, ComponentsHaveTheirOwnVersions) {
  auto db = open();
  ASSERT_TRUE(db.migrate("images", kSteps).ok());
  auto r = db.migrate("engine", {"CREATE TABLE containers (id TEXT PRIMARY KEY)"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*db.schema_version("images"), 2);
  EXPECT_EQ(*db.schema_version("engine"), 1);
  EXPECT_EQ(*db.schema_version("volumes"), 0);
}

TEST_F(DatabaseTest, MigrateRefusesNewerSchema) {
  auto db = open();
  ASSERT_TRUE(db.migrate("images", kSteps).ok());
  auto r = db.migrate("images", {kSteps[0]});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::FailedPrecondition);
  EXPECT_NE(r.error().message().find("newer"), std::string::npos) << r.error().message();
}

TEST_F(DatabaseTest, FailedMigrationChangesNothing) {
  auto db = open();
  auto r = db.migrate("images", {kSteps[0], "CREATE TABLE tags (name TEXT); NOT SQL AT ALL"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("migrate images to version 2: sqlite: NOT SQL AT: "), std::string::npos)
      << r.error().message();
  EXPECT_EQ(*db.schema_version("images"), 0);
  // Step 1's table was rolled back with the rest.
  EXPECT_TRUE(db.migrate("images", kSteps).ok());
  EXPECT_EQ(*db.schema_version("images"), 2);
}

TEST_F(DatabaseTest, TransactionCommitAndRollback) {
  auto db = open();
  ASSERT_TRUE(db.migrate("images", kSteps).ok());
  {
    auto tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.error().message();
    ASSERT_TRUE(db.exec("INSERT INTO images (id) VALUES ('a')").ok());
    ASSERT_TRUE(tx->commit().ok());
    EXPECT_FALSE(tx->commit().ok());  // only once
  }
  EXPECT_EQ(count(db, "images"), 1);
  {
    auto tx = db.begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.exec("INSERT INTO images (id) VALUES ('b')").ok());
    EXPECT_EQ(count(db, "images"), 2);
  }  // destroyed uncommitted: rolled back
  EXPECT_EQ(count(db, "images"), 1);
  {
    auto tx = db.begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.exec("INSERT INTO images (id) VALUES ('c')").ok());
    tx->rollback();
  }
  EXPECT_EQ(count(db, "images"), 1);
  // A new transaction can start after all of that.
  auto tx = db.begin();
  ASSERT_TRUE(tx.ok()) << tx.error().message();
}

TEST_F(DatabaseTest, ConstraintErrors) {
  auto db = open();
  ASSERT_TRUE(db.migrate("images", kSteps).ok());
  ASSERT_TRUE(db.exec("INSERT INTO images (id) VALUES ('a')").ok());
  auto r = db.exec("INSERT INTO images (id) VALUES ('a')");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::AlreadyExists);
  EXPECT_EQ(r.error().message(),
            "sqlite: INSERT INTO images: UNIQUE constraint failed: images.id");

  // Foreign keys are on: a tag may not name a missing image...
  r = db.exec("INSERT INTO tags (name, image) VALUES ('t', 'missing')");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::FailedPrecondition) << r.error().message();
  // ...and an image with a tag may not be deleted.
  ASSERT_TRUE(db.exec("INSERT INTO tags (name, image) VALUES ('t', 'a')").ok());
  r = db.exec("DELETE FROM images WHERE id = 'a'");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::FailedPrecondition) << r.error().message();

  auto bad = db.prepare("SELEC nonsense");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::Internal);
  EXPECT_NE(bad.error().message().find("sqlite: SELEC nonsense: "), std::string::npos)
      << bad.error().message();
}

TEST_F(DatabaseTest, PrepareTakesOneStatement) {
  auto db = open();
  EXPECT_TRUE(db.prepare("SELECT 1;  ").ok());
  auto r = db.prepare("SELECT 1; SELECT 2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_FALSE(db.prepare("  ").ok());
}

TEST_F(DatabaseTest, BindsAndColumns) {
  auto db = open();
  ASSERT_TRUE(db.migrate("images", kSteps).ok());
  std::string blob("\0\x01\xff\0z", 5);
  auto ins = db.prepare("INSERT INTO images (id, config, size) VALUES (?1, ?2, ?3)");
  ASSERT_TRUE(ins.ok());
  ins->bind_text(1, "a").bind_blob(2, blob).bind_int64(3, int64_t{1} << 40);
  ASSERT_TRUE(ins->run().ok());
  EXPECT_EQ(db.changes(), 1);
  EXPECT_EQ(db.last_insert_rowid(), 1);
  ins->reset();
  ins->bind_text(1, "b").bind_null(2).bind_null(3);
  ASSERT_TRUE(ins->run().ok());
  ins->reset();
  ins->bind_text(1, "c").bind_blob(2, "").bind_int64(3, -7);
  ASSERT_TRUE(ins->run().ok());

  auto q = db.prepare("SELECT id, config, size FROM images ORDER BY id");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->column_count(), 3);
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->column_text(0), "a");
  EXPECT_EQ(q->column_blob(1), blob);
  EXPECT_EQ(q->column_int64(2), int64_t{1} << 40);
  EXPECT_FALSE(q->is_null(1));
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->column_text(0), "b");
  EXPECT_TRUE(q->is_null(1));
  EXPECT_TRUE(q->is_null(2));
  EXPECT_EQ(q->column_blob(1), "");
  EXPECT_EQ(q->column_int64(2), 0);
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->column_text(0), "c");
  EXPECT_FALSE(q->is_null(1));  // an empty blob is not NULL
  EXPECT_EQ(q->column_blob(1), "");
  EXPECT_EQ(q->column_int64(2), -7);
  EXPECT_FALSE(*q->step());
}

TEST_F(DatabaseTest, PreparedStatementsAreReusedWithoutTheirOldState) {
  auto db = open();
  ASSERT_TRUE(db.migrate("images", kSteps).ok());
  const char* ins = "INSERT INTO images (id, size) VALUES (?1, ?2)";
  for (int i = 0; i < 3; ++i) {
    auto st = db.prepare(ins);
    ASSERT_TRUE(st.ok());
    st->bind_text(1, "id" + std::to_string(i)).bind_int64(2, i);
    ASSERT_TRUE(st->run().ok());
  }
  // A statement given back has no bindings left: ?2 is NULL here.
  {
    auto st = db.prepare(ins);
    ASSERT_TRUE(st.ok());
    st->bind_text(1, "unbound");
    ASSERT_TRUE(st->run().ok());
  }
  const char* sel = "SELECT id, size FROM images ORDER BY id";
  auto outer = db.prepare(sel);
  ASSERT_TRUE(outer.ok());
  std::vector<std::string> seen;
  while (*outer->step()) {
    // The same text inside the outer loop gets a statement of its own.
    auto inner = db.prepare(sel);
    ASSERT_TRUE(inner.ok());
    int n = 0;
    while (*inner->step()) n++;
    EXPECT_EQ(n, 4);
    seen.push_back(outer->column_text(0) + "=" + (outer->is_null(1) ? "null" : std::to_string(outer->column_int64(1))));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"id0=0", "id1=1", "id2=2", "unbound=null"}));
  // A cached statement follows the schema.
  ASSERT_TRUE(db.exec("ALTER TABLE images ADD COLUMN note TEXT").ok());
  auto star = db.prepare("SELECT * FROM images");
  ASSERT_TRUE(star.ok());
  ASSERT_TRUE(*star->step());
  EXPECT_EQ(star->column_count(), 4);
}

TEST_F(DatabaseTest, BindErrorSurfacesAtStep) {
  auto db = open();
  auto q = db.prepare("SELECT ?1");
  ASSERT_TRUE(q.ok());
  q->bind_int64(5, 1);
  auto r = q->step();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("bind"), std::string::npos) << r.error().message();
  q->reset();
  q->bind_int64(1, 42);
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->column_int64(0), 42);
}

TEST_F(DatabaseTest, TextWithEmbeddedNul) {
  auto db = open();
  auto q = db.prepare("SELECT ?1");
  ASSERT_TRUE(q.ok());
  std::string s("a\0b", 3);
  q->bind_text(1, s);
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->column_text(0), s);
}

TEST_F(DatabaseTest, ReopenKeepsData) {
  {
    auto db = open();
    ASSERT_TRUE(db.migrate("images", kSteps).ok());
    auto tx = db.begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.exec("INSERT INTO images (id, size) VALUES ('a', 3)").ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  auto db = open();
  EXPECT_EQ(*db.schema_version("images"), 2);
  ASSERT_TRUE(db.migrate("images", kSteps).ok());
  EXPECT_EQ(count(db, "images"), 1);
}

TEST_F(DatabaseTest, MovedDatabaseStillWorks) {
  auto a = open();
  Database b = std::move(a);
  ASSERT_TRUE(b.migrate("images", kSteps).ok());
  EXPECT_EQ(b.path(), path_);
}

TEST_F(DatabaseTest, SecondWriterWaitsOrTimesOut) {
  auto a = open();
  ASSERT_TRUE(a.migrate("images", kSteps).ok());
  auto b = open({.busy_timeout_ms = 50});

  auto tx = a.begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(a.exec("INSERT INTO images (id) VALUES ('a')").ok());

  // The write lock is held: a writer that will not wait long is told so.
  auto other = b.begin();
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), ErrorCode::Unavailable) << other.error().message();
  // WAL: a reader is not blocked and sees the last committed state.
  EXPECT_EQ(count(b, "images"), 0);

  // A patient writer gets the lock as soon as the first commits.
  auto c = open({.busy_timeout_ms = 10000});
  std::atomic<bool> committed{false};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    committed = true;
    ASSERT_TRUE(tx->commit().ok());
  });
  auto waited = c.begin();
  EXPECT_TRUE(committed.load());
  t.join();
  ASSERT_TRUE(waited.ok()) << waited.error().message();
  EXPECT_EQ(count(c, "images"), 1);
}

TEST_F(DatabaseTest, ConcurrentWritersLoseNothing) {
  {
    auto db = open();
    ASSERT_TRUE(db.migrate("images", kSteps).ok());
  }
  constexpr int kPerThread = 200;
  auto writer = [&](const std::string& prefix, std::atomic<int>* failures) {
    // Each thread its own connection, as the header requires.
    auto db = Database::open(path_, {.busy_timeout_ms = 30000});
    if (!db.ok()) {
      ++*failures;
      return;
    }
    auto ins = db->prepare("INSERT INTO images (id, size) VALUES (?1, ?2)");
    if (!ins.ok()) {
      ++*failures;
      return;
    }
    for (int i = 0; i < kPerThread; ++i) {
      auto tx = db->begin();
      if (!tx.ok()) {
        ++*failures;
        continue;
      }
      ins->reset();
      ins->bind_text(1, prefix + std::to_string(i)).bind_int64(2, i);
      if (!ins->run().ok() || !tx->commit().ok()) ++*failures;
    }
  };
  std::atomic<int> failures{0};
  std::thread t1(writer, "x", &failures);
  std::thread t2(writer, "y", &failures);
  t1.join();
  t2.join();
  EXPECT_EQ(failures.load(), 0);
  auto db = open();
  EXPECT_EQ(count(db, "images"), 2 * kPerThread);
}

TEST_F(DatabaseTest, ConcurrentMigrationsRunOnce) {
  // Two daemons starting at once: both migrate, the steps run once.
  std::atomic<int> failures{0};
  auto run = [&] {
    auto db = Database::open(path_, {.busy_timeout_ms = 30000});
    if (!db.ok()) {
      ADD_FAILURE() << db.error().message();
      ++failures;
      return;
    }
    if (auto r = db->migrate("images", kSteps); !r.ok()) {
      ADD_FAILURE() << r.error().message();
      ++failures;
    }
  };
  std::thread t1(run);
  std::thread t2(run);
  t1.join();
  t2.join();
  EXPECT_EQ(failures.load(), 0);
  auto db = open();
  EXPECT_EQ(*db.schema_version("images"), 2);
}

}  // namespace
}  // namespace berth::store
