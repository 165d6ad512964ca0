#include "engine/container_store.h"

#include <fcntl.h>
#include <sys/random.h>

#include <array>

#include "base/strings.h"

namespace berth::engine {

namespace {

const std::vector<std::string> kSchema = {
    R"(CREATE TABLE containers (
         id TEXT PRIMARY KEY,
         name TEXT NOT NULL UNIQUE,
         image_id TEXT NOT NULL,
         image_name TEXT NOT NULL,
         created TEXT NOT NULL,
         config TEXT NOT NULL,
         state TEXT NOT NULL
       ))",
};

Json state_json(const ContainerState& s) {
  return {{"status", s.status},         {"pid", s.pid},
          {"exit_code", s.exit_code},   {"oom_killed", s.oom_killed},
          {"started_at", s.started_at}, {"finished_at", s.finished_at},
          {"restart_count", s.restart_count}, {"manually_stopped", s.manually_stopped},
          {"error", s.error}};
}

ContainerState state_from(const Json& j) {
  ContainerState s;
  if (!j.is_object()) return s;
  s.status = j.value("status", s.status);
  s.pid = j.value("pid", int64_t{0});
  s.exit_code = j.value("exit_code", int64_t{0});
  s.oom_killed = j.value("oom_killed", false);
  s.started_at = j.value("started_at", s.started_at);
  s.finished_at = j.value("finished_at", s.finished_at);
  s.restart_count = j.value("restart_count", int64_t{0});
  s.manually_stopped = j.value("manually_stopped", false);
  s.error = j.value("error", "");
  return s;
}

uint64_t random_u64() {
  uint64_t v = 0;
  while (getrandom(&v, sizeof v, 0) != sizeof v) {
  }
  return v;
}

// Our own lists: moods and shore words (a berth is where a ship rests).
constexpr std::array<const char*, 24> kAdjectives = {
    "amber", "brisk", "calm", "daring", "eager", "fair", "gentle", "hardy",
    "idle", "jolly", "keen", "lucid", "mellow", "nimble", "plucky", "quiet",
    "rapid", "sturdy", "tidy", "upbeat", "vivid", "wary", "witty", "zesty"};
constexpr std::array<const char*, 24> kNouns = {
    "anchor", "buoy", "capstan", "dock", "ferry", "galley", "harbor", "jetty",
    "keel", "lantern", "mooring", "oar", "pier", "quay", "rudder", "sail",
    "tide", "wharf", "hull", "mast", "cove", "reef", "bollard", "schooner"};

}  // namespace

Result<std::string> validate_container_name(std::string_view name) {
  std::string_view n = name;
  if (!n.empty() && n.front() == '/') n.remove_prefix(1);
  auto ok_first = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  auto ok_rest = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
  };
  bool valid = n.size() >= 2 && n.size() <= 255 && ok_first(n[0]) &&
               std::all_of(n.begin() + 1, n.end(), ok_rest);
  if (!valid)
    return Error::invalid("Invalid container name ({}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                          std::string(name.substr(0, 300)));
  return std::string(n);
}

std::string new_container_id() {
  return fmt::format("{:016x}{:016x}{:016x}{:016x}", random_u64(), random_u64(), random_u64(),
                     random_u64());
}

std::string generate_container_name() {
  uint64_t r = random_u64();
  return fmt::format("{}_{}", kAdjectives[r % kAdjectives.size()],
                     kNouns[(r >> 16) % kNouns.size()]);
}

Result<void> ContainerStore::migrate() { return db_.migrate("containers", kSchema); }

std::vector<std::string> command_args(const Json& config) {
  std::vector<std::string> out;
  if (!config.is_object()) return out;
  for (const char* k : {"Entrypoint", "Cmd"}) {
    auto it = config.find(k);
    if (it == config.end() || !it->is_array()) continue;
    for (const auto& e : *it)
      if (e.is_string()) out.push_back(e.get_ref<const std::string&>());
  }
  return out;
}

Result<void> ContainerStore::load() {
  if (loaded_) return ok();
  auto q = BERTH_TRY(db_.prepare(
      "SELECT id, name, image_id, image_name, created, config, state FROM containers"));
  std::map<std::string, RecordPtr> records;
  while (BERTH_TRY(q.step())) {
    ContainerRecord r;
    r.id = q.column_text(0);
    r.name = q.column_text(1);
    r.image_id = q.column_text(2);
    r.image_name = q.column_text(3);
    r.created = q.column_text(4);
    r.config = std::make_shared<const Json>(Json::parse(q.column_text(5), nullptr, false));
    r.command = join(command_args(*r.config), " ");
    r.state = state_from(Json::parse(q.column_text(6), nullptr, false));
    std::string id = r.id;  // not r.id itself: r is moved from in the same call
    records.emplace(std::move(id), std::make_shared<const ContainerRecord>(std::move(r)));
  }
  records_ = std::move(records);
  newest_first_.clear();
  loaded_ = true;
  return ok();
}

