// Container routes over the engine: create, start, wait, kill, stop,
// restart, remove, rename, inspect, list, logs. Attach, exec, top, stats
// and the rest answer that they are not available yet.
#include <signal.h>

#include <sys/stat.h>

#include <chrono>
#include <mutex>
#include <set>
#include <fstream>
#include <thread>
#include <unordered_map>

#include "api/handlers/handlers.h"
#include "base/strings.h"
#include "engine/engine.h"

namespace berth::api {

namespace {

using engine::ContainerRecord;

Result<int> parse_signal(std::string s) {
  if (s.empty()) return SIGKILL;
  if (auto n = parse_int(s); n) {
    if (*n <= 0 || *n > 64) return Error::invalid("Invalid signal: {}", s);
    return static_cast<int>(*n);
  }
  std::transform(s.begin(), s.end(), s.begin(), ::toupper);
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  static const std::map<std::string, int> names = {
      {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"WINCH", SIGWINCH}};
  auto it = names.find(s);
  if (it == names.end()) return Error::invalid("Invalid signal: {}", s);
  return it->second;
}

std::string status_text(const ContainerRecord& c, const engine::HealthMonitor* health) {
  const auto& s = c.state;
  if (s.status == "running") {
    auto h = health ? health->state(c.id) : std::nullopt;
    if (!h) return "Up";
    std::string hs = h->value("Status", "");
    return hs == "starting" ? "Up (health: starting)" : "Up (" + hs + ")";
  }
  if (s.status == "restarting") return fmt::format("Restarting ({})", s.exit_code);
  if (s.status == "paused") return "Up (Paused)";
  if (s.status == "exited") return fmt::format("Exited ({})", s.exit_code);
  return s.status == "created" ? "Created" : s.status;
}

// HostConfig.NetworkMode, "default" when the request left it out: what
// inspect, the list and its network filter show.
std::string network_mode(const ContainerRecord& c) {
  if (auto h = c.config->find("HostConfig"); h != c.config->end() && h->is_object())
    if (auto m = h->find("NetworkMode"); m != h->end() && m->is_string() && !m->get_ref<const std::string&>().empty())
      return m->get<std::string>();
  return "default";
}

// The request's HostConfig with Docker's defaults for what it left out
// (clients read LogConfig.Type, RestartPolicy.Name, NetworkMode).
Json host_config_json(const ContainerRecord& c) {
  const Json& cfg = *c.config;
  Json h = cfg.contains("HostConfig") && cfg["HostConfig"].is_object() ? cfg["HostConfig"] : Json::object();
  auto fill = [&](const char* k, Json v) {
    if (!h.contains(k) || h[k].is_null() || (h[k].is_object() && h[k].empty()) ||
        (h[k].is_string() && h[k].get<std::string>().empty()))
      h[k] = std::move(v);
  };
  fill("LogConfig", {{"Type", "json-file"}, {"Config", Json::object()}});
  if (h["LogConfig"].is_object() && h["LogConfig"].value("Type", "").empty()) h["LogConfig"]["Type"] = "json-file";
  fill("RestartPolicy", {{"Name", "no"}, {"MaximumRetryCount", 0}});
  h["NetworkMode"] = network_mode(c);
  fill("Privileged", false);
  fill("AutoRemove", false);
  fill("ShmSize", 67108864);
  fill("Runtime", "runc");
  return h;
}

Json inspect_json(const ContainerRecord& c, const std::string& log_path) {
  const auto& s = c.state;
  auto cmd = engine::command_args(*c.config);
  Json config = *c.config;
  config.erase("HostConfig");
  config.erase("NetworkingConfig");
  return {{"Id", c.id},
          {"Created", c.created},
          {"Path", cmd.empty() ? "" : cmd[0]},
          {"Args", cmd.size() > 1 ? Json(std::vector<std::string>(cmd.begin() + 1, cmd.end())) : Json::array()},
          {"State", {{"Status", s.status}, {"Running", s.status == "running" || s.status == "paused"},
                     {"Paused", s.status == "paused"}, {"Restarting", s.status == "restarting"}, {"OOMKilled", s.oom_killed},
                     {"Dead", false}, {"Pid", s.pid}, {"ExitCode", s.exit_code}, {"Error", s.error},
                     {"StartedAt", s.started_at}, {"FinishedAt", s.finished_at}}},
          {"Image", c.image_id},
          {"Name", "/" + c.name},
          {"RestartCount", s.restart_count},
          {"Driver", "overlay2"},
          {"Platform", "linux"},
          {"LogPath", log_path},
          {"Config", config},
          {"HostConfig", host_config_json(c)},
          {"Mounts", Json::array()},
          {"NetworkSettings", {{"Networks", Json::object()}, {"Ports", Json::object()}}}};
}

// A json-file entry's time in nanoseconds since the epoch.
int64_t entry_time_ns(const std::string& t) {
  int64_t ns = parse_rfc3339_seconds(t).value_or(0) * 1000000000;
  auto dot = t.find('.');
  if (dot == std::string::npos) return ns;
  std::string frac;
  for (size_t i = dot + 1; i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])); i++) frac.push_back(t[i]);
  frac.resize(9, '0');
  return ns + parse_int(frac).value_or(0);
}

