// ContainerStore: the daemon's container records in berth.db — identity
// (ID, name), what was asked (the create request), and the last state the
// daemon knew. For a running container the shim's record of its exit is the
// truth; these rows are what reconciliation at start compares it with.
//
// Usage:
//   store::Database db = ...;  ContainerStore cs(db);  BERTH_TRY(cs.migrate());
//   auto rec = BERTH_TRY(cs.create({.name = "web", .image_id = id, .config = body}));
//   auto c = BERTH_TRY(cs.resolve("web"));          // name, full ID or unique prefix
//   BERTH_TRY(cs.set_state(c.id, state));
//   BERTH_TRY(cs.rename(c.id, "api"));              // Conflict if taken
//   BERTH_TRY(cs.remove(c.id));
//
// The store keeps every record in memory, loaded once from the table:
// berthd is the only writer, so reads (ps, inspect, every name lookup)
// never parse the stored JSON again. A record's create request is shared,
// never copied: it does not change after create.
//
// Names follow Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+, unique, a leading "/" is
// accepted and dropped; a create without a name gets a generated
// adjective_noun one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "store/database.h"

namespace berth::engine {

struct ContainerState {
  std::string status = "created";  // created running paused restarting exited dead removing
  int64_t pid = 0;
  int64_t exit_code = 0;
  bool oom_killed = false;
  std::string started_at = "0001-01-01T00:00:00Z";
  std::string finished_at = "0001-01-01T00:00:00Z";
  int64_t restart_count = 0;
  // Stopped by a user (stop, kill, or a restart-policy loop ended by one):
  // unless-stopped and a daemon restart leave it stopped.
  bool manually_stopped = false;
  // Why the last start failed ("" after a successful one): inspect's State.Error.
  std::string error;
};

struct ContainerRecord {
  std::string id;    // 64 hex digits
  std::string name;  // without the leading "/"
  std::string image_id;
  std::string image_name;  // as the user asked for it
  std::string created;     // RFC 3339
  // The create request body (Config + HostConfig); shared by the copies.
  std::shared_ptr<const Json> config = std::make_shared<const Json>(Json::object());
  // command_args(*config) joined by spaces (the list's "Command"), kept
  // beside it: listing hundreds would otherwise walk every request again.
  std::string command;
  ContainerState state;
};

// A record as the store hands it out in lists: shared and never changed (a
// change makes a new one), so a list of hundreds copies no record.
using RecordPtr = std::shared_ptr<const ContainerRecord>;

// The request's Entrypoint then Cmd.
std::vector<std::string> command_args(const Json& config);

struct NewContainer {
  std::string name;  // empty: generated
  std::string image_id;
  std::string image_name;
  Json config;
};

class ContainerStore {
 public:
  explicit ContainerStore(store::Database& db) : db_(db) {}
  Result<void> migrate();

  Result<ContainerRecord> create(const NewContainer& c);
  Result<ContainerRecord> get(const std::string& id);
  Result<ContainerRecord> resolve(const std::string& name_or_id);
  // Newest first.
  Result<std::vector<RecordPtr>> list();
  Result<void> set_state(const std::string& id, const ContainerState& s);
  Result<void> rename(const std::string& id, const std::string& new_name);
  Result<void> remove(const std::string& id);

 private:
  // Loads the table into records_ on first use (under mu_).
  Result<void> load();
  // The record at `it` as a new one with `change` made (a list handed out
  // keeps the old).
  void replace(std::map<std::string, RecordPtr>::iterator it, const std::function<void(ContainerRecord&)>& change);
  // name_or_id as an exact ID or name, then as a unique ID prefix.
  Result<const ContainerRecord*> find(const std::string& name_or_id);
  store::Database& db_;
  std::recursive_mutex mu_;
  bool loaded_ = false;
  std::map<std::string, RecordPtr> records_;  // by ID
  std::vector<RecordPtr> newest_first_;        // list()'s answer; empty when stale
};

// Docker's name rule, with its error text.
Result<std::string> validate_container_name(std::string_view name);
// 64 random hex digits.
std::string new_container_id();
// adjective_noun from our own word lists (random).
std::string generate_container_name();

}  // namespace berth::engine
