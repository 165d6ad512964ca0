// What `spec` writes and what `features` prints. The default config matches
// `runc spec` field for field, so that tutorials written for runc work.
#include <sys/vfs.h>
#include <unistd.h>

#include "oci/known.h"
#include "oci/spec.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace berth::oci {
namespace {

// runc adds a cgroup namespace only on a pure cgroup v2 host: with v1
// hierarchies a private cgroup view needs per-controller work.
bool cgroup2_unified() {
  struct statfs st {};
  return statfs("/sys/fs/cgroup", &st) == 0 &&
         static_cast<unsigned long>(st.f_type) == CGROUP2_SUPER_MAGIC;
}

Json mount(const char* dest, const char* type, const char* source,
           std::vector<std::string> options) {
  Json m = {{"destination", dest}, {"type", type}, {"source", source}};
  if (!options.empty()) m["options"] = std::move(options);
  return m;
}

}  // namespace

Json default_spec(bool rootless) {
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  Json process = {
      {"terminal", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", {"sh"}},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
      {"cwd", "/"},
      // Inheritable and ambient stay empty: CVE-2022-29162 showed that a
      // non-empty inheritable set lets file capabilities of the image leak in.
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", Json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };

  Json mounts = Json::array();
  mounts.push_back(mount("/proc", "proc", "proc", {}));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  // Rootless: the owner's gid 5 (tty) is unmapped, so devpts would refuse gid=5.
  std::vector<std::string> pts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  if (!rootless) pts.push_back("gid=5");
  mounts.push_back(mount("/dev/pts", "devpts", "devpts", pts));
  mounts.push_back(mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (rootless) {
    // A user namespace that does not own the network namespace may not mount sysfs.
    mounts.push_back(mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  } else {
    mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  }
  mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup",
                         {"nosuid", "noexec", "nodev", "relatime", "ro"}));

  Json namespaces = Json::array();
  for (const char* t : {"pid", "network", "ipc", "uts", "mount"}) {
    if (rootless && std::string_view(t) == "network") continue;
    namespaces.push_back({{"type", t}});
  }
  if (cgroup2_unified()) namespaces.push_back({{"type", "cgroup"}});

  Json linux_ = {
      {"namespaces", namespaces},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi", "/sys/devices/virtual/powercap"}},
      {"readonlyPaths",
       {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  if (rootless) {
    linux_["namespaces"].push_back({{"type", "user"}});
    linux_["uidMappings"] = Json::array({{{"containerID", 0}, {"hostID", geteuid()}, {"size", 1}}});
    linux_["gidMappings"] = Json::array({{{"containerID", 0}, {"hostID", getegid()}, {"size", 1}}});
  } else {
    linux_["resources"] = {{"devices", Json::array({{{"allow", false}, {"access", "rwm"}}})}};
  }

  return {
      {"ociVersion", kOciVersionMax},
      {"process", process},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "berth"},
      {"mounts", mounts},
      {"linux", linux_},
  };
}

Json features() {
  Json linux_ = {
      {"namespaces", known_namespaces()},
      {"capabilities", known_capabilities()},
      {"cgroup",
       {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
      {"seccomp",
       {{"enabled", true},
        {"actions", known_seccomp_actions()},
        {"operators", known_seccomp_operators()},
        {"archs", known_seccomp_archs()},
        {"knownFlags", known_seccomp_flags()},
        {"supportedFlags", supported_seccomp_flags()}}},
      {"apparmor", {{"enabled", false}}},
      {"selinux", {{"enabled", false}}},
      {"intelRdt", {{"enabled", false}}},
      {"mountExtensions", {{"idmap", {{"enabled", false}}}}},
  };
  return {
      {"ociVersionMin", kOciVersionMin},
      {"ociVersionMax", kOciVersionMax},
      {"hooks", known_hooks()},
      {"mountOptions", known_mount_options()},
      {"linux", linux_},
      {"annotations", Json::object()},
  };
}

}  // namespace berth::oci