// Reads a json-file log from where it was left, across rotation (a new
// file under the same name).
class LogTail {
 public:
  explicit LogTail(std::string path) : path_(std::move(path)) { reopen(); }
  // Complete lines appended since the last call.
  std::vector<std::string> read_lines() {
    std::vector<std::string> out;
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && (st.st_ino != ino_ || st.st_size < static_cast<off_t>(pos_))) {
      drain(out);  // the old file's rest, then the new one
      reopen();
    }
    drain(out);
    return out;
  }

 private:
  void reopen() {
    in_ = std::ifstream(path_, std::ios::binary);
    pos_ = 0;
    partial_.clear();
    struct stat st {};
    ino_ = ::stat(path_.c_str(), &st) == 0 ? st.st_ino : 0;
  }
  void drain(std::vector<std::string>& out) {
    if (!in_) {
      in_.clear();
      in_.seekg(static_cast<std::streamoff>(pos_));
    }
    char buf[64 << 10];
    for (;;) {
      in_.read(buf, sizeof buf);
      auto n = in_.gcount();
      if (n <= 0) break;
      pos_ += static_cast<size_t>(n);
      partial_.append(buf, static_cast<size_t>(n));
    }
    in_.clear();
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
      out.push_back(partial_.substr(start, nl - start));
    partial_.erase(0, start);
  }
  std::string path_;
  std::ifstream in_;
  size_t pos_ = 0;
  ino_t ino_ = 0;
  std::string partial_;
};

