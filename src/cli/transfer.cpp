#include "cli/transfer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "base/file.h"
#include "cli/go_compat.h"

namespace berth::cli {
namespace {

// moby's atomicwriter validateDestination, in its words.
std::optional<std::string> invalid_destination(const std::string& path) {
  std::string dir = parent_dir(path);
  if (dir != "." && dir != "..") {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return "invalid output path: " + go_path_error("stat", dir, errno);
    if (!S_ISDIR(st.st_mode)) return "invalid output path: " + go_path_error("stat", dir, ENOTDIR);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return "failed to stat output path: " + go_path_error("lstat", path, errno);
  }
  if (S_ISREG(st.st_mode)) return std::nullopt;
  if (S_ISDIR(st.st_mode)) return "cannot write to a directory";
  if (S_ISLNK(st.st_mode)) return "cannot write to a symbolic link directly";
  if (S_ISFIFO(st.st_mode)) return "cannot write to a named pipe (FIFO)";
  if (S_ISSOCK(st.st_mode)) return "cannot write to a socket";
  if (S_ISCHR(st.st_mode)) return "cannot write to a character device file";
  return "cannot write to a block device file";
}

}  // namespace

Result<OutputFile> OutputFile::open(const std::string& path, std::string_view context) {
  OutputFile out;
  if (path.empty()) {
    if (::isatty(1)) return Error::invalid("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    return out;
  }
  if (auto why = invalid_destination(path)) return Error::invalid("{}: {}", context, *why);
  auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string dir = parent_dir(path);
  std::string tmpl = (dir == "/" ? "" : dir) + "/.tmp-" + base + "XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return Error::internal("{}: {}", context, go_path_error("open", tmpl, errno));
  out.file_.reset(fd);
  out.tmp_ = tmpl;
  out.target_ = path;
  return out;
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : file_(std::move(o.file_)), tmp_(std::move(o.tmp_)), target_(std::move(o.target_)) {
  o.tmp_.clear();
}

OutputFile::~OutputFile() {
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Result<void> OutputFile::commit() {
  if (tmp_.empty()) return ok();
  if (::fsync(file_.get()) != 0) return Error::sys(errno, "fsync {}", tmp_);
  file_.reset();
  if (::rename(tmp_.c_str(), target_.c_str()) != 0) return Error::sys(errno, "rename {} to {}", tmp_, target_);
  tmp_.clear();
  return ok();
}

Result<void> copy_body(BodyStream& body, int fd) {
  std::string buf;
  for (;;) {
    buf.clear();
    size_t n = BERTH_TRY(body.read(buf));
    if (n == 0) return ok();
    BERTH_TRY(write_all(fd, buf));
  }
}

Result<void> download(Client& c, const std::string& target, OutputFile& out) {
  auto s = BERTH_TRY(c.open("GET", target));
  if (s.status() >= 300) return stream_error(s);
  BERTH_TRY(copy_body(s, out.fd()));
  return out.commit();
}

Error stream_error(BodyStream& s) {
  Response r{s.status(), s.head().headers, s.read_all().value_or("")};
  return daemon_error(r);
}

Result<void> print_progress(BodyStream& s) {
  std::optional<std::string> failure;
  BERTH_TRY(s.each_line([&](std::string_view line) -> Result<void> {
    auto j = Json::parse(line, nullptr, false);
    if (!j.is_object()) return ok();
    if (j.contains("errorDetail") || j.contains("error")) {
      failure = j.contains("error") ? j["error"].get<std::string>() : j["errorDetail"].value("message", "");
    } else if (j.contains("stream")) {
      std::fputs(j["stream"].get<std::string>().c_str(), stdout);
    } else if (j.contains("status")) {
      std::printf("%s\n", j["status"].get<std::string>().c_str());
    }
    return ok();
  }));
  if (failure) return Error::internal("{}", *failure);
  return ok();
}

}  // namespace berth::cli
