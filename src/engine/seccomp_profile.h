// Berth's default seccomp profile: the same effect as Docker's default
// profile (moby/profiles), kept as a C++ table of syscall groups instead of a
// JSON file, and turned into the OCI linux.seccomp section for one container.
//
// Deliberate differences from Docker 20.10 (the dockerd on our test hosts):
// io_uring_* is never allowed and socket(2) refuses AF_ALG (38) and AF_VSOCK
// (40), as current moby does; io_uring has been the source of a long run of
// kernel privilege escalations, and both socket families reach kernel code
// that a container has no need for.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace berth::engine {

// When a group applies. Arch names are Docker's (GOARCH): amd64 arm64 arm
// x86 x32 ppc64le s390 s390x riscv64; they are compared with the native
// architecture only, as moby does.
struct SeccompGate {
  std::vector<std::string_view> arches;          // empty: every architecture
  std::vector<std::string_view> except_arches;
  std::string_view with_cap;                     // only when the container holds it
  std::string_view without_cap;                  // only when it does not
};

// One argument comparison; a group with several of them emits one rule per
// comparison, so they are alternatives (any one allows the call).
struct SeccompArgTest {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string_view op;  // SCMP_CMP_*
};

struct SeccompGroup {
  std::string_view purpose;
  std::vector<std::string_view> names;
  SeccompGate gate;
  std::vector<SeccompArgTest> any_of;  // empty: unconditional
  std::string_view action = "SCMP_ACT_ALLOW";
  uint32_t errno_ret = 0;  // for SCMP_ACT_ERRNO
};

// The table, in the order the rules are emitted.
const std::vector<SeccompGroup>& default_seccomp_groups();

// The native architecture in Docker's naming, from uname(2).
std::string native_seccomp_arch();

// The OCI linux.seccomp object for a container holding `caps` (its bounding
// set, "CAP_*") on architecture `arch`.
Json default_seccomp_profile(const std::vector<std::string>& caps, std::string_view arch);

// A profile given with --security-opt seccomp=<json>, in Docker's format
// (defaultAction, architectures or archMap, syscalls with includes/excludes),
// checked and turned into the OCI object for this container.
Result<Json> seccomp_from_docker_profile(std::string_view text,
                                         const std::vector<std::string>& caps,
                                         std::string_view arch);

}  // namespace berth::engine