// json-file lines → the logs stream: raw for a TTY, else each chunk behind
// Docker's 8-byte header (stream, 0, 0, 0, big-endian length).
void send_logs(Request& req, Response& res, engine::Engine& eng, const ContainerRecord& c) {
  bool want_out = req.query_bool("stdout"), want_err = req.query_bool("stderr");
  if (!want_out && !want_err)
    return res.error(Error::invalid("You must choose at least one stream"));
  int64_t since = 0, until = 0;
  for (auto [key, dst] : {std::pair{"since", &since}, {"until", &until}}) {
    auto v = req.query_value(key);
    if (!v || v->empty() || *v == "0") continue;
    auto t = engine::parse_event_time(*v);
    if (!t) return res.error(Error::invalid("invalid value for \"{}\": {}", key, *v));
    *dst = *t;
  }
  bool tty = c.config->value("Tty", false);
  bool timestamps = req.query_bool("timestamps");
  bool follow = req.query_bool("follow");
  std::string path = eng.log_path(c.id);
  // Entries of the rotated files first (oldest first), then the live file.
  std::vector<std::string> raw;
  for (int i = 9; i >= 1; i--) {
    std::ifstream old(path + "." + std::to_string(i));
    for (std::string line; std::getline(old, line);) raw.push_back(std::move(line));
  }
  LogTail tail(path);
  for (auto& l : tail.read_lines()) raw.push_back(std::move(l));
  auto accept = [&](const std::string& line, Json* out) {
    auto j = Json::parse(line, nullptr, false);
    if (!j.is_object()) return false;
    std::string stream = j.value("stream", "stdout");
    if ((stream == "stdout" && !want_out) || (stream == "stderr" && !want_err)) return false;
    if (since || until) {
      int64_t t = entry_time_ns(j.value("time", ""));
      if (since && t < since) return false;
      if (until && t > until) return false;
    }
    *out = std::move(j);
    return true;
  };
  std::vector<Json> lines;
  for (const auto& l : raw)
    if (Json j; accept(l, &j)) lines.push_back(std::move(j));
  size_t start = 0;
  if (auto t = req.query_value("tail"); t && *t != "all" && !t->empty()) {
    auto n = parse_uint(*t);
    if (n && *n < lines.size()) start = lines.size() - *n;
  }
  if (!res.begin_stream(200, tty ? "application/vnd.docker.raw-stream"
                                 : "application/vnd.docker.multiplexed-stream"))
    return;
  auto emit = [&](const Json& j) {
    std::string text = j.value("log", "");
    if (timestamps) text = j.value("time", "") + " " + text;
    if (!tty) {
      char hdr[8] = {static_cast<char>(j.value("stream", "stdout") == "stderr" ? 2 : 1), 0, 0, 0};
      uint32_t n = static_cast<uint32_t>(text.size());
      hdr[4] = static_cast<char>(n >> 24);
      hdr[5] = static_cast<char>(n >> 16);
      hdr[6] = static_cast<char>(n >> 8);
      hdr[7] = static_cast<char>(n);
      text.insert(0, hdr, 8);
    }
    return res.write(text).ok();
  };
  for (size_t i = start; i < lines.size(); i++)
    if (!emit(lines[i])) return;
  // follow: what the container writes from now on, until it stops (and its
  // last lines are out), `until` passes, or the client goes.
  while (follow) {
    auto cur = eng.inspect(c.id);
    bool running = cur && (cur->state.status == "running" || cur->state.status == "paused" ||
                           cur->state.status == "restarting");
    for (const auto& l : tail.read_lines())
      if (Json j; accept(l, &j) && !emit(j)) return;
    if (!running || res.client_gone()) break;
    if (until && static_cast<int64_t>(std::time(nullptr)) * 1000000000 > until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (void)res.end_stream();
}

}  // namespace

void append_container_summary(std::string& out, const ContainerRecord& c,
                              const engine::HealthMonitor* health) {
  // Written as text: ps asks for every container, and building a Json of
  // each to dump it was most of the answer's time. Keys in the order a
  // dumped Json has them (sorted).
  out += "{\"Command\":";
  append_json_string(out, c.command);
  out += ",\"Created\":";
  out += std::to_string(unix_seconds(c.created));
  out += ",\"HostConfig\":{\"NetworkMode\":";
  append_json_string(out, network_mode(c));
  out += "},\"Id\":";
  append_json_string(out, c.id);
  out += ",\"Image\":";
  append_json_string(out, c.image_name);
  out += ",\"ImageID\":";
  append_json_string(out, c.image_id);
  out += ",\"Labels\":";
  auto labels = c.config->find("Labels");
  out += labels != c.config->end() && labels->is_object() ? labels->dump() : "{}";
  out += ",\"Mounts\":[],\"Names\":[";
  append_json_string(out, "/" + c.name);
  out += "],\"NetworkSettings\":{\"Networks\":{}},\"Ports\":[],\"State\":";
  append_json_string(out, c.state.status);
  out += ",\"Status\":";
  append_json_string(out, status_text(c, health));
  out += '}';
}

namespace {

// The list's text of each container, kept while its record is the same
// object: a change makes a new record (engine::RecordPtr), and a running
// container's record is made anew by every list (its shim is asked), so a
// text kept is never stale, health included. `ps` asks for every container
// again and again, and most have not changed.
class SummaryCache {
 public:
  void append(std::string& out, const engine::RecordPtr& c, const engine::HealthMonitor* health) {
    {
      std::lock_guard lk(mu_);
      if (auto it = texts_.find(c.get()); it != texts_.end() && it->second.record.lock() == c) {
        out += it->second.text;
        return;
      }
    }
    std::string text;
    append_container_summary(text, *c, health);
    out += text;
    std::lock_guard lk(mu_);
    texts_[c.get()] = {c, std::move(text)};
  }
  // Texts of removed containers go once there are many more than listed.
  void sweep(size_t listed) {
    std::lock_guard lk(mu_);
    if (texts_.size() <= 2 * listed + 64) return;
    std::erase_if(texts_, [](const auto& e) { return e.second.record.expired(); });
  }

 private:
  struct Entry {
    std::weak_ptr<const ContainerRecord> record;
    std::string text;
  };
  std::mutex mu_;
  // By record: an address used again by a new record is told apart by
  // the weak pointer, which then has expired.
  std::unordered_map<const ContainerRecord*, Entry> texts_;
};

}  // namespace

Json container_summary(const ContainerRecord& c, const engine::HealthMonitor* health) {
  std::string text;
  append_container_summary(text, c, health);
  return Json::parse(text);
}

void add_container_routes(Router& r, DaemonContext& ctx) {
  engine::Engine* eng = ctx.engine;
  auto summaries = std::make_shared<SummaryCache>();
  r.add("GET", "/containers/json", [&ctx, eng, summaries](Request& req, Response& res) {
    auto f = req.filters();
    if (!f) return res.error(f.error());
    auto all = eng->list();
    if (!all) return res.error(all.error());
    bool show_all = req.query_bool("all");
    auto limit = req.query_int("limit");
    if (!limit) return res.error(limit.error());
    // before/since name containers; ancestor names images: resolve once.
    std::map<std::string, std::string> created_of;  // filter value → its container's Created
    for (const char* k : {"before", "since"}) {
      if (!f->count(k)) continue;
      for (const auto& v : f->at(k)) {
        auto ref = ctx.containers->resolve(v);
        if (!ref) return res.error(ref.error());
        created_of[v] = ref->created;
      }
    }
    std::set<std::string> ancestors;
    if (f->count("ancestor"))
      for (const auto& v : f->at("ancestor"))
        if (auto img = ctx.images->resolve(v); img) ancestors.insert(img->id);
    for (const auto& [k, values] : *f) {
      static const std::set<std::string> known = {"status", "name", "id", "label", "exited", "ancestor",
                                                  "before", "since", "health", "network"};
      if (!known.count(k)) return res.error(Error::invalid("invalid filter '{}'", k));
      if (k == "exited")
        for (const auto& v : values)
          if (!parse_int(v)) return res.error(Error::invalid("invalid filter 'exited={}'", v));
    }
    auto any = [](const std::vector<std::string>& vs, auto pred) { return std::any_of(vs.begin(), vs.end(), pred); };
    // Docker's rule: values of one key are alternatives, keys all apply;
    // label values all apply.
    auto matches = [&](const ContainerRecord& c, const std::string& k, const std::vector<std::string>& values) {
      if (k == "status") return any(values, [&](const std::string& v) { return v == c.state.status; });
      if (k == "name") return any(values, [&](const std::string& v) { return c.name.find(v) != std::string::npos; });
      if (k == "id") return any(values, [&](const std::string& v) { return c.id.rfind(v, 0) == 0; });
      if (k == "exited")
        return c.state.status == "exited" &&
               any(values, [&](const std::string& v) { return parse_int(v) == c.state.exit_code; });
      if (k == "ancestor") return ancestors.count(c.image_id) > 0;
      if (k == "before") return any(values, [&](const std::string& v) { return c.created < created_of[v]; });
      if (k == "since") return any(values, [&](const std::string& v) { return c.created > created_of[v]; });
      if (k == "network") {
        std::string mode = network_mode(c);
        return any(values, [&](const std::string& v) { return v == mode || (v == "bridge" && mode == "default"); });
      }
      if (k == "health") {
        auto h = ctx.health ? ctx.health->state(c.id) : std::nullopt;
        std::string hs = h ? h->value("Status", "") : "none";
        return any(values, [&](const std::string& v) { return v == hs; });
      }
      // label
      const Json& labels = c.config->contains("Labels") && (*c.config)["Labels"].is_object() ? (*c.config)["Labels"]
                                                                                            : Json::object();
      return std::all_of(values.begin(), values.end(), [&](const std::string& v) {
        auto eq = v.find('=');
        std::string key = v.substr(0, eq);
        return labels.contains(key) && (eq == std::string::npos || labels[key] == v.substr(eq + 1));
      });
    };
    std::string out = "[";
    int64_t listed = 0;
    for (const auto& ptr : *all) {
      const ContainerRecord& c = *ptr;
      // A limit, like a status filter, looks at every container (docker ps -n/-l).
      bool filtered_status = f->count("status") || f->count("exited") || (*limit && **limit > 0);
      if (!show_all && !filtered_status && c.state.status != "running" && c.state.status != "paused") continue;
      bool keep = true;
      for (const auto& [k, values] : *f) keep = keep && matches(c, k, values);
      if (!keep) continue;
      if (*limit && **limit > 0 && listed >= **limit) break;
      if (listed++ > 0) out += ',';
      summaries->append(out, ptr, ctx.health);
    }
    summaries->sweep(all->size());
    out += "]\n";
    res.send(200, "application/json", out);
  });
  r.add("POST", "/containers/create", [&ctx, eng](Request& req, Response& res) {
    auto body = req.read_json(4 << 20);
    if (!body) return res.error(body.error());
    if (!body->is_object()) return res.error(Error::invalid("request body must be a JSON object"));
    if (auto p = check_create(ctx.policy, req.caller, *body); !p) return res.error(p.error());
    auto c = eng->create(req.query_value("name").value_or(""), *body);
    if (!c) return res.error(c.error());
    res.json(201, {{"Id", c->id}, {"Warnings", Json::array()}});
  });
  r.add("GET", "/containers/{id}/json", [&ctx, eng](Request& req, Response& res) {
    auto c = eng->inspect(req.params["id"]);
    if (!c) return res.error(c.error());
    Json j = inspect_json(*c, eng->log_path(c->id));
    if (ctx.health)
      if (auto h = ctx.health->state(c->id)) j["State"]["Health"] = *h;
    res.json(200, j);
  });
  r.add("POST", "/containers/{id}/start", [eng](Request& req, Response& res) {
    auto s = eng->start(req.params["id"]);
    if (!s && s.error().code() == ErrorCode::AlreadyExists) return res.empty(304);
    if (!s) return res.error(s.error());
    res.empty(204);
  });
  r.add("POST", "/containers/{id}/wait", [eng](Request& req, Response& res) {
    std::string cond = req.query_value("condition").value_or("");
    engine::WaitCondition wc;
    if (cond.empty() || cond == "not-running") wc = engine::WaitCondition::NotRunning;
    else if (cond == "next-exit") wc = engine::WaitCondition::NextExit;
    else if (cond == "removed") wc = engine::WaitCondition::Removed;
    else return res.error(Error::invalid("invalid condition: \"{}\"", cond));
    auto c = eng->inspect(req.params["id"]);
    if (!c) return res.error(c.error());
    // Headers at once: the CLI waits for them before it starts the container.
    if (!res.begin_stream(200, "application/json")) return;
    auto code = eng->wait(c->id, wc, [&res] { return res.client_gone(); });
    if (!code && code.error().code() == ErrorCode::Unavailable) return;
    Json out = {{"StatusCode", code ? *code : -1},
                {"Error", code ? Json(nullptr) : Json{{"Message", code.error().message()}}}};
    (void)res.write_json(out);
    (void)res.end_stream();
  });
  r.add("POST", "/containers/{id}/kill", [eng](Request& req, Response& res) {
    auto sig = parse_signal(req.query_value("signal").value_or(""));
    if (!sig) return res.error(sig.error());
    if (auto k = eng->kill(req.params["id"], *sig); !k) return res.error(k.error());
    res.empty(204);
  });
  r.add("POST", "/containers/{id}/stop", [eng](Request& req, Response& res) {
    auto t = req.query_int("t");
    if (!t) return res.error(t.error());
    auto s = eng->stop(req.params["id"], static_cast<int>(t->value_or(10)));
    if (!s && s.error().code() == ErrorCode::AlreadyExists) return res.empty(304);
    if (!s) return res.error(s.error());
    res.empty(204);
  });
  r.add("POST", "/containers/{id}/restart", [eng](Request& req, Response& res) {
    auto t = req.query_int("t");
    if (!t) return res.error(t.error());
    auto s = eng->stop(req.params["id"], static_cast<int>(t->value_or(10)));
    if (!s && s.error().code() != ErrorCode::AlreadyExists) return res.error(s.error());
    if (auto st = eng->start(req.params["id"]); !st) return res.error(st.error());
    res.empty(204);
  });
  r.add("POST", "/containers/{id}/rename", [&ctx](Request& req, Response& res) {
    auto c = ctx.containers->resolve(req.params["id"]);
    if (!c) return res.error(c.error());
    if (auto r2 = ctx.containers->rename(c->id, req.query_value("name").value_or("")); !r2)
      return res.error(r2.error());
    res.empty(204);
  });
  r.add("DELETE", "/containers/{id}", [eng](Request& req, Response& res) {
    if (auto d = eng->remove(req.params["id"], req.query_bool("force")); !d) return res.error(d.error());
    res.empty(204);
  });
  r.add("GET", "/containers/{id}/logs", [eng](Request& req, Response& res) {
    auto c = eng->inspect(req.params["id"]);
    if (!c) return res.error(c.error());
    send_logs(req, res, *eng, *c);
  });
  for (const char* method : {"GET", "POST", "DELETE", "HEAD", "PUT"}) {
    r.add(method, "/containers/{id}/{action}", [eng](Request& req, Response& res) {
      auto c = eng->inspect(req.params["id"]);
      if (!c) return res.error(c.error());
      res.error(Error::make(ErrorCode::NotImplemented, "{} of containers is not available yet in Berth",
                            req.params["action"]));
    });
  }
}

}  // namespace berth::api
