// linux.seccomp → a BPF filter through libseccomp.
//
// Semantics follow runc, which the configs in the wild are written for:
//  - a syscall name libseccomp does not know is skipped (debug log): profiles
//    list calls of newer kernels and other architectures;
//  - a rule whose action equals the default action is skipped (libseccomp
//    refuses it, and it changes nothing);
//  - conditions on the same argument index are alternatives (one rule each),
//    conditions on different indexes must all hold (one rule together);
//  - no_new_privs is left to the caller (SCMP_FLTATR_CTL_NNP = 0).
#pragma once

#include <string>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

// Build the filter and return it as a BPF program (struct sock_filter
// array), without loading it: checks a profile, and lets tests compare.
Result<std::string> seccomp_bpf(const oci::Seccomp& seccomp);

// load_seccomp (process_setup.h) builds the same filter and loads it into
// the calling process.

}  // namespace berth::runtime
