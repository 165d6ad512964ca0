// The cgroup v2 device controller: an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE, written as raw instructions and loaded with
// bpf(2) directly. The runtime links fully static and needs five
// instructions per rule; libbpf would bring an ELF loader for nothing.
//
// Semantics (those of the v1 devices controller, which runc's emulator
// reproduces): rules are applied in order and a later rule overrides an
// earlier one for the access bits it names; what no rule allows is denied.
// The program walks the rules from last to first, keeping the requested
// access bits that no later rule has decided yet:
//   allow rule matching type/major/minor: clear its bits; none left → allow
//   deny rule matching and sharing a bit with those left → deny
//   end of list → deny
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

std::vector<bpf_insn> device_program(const std::vector<oci::DeviceRule>& rules);

// BPF_PROG_LOAD; on failure the error carries the verifier's log.
Result<Fd> load_device_program(const std::vector<bpf_insn>& insns);

// Attach `prog` to the cgroup directory (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI),
// then detach every program that was attached before: the cgroup is never
// without a filter in between.
Result<void> replace_device_program(const std::string& cgroup_dir, int prog_fd);

// IDs of the device programs attached to the cgroup (BPF_PROG_QUERY).
Result<std::vector<uint32_t>> attached_device_programs(int cgroup_fd);

}  // namespace berth::runtime
