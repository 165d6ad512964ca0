// Capabilities of the container process: the five sets of
// process.capabilities, applied in two steps because of setuid.
//
// The bounding set can only shrink, and only with CAP_SETPCAP in the
// effective set, so it is applied while the process is still root
// (apply_bounding_set). Changing to a non-root uid clears the effective set
// and, without PR_SET_KEEPCAPS, the permitted one; set_identity runs between
// the two steps with keep-caps on, and apply_capability_sets then installs
// effective, permitted, inheritable and ambient exactly as listed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

// Highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap).
int last_capability();

// A set of capabilities as a bit mask (bit N = capability N), resolved from
// the names of one list of the config. `field` names that list in errors
// ("process.capabilities.bounding"). Names the kernel does not know are
// skipped with a warning (runtime-tools' configs list every cap of the newest
// kernels); a known cap missing from this runtime's own bounding set is an
// error, since granting less than asked would be silent.
Result<uint64_t> capability_mask(const std::vector<std::string>& names, const std::string& field);

// Drop every capability not in caps.bounding from the bounding set.
Result<void> apply_bounding_set(const oci::Capabilities& caps);
// Set effective, permitted and inheritable through capset, then raise each
// ambient capability (it must be in permitted and inheritable).
Result<void> apply_capability_sets(const oci::Capabilities& caps);

// The calling thread's sets, as capget reports them.
struct CapabilitySets {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};
Result<CapabilitySets> current_capabilities();

}  // namespace berth::runtime
