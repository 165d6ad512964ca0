// GET /events: past events since `since`, then live ones until `until` or
// until the client goes away, as JSON lines.
#include <ctime>

#include "api/handlers/handlers.h"

namespace berth::api {

void add_event_routes(Router& r, DaemonContext& ctx) {
  r.add("GET", "/events", [&ctx](Request& req, Response& res) {
    auto filters = req.filters();
    if (!filters) return res.error(filters.error());
    for (const auto& [k, v] : *filters)
      if (k != "type" && k != "event" && k != "image" && k != "container" && k != "label")
        return res.error(Error::invalid("invalid filter '{}'", k));
    int64_t since = 0, until = 0;
    if (auto s = req.query_value("since"); s && !s->empty()) {
      auto t = engine::parse_event_time(*s);
      if (!t) return res.error(Error::invalid("invalid value for since: {:?}", *s));
      since = *t;
    }
    if (auto u = req.query_value("until"); u && !u->empty()) {
      auto t = engine::parse_event_time(*u);
      if (!t) return res.error(Error::invalid("invalid value for until: {:?}", *u));
      until = *t;
    }
    auto sub = ctx.events->subscribe(since, *filters);
    if (!res.begin_stream(200, "application/json")) return;
    for (;;) {
      auto e = sub->next(std::chrono::milliseconds(250));
      if (e) {
        if (until && e->time_nano > until) break;
        if (!res.write_json(e->to_json())) return;
        continue;
      }
      if (until && static_cast<int64_t>(std::time(nullptr)) * 1000000000 >= until) break;
      if (res.client_gone()) return;
    }
    (void)res.end_stream();
  });
}

}  // namespace berth::api
