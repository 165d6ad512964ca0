// Container routes. Until the engine lands (containers are created through
// berth-shim and berth-runtime), this daemon holds no containers: lists are
// truthfully empty, a named container is not found, and creating one says
// that containers are not available yet.
#include "api/handlers/handlers.h"

namespace berth::api {

void add_container_routes(Router& r, DaemonContext& ctx) {
  r.add("GET", "/containers/json", [](Request& req, Response& res) {
    if (auto f = req.filters(); !f) return res.error(f.error());
    res.json(200, Json::array());
  });
  r.add("POST", "/containers/create", [&ctx](Request& req, Response& res) {
    // Read (and bound) the body so that a malformed request is still told so.
    auto body = req.read_json(4 << 20);
    if (!body) return res.error(body.error());
    if (auto p = check_create(ctx.policy, req.caller, *body); !p) return res.error(p.error());
    res.error(Error::make(ErrorCode::NotImplemented,
                          "running containers through berthd is not available yet"));
  });
  for (const char* method : {"GET", "POST", "DELETE", "HEAD", "PUT"}) {
    r.add(method, "/containers/{id}", [](Request& req, Response& res) {
      res.error(Error::not_found("No such container: {}", req.params["id"]));
    });
    r.add(method, "/containers/{id}/{action}", [](Request& req, Response& res) {
      res.error(Error::not_found("No such container: {}", req.params["id"]));
    });
  }
}

}  // namespace berth::api
