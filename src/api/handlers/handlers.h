// Route registration, one function per API resource (one file each).
#pragma once

#include <ctime>
#include <string>

#include "api/policy.h"
#include "api/router.h"
#include "base/strings.h"
#include "engine/container_store.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/health.h"
#include "image/image_store.h"

namespace berth::api {

// What the handlers share: the daemon's stores and settings.
struct DaemonContext {
  image::ImageStore* images = nullptr;
  engine::EventBus* events = nullptr;
  engine::ContainerStore* containers = nullptr;
  engine::Engine* engine = nullptr;
  engine::HealthMonitor* health = nullptr;  // State.Health; may be null
  Policy policy;  // for callers other than root
  std::string data_root;
  std::string exec_root;
  std::string runtime_path;
  std::time_t started = 0;
};

void add_system_routes(Router& r, DaemonContext& ctx);
void add_image_routes(Router& r, DaemonContext& ctx);
void add_container_routes(Router& r, DaemonContext& ctx);
// attach, exec create/start/resize/inspect (attach.cpp); before
// add_container_routes.
void add_attach_routes(Router& r, DaemonContext& ctx);
// top, stats, pause/unpause, changes, export, commit, prune, resize
// (container_ops.cpp); registered before add_container_routes.
void add_container_op_routes(Router& r, DaemonContext& ctx);
void add_event_routes(Router& r, DaemonContext& ctx);

// The entries of /images/json and /containers/json, which /system/df
// (system.cpp) lists too, with its sizes and counts added.
Json image_summary(const image::ImageRecord& rec, const image::ImageConfig* cfg);
Json container_summary(const engine::ContainerRecord& c, const engine::HealthMonitor* health);
// The same entry as JSON text, appended to `out`.
void append_container_summary(std::string& out, const engine::ContainerRecord& c,
                              const engine::HealthMonitor* health);

// RFC 3339 → unix seconds, 0 when empty or malformed (Docker's "Created").
inline int64_t unix_seconds(std::string_view rfc3339) {
  return parse_rfc3339_seconds(rfc3339).value_or(0);
}

}  // namespace berth::api
