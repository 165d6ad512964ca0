// linux.seccomp → a BPF filter through libseccomp.
//
// Semantics follow runc, which the configs in the wild are written for:
//  - a syscall name libseccomp does not know is skipped (debug log): profiles
//    list calls of newer kernels and other architectures;
//  - a rule whose action equals the default action is skipped (libseccomp
//    refuses it, and it changes nothing);
//  - conditions on the same argument index are alternatives (one rule each),
//    conditions on different indexes must all hold (one rule together);
//  - no_new_privs is left to the caller: the program is loaded with
//    seccomp(2), which never sets it.
#pragma once

#include <string>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

// Build the filter and return it as a BPF program (struct sock_filter
// array), without loading it: checks a profile, and lets tests compare.
Result<std::string> seccomp_bpf(const oci::Seccomp& seccomp);

// A filter ready to load: the BPF program and its seccomp(2) flags
// (SECCOMP_FILTER_FLAG_* from linux.seccomp.flags).
struct SeccompProgram {
  std::string bpf;
  unsigned flags = 0;
};

// The program for a profile, compiled by libseccomp or, when `cache_dir`
// is not empty, taken from the cache there (the runtime's root): compiling
// Docker's profile costs ~15-20 ms, most of a container's start. The key
// is the whole profile with libseccomp's version, the kernel release and
// the native architecture; an entry holds its key (compared in full) and a
// checksum of its program, and one that does not match is compiled again.
// The cache is written best effort (a failure is logged, the program still
// returned).
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& seccomp, const std::string& cache_dir);

// Loads a program into the calling thread with seccomp(2) (needs
// no_new_privs or CAP_SYS_ADMIN). load_seccomp (process_setup.h) is
// compile_seccomp without a cache, then this.
Result<void> load_seccomp_program(const SeccompProgram& program);

}  // namespace berth::runtime
