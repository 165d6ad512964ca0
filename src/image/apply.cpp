#include "image/apply.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <optional>
#include <vector>

#include "base/digest.h"
#include "image/apply_entry.h"
#include "image/decompress.h"
#include "image/layer_dir.h"

namespace berth::image {
namespace {

constexpr size_t kChunk = size_t{1} << 20;

// The uncompressed tar stream as libarchive pulls it: every byte is hashed
// for the diff ID and counted against the decompression-bomb limits before
// libarchive sees it.
class TarInput {
 public:
  TarInput(ByteSource& src, const ApplyOptions& opts) : src_(src), opts_(opts), buf_(kChunk) {}

  // The next chunk; an empty span at the end of the stream.
  Result<std::string_view> pull() {
    size_t n = BERTH_TRY(src_.read(buf_.data(), buf_.size()));
    hash_.update(buf_.data(), n);
    total_ += n;
    BERTH_TRY(check_limits());
    return std::string_view(buf_.data(), n);
  }

  // libarchive's read callback: the buffer stays valid until the next call.
  static la_ssize_t read_cb(struct archive* a, void* self, const void** out) {
    auto* in = static_cast<TarInput*>(self);
    std::string_view chunk;
    if (in->pending_) {
      chunk = *in->pending_;
      in->pending_.reset();
    } else {
      auto r = in->pull();
      if (!r.ok()) {
        in->error_ = r.error();
        archive_set_error(a, EIO, "%s", r.error().message().c_str());
        return -1;
      }
      chunk = *r;
    }
    *out = chunk.data();
    return static_cast<la_ssize_t>(chunk.size());
  }

  // Hand `chunk` (already pulled) to libarchive first.
  void push_back(std::string_view chunk) { pending_ = chunk; }

  const std::optional<Error>& error() const { return error_; }
  uint64_t total() const { return total_; }
  std::string digest() { return hash_.digest(); }

 private:
  Result<void> check_limits() const {
    if (total_ > opts_.max_uncompressed) {
      return Error(ErrorCode::InvalidArgument,
                   fmt::format("layer expands past {} bytes (limit)", opts_.max_uncompressed));
    }
    uint64_t packed = src_.compressed_bytes();
    if (total_ > opts_.ratio_floor && packed > 0 && total_ / packed > opts_.max_ratio) {
      return Error(ErrorCode::InvalidArgument,
                   fmt::format("layer expands past {} times its compressed size ({} bytes from {}): "
                               "a decompression bomb",
                               opts_.max_ratio, total_, packed));
    }
    return ok();
  }

  ByteSource& src_;
  const ApplyOptions& opts_;
  std::vector<char> buf_;
  Sha256 hash_;
  uint64_t total_ = 0;
  std::optional<std::string_view> pending_;
  std::optional<Error> error_;
};

// An entry name as it appears in messages: printable ASCII as is, anything
// else escaped, so a hostile name cannot forge log lines.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out + "\"";
}

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

}  // namespace

Result<ApplyStats> apply_layer(int dirfd, int blob_fd, const ApplyOptions& opts) {
  auto src = BERTH_TRY_CTX(open_decompressed(blob_fd), "apply layer");
  TarInput in(*src, opts);
  ApplyStats stats;

  auto first = BERTH_TRY_CTX(in.pull(), "apply layer");
  if (first.empty()) {
    // An empty stream is an empty layer (Go's tar reader agrees); libarchive
    // would call it an unrecognised format.
    stats.diff_id = in.digest();
    stats.compressed_size = src->compressed_bytes();
    return stats;
  }
  in.push_back(first);

  std::unique_ptr<struct archive, ArchiveFree> ar(archive_read_new());
  if (!ar) return Error::internal("apply layer: cannot allocate a tar reader");
  // Tar only (ustar, pax, GNU): no compression filters (we decompress), no
  // other formats, and never archive_read_extract, which writes by path.
  archive_read_support_format_tar(ar.get());
  archive_read_support_format_gnutar(ar.get());
  auto read_failure = [&]() -> Error {
    if (in.error()) return *in.error();
    const char* msg = archive_error_string(ar.get());
    return Error::invalid("read tar: {}", msg != nullptr ? msg : "unknown error");
  };
  if (archive_read_open(ar.get(), &in, nullptr, &TarInput::read_cb, nullptr) != ARCHIVE_OK) {
    return read_failure().context("apply layer");
  }

  EntryWriter writer(ar.get(), dirfd, opts, read_failure);
  for (;;) {
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(ar.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    // ARCHIVE_WARN is a name that libarchive could not convert to the
    // locale's charset: the bytes are still there, as Docker takes them.
    if (r < ARCHIVE_WARN) return read_failure().context("apply layer");
    ++stats.entries;
    const char* raw = archive_entry_pathname(entry);
    if (raw == nullptr) raw = archive_entry_pathname_utf8(entry);
    if (raw == nullptr) return Error::invalid("apply layer: entry {} has no name", stats.entries);
    auto name = normalize_entry_name(raw);
    if (!name.ok()) return name.error().context("apply layer: entry {}", quote(raw));
    auto written = writer.write(entry, *name);
    if (!written.ok()) return written.error().context("apply layer: entry {}", quote(raw));
  }
  BERTH_TRY_CTX(writer.finish(), "apply layer");

  // The diff ID covers the whole stream, including anything after the
  // end-of-archive blocks (padding to a record size, or junk): drain it,
  // still under the limits, so a bomb hidden there is caught too.
  for (;;) {
    auto chunk = BERTH_TRY_CTX(in.pull(), "apply layer");
    if (chunk.empty()) break;
  }
  stats.tar_size = in.total();
  stats.compressed_size = src->compressed_bytes();
  stats.diff_id = in.digest();
  return stats;
}

}  // namespace berth::image
