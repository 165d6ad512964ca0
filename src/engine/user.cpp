#include "engine/user.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "base/fd.h"
#include "base/file.h"
#include "base/strings.h"

namespace berth::engine {
namespace {

// Docker's (and the kernel's usual) ceiling: ids above it are reserved.
constexpr uint64_t kMaxId = 2147483647;

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// name:password:uid:gid:gecos:home:shell; malformed lines are skipped as
// libc's getpwent does.
std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(trim(line), ':');
    if (f.size() < 4 || f[0].empty() || f[0][0] == '#') continue;
    auto uid = parse_uint(f[2]);
    auto gid = parse_uint(f[3]);
    if (!uid || !gid || *uid > kMaxId || *gid > kMaxId) continue;
    out.push_back({f[0], static_cast<uint32_t>(*uid), static_cast<uint32_t>(*gid),
                   f.size() > 5 ? f[5] : ""});
  }
  return out;
}

// name:password:gid:member,member
std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(trim(line), ':');
    if (f.size() < 3 || f[0].empty() || f[0][0] == '#') continue;
    auto gid = parse_uint(f[2]);
    if (!gid || *gid > kMaxId) continue;
    GroupEntry g{f[0], static_cast<uint32_t>(*gid), {}};
    if (f.size() > 3 && !f[3].empty()) {
      for (const auto& m : split(f[3], ',')) {
        if (!trim(m).empty()) g.members.emplace_back(trim(m));
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

// A decimal id, or nullopt when the text is a name. "-1" and "99999999999"
// are neither: they are errors.
Result<std::optional<uint32_t>> numeric_id(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '-'; }))
    return std::optional<uint32_t>();
  auto v = parse_int(s);
  if (!v || *v < 0 || static_cast<uint64_t>(*v) > kMaxId)
    return Error::invalid("uids and gids must be in range 0-{}: {:?}", kMaxId, s);
  return std::optional<uint32_t>(static_cast<uint32_t>(*v));
}

// Missing file → empty text: an image without /etc/group is common.
Result<std::string> read_optional(int dirfd, std::string_view path) {
  auto r = read_rootfs_file(dirfd, path);
  if (!r.ok() && r.error().code() == ErrorCode::NotFound) return std::string();
  return r;
}

Result<uint32_t> lookup_group(const std::vector<GroupEntry>& groups, std::string_view g) {
  if (auto id = BERTH_TRY(numeric_id(g))) return *id;
  for (const auto& e : groups) {
    if (e.name == g) return e.gid;
  }
  return Error::invalid("unable to find group {}: no matching entries in group file", g);
}

}  // namespace

Result<std::string> read_rootfs_file(int rootfs_dirfd, std::string_view path, size_t max_size) {
  struct open_how how {};
  // O_NONBLOCK: a FIFO planted at /etc/passwd must not hang the daemon.
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  std::string rel(path);
  long fd = syscall(SYS_openat2, rootfs_dirfd, rel.c_str(), &how, sizeof(how));
  if (fd < 0) return Error::sys(errno, "open {} in the container's root", path);
  Fd f(static_cast<int>(fd));
  struct stat st {};
  if (fstat(f.get(), &st) != 0) return Error::sys(errno, "stat {}", path);
  if (!S_ISREG(st.st_mode)) return Error::invalid("{} in the image is not a regular file", path);
  if (static_cast<size_t>(st.st_size) > max_size)
    return Error::invalid("{} in the image is too large ({} bytes)", path, st.st_size);
  return read_fd(f.get());
}

Result<ResolvedUser> resolve_user(int rootfs_dirfd, std::string_view user_spec,
                                  const std::vector<std::string>& group_add) {
  std::string_view user = user_spec, group;
  bool group_given = false;
  if (auto colon = user_spec.find(':'); colon != std::string_view::npos) {
    user = user_spec.substr(0, colon);
    group = user_spec.substr(colon + 1);
    group_given = true;
    if (group.empty()) return Error::invalid("invalid user {:?}: empty group", user_spec);
  }
  if (user.empty() && group_given) return Error::invalid("invalid user {:?}: empty user", user_spec);

  auto passwd = parse_passwd(BERTH_TRY(read_optional(rootfs_dirfd, "/etc/passwd")));
  auto groups = parse_group(BERTH_TRY(read_optional(rootfs_dirfd, "/etc/group")));

  ResolvedUser out;
  out.home = "/";
  const PasswdEntry* entry = nullptr;
  auto uid = BERTH_TRY(numeric_id(user.empty() ? "0" : user));
  for (const auto& e : passwd) {
    if (uid ? e.uid == *uid : e.name == user) {
      entry = &e;
      break;
    }
  }
  if (!uid && !entry)
    return Error::invalid("unable to find user {}: no matching entries in passwd file", user);
  if (entry) {
    out.uid = entry->uid;
    out.gid = entry->gid;
    out.name = entry->name;
    if (!entry->home.empty()) out.home = entry->home;
  } else {
    out.uid = *uid;  // a numeric uid the image does not know: gid 0, as Docker
  }
  if (group_given) out.gid = BERTH_TRY(lookup_group(groups, group));

  // The primary group first, then the groups naming the user as a member
  // (only when no group was given, as runc's lookup does), then GroupAdd:
  // `docker run busybox id` shows groups=0(root),10(wheel).
  auto add = [&](uint32_t gid) {
    if (std::find(out.additional_gids.begin(), out.additional_gids.end(), gid) == out.additional_gids.end())
      out.additional_gids.push_back(gid);
  };
  add(out.gid);
  if (!group_given && !out.name.empty()) {
    for (const auto& g : groups) {
      if (std::find(g.members.begin(), g.members.end(), out.name) != g.members.end()) add(g.gid);
    }
  }
  for (const auto& g : group_add) {
    add(BERTH_TRY(lookup_group(groups, g)));
  }
  return out;
}

}  // namespace berth::engine
