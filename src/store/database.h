// Database: Berth's one SQLite file (berth.db), shared by the image store and
// the engine, each owning its own tables.
//
// Usage:
//   auto db = BERTH_TRY(store::Database::open(root + "/berth.db"));
//   BERTH_TRY(db.migrate("images", {
//       "CREATE TABLE images (id TEXT PRIMARY KEY, config BLOB NOT NULL)",
//       "ALTER TABLE images ADD COLUMN created TEXT",   // step 2, never edit step 1
//   }));
//
//   auto tx = BERTH_TRY(db.begin());                   // BEGIN IMMEDIATE
//   auto ins = BERTH_TRY(db.prepare("INSERT INTO images (id, config) VALUES (?1, ?2)"));
//   ins.bind_text(1, id).bind_blob(2, config_json);
//   BERTH_TRY(ins.run());                              // AlreadyExists on a duplicate id
//   BERTH_TRY(tx.commit());                            // otherwise rolled back
//
//   auto q = BERTH_TRY(db.prepare("SELECT id, created FROM images"));
//   while (BERTH_TRY(q.step())) {                      // true: a row is ready
//     std::string id = q.column_text(0);
//     if (q.is_null(1)) ...
//   }
//
// Durability: the file is in WAL mode with synchronous=NORMAL. A committed
// transaction survives a process crash (kill -9); a power cut may lose the
// last few commits but never corrupts the file. Foreign keys are enforced.
//
// Threads: a Database (and its Statements and Transactions) belongs to one
// thread at a time; it is opened with SQLITE_OPEN_NOMUTEX and has no locks of
// its own. Open one Database per thread instead: connections are cheap, WAL
// lets readers run beside the single writer, and writers queue on the file
// lock for up to `busy_timeout_ms` before failing with Unavailable. Sharing
// one connection behind a mutex would serialise readers too, and a
// transaction would have to hold that mutex across unrelated statements.
//
// Errors: every SQLite failure becomes an Error whose message names the
// statement's first words and SQLite's own text, e.g.
//   "sqlite: INSERT INTO images: UNIQUE constraint failed: images.id".
// UNIQUE/PRIMARY KEY violations are AlreadyExists; FOREIGN KEY violations
// (ON DELETE RESTRICT included) FailedPrecondition; a lock still held when
// the busy timeout ends (BUSY/LOCKED) Unavailable; anything else Internal.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace berth::store {

class Statement;
class Transaction;

// Statements prepared before and not in use, by their SQL text: prepare()
// takes one from here, and a Statement gives it back when it goes.
using StatementCache = std::map<std::string, sqlite3_stmt*, std::less<>>;

struct OpenOptions {
  // How long a writer waits for another connection's write lock.
  int busy_timeout_ms = 5000;
};

class Database {
 public:
  // Opens (creating if missing) the database file and applies the pragmas
  // above. ":memory:" gives a private in-memory database (no WAL there).
  static Result<Database> open(const std::string& path, OpenOptions options = {});

  Database(Database&& o) noexcept;
  Database& operator=(Database&& o) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more ';'-separated statements that take no parameters.
  Result<void> exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // BEGIN IMMEDIATE: takes the write lock now, so a transaction never fails
  // half-way when a read would have had to turn into a write.
  Result<Transaction> begin();

  // Brings `component`'s tables up to date: steps[i] (one or more statements)
  // takes the schema from version i to i+1. Steps are append-only; the
  // pending ones run in one transaction with the version bump, so a crash
  // leaves the old schema or the new one. Idempotent. A database whose
  // version is newer than steps.size() fails with FailedPrecondition (an
  // older berth must not write into a newer schema).
  Result<void> migrate(std::string_view component, const std::vector<std::string>& steps);
  // The schema version migrate() last recorded for `component`; 0 if never.
  Result<int64_t> schema_version(std::string_view component);

  // Of the last INSERT on this connection.
  int64_t last_insert_rowid() const;
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes() const;
  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path);
  void close();

  sqlite3* db_ = nullptr;
  std::string path_;
  // Preparing is most of a short query's time (SQLite parses and plans
  // the text each time); a daemon runs the same few dozen again and again.
  std::unique_ptr<StatementCache> idle_;
};

// A prepared statement. Binds chain and never fail on their own: the first
// bind error is kept and returned by the next step()/run(). Indices are
// SQLite's: binds from 1, columns from 0.
class Statement {
 public:
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind_int64(int index, int64_t value);
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // Advances: true when a row is ready to read, false when done.
  Result<bool> step();
  // Steps to completion, discarding rows (INSERT/UPDATE/DELETE/DDL).
  Result<void> run();
  // Back to the start with no bindings, ready to bind and run again.
  void reset();

  int column_count() const;
  bool is_null(int column) const;
  int64_t column_int64(int column) const;  // 0 for NULL
  std::string column_text(int column) const;  // "" for NULL
  std::string column_blob(int column) const;  // raw bytes; "" for NULL

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt, StatementCache* cache = nullptr)
      : db_(db), stmt_(stmt), cache_(cache) {}
  Statement& check_bind(int rc);
  void release();

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  StatementCache* cache_ = nullptr;  // where it goes back to; null: finalized
  int bind_error_ = 0;  // first failed bind's result code
};

// Rolls back on destruction unless commit() succeeded.
class Transaction {
 public:
  Transaction(Transaction&& o) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Result<void> commit();
  // Explicit rollback; the destructor does the same.
  void rollback();

 private:
  friend class Database;
  explicit Transaction(Database* db) : db_(db) {}

  Database* db_;  // null once committed or rolled back
};

}  // namespace berth::store
