#include "runtime/mount_options.h"

#include <sys/mount.h>

#include <string_view>

namespace berth::runtime {
namespace {

// MS_* flags: `clear` false sets them, true clears them.
struct FlagOption {
  std::string_view name;
  bool clear;
  unsigned long flag;
  bool atime;
};

constexpr FlagOption kFlags[] = {
    {"defaults", false, 0, false},
    {"ro", false, MS_RDONLY, false},
    {"rw", true, MS_RDONLY, false},
    {"nosuid", false, MS_NOSUID, false},
    {"suid", true, MS_NOSUID, false},
    {"nodev", false, MS_NODEV, false},
    {"dev", true, MS_NODEV, false},
    {"noexec", false, MS_NOEXEC, false},
    {"exec", true, MS_NOEXEC, false},
    {"sync", false, MS_SYNCHRONOUS, false},
    {"async", true, MS_SYNCHRONOUS, false},
    {"dirsync", false, MS_DIRSYNC, false},
    {"remount", false, MS_REMOUNT, false},
    {"mand", false, MS_MANDLOCK, false},
    {"nomand", true, MS_MANDLOCK, false},
    {"noatime", false, MS_NOATIME, true},
    {"atime", true, MS_NOATIME, true},
    {"nodiratime", false, MS_NODIRATIME, true},
    {"diratime", true, MS_NODIRATIME, true},
    {"relatime", false, MS_RELATIME, true},
    {"norelatime", true, MS_RELATIME, true},
    {"strictatime", false, MS_STRICTATIME, true},
    {"nostrictatime", true, MS_STRICTATIME, true},
    {"lazytime", false, MS_LAZYTIME, false},
    {"nolazytime", true, MS_LAZYTIME, false},
    {"silent", false, MS_SILENT, false},
    {"loud", true, MS_SILENT, false},
    {"nosymfollow", false, MS_NOSYMFOLLOW, false},
    {"symfollow", true, MS_NOSYMFOLLOW, false},
    {"bind", false, MS_BIND, false},
    {"rbind", false, MS_BIND | MS_REC, false},
};

constexpr struct {
  std::string_view name;
  unsigned long flag;
} kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

// The atime mode is one field of three values in mount_setattr(2): to change
// it the whole MOUNT_ATTR__ATIME mask must be in attr_clr, and MOUNT_ATTR_RELATIME
// is 0 (the default mode).
constexpr struct {
  std::string_view name;
  bool clear;
  uint64_t attr;
  bool atime_mode;
} kRecursive[] = {
    {"rro", false, MOUNT_ATTR_RDONLY, false},
    {"rrw", true, MOUNT_ATTR_RDONLY, false},
    {"rnosuid", false, MOUNT_ATTR_NOSUID, false},
    {"rsuid", true, MOUNT_ATTR_NOSUID, false},
    {"rnodev", false, MOUNT_ATTR_NODEV, false},
    {"rdev", true, MOUNT_ATTR_NODEV, false},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC, false},
    {"rexec", true, MOUNT_ATTR_NOEXEC, false},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME, false},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME, false},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW, false},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW, false},
    // atime modes: the value set after clearing the mask.
    {"rnoatime", false, MOUNT_ATTR_NOATIME, true},
    {"ratime", false, MOUNT_ATTR_RELATIME, true},
    {"rrelatime", false, MOUNT_ATTR_RELATIME, true},
    {"rnorelatime", false, MOUNT_ATTR_STRICTATIME, true},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME, true},
    {"rnostrictatime", false, MOUNT_ATTR_RELATIME, true},
};

bool apply_recursive(std::string_view o, MountOptions& m) {
  for (const auto& r : kRecursive) {
    if (r.name != o) continue;
    if (r.atime_mode) {
      m.rec_attr_set &= ~static_cast<uint64_t>(MOUNT_ATTR__ATIME);
      m.rec_attr_set |= r.attr;
      m.rec_attr_clr |= MOUNT_ATTR__ATIME;
    } else if (r.clear) {
      m.rec_attr_set &= ~r.attr;
      m.rec_attr_clr |= r.attr;
    } else {
      m.rec_attr_set |= r.attr;
      m.rec_attr_clr &= ~r.attr;
    }
    return true;
  }
  return false;
}

}  // namespace

bool MountOptions::is_bind() const { return (flags & MS_BIND) != 0; }

unsigned long MountOptions::remount_flags() const {
  return flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
}

unsigned long propagation_flag(const std::string& name) {
  for (const auto& p : kPropagation) {
    if (p.name == name) return p.flag;
  }
  return 0;
}

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions m;
  std::string data;
  for (const auto& o : options) {
    bool known = false;
    for (const auto& f : kFlags) {
      if (f.name != o) continue;
      if (f.clear) {
        m.flags &= ~f.flag;
        m.cleared |= f.flag;
      } else {
        m.flags |= f.flag;
        m.cleared &= ~f.flag;
      }
      m.atime_given |= f.atime;
      known = true;
      break;
    }
    if (known) continue;
    if (unsigned long p = propagation_flag(o)) {
      m.propagation.push_back(p);
      continue;
    }
    if (apply_recursive(o, m)) continue;
    if (o == "idmap") {
      m.idmap = true;
    } else if (o == "ridmap") {
      m.idmap = m.recursive_idmap = true;
    } else if (o == "tmpcopyup") {
      m.tmpcopyup = true;
    } else if (!o.empty()) {
      if (!data.empty()) data += ',';
      data += o;
    }
  }
  m.data = std::move(data);
  return m;
}

}  // namespace berth::runtime
