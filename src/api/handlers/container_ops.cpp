// Container operations beyond the lifecycle: top, stats, pause/unpause,
// changes, export, commit, prune, resize. The work is in
// engine/container_ops.h; here are the query parameters and the streams.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

#include "api/handlers/handlers.h"
#include "engine/container_ops.h"

namespace berth::api {

namespace {

using engine::ContainerRecord;
using engine::Engine;

bool is_up(const ContainerRecord& c) { return c.state.status == "running" || c.state.status == "paused"; }

// Sleep about `ms`, waking early when the client goes; false if it went.
bool wait_for_client(Response& res, int ms) {
  for (int waited = 0; waited < ms; waited += 50) {
    if (res.client_gone()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !res.client_gone();
}

// GET /containers/{id}/stats: one object a second until the client goes or
// the container stops; stream=false: one object whose precpu is a sample
// taken a second before (Docker's), one-shot=true: one sample, no precpu.
void stats(Engine& eng, Request& req, Response& res) {
  auto found = eng.inspect(req.params["id"]);
  if (!found) return res.error(found.error());
  ContainerRecord rec = *found;
  bool stream = !req.query_value("stream") || req.query_bool("stream");
  bool one_shot = req.query_bool("one-shot");
  if (one_shot && stream) return res.error(Error::invalid("cannot have stream=true and one-shot=true"));
  uint64_t host_mem = engine::host_memory_bytes();
  auto sample = [&](const ContainerRecord& c) -> std::optional<engine::StatsPoint> {
    if (!is_up(c)) return std::nullopt;
    auto p = engine::stats_point(eng, c);
    if (!p) return std::nullopt;
    return std::move(*p);
  };
  if (!stream) {
    auto first = sample(rec);
    std::optional<engine::StatsPoint> second;
    if (first && !one_shot) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      second = sample(rec);
    }
    const engine::StatsPoint* cur = second ? &*second : first ? &*first : nullptr;
    const engine::StatsPoint* pre = second ? &*first : nullptr;
    return res.json(200, engine::stats_json(rec, cur, pre, host_mem));
  }
  if (!res.begin_stream(200, "application/json")) return;
  std::optional<engine::StatsPoint> prev;
  for (;;) {
    auto cur = sample(rec);
    if (!res.write_json(engine::stats_json(rec, cur ? &*cur : nullptr, prev ? &*prev : nullptr, host_mem)))
      return;
    if (!cur) break;  // stopped: Docker's zero object, then the end
    prev = std::move(cur);
    if (!wait_for_client(res, 1000)) return;
    auto again = eng.inspect(rec.id);
    if (!again || !is_up(*again)) break;
    rec = std::move(*again);
  }
  (void)res.end_stream();
}

// GET /containers/{id}/export: the tar written by a thread into a pipe,
// sent as chunks. A failure after the first byte ends the stream short.
void export_container(Engine& eng, Request& req, Response& res) {
  auto rec = eng.inspect(req.params["id"]);
  if (!rec) return res.error(rec.error());
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return res.error(Error::sys(errno, "pipe"));
  Fd rd(p[0]), wr(p[1]);
  std::optional<Result<void>> result;
  std::thread worker([&] {
    result.emplace(engine::export_rootfs(eng, *rec, wr.get()));
    wr.reset();
  });
  std::vector<char> buf(1 << 20);
  bool streaming = false, client_ok = true;
  for (;;) {
    ssize_t n = ::read(rd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!client_ok) continue;
    if (!streaming) client_ok = streaming = static_cast<bool>(res.begin_stream(200, "application/x-tar"));
    if (client_ok && !res.write(std::string_view(buf.data(), static_cast<size_t>(n)))) client_ok = false;
  }
  rd.reset();
  worker.join();
  if (!*result) {
    if (!streaming) res.error(result->error());
    return;
  }
  if (!streaming && !res.begin_stream(200, "application/x-tar")) return;
  eng.publish(*rec, "export");
  (void)res.end_stream();
}

void commit(Engine& eng, Request& req, Response& res) {
  auto body = req.read_json(4 << 20);
  if (!body) return res.error(body.error());
  if (!body->is_object() && !body->is_null()) return res.error(Error::invalid("request body must be a JSON object"));
  auto container = req.query_value("container").value_or("");
  if (container.empty()) return res.error(Error::invalid("No container specified"));
  engine::CommitOptions o;
  o.repo = req.query_value("repo").value_or("");
  o.tag = req.query_value("tag").value_or("");
  o.comment = req.query_value("comment").value_or("");
  o.author = req.query_value("author").value_or("");
  // Absent means pause, as in Docker; the CLI sends pause=0 for --pause=false.
  o.pause = !req.query_value("pause") || req.query_bool("pause");
  o.changes = req.query_values("changes");
  if (body->is_object()) o.config = *body;
  auto id = engine::commit(eng, container, o);
  if (!id) return res.error(id.error());
  res.json(201, {{"Id", *id}});
}

}  // namespace

void add_container_op_routes(Router& r, DaemonContext& ctx) {
  Engine* eng = ctx.engine;
  r.add("GET", "/containers/{id}/top", [eng](Request& req, Response& res) {
    auto t = engine::top(*eng, req.params["id"], req.query_value("ps_args").value_or(""));
    if (!t) return res.error(t.error());
    res.json(200, {{"Titles", t->titles}, {"Processes", t->processes}});
  });
  r.add("GET", "/containers/{id}/stats", [eng](Request& req, Response& res) { stats(*eng, req, res); });
  r.add("POST", "/containers/{id}/pause", [eng](Request& req, Response& res) {
    if (auto p = engine::pause(*eng, req.params["id"]); !p) return res.error(p.error());
    res.empty(204);
  });
  r.add("POST", "/containers/{id}/unpause", [eng](Request& req, Response& res) {
    if (auto p = engine::unpause(*eng, req.params["id"]); !p) return res.error(p.error());
    res.empty(204);
  });
  r.add("GET", "/containers/{id}/changes", [eng](Request& req, Response& res) {
    auto ch = engine::changes(*eng, req.params["id"]);
    if (!ch) return res.error(ch.error());
    Json out = Json::array();
    for (const auto& c : *ch) out.push_back({{"Path", c.path}, {"Kind", static_cast<int>(c.kind)}});
    // Docker answers null when nothing changed; the clients take both.
    res.json(200, out.empty() ? Json(nullptr) : out);
  });
  r.add("GET", "/containers/{id}/export", [eng](Request& req, Response& res) { export_container(*eng, req, res); });
  r.add("POST", "/containers/{id}/resize", [eng](Request& req, Response& res) {
    auto h = req.query_int("h"), w = req.query_int("w");
    if (!h) return res.error(h.error());
    if (!w) return res.error(w.error());
    int64_t hv = h->value_or(0), wv = w->value_or(0);
    if (hv < 0 || wv < 0 || hv > 65535 || wv > 65535) return res.error(Error::invalid("invalid terminal size"));
    auto rs = engine::resize(*eng, req.params["id"], static_cast<unsigned>(hv), static_cast<unsigned>(wv));
    if (!rs) return res.error(rs.error());
    res.send(200, "text/plain", "");
  });
  r.add("POST", "/containers/prune", [eng](Request& req, Response& res) {
    auto f = req.filters();
    if (!f) return res.error(f.error());
    auto p = engine::prune(*eng, *f);
    if (!p) return res.error(p.error());
    res.json(200, {{"ContainersDeleted", p->deleted.empty() ? Json(nullptr) : Json(p->deleted)},
                   {"SpaceReclaimed", p->space_reclaimed}});
  });
  r.add("POST", "/commit", [eng](Request& req, Response& res) { commit(*eng, req, res); });
}

}  // namespace berth::api
