#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace berth {

Result<std::string> read_fd(int fd) {
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "read fd {}", fd);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> read_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::sys(errno, "open {}", path);
  auto r = read_fd(fd.get());
  if (!r) return r.error().context("{}", path);
  return r;
}

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> write_file(const std::string& path, std::string_view data, int mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return Error::sys(errno, "open {}", path);
  auto r = write_all(fd.get(), data);
  if (!r) return r.error().context("{}", path);
  return {};
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode) {
  std::string tmp = path + ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return Error::sys(errno, "open {}", tmp);
  if (auto r = write_all(fd.get(), data); !r) return r.error().context("{}", tmp);
  if (::fsync(fd.get()) < 0) return Error::sys(errno, "fsync {}", tmp);
  if (::rename(tmp.c_str(), path.c_str()) < 0) return Error::sys(errno, "rename {} to {}", tmp, path);
  return {};
}

Result<void> mkdir_all(const std::string& path, int mode) {
  if (path.empty()) return {};
  // The directory itself first: usually its parent is there, and one call
  // does it (a walk from the root costs a call per component).
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno == ENOENT) {
    size_t end = path.find_last_not_of('/');
    size_t slash = end == std::string::npos ? std::string::npos : path.rfind('/', end);
    if (slash != std::string::npos) {
      BERTH_TRY(mkdir_all(slash == 0 ? "/" : path.substr(0, slash), mode));
      if (::mkdir(path.c_str(), mode) == 0) return {};
    }
  }
  if (errno != EEXIST) return Error::sys(errno, "mkdir {}", path);
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return Error::sys(errno, "stat {}", path);
  if (!S_ISDIR(st.st_mode)) return Error::sys(ENOTDIR, "mkdir {}", path);
  return {};
}

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  std::string dir = path.substr(0, slash);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir.empty() ? "/" : dir;
}

}  // namespace berth
