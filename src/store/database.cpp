#include "store/database.h"

#include <unistd.h>

#include <sqlite3.h>

#include <cctype>
#include <utility>

namespace berth::store {

namespace {

// Version of the store's own bookkeeping (the schema_versions table), kept
// in PRAGMA user_version so a later layout can be recognised and migrated.
constexpr int kMetaVersion = 1;

// The first few words of a statement, enough to say which one failed
// without pasting a whole CREATE TABLE into an error message.
std::string sql_head(std::string_view sql) {
  std::string out;
  int words = 0;
  size_t i = 0;
  while (i < sql.size() && words < 3) {
    while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
    if (i == sql.size() || sql[i] == '(' || sql[i] == ';') break;
    if (!out.empty()) out += ' ';
    while (i < sql.size() && !std::isspace(static_cast<unsigned char>(sql[i])) &&
           sql[i] != '(' && sql[i] != ';' && out.size() < 64) {
      out += sql[i++];
    }
    ++words;
  }
  return out;
}

ErrorCode code_for_sqlite(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return ErrorCode::AlreadyExists;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    // ON DELETE RESTRICT (and a trigger's RAISE) report as a trigger
    // constraint: the row is still needed, the same kind of refusal.
    case SQLITE_CONSTRAINT_TRIGGER:
      return ErrorCode::FailedPrecondition;
    default:
      break;
  }
  switch (rc & 0xff) {  // the primary code under an extended one
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::Unavailable;
    default:
      return ErrorCode::Internal;
  }
}

// sqlite3_errmsg describes the connection's most recent failure; callers
// make this the next call after the failing one so it still matches `rc`.
Error sqlite_error(sqlite3* db, int rc, std::string_view sql) {
  const char* msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error(code_for_sqlite(rc), fmt::format("sqlite: {}: {}", sql_head(sql), msg));
}

}  // namespace

// ---- Database ----

Result<Database> Database::open(const std::string& path, OpenOptions options) {
  sqlite3* raw = nullptr;
  // NOMUTEX: one connection per thread (see the header), so SQLite's own
  // per-connection mutex would only cost time.
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return Error(code_for_sqlite(rc), fmt::format("open database {}: {}", path, msg));
  }
  Database db(raw, path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);

  // journal_mode answers with the mode now in force; anything but "wal"
  // (a file system without shared memory, say) would silently lose the
  // readers-beside-writer and crash-safety properties we rely on.
  std::string mode;
  int64_t meta = 0;
  {
    // Scoped so both statements are finalised before anything writes.
    // Switching a new file to WAL needs an exclusive lock, and SQLite
    // answers BUSY at once (no busy handler) when another connection is
    // doing the same: two daemons or tools opening a fresh store. Retry
    // within the busy timeout.
    for (int waited_ms = 0;; waited_ms += 5) {
      auto q = BERTH_TRY_CTX(db.prepare("PRAGMA journal_mode=WAL"), "open database {}", path);
      auto step = q.step();
      if (step.ok()) {
        if (*step) mode = q.column_text(0);
        break;
      }
      if (step.error().code() != ErrorCode::Unavailable || waited_ms >= options.busy_timeout_ms)
        return step.error().context("open database {}", path);
      usleep(5000);
    }
    auto uv = BERTH_TRY_CTX(db.prepare("PRAGMA user_version"), "open database {}", path);
    if (BERTH_TRY_CTX(uv.step(), "open database {}", path)) meta = uv.column_int64(0);
  }
  if (mode != "wal" && path != ":memory:") {
    return Error::internal("open database {}: journal mode is '{}', not wal", path, mode);
  }
  BERTH_TRY_CTX(db.exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON"),
                "open database {}", path);

  // The bookkeeping table. user_version was read before taking the write
  // lock so that the common case (already set up) never waits on a writer.
  if (meta > kMetaVersion) {
    return Error(ErrorCode::FailedPrecondition,
                 fmt::format("open database {}: store layout version {} is newer than this "
                             "berth knows ({})",
                             path, meta, kMetaVersion));
  }
  if (meta < kMetaVersion) {
    auto tx = BERTH_TRY_CTX(db.begin(), "open database {}", path);
    BERTH_TRY_CTX(db.exec("CREATE TABLE IF NOT EXISTS schema_versions ("
                          "component TEXT PRIMARY KEY, version INTEGER NOT NULL)"),
                  "open database {}", path);
    BERTH_TRY_CTX(db.exec(fmt::format("PRAGMA user_version={}", kMetaVersion)),
                  "open database {}", path);
    BERTH_TRY_CTX(tx.commit(), "open database {}", path);
  }
  return db;
}

Database::Database(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)), idle_(std::make_unique<StatementCache>()) {}

Database::Database(Database&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)), idle_(std::move(o.idle_)) {}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    close();
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
    idle_ = std::move(o.idle_);
  }
  return *this;
}

Database::~Database() { close(); }

void Database::close() {
  if (idle_) {
    for (auto& [sql, stmt] : *idle_) sqlite3_finalize(stmt);
    idle_->clear();
  }
  sqlite3_close_v2(db_);
}

Result<void> Database::exec(std::string_view sql) {
  // Statement by statement rather than sqlite3_exec, so that an error names
  // the statement that failed rather than the first of the batch.
  const char* p = sql.data();
  const char* end = sql.data() + sql.size();
  while (p < end) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_, p, static_cast<int>(end - p), &raw, &tail);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, std::string_view(p, end - p));
    if (!raw) break;  // only whitespace or comments left
    Statement st(db_, raw);
    BERTH_TRY(st.run());
    p = tail;
  }
  return ok();
}

