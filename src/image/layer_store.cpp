#include "image/layer_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>

#include "base/digest.h"
#include "base/file.h"
#include "sys/tree.h"

namespace berth::image {

namespace {

Result<Fd> open_subdir(int parent, const char* name, const std::string& shown, int mode = 0700) {
  if (mkdirat(parent, name, mode) != 0 && errno != EEXIST)
    return Error::sys(errno, "mkdir {}", shown);
  int fd = openat(parent, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "open {}", shown);
  return Fd(fd);
}

std::string random_token(size_t n) {
  // Short names for the legacy mount: letters and digits only, so they need
  // no escaping in overlay's option string.
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string s;
  for (size_t i = 0; i < n; i++) s.push_back(kAlphabet[rng() % 36]);
  return s;
}

std::string hex_of(const std::string& chain_id) { return std::string(digest_hex(chain_id)); }

}  // namespace

// --- PendingLayer ---------------------------------------------------------

PendingLayer::~PendingLayer() {
  if (store_ == nullptr || name_.empty()) return;
  diff_fd_.reset();
  (void)sys::remove_tree_at(store_->tmp_fd_.get(), name_);
}

Result<ApplyStats> PendingLayer::apply(int blob_fd, const ApplyOptions& opts) {
  return apply_layer(diff_fd_.get(), blob_fd, opts);
}

Result<void> PendingLayer::commit(const std::string& chain_id) {
  BERTH_TRY(check_digest(chain_id));
  std::string hex = hex_of(chain_id);
  int tmp = store_->tmp_fd_.get();
  // The short link first: a layer directory without its link would break
  // the legacy mount; a link without its layer is removed by reconcile.
  std::string shortname = random_token(10);
  std::string link_target = "../" + hex + "/diff";
  if (symlinkat(link_target.c_str(), store_->links_fd_.get(), shortname.c_str()) != 0)
    return Error::sys(errno, "create short link for layer {}", chain_id);
  BERTH_TRY(write_file_atomic(fmt::format("{}/tmp/{}/link", store_->root_, name_), shortname));
  if (renameat2(tmp, name_.c_str(), store_->root_fd_.get(), hex.c_str(), RENAME_NOREPLACE) != 0) {
    int e = errno;
    unlinkat(store_->links_fd_.get(), shortname.c_str(), 0);
    if (e != EEXIST && e != ENOTEMPTY)
      return Error::sys(e, "rename layer into {}/{}", store_->root_, hex);
    return ok();  // the destructor drops our copy
  }
  fsync(store_->root_fd_.get());
  name_.clear();
  return ok();
}

// --- LayerStore -----------------------------------------------------------

Result<std::unique_ptr<LayerStore>> LayerStore::open(const std::string& root) {
  BERTH_TRY(mkdir_all(root, 0700));
  int rfd = ::open(root.c_str(), O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return Error::sys(errno, "open layer store {}", root);
  Fd root_fd(rfd);
  Fd tmp = BERTH_TRY(open_subdir(root_fd.get(), "tmp", root + "/tmp"));
  Fd links = BERTH_TRY(open_subdir(root_fd.get(), "l", root + "/l"));
  return std::unique_ptr<LayerStore>(
      new LayerStore(root, std::move(root_fd), std::move(tmp), std::move(links)));
}

std::string LayerStore::diff_path(const std::string& chain_id) const {
  return fmt::format("{}/{}/diff", root_, hex_of(chain_id));
}

bool LayerStore::has(const std::string& chain_id) const {
  if (!is_valid_digest(chain_id)) return false;
  struct stat st;
  return fstatat(root_fd_.get(), (hex_of(chain_id) + "/diff").c_str(), &st,
                 AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISDIR(st.st_mode);
}

Result<PendingLayer> LayerStore::begin() {
  std::string name = random_token(20);
  if (mkdirat(tmp_fd_.get(), name.c_str(), 0700) != 0)
    return Error::sys(errno, "mkdir {}/tmp/{}", root_, name);
  PendingLayer p(this, name, Fd());
  Fd dir(openat(tmp_fd_.get(), name.c_str(), O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return Error::sys(errno, "open {}/tmp/{}", root_, name);
  p.diff_fd_ = BERTH_TRY(open_subdir(dir.get(), "diff", fmt::format("{}/tmp/{}/diff", root_, name), 0755));
  return p;
}

Result<void> LayerStore::sync() {
  if (syncfs(root_fd_.get()) != 0) return Error::sys(errno, "syncfs {}", root_);
  return ok();
}

Result<void> LayerStore::remove(const std::string& chain_id) {
  BERTH_TRY(check_digest(chain_id));
  std::string hex = hex_of(chain_id);
  auto link = read_file(fmt::format("{}/{}/link", root_, hex));
  // Rename away first so a crash mid-removal never leaves a half layer
  // under its chain ID.
  std::string doomed = "rm-" + random_token(12);
  if (renameat(root_fd_.get(), hex.c_str(), tmp_fd_.get(), doomed.c_str()) != 0) {
    if (errno == ENOENT) return ok();
    return Error::sys(errno, "remove layer {}", chain_id);
  }
  if (link && !link->empty() && link->find('/') == std::string::npos)
    unlinkat(links_fd_.get(), link->c_str(), 0);
  return sys::remove_tree_at(tmp_fd_.get(), doomed);
}

Result<std::vector<std::string>> LayerStore::list() const {
  std::vector<std::string> out;
  int fd = openat(root_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "open {}", root_);
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return Error::sys(errno, "read {}", root_);
  }
  while (dirent* e = readdir(d)) {
    std::string id = std::string("sha256:") + e->d_name;
    if (is_valid_digest(id)) out.push_back(std::move(id));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Result<size_t> LayerStore::reconcile(const std::vector<std::string>& keep) {
  size_t removed = 0;
  // Everything in tmp/ belongs to an unpack or removal that never finished.
  {
    std::vector<std::string> names;
    int fd = openat(tmp_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error::sys(errno, "open {}/tmp", root_);
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      return Error::sys(errno, "read {}/tmp", root_);
    }
    while (dirent* e = readdir(d))
      if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
        names.emplace_back(e->d_name);
    closedir(d);
    for (const auto& n : names) BERTH_TRY(sys::remove_tree_at(tmp_fd_.get(), n));
  }
  std::set<std::string> wanted(keep.begin(), keep.end());
  for (const auto& chain : BERTH_TRY(list())) {
    if (wanted.count(chain)) continue;
    BERTH_TRY(remove(chain));
    removed++;
  }
  // Short links whose layer is gone.
  std::vector<std::string> links;
  int fd = openat(links_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "open {}/l", root_);
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return Error::sys(errno, "read {}/l", root_);
  }
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') links.emplace_back(e->d_name);
  closedir(d);
  for (const auto& l : links) {
    struct stat st;
    if (fstatat(links_fd_.get(), l.c_str(), &st, 0) != 0 && errno == ENOENT)
      unlinkat(links_fd_.get(), l.c_str(), 0);
  }
  return removed;
}

// --- mounting -------------------------------------------------------------

namespace {

int sys_fsopen(const char* fs, unsigned flags) { return static_cast<int>(syscall(SYS_fsopen, fs, flags)); }
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
int sys_fsmount(int fd, unsigned flags, unsigned attr) {
  return static_cast<int>(syscall(SYS_fsmount, fd, flags, attr));
}
int sys_move_mount(int from, const char* from_path, int to, const char* to_path, unsigned flags) {
  return static_cast<int>(syscall(SYS_move_mount, from, from_path, to, to_path, flags));
}

// The kernel's own reason for a failed fsconfig, from the fs context log.
std::string fs_context_message(int fsfd) {
  char buf[512];
  std::string out;
  for (;;) {
    ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
    if (n <= 0) break;
    buf[n] = '\0';
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace

Result<void> LayerStore::mount_new_api(const std::vector<std::string>& lowers,
                                       const std::string& upper, const std::string& work,
                                       const std::string& target) const {
  Fd fs(sys_fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) return Error::sys(errno, "fsopen overlay");
  auto set = [&](const char* key, const std::string& value) -> Result<void> {
    if (sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
      int e = errno;
      std::string why = fs_context_message(fs.get());
      return Error::sys(e, "overlay option {}={}{}", key, value, why.empty() ? "" : " (" + why + ")");
    }
    return ok();
  };
  for (const auto& l : lowers) BERTH_TRY(set("lowerdir+", l));
  if (!upper.empty()) {
    BERTH_TRY(set("upperdir", upper));
    BERTH_TRY(set("workdir", work));
  }
  BERTH_TRY(set("index", "off"));
  if (sys_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    int e = errno;
    std::string why = fs_context_message(fs.get());
    return Error::sys(e, "create overlay for {}{}", target, why.empty() ? "" : " (" + why + ")");
  }
  Fd mnt(sys_fsmount(fs.get(), FSMOUNT_CLOEXEC, upper.empty() ? MOUNT_ATTR_RDONLY : 0));
  if (!mnt) return Error::sys(errno, "fsmount overlay for {}", target);
  if (sys_move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return Error::sys(errno, "mount overlay on {}", target);
  return ok();
}

Result<void> LayerStore::mount_legacy(const std::vector<std::string>& chains,
                                      const std::string& upper, const std::string& work,
                                      const std::string& target) const {
  // mount(2) takes its options in one page; 10-character names relative to
  // the store ("l/ABCDEFGHIJ", 13 bytes with the separator) fit 300 layers.
  std::string data = "lowerdir=";
  for (size_t i = 0; i < chains.size(); i++) {
    auto link = read_file(fmt::format("{}/{}/link", root_, hex_of(chains[i])));
    if (!link) return link.error().context("layer {}", chains[i]);
    if (link->empty() || link->find_first_of("/:,") != std::string::npos)
      return Error::invalid("layer {}: bad short link {:?}", chains[i], *link);
    if (i) data += ':';
    data += "l/" + *link;
  }
  // Without an upper, overlay wants two lowers: pad with the empty one.
  if (upper.empty() && chains.size() == 1) data += ":empty";
  if (!upper.empty()) data += fmt::format(",upperdir={},workdir={}", upper, work);
  data += ",index=off";
  if (data.size() >= static_cast<size_t>(sysconf(_SC_PAGESIZE)))
    return Error::invalid("{} layers do not fit in one overlay mount on this kernel", chains.size());
  unsigned long flags = upper.empty() ? MS_RDONLY : 0;
  // The relative names need the store as the working directory; change it
  // in a child so the daemon's other threads never see another cwd.
  pid_t pid = fork();
  if (pid < 0) return Error::sys(errno, "fork for overlay mount");
  if (pid == 0) {
    if (fchdir(root_fd_.get()) != 0) _exit(errno);
    if (::mount("overlay", target.c_str(), "overlay", flags, data.c_str()) != 0) _exit(errno);
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status)) return Error::internal("overlay mount helper died");
  if (int e = WEXITSTATUS(status); e != 0) return Error::sys(e, "mount overlay on {}", target);
  return ok();
}

Result<void> LayerStore::mount(const std::vector<std::string>& chains, const std::string& upper,
                               const std::string& work, const std::string& target,
                               const MountOptions& opts) const {
  std::string up = opts.read_only ? "" : upper;
  if (!up.empty()) {
    BERTH_TRY(mkdir_all(up, 0755));
    BERTH_TRY(mkdir_all(work, 0700));
  }
  for (const auto& c : chains)
    if (!has(c)) return Error::not_found("layer {} is not unpacked", c);
  bool new_api = !opts.force_legacy && lowerdir_plus_supported();
  // overlay needs a lower directory, and two when there is no upper ("at
  // least 2 lowerdir are needed while upperdir nonexistent"): an image
  // without layers, or a read-only view of a one-layer image, gets empty
  // ones at the bottom. They must be distinct directories: the kernel
  // refuses one directory twice in a mount ("conflicting lowerdir path").
  std::vector<std::string> empties;
  size_t lowers_needed = up.empty() ? 2 : 1;
  for (size_t i = chains.size(); i < lowers_needed; i++) {
    empties.push_back(root_ + (empties.empty() ? "/empty" : "/empty2"));
    BERTH_TRY(mkdir_all(empties.back(), 0755));
  }
  if (chains.empty()) {
    if (new_api) return mount_new_api(empties, up, work, target);
    std::string data = "lowerdir=" + empties[0];
    if (empties.size() > 1) data += ":" + empties[1];
    if (!up.empty()) data += fmt::format(",upperdir={},workdir={}", up, work);
    if (::mount("overlay", target.c_str(), "overlay", up.empty() ? MS_RDONLY : 0, data.c_str()) != 0)
      return Error::sys(errno, "mount overlay on {}", target);
    return ok();
  }
  if (new_api) {
    std::vector<std::string> lowers;
    for (const auto& c : chains) lowers.push_back(diff_path(c));
    lowers.insert(lowers.end(), empties.begin(), empties.end());
    return mount_new_api(lowers, up, work, target);
  }
  return mount_legacy(chains, up, work, target);
}

bool lowerdir_plus_supported() {
  static const bool supported = [] {
    // Kernels before 6.8 answer EINVAL to the key itself.
    Fd fs(sys_fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fs) return false;
    return sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", "/", 0) == 0;
  }();
  return supported;
}

}  // namespace berth::image
