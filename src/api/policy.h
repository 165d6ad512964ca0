// Policy: what a caller who is not root may ask of berthd. The API socket
// is a door to root (the docker-group escalation: `docker run --privileged
// -v /:/host` is root on the host), so every create request from a non-root
// caller is checked against these rules, from the daemon's config, whose
// defaults forbid everything that reaches past a default container. Root
// may do anything.
//
// Usage:
//   auto p = BERTH_TRY(parse_policy(config_json["policy"]));
//   BERTH_TRY(check_create(p, req.caller, body));   // PermissionDenied → 403
#pragma once

#include <string>
#include <vector>

#include "api/http.h"
#include "base/json.h"
#include "base/result.h"

namespace berth::api {

struct Policy {
  bool allow_privileged = false;
  bool allow_host_namespaces = false;  // network, pid, ipc, uts, userns, cgroupns = host
  bool allow_devices = false;          // --device, --device-cgroup-rule
  bool allow_unconfined = false;       // seccomp/apparmor=unconfined, label=disable, systempaths
  // Capabilities beyond Docker's default 14 that may be added ("CAP_NET_ADMIN").
  std::vector<std::string> allowed_capabilities;
  // Host directories (and what lies below them) that may be bind-mounted.
  std::vector<std::string> allowed_bind_paths;
};

// {"allow_privileged": bool, ..., "allowed_capabilities": [...],
//  "allowed_bind_paths": [...]}; a missing object is the default policy.
Result<Policy> parse_policy(const Json& j);

// The rule a create request breaks, as PermissionDenied naming it; ok() for
// root and for requests within the policy.
Result<void> check_create(const Policy& p, const Caller& caller, const Json& body);

}  // namespace berth::api
