// OCI hooks: prestart, createRuntime, createContainer, startContainer,
// poststart, poststop. Each hook is run with the container's state JSON on its
// stdin, its own args and env, and killed when its timeout (seconds) passes.
// A failing hook fails the step that runs it (except poststop, whose failures
// are logged).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

Result<void> run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                       const char* kind);

}  // namespace berth::runtime
