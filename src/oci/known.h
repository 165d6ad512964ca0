// The names the OCI runtime spec lets a config.json use, in one place: the
// parser validates against them, `features` prints them, and the runtime maps
// them to kernel numbers with the lookups below.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::oci {

// Every capability the kernel defines (6.x), indexed by its number:
// known_capabilities()[21] == "CAP_SYS_ADMIN".
const std::vector<std::string>& known_capabilities();
// "CAP_SYS_ADMIN" → 21; -1 for a name this table lacks.
int capability_number(std::string_view name);
// Shape check only: CAP_ followed by [A-Z0-9_]+. A well-formed name this
// table lacks (a newer kernel's) is left to the runtime to judge.
bool is_capability_name(std::string_view name);

// Namespace types of config.json, in the order runc lists them.
const std::vector<std::string>& known_namespaces();
// Hook kinds in lifecycle order.
const std::vector<std::string>& known_hooks();
// Mount options the runtime interprets itself (flags, propagation, recursive
// attributes, idmap); anything else goes to the file system as data.
const std::vector<std::string>& known_mount_options();
// rootfsPropagation values.
const std::vector<std::string>& known_propagations();

// "RLIMIT_NOFILE" → RLIMIT_NOFILE; -1 for an unknown name.
int rlimit_resource(std::string_view name);
const std::vector<std::string>& known_rlimits();

const std::vector<std::string>& known_seccomp_actions();    // SCMP_ACT_*
const std::vector<std::string>& known_seccomp_operators();  // SCMP_CMP_*
const std::vector<std::string>& known_seccomp_archs();      // SCMP_ARCH_*
const std::vector<std::string>& known_seccomp_flags();      // SECCOMP_FILTER_FLAG_*
// The flags the runtime applies (TSYNC is accepted but means nothing for a
// single-threaded runtime).
const std::vector<std::string>& supported_seccomp_flags();

bool contains(const std::vector<std::string>& list, std::string_view name);

}  // namespace berth::oci
