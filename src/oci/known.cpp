#include "oci/known.h"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <utility>

#include "oci/spec.h"

// glibc 2.36 (Debian 12) has no CLONE_NEWTIME yet; the kernel value is stable.
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::oci {

bool contains(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

const std::vector<std::string>& known_capabilities() {
  // Order is the kernel's numbering (include/uapi/linux/capability.h).
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",           "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
      "CAP_FSETID",          "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
      "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
      "CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
      "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
      "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
      "CAP_LEASE",           "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
      "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE",
  };
  return caps;
}

int capability_number(std::string_view name) {
  const auto& caps = known_capabilities();
  auto it = std::find(caps.begin(), caps.end(), name);
  return it == caps.end() ? -1 : static_cast<int>(it - caps.begin());
}

bool is_capability_name(std::string_view name) {
  if (name.size() <= 4 || name.substr(0, 4) != "CAP_") return false;
  return std::all_of(name.begin() + 4, name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

const std::vector<std::string>& known_namespaces() {
  static const std::vector<std::string> v = {"pid", "network", "ipc", "uts",
                                             "mount", "user", "cgroup", "time"};
  return v;
}

int namespace_flag(std::string_view type) {
  static const std::pair<std::string_view, int> flags[] = {
      {"pid", CLONE_NEWPID},   {"network", CLONE_NEWNET},  {"ipc", CLONE_NEWIPC},
      {"uts", CLONE_NEWUTS},   {"mount", CLONE_NEWNS},     {"user", CLONE_NEWUSER},
      {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
  };
  for (const auto& [name, flag] : flags)
    if (name == type) return flag;
  return 0;
}

const std::vector<std::string>& known_hooks() {
  static const std::vector<std::string> v = {"prestart",       "createRuntime", "createContainer",
                                             "startContainer", "poststart",     "poststop"};
  return v;
}

const std::vector<std::string>& known_mount_options() {
  static const std::vector<std::string> v = {
      "async",      "atime",         "bind",      "defaults",      "dev",
      "diratime",   "dirsync",       "exec",      "idmap",         "iversion",
      "lazytime",   "loud",          "mand",      "noatime",       "nodev",
      "nodiratime", "noexec",        "noiversion", "nolazytime",   "nomand",
      "norelatime", "nostrictatime", "nosuid",    "nosymfollow",   "private",
      "ratime",     "rbind",         "rdev",      "rdiratime",     "relatime",
      "remount",    "rexec",         "ridmap",    "rnoatime",      "rnodev",
      "rnodiratime", "rnoexec",      "rnorelatime", "rnostrictatime", "rnosuid",
      "rnosymfollow", "ro",          "rprivate",  "rrelatime",     "rro",
      "rrw",        "rshared",       "rslave",    "rstrictatime",  "rsuid",
      "rsymfollow", "runbindable",   "rw",        "shared",        "silent",
      "slave",      "strictatime",   "suid",      "symfollow",     "sync",
      "tmpcopyup",  "unbindable",
  };
  return v;
}

const std::vector<std::string>& known_propagations() {
  static const std::vector<std::string> v = {"shared",  "slave",  "private",  "unbindable",
                                             "rshared", "rslave", "rprivate", "runbindable"};
  return v;
}

namespace {
const std::pair<const char*, int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};
}  // namespace

int rlimit_resource(std::string_view name) {
  for (const auto& [n, r] : kRlimits)
    if (name == n) return r;
  return -1;
}

const std::vector<std::string>& known_rlimits() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> out;
    for (const auto& [n, r] : kRlimits) out.emplace_back(n);
    return out;
  }();
  return v;
}

const std::vector<std::string>& known_seccomp_actions() {
  static const std::vector<std::string> v = {
      "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO",        "SCMP_ACT_KILL",        "SCMP_ACT_KILL_PROCESS",
      "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",    "SCMP_ACT_NOTIFY",      "SCMP_ACT_TRACE",
      "SCMP_ACT_TRAP",
  };
  return v;
}

const std::vector<std::string>& known_seccomp_operators() {
  static const std::vector<std::string> v = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                             "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                                             "SCMP_CMP_NE"};
  return v;
}

const std::vector<std::string>& known_seccomp_archs() {
  static const std::vector<std::string> v = {
      "SCMP_ARCH_AARCH64",  "SCMP_ARCH_ARM",       "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
      "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",    "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL",
      "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64",
      "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_RISCV64",
      "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",     "SCMP_ARCH_SH",          "SCMP_ARCH_SHEB",
      "SCMP_ARCH_X32",      "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",
  };
  return v;
}

const std::vector<std::string>& known_seccomp_flags() {
  static const std::vector<std::string> v = {
      "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  return v;
}

const std::vector<std::string>& supported_seccomp_flags() {
  static const std::vector<std::string> v = {"SECCOMP_FILTER_FLAG_LOG",
                                             "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                             "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  return v;
}

}  // namespace berth::oci
