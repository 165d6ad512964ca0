#include "image/apply_test_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdlib>
#include <cstring>
#include <set>

#include "base/digest.h"
#include "base/file.h"

namespace berth::image::testing {
namespace {

const std::string kCanary = "precious canary bytes\n";

la_ssize_t append_cb(struct archive*, void* out, const void* buf, size_t len) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), len);
  return static_cast<la_ssize_t>(len);
}

std::set<std::string> list_dir(const std::string& path) {
  std::set<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return out;
  while (dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") out.insert(n);
  }
  ::closedir(d);
  return out;
}

}  // namespace

TarEntry file(std::string name, std::string data, mode_t mode) {
  TarEntry e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.mode = mode;
  return e;
}

TarEntry dir(std::string name, mode_t mode) {
  TarEntry e;
  e.type = TarEntry::Dir;
  e.name = std::move(name);
  e.mode = mode;
  return e;
}

TarEntry symlink(std::string name, std::string target) {
  TarEntry e;
  e.type = TarEntry::Symlink;
  e.name = std::move(name);
  e.link = std::move(target);
  e.mode = 0777;
  return e;
}

TarEntry hardlink(std::string name, std::string target) {
  TarEntry e;
  e.type = TarEntry::Hardlink;
  e.name = std::move(name);
  e.link = std::move(target);
  return e;
}

std::string make_tar(const std::vector<TarEntry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, append_cb, nullptr), ARCHIVE_OK);
  for (const auto& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, t.name.c_str());
    mode_t type = AE_IFREG;
    switch (t.type) {
      case TarEntry::File: type = AE_IFREG; break;
      case TarEntry::Dir: type = AE_IFDIR; break;
      case TarEntry::Symlink: type = AE_IFLNK; break;
      case TarEntry::Hardlink: type = AE_IFREG; break;
      case TarEntry::Char: type = AE_IFCHR; break;
      case TarEntry::Block: type = AE_IFBLK; break;
      case TarEntry::Fifo: type = AE_IFIFO; break;
    }
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, t.mode);
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, t.mtime_nsec);
    if (t.type == TarEntry::Symlink) archive_entry_copy_symlink(e, t.link.c_str());
    if (t.type == TarEntry::Hardlink) archive_entry_copy_hardlink(e, t.link.c_str());
    if (t.type == TarEntry::Char || t.type == TarEntry::Block) archive_entry_set_rdev(e, makedev(t.major, t.minor));
    if (t.type == TarEntry::File) archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (t.type == TarEntry::File && !t.data.empty()) {
      EXPECT_EQ(archive_write_data(a, t.data.data(), t.data.size()), static_cast<la_ssize_t>(t.data.size()));
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string ustar_header(const std::string& name, uint64_t size, char type) {
  char h[512] = {};
  std::snprintf(h, 100, "%s", name.c_str());
  std::snprintf(h + 100, 8, "%07o", 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h + 136, 12, "%011o", 1700000000);
  h[156] = type;
  std::memcpy(h + 257, "ustar\0" "00", 8);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  return std::string(h, sizeof h);
}

std::string pad512(std::string data) {
  data.resize((data.size() + 511) / 512 * 512, '\0');
  return data;
}

std::string go_style_pax_file(const std::string& name, std::string_view data) {
  // A record is "<len> path=<name>\n" where <len> counts itself.
  std::string body = " path=" + name + "\n";
  size_t len = body.size() + 1;
  while (std::to_string(len).size() + body.size() != len) ++len;
  std::string record = std::to_string(len) + body;
  return ustar_header("PaxHeaders/file", record.size(), 'x') + pad512(record) +
         ustar_header("placeholder", data.size()) + pad512(std::string(data)) + std::string(1024, '\0');
}

std::string gzip(std::string_view data, int level) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string zstd(std::string_view data, int level) {
  // With a content checksum, as the zstd tool writes by default.
  ZSTD_CCtx* cx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cx, ZSTD_c_checksumFlag, 1);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress2(cx, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(cx);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

Fd memfd_with(std::string_view data) {
  Fd fd(::memfd_create("blob", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_TRUE(write_all(fd.get(), data).ok());
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

Fd file_with(const std::string& path, std::string_view data) {
  EXPECT_TRUE(write_file(path, data).ok());
  return Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

std::string sha256_hex_digest(std::string_view data) { return sha256_digest(data); }

Scratch::Scratch() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/berth-apply-XXXXXX";
  char* made = ::mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  base_ = tmpl;
  EXPECT_EQ(::mkdir(layer().c_str(), 0755), 0);
  EXPECT_EQ(::mkdir((base_ + "/outside").c_str(), 0755), 0);
  EXPECT_TRUE(write_file(base_ + "/outside/canary", kCanary).ok());
  EXPECT_TRUE(write_file(base_ + "/canary", kCanary).ok());
  layer_fd_.reset(::open(layer().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_TRUE(layer_fd_.valid());
}

Scratch::~Scratch() {
  layer_fd_.reset();
  // Nothing in here is a mount, and rm never follows symlinks.
  std::string cmd = "rm -rf '" + base_ + "'";
  if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "cannot remove " << base_;
}

ApplyOptions Scratch::test_options() {
  ApplyOptions o;
  o.same_owner = is_root();
  return o;
}

Result<ApplyStats> Scratch::apply(std::string_view blob, ApplyOptions opts) {
  Fd fd = memfd_with(blob);
  return apply_layer(layer_fd_.get(), fd.get(), opts);
}

::testing::AssertionResult Scratch::outside_untouched() const {
  auto top = list_dir(base_);
  if (top != std::set<std::string>{"canary", "layer", "outside"}) {
    std::string names;
    for (const auto& n : top) names += n + " ";
    return ::testing::AssertionFailure() << "unexpected entries beside the layer: " << names;
  }
  auto out = list_dir(base_ + "/outside");
  if (out != std::set<std::string>{"canary"}) {
    return ::testing::AssertionFailure() << "outside/ holds " << out.size() << " entries";
  }
  for (const char* c : {"/canary", "/outside/canary"}) {
    auto st = lstat_path(base_ + c);
    if (!st || !S_ISREG(st->st_mode) || st->st_nlink != 1 || read_path(base_ + c) != kCanary) {
      return ::testing::AssertionFailure() << "canary " << c << " changed";
    }
  }
  return ::testing::AssertionSuccess();
}

std::optional<struct stat> lstat_path(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) return std::nullopt;
  return st;
}

std::string read_path(const std::string& path) {
  auto r = read_file(path);
  return r.ok() ? *r : std::string("<unreadable>");
}

std::optional<std::string> get_xattr(const std::string& path, const std::string& name) {
  char buf[65536];
  ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

bool is_root() { return ::geteuid() == 0; }

}  // namespace berth::image::testing
