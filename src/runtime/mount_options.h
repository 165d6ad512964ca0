// Mount options of config.json "mounts[].options", as runc and mount(8) know them.
//
// Grammar: each option is one word.
//   flag        ro rw suid nosuid dev nodev exec noexec sync async dirsync
//               remount mand nomand atime noatime diratime nodiratime relatime
//               norelatime strictatime nostrictatime lazytime nolazytime
//               silent loud nosymfollow symfollow bind rbind defaults
//   propagation private rprivate shared rshared slave rslave unbindable
//               runbindable   (applied after the mount, in the order given)
//   recursive   rro rrw rnosuid rsuid rnodev rdev rnoexec rexec rnoatime ratime
//               rrelatime rnorelatime rstrictatime rnostrictatime rnodiratime
//               rdiratime rnosymfollow rsymfollow   (mount_setattr(2) with
//               AT_RECURSIVE, so that every submount of an rbind gets them)
//   special     idmap ridmap tmpcopyup
//   anything else (e.g. "size=64m", "mode=755") is file-system data, joined
//   with commas and passed to mount(2).
// A later option overrides an earlier one ("ro,rw" is rw).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::runtime {

struct MountOptions {
  unsigned long flags = 0;    // MS_* to set (MS_BIND, MS_REC, MS_RDONLY, ...)
  unsigned long cleared = 0;  // MS_* the user explicitly turned off (rw, suid, ...)
  bool atime_given = false;   // some atime option was named (then the source's is not kept)
  std::vector<unsigned long> propagation;  // MS_PRIVATE|MS_REC, MS_SLAVE, ...
  uint64_t rec_attr_set = 0;  // MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE)
  uint64_t rec_attr_clr = 0;
  bool idmap = false;
  bool recursive_idmap = false;
  bool tmpcopyup = false;
  std::string data;  // comma-joined file-system options

  bool is_bind() const;
  bool has_rec_attr() const { return rec_attr_set != 0 || rec_attr_clr != 0; }
  // Flags that need a MS_REMOUNT after a bind (the bind ignores them).
  unsigned long remount_flags() const;
};

MountOptions parse_mount_options(const std::vector<std::string>& options);

// "rprivate" → MS_PRIVATE|MS_REC, ""/unknown → 0.
unsigned long propagation_flag(const std::string& name);

}  // namespace berth::runtime
