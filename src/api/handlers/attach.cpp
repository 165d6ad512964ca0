// The hijacked routes: container attach and exec start, with the exec
// records around them (create, inspect, resize). docs/design/api.md has the
// protocol; the bytes go through stream_proxy.
#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>

#include "api/handlers/handlers.h"
#include "api/stream_proxy.h"
#include "engine/engine.h"

namespace berth::api {

namespace {

constexpr std::string_view kRawStream = "application/vnd.docker.raw-stream";

// After the hijack there is no status line to speak with: the error goes
// down the stream as text, as dockerd does, framed as stdout (the 8-byte
// header of the multiplexed stream) unless the stream is a tty's.
void stream_error(int fd, const Error& e, bool tty) {
  std::string text = e.message() + "\r\n";
  if (!tty) {
    uint32_t n = htonl(static_cast<uint32_t>(text.size()));
    std::string head(8, '\0');
    head[0] = 1;
    memcpy(head.data() + 4, &n, 4);
    text = head + text;
  }
  (void)!::write(fd, text.data(), text.size());
}

Result<std::pair<int, int>> size_of(Request& req) {
  auto h = BERTH_TRY(req.query_int("h"));
  auto w = BERTH_TRY(req.query_int("w"));
  if (!h || !w || *h < 0 || *w < 0 || *h > 65535 || *w > 65535)
    return Error::invalid("resize needs h and w between 0 and 65535");
  return std::pair<int, int>(static_cast<int>(*h), static_cast<int>(*w));
}

Json exec_json(const engine::ExecRecord& e) {
  const Json& c = e.config;
  std::vector<std::string> cmd;
  if (c.contains("Cmd") && c["Cmd"].is_array())
    for (const auto& a : c["Cmd"]) cmd.push_back(a.get<std::string>());
  return {{"ID", e.id},
          {"Running", e.running},
          {"ExitCode", e.exited ? Json(e.exit_code) : Json(nullptr)},
          {"ProcessConfig",
           {{"tty", c.value("Tty", false)},
            {"entrypoint", cmd.empty() ? "" : cmd[0]},
            {"arguments", cmd.size() > 1 ? Json(std::vector<std::string>(cmd.begin() + 1, cmd.end())) : Json::array()},
            {"privileged", c.value("Privileged", false)},
            {"user", c.value("User", "")}}},
          {"OpenStdin", c.value("AttachStdin", false)},
          {"OpenStderr", c.value("AttachStderr", false)},
          {"OpenStdout", c.value("AttachStdout", false)},
          {"CanRemove", false},
          {"ContainerID", e.container_id},
          {"DetachKeys", c.value("DetachKeys", "")},
          {"Pid", e.pid}};
}

}  // namespace

void add_attach_routes(Router& r, DaemonContext& ctx) {
  engine::Engine* eng = ctx.engine;
  r.add("POST", "/containers/{id}/attach", [eng](Request& req, Response& res) {
    auto c = eng->inspect(req.params["id"]);
    if (!c) return res.error(c.error());
    std::string keys;
    if (!parse_detach_keys(req.query_value("detachKeys").value_or(""), &keys))
      return res.error(Error::invalid("Invalid detach keys ({}) provided", req.query_value("detachKeys").value_or("")));
    if (!req.query_bool("stream") && !req.query_bool("logs"))
      return res.error(Error::invalid("either logs or stream must be set"));
    auto conn = res.hijack(kRawStream);
    if (!conn) return;
    int fd = conn->fd;
    auto stream = eng->attach(c->id, [fd] { return peer_closed(fd); });
    if (!stream) {
      if (stream.error().code() != ErrorCode::Unavailable)
        stream_error(fd, stream.error(), c->config->value("Tty", false));
      return;
    }
    ProxyOptions opts;
    opts.forward_stdin = req.query_bool("stdin");
    opts.detach_keys = keys;
    proxy_stream(fd, std::move(conn->pending), stream->fd.get(), opts);
  });
  r.add("POST", "/containers/{id}/exec", [eng](Request& req, Response& res) {
    auto body = req.read_json(1 << 20);
    if (!body) return res.error(body.error());
    auto id = eng->exec_create(req.params["id"], *body);
    if (!id) return res.error(id.error());
    res.json(201, {{"Id", *id}});
  });
  r.add("POST", "/exec/{id}/start", [eng](Request& req, Response& res) {
    auto body = req.read_json(1 << 20);
    if (!body) return res.error(body.error());
    if (!body->is_object()) return res.error(Error::invalid("request body must be a JSON object"));
    auto e = eng->exec_inspect(req.params["id"]);
    if (!e) return res.error(e.error());
    std::string keys;
    if (!parse_detach_keys(e->config.value("DetachKeys", ""), &keys))
      return res.error(Error::invalid("Invalid detach keys ({}) provided", e->config.value("DetachKeys", "")));
    auto started = eng->exec_start(e->id);
    if (!started) {
      // A process that could not start is the exec's outcome, as in Docker:
      // the client gets the stream, the reason in it, and the exit code
      // from /exec/{id}/json. Anything else is an error of the request.
      auto now = eng->exec_inspect(e->id);
      if (!now || !now->exited || body->value("Detach", false)) return res.error(started.error());
      if (auto conn = res.hijack(kRawStream)) stream_error(conn->fd, started.error(), e->config.value("Tty", false));
      return;
    }
    if (body->value("Detach", false)) return res.send(200, "application/json", "");
    auto conn = res.hijack(kRawStream);
    if (!conn) return;
    // A short exec's output comes at once: not before the client has its
    // answer's head (docker-py's exec_run lost it, 1 run in 8).
    wait_until_read(conn->fd, 200);
    auto stream = eng->shim_attach(e->container_id, e->id);
    if (!stream) return stream_error(conn->fd, stream.error(), e->config.value("Tty", false));
    ProxyOptions opts;
    opts.forward_stdin = e->config.value("AttachStdin", false);
    opts.detach_keys = keys;
    proxy_stream(conn->fd, std::move(conn->pending), stream->fd.get(), opts);
  });
  r.add("POST", "/exec/{id}/resize", [eng](Request& req, Response& res) {
    auto sz = size_of(req);
    if (!sz) return res.error(sz.error());
    if (auto s = eng->exec_resize(req.params["id"], sz->first, sz->second); !s) return res.error(s.error());
    res.send(200, "text/plain", "");
  });
  r.add("GET", "/exec/{id}/json", [eng](Request& req, Response& res) {
    auto e = eng->exec_inspect(req.params["id"]);
    if (!e) return res.error(e.error());
    res.json(200, exec_json(*e));
  });
}

}  // namespace berth::api