Result<ContainerRecord> ContainerStore::create(const NewContainer& c) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  BERTH_TRY(load());
  ContainerRecord r;
  r.image_id = c.image_id;
  r.image_name = c.image_name;
  r.config = std::make_shared<const Json>(c.config);
  r.command = join(command_args(c.config), " ");
  r.created = now_rfc3339();
  std::string config = c.config.dump();
  for (int attempt = 0;; attempt++) {
    r.id = new_container_id();
    if (!c.name.empty()) {
      r.name = BERTH_TRY(validate_container_name(c.name));
    } else {
      r.name = generate_container_name();
      // Generated names collide sooner or later: add digits after a few tries.
      if (attempt >= 3) r.name += std::to_string(random_u64() % 1000);
    }
    auto q = BERTH_TRY(db_.prepare(
        "INSERT INTO containers (id, name, image_id, image_name, created, config, state) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    q.bind_text(1, r.id).bind_text(2, r.name).bind_text(3, r.image_id).bind_text(4, r.image_name)
        .bind_text(5, r.created).bind_text(6, config).bind_text(7, state_json(r.state).dump());
    auto res = q.run();
    if (res) {
      records_[r.id] = std::make_shared<const ContainerRecord>(r);
      newest_first_.clear();
      return r;
    }
    if (res.error().code() != ErrorCode::AlreadyExists) return res.error();
    if (!c.name.empty() && res.error().message().find("containers.name") != std::string::npos)
      return Error::make(ErrorCode::Conflict,
                         "Conflict. The container name \"/{}\" is already in use. You have to "
                         "remove (or rename) that container to be able to reuse that name.",
                         r.name);
    if (attempt > 20) return res.error();
  }
}

Result<ContainerRecord> ContainerStore::get(const std::string& id) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  BERTH_TRY(load());
  auto it = records_.find(id);
  if (it == records_.end()) return Error::not_found("No such container: {}", id);
  return *it->second;
}

Result<const ContainerRecord*> ContainerStore::find(const std::string& name_or_id) {
  BERTH_TRY(load());
  std::string s = name_or_id;
  if (!s.empty() && s[0] == '/') s = s.substr(1);
  if (s.empty()) return Error::not_found("No such container: {}", name_or_id);
  if (auto it = records_.find(s); it != records_.end()) return it->second.get();
  for (const auto& [id, r] : records_)
    if (r->name == s) return r.get();
  bool hex = s.size() <= 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (hex) {
    // records_ is ordered by ID: the matches of a prefix are adjacent.
    auto it = records_.lower_bound(s);
    if (it != records_.end() && it->first.rfind(s, 0) == 0) {
      auto next = std::next(it);
      if (next != records_.end() && next->first.rfind(s, 0) == 0)
        return Error::invalid("multiple containers found with provided prefix: {}", s);
      return it->second.get();
    }
  }
  return Error::not_found("No such container: {}", name_or_id);
}

Result<ContainerRecord> ContainerStore::resolve(const std::string& name_or_id) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  return *BERTH_TRY(find(name_or_id));
}

Result<std::vector<RecordPtr>> ContainerStore::list() {
  std::lock_guard<std::recursive_mutex> g(mu_);
  BERTH_TRY(load());
  // Newest first; records_ is by ID, which breaks ties. Kept until a
  // change: repeated lists (ps) sort nothing.
  if (newest_first_.empty() && !records_.empty()) {
    newest_first_.reserve(records_.size());
    for (const auto& [id, r] : records_) newest_first_.push_back(r);
    std::stable_sort(newest_first_.begin(), newest_first_.end(),
                     [](const RecordPtr& a, const RecordPtr& b) { return a->created > b->created; });
  }
  return newest_first_;
}

void ContainerStore::replace(std::map<std::string, RecordPtr>::iterator it,
                             const std::function<void(ContainerRecord&)>& change) {
  auto r = std::make_shared<ContainerRecord>(*it->second);
  change(*r);
  it->second = std::move(r);
  newest_first_.clear();
}

Result<void> ContainerStore::set_state(const std::string& id, const ContainerState& s) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  BERTH_TRY(load());
  auto it = records_.find(id);
  if (it == records_.end()) return Error::not_found("No such container: {}", id);
  auto q = BERTH_TRY(db_.prepare("UPDATE containers SET state = ?2 WHERE id = ?1"));
  q.bind_text(1, id).bind_text(2, state_json(s).dump());
  BERTH_TRY(q.run());
  replace(it, [&](ContainerRecord& r) { r.state = s; });
  return ok();
}

Result<void> ContainerStore::rename(const std::string& id, const std::string& new_name) {
  std::string name = BERTH_TRY(validate_container_name(new_name));
  std::lock_guard<std::recursive_mutex> g(mu_);
  BERTH_TRY(load());
  auto it = records_.find(id);
  if (it == records_.end()) return Error::not_found("No such container: {}", id);
  auto q = BERTH_TRY(db_.prepare("UPDATE containers SET name = ?2 WHERE id = ?1"));
  q.bind_text(1, id).bind_text(2, name);
  auto r = q.run();
  if (!r && r.error().code() == ErrorCode::AlreadyExists)
    return Error::make(ErrorCode::Conflict,
                       "Error when allocating new name: Conflict. The container name \"/{}\" is "
                       "already in use.",
                       name);
  if (!r) return r.error();
  replace(it, [&](ContainerRecord& rec) { rec.name = name; });
  return ok();
}

Result<void> ContainerStore::remove(const std::string& id) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  BERTH_TRY(load());
  auto it = records_.find(id);
  if (it == records_.end()) return Error::not_found("No such container: {}", id);
  auto q = BERTH_TRY(db_.prepare("DELETE FROM containers WHERE id = ?1"));
  q.bind_text(1, id);
  BERTH_TRY(q.run());
  records_.erase(it);
  newest_first_.clear();
  return ok();
}

}  // namespace berth::engine
