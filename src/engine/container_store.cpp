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

Result<ContainerRecord> ContainerStore::row(store::Statement& q) {
  ContainerRecord r;
  r.id = q.column_text(0);
  r.name = q.column_text(1);
  r.image_id = q.column_text(2);
  r.image_name = q.column_text(3);
  r.created = q.column_text(4);
  r.config = Json::parse(q.column_text(5), nullptr, false);
  r.state = state_from(Json::parse(q.column_text(6), nullptr, false));
  return r;
}

static constexpr const char* kSelect =
    "SELECT id, name, image_id, image_name, created, config, state FROM containers";

Result<ContainerRecord> ContainerStore::create(const NewContainer& c) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  ContainerRecord r;
  r.image_id = c.image_id;
  r.image_name = c.image_name;
  r.config = c.config;
  r.created = now_rfc3339();
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
        .bind_text(5, r.created).bind_text(6, r.config.dump()).bind_text(7, state_json(r.state).dump());
    auto res = q.run();
    if (res) return r;
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
  auto q = BERTH_TRY(db_.prepare(fmt::format("{} WHERE id = ?1", kSelect)));
  q.bind_text(1, id);
  if (!BERTH_TRY(q.step())) return Error::not_found("No such container: {}", id);
  return row(q);
}

Result<ContainerRecord> ContainerStore::resolve(const std::string& name_or_id) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  std::string s = name_or_id;
  if (!s.empty() && s[0] == '/') s = s.substr(1);
  if (s.empty()) return Error::not_found("No such container: {}", name_or_id);
  {
    auto q = BERTH_TRY(db_.prepare(fmt::format("{} WHERE id = ?1 OR name = ?1", kSelect)));
    q.bind_text(1, s);
    if (BERTH_TRY(q.step())) return row(q);
  }
  bool hex = s.size() <= 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (hex) {
    auto q = BERTH_TRY(db_.prepare(fmt::format("{} WHERE substr(id, 1, ?2) = ?1 LIMIT 2", kSelect)));
    q.bind_text(1, s).bind_int64(2, static_cast<int64_t>(s.size()));
    if (BERTH_TRY(q.step())) {
      auto r = BERTH_TRY(row(q));
      if (BERTH_TRY(q.step()))
        return Error::invalid("multiple containers found with provided prefix: {}", s);
      return r;
    }
  }
  return Error::not_found("No such container: {}", name_or_id);
}

Result<std::vector<ContainerRecord>> ContainerStore::list() {
  std::lock_guard<std::recursive_mutex> g(mu_);
  auto q = BERTH_TRY(db_.prepare(fmt::format("{} ORDER BY created DESC, id", kSelect)));
  std::vector<ContainerRecord> out;
  while (BERTH_TRY(q.step())) out.push_back(BERTH_TRY(row(q)));
  return out;
}

Result<void> ContainerStore::set_state(const std::string& id, const ContainerState& s) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  auto q = BERTH_TRY(db_.prepare("UPDATE containers SET state = ?2 WHERE id = ?1"));
  q.bind_text(1, id).bind_text(2, state_json(s).dump());
  BERTH_TRY(q.run());
  if (db_.changes() == 0) return Error::not_found("No such container: {}", id);
  return ok();
}

Result<void> ContainerStore::rename(const std::string& id, const std::string& new_name) {
  std::string name = BERTH_TRY(validate_container_name(new_name));
  std::lock_guard<std::recursive_mutex> g(mu_);
  auto q = BERTH_TRY(db_.prepare("UPDATE containers SET name = ?2 WHERE id = ?1"));
  q.bind_text(1, id).bind_text(2, name);
  auto r = q.run();
  if (!r && r.error().code() == ErrorCode::AlreadyExists)
    return Error::make(ErrorCode::Conflict,
                       "Error when allocating new name: Conflict. The container name \"/{}\" is "
                       "already in use.",
                       name);
  if (!r) return r.error();
  if (db_.changes() == 0) return Error::not_found("No such container: {}", id);
  return ok();
}

Result<void> ContainerStore::remove(const std::string& id) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  auto q = BERTH_TRY(db_.prepare("DELETE FROM containers WHERE id = ?1"));
  q.bind_text(1, id);
  BERTH_TRY(q.run());
  if (db_.changes() == 0) return Error::not_found("No such container: {}", id);
  return ok();
}

}  // namespace berth::engine