Result<Statement> Database::prepare(std::string_view sql) {
  if (auto it = idle_->find(sql); it != idle_->end()) {
    // Taken out while in use: the same text prepared again meanwhile (a
    // query inside another's loop) gets a statement of its own.
    sqlite3_stmt* cached = it->second;
    idle_->erase(it);
    return Statement(db_, cached, idle_.get());
  }
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw,
                              &tail);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, sql);
  if (!raw) return Error::invalid("sqlite: empty statement");
  Statement st(db_, raw, idle_.get());
  for (; tail < sql.data() + sql.size(); ++tail) {
    if (!std::isspace(static_cast<unsigned char>(*tail)) && *tail != ';') {
      // Silently ignoring the rest would drop statements the caller meant to run.
      return Error::invalid("sqlite: {}: prepare takes one statement; use exec for several",
                            sql_head(sql));
    }
  }
  return st;
}

Result<Transaction> Database::begin() {
  BERTH_TRY(exec("BEGIN IMMEDIATE"));
  return Transaction(this);
}

Result<int64_t> Database::schema_version(std::string_view component) {
  auto q = BERTH_TRY(prepare("SELECT version FROM schema_versions WHERE component = ?1"));
  q.bind_text(1, component);
  if (!BERTH_TRY(q.step())) return int64_t{0};
  return q.column_int64(0);
}

Result<void> Database::migrate(std::string_view component,
                               const std::vector<std::string>& steps) {
  auto want = static_cast<int64_t>(steps.size());
  // Up to date needs no write lock; the usual case at every start.
  if (BERTH_TRY_CTX(schema_version(component), "migrate {}", component) == want) return ok();
  // Read again under the write lock: another process may have migrated
  // between our check and our BEGIN.
  auto tx = BERTH_TRY_CTX(begin(), "migrate {}", component);
  int64_t current = BERTH_TRY_CTX(schema_version(component), "migrate {}", component);
  if (current > want) {
    return Error(ErrorCode::FailedPrecondition,
                 fmt::format("migrate {}: database schema is version {}, newer than this "
                             "berth knows ({})",
                             component, current, want));
  }
  if (current == want) return ok();  // the transaction rolls back: nothing written
  for (int64_t v = current; v < want; ++v) {
    BERTH_TRY_CTX(exec(steps[static_cast<size_t>(v)]), "migrate {} to version {}", component,
                  v + 1);
  }
  auto up = BERTH_TRY(prepare(
      "INSERT INTO schema_versions (component, version) VALUES (?1, ?2) "
      "ON CONFLICT (component) DO UPDATE SET version = excluded.version"));
  up.bind_text(1, component).bind_int64(2, want);
  BERTH_TRY_CTX(up.run(), "migrate {}", component);
  return tx.commit();
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int64_t Database::changes() const { return sqlite3_changes64(db_); }

// ---- Statement ----

Statement::Statement(Statement&& o) noexcept
    : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)), cache_(o.cache_), bind_error_(o.bind_error_) {}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    release();
    db_ = o.db_;
    stmt_ = std::exchange(o.stmt_, nullptr);
    cache_ = o.cache_;
    bind_error_ = o.bind_error_;
  }
  return *this;
}

Statement::~Statement() { release(); }

void Statement::release() {
  if (!stmt_) return;
  if (cache_) {
    // Back to the cache, reset and unbound, unless another of the same text
    // got there first.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    // Bounded, should text with values in it ever come through here.
    constexpr size_t kMaxCached = 128;
    if (cache_->size() < kMaxCached && cache_->try_emplace(sqlite3_sql(stmt_), stmt_).second) {
      stmt_ = nullptr;
      return;
    }
  }
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
}

Statement& Statement::check_bind(int rc) {
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_int64(int index, int64_t value) {
  return check_bind(sqlite3_bind_int64(stmt_, index, value));
}

// SQLITE_TRANSIENT: SQLite copies the bytes, so the caller's buffer may go
// away before step().
Statement& Statement::bind_text(int index, std::string_view value) {
  return check_bind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                                        SQLITE_TRANSIENT, SQLITE_UTF8));
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  // A null pointer would bind NULL, not an empty blob.
  static const char empty = 0;
  return check_bind(sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &empty : bytes.data(),
                                        bytes.size(), SQLITE_TRANSIENT));
}

Statement& Statement::bind_null(int index) { return check_bind(sqlite3_bind_null(stmt_, index)); }

Result<bool> Statement::step() {
  if (bind_error_ != 0) {
    return Error::internal("sqlite: {}: bind: {}", sql_head(sqlite3_sql(stmt_)),
                           sqlite3_errstr(bind_error_));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error err = sqlite_error(db_, rc, sqlite3_sql(stmt_));
  // Leave the statement reusable, and release any read snapshot it held.
  sqlite3_reset(stmt_);
  return err;
}

Result<void> Statement::run() {
  while (BERTH_TRY(step())) {
  }
  sqlite3_reset(stmt_);
  return ok();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = 0;
}

int Statement::column_count() const { return sqlite3_column_count(stmt_); }

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::column_text(int column) const {
  // Text pointer first, then the byte count: the documented safe order.
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!p) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::string Statement::column_blob(int column) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  if (!p) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

// ---- Transaction ----

Transaction::Transaction(Transaction&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}

Transaction::~Transaction() { rollback(); }

Result<void> Transaction::commit() {
  if (!db_) return Error::internal("sqlite: commit: transaction already finished");
  auto r = db_->exec("COMMIT");
  // A failed COMMIT (BUSY) leaves the transaction open; the destructor's
  // rollback then ends it.
  if (r.ok()) db_ = nullptr;
  return r;
}

void Transaction::rollback() {
  if (!db_) return;
  // Can only fail if SQLite already rolled back on its own (after an I/O
  // error, say); either way the transaction is over.
  (void)db_->exec("ROLLBACK");
  db_ = nullptr;
}

}  // namespace berth::store
