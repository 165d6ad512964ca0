// Container operations beyond the lifecycle: top, stats, pause/unpause,
// changes, export, commit, prune, resize.
#include "api/handlers/handlers.h"

namespace berth::api {

void add_container_op_routes(Router&, DaemonContext&) {}

}  // namespace berth::api
