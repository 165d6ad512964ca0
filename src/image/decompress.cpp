#include "image/decompress.h"

#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>
#include <zstd.h>

#include <cstring>
#include <memory>
#include <vector>

namespace berth::image {
namespace {

// Compressed input is read in large chunks: a layer is read once,
// sequentially, and fewer read(2) calls matter at ~1 GB/s of inflate.
constexpr size_t kInputChunk = size_t{1} << 20;

constexpr std::string_view kGzipMagic("\x1f\x8b", 2);
constexpr std::string_view kZstdMagic("\x28\xb5\x2f\xfd", 4);

// Buffered reads from the caller's fd, counting what was consumed.
class FdInput {
 public:
  explicit FdInput(int fd) : fd_(fd), buf_(kInputChunk) {}

  // Read until at least `want` bytes are buffered or the fd is at EOF,
  // keeping what was not consumed yet at the front.
  Result<void> fill(size_t want = 1) {
    if (start_ > 0) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    while (end_ < want && !eof_) {
      size_t n = BERTH_TRY(read_into(buf_.data() + end_, buf_.size() - end_));
      end_ += n;
    }
    return ok();
  }

  // Read straight into the caller's buffer, bypassing ours (plain layers).
  Result<size_t> read_into(void* dst, size_t len) {
    for (;;) {
      ssize_t n = ::read(fd_, dst, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::sys(errno, "read layer blob");
      }
      if (n == 0) eof_ = true;
      total_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
  }

  uint8_t* data() { return buf_.data() + start_; }
  size_t available() const { return end_ - start_; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(buf_.data() + start_), end_ - start_};
  }
  void consume(size_t n) { start_ += n; }
  bool eof() const { return eof_; }
  uint64_t total() const { return total_; }

 private:
  int fd_;
  std::vector<uint8_t> buf_;
  size_t start_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  uint64_t total_ = 0;
};

class PlainSource final : public ByteSource {
 public:
  explicit PlainSource(std::unique_ptr<FdInput> in) : in_(std::move(in)) {}

  Result<size_t> read(void* buf, size_t len) override {
    if (in_->available() == 0) {
      if (in_->eof() || len == 0) return size_t{0};
      // Large reads go straight into the caller's buffer: no copy.
      if (len >= kInputChunk) return in_->read_into(buf, len);
      BERTH_TRY(in_->fill());
      if (in_->available() == 0) return size_t{0};
    }
    size_t n = std::min(len, in_->available());
    std::memcpy(buf, in_->data(), n);
    in_->consume(n);
    return n;
  }

  uint64_t compressed_bytes() const override { return in_->total(); }

 private:
  std::unique_ptr<FdInput> in_;
};

// gzip through ISA-L. A gzip file may hold several members one after the
// other (pigz, `cat a.gz b.gz`); RFC 1952 says the result is the
// concatenation, as gzip(1) and Go's reader do. Anything after a member
// that is not another member is corruption.
class GzipSource final : public ByteSource {
 public:
  explicit GzipSource(std::unique_ptr<FdInput> in) : in_(std::move(in)) {
    state_ = std::make_unique<inflate_state>();
    start_member();
  }

  Result<size_t> read(void* buf, size_t len) override {
    if (done_ || len == 0) return size_t{0};
    // ISA-L counts output in 32 bits.
    if (len > (size_t{1} << 30)) len = size_t{1} << 30;
    for (;;) {
      if (in_->available() == 0) BERTH_TRY(in_->fill());
      state_->next_in = in_->data();
      state_->avail_in = static_cast<uint32_t>(in_->available());
      state_->next_out = static_cast<uint8_t*>(buf);
      state_->avail_out = static_cast<uint32_t>(len);
      uint32_t before_in = state_->avail_in;
      int rc = isal_inflate(state_.get());
      in_->consume(before_in - state_->avail_in);
      size_t produced = len - state_->avail_out;
      if (rc < 0) return corrupt(rc);
      if (state_->block_state == ISAL_BLOCK_FINISH) {
        // The member's CRC and size were checked; is another one next?
        BERTH_TRY(next_member());
        if (produced > 0 || done_) return produced;
        continue;
      }
      if (produced > 0) return produced;
      bool consumed = before_in != state_->avail_in;
      if (!consumed && in_->available() == 0 && in_->eof()) {
        return Error::invalid("gzip: unexpected end of stream (truncated layer)");
      }
      if (!consumed && in_->available() > 0) {
        return Error::invalid("gzip: decoder made no progress (corrupt stream)");
      }
    }
  }

  uint64_t compressed_bytes() const override { return in_->total(); }

 private:
  void start_member() {
    isal_inflate_init(state_.get());
    // ISAL_GZIP: parse the header and verify the trailer's CRC-32 and ISIZE.
    state_->crc_flag = ISAL_GZIP;
  }

  Result<void> next_member() {
    if (in_->available() < kGzipMagic.size()) BERTH_TRY(in_->fill(kGzipMagic.size()));
    if (in_->available() == 0) {
      done_ = true;
      return ok();
    }
    if (!in_->view().starts_with(kGzipMagic)) {
      return Error::invalid("gzip: trailing garbage after the last member");
    }
    start_member();
    return ok();
  }

  Error corrupt(int rc) {
    const char* what = "corrupt stream";
    switch (rc) {
      case ISAL_INCORRECT_CHECKSUM: what = "CRC or length mismatch"; break;
      case ISAL_INVALID_WRAPPER: what = "bad gzip header"; break;
      case ISAL_UNSUPPORTED_METHOD: what = "unsupported compression method"; break;
      case ISAL_INVALID_BLOCK: what = "invalid deflate block"; break;
      case ISAL_INVALID_SYMBOL: what = "invalid deflate symbol"; break;
      case ISAL_INVALID_LOOKBACK: what = "invalid back reference"; break;
      default: break;
    }
    return Error::invalid("gzip: {} (code {})", what, rc);
  }

  std::unique_ptr<FdInput> in_;
  std::unique_ptr<inflate_state> state_;
  bool done_ = false;
};

// zstd through libzstd's streaming decoder. Concatenated frames and
// skippable frames are part of the format and handled by the library.
class ZstdSource final : public ByteSource {
 public:
  explicit ZstdSource(std::unique_ptr<FdInput> in) : in_(std::move(in)), dctx_(ZSTD_createDCtx()) {
    // The default cap (128 MiB windows) rejects layers made with --long;
    // 512 MiB matches what Go's decoder in containerd accepts, and bounds
    // the memory a hostile frame header can make us allocate.
    ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, 29);
  }
  ~ZstdSource() override { ZSTD_freeDCtx(dctx_); }

  Result<size_t> read(void* buf, size_t len) override {
    if (len == 0) return size_t{0};
    if (dctx_ == nullptr) return Error::internal("zstd: cannot allocate a decoder");
    for (;;) {
      if (in_->available() == 0) BERTH_TRY(in_->fill());
      if (in_->available() == 0) {
        // EOF: fine only between frames. The decoder may still hold
        // output of the last frame; flush it first.
        if (!in_frame_) return size_t{0};
        ZSTD_inBuffer zin{nullptr, 0, 0};
        ZSTD_outBuffer zout{buf, len, 0};
        size_t rc = ZSTD_decompressStream(dctx_, &zout, &zin);
        if (ZSTD_isError(rc)) return Error::invalid("zstd: {}", ZSTD_getErrorName(rc));
        in_frame_ = rc != 0;
        if (zout.pos > 0 || !in_frame_) return zout.pos;
        return Error::invalid("zstd: unexpected end of stream (truncated layer)");
      }
      ZSTD_inBuffer zin{in_->data(), in_->available(), 0};
      ZSTD_outBuffer zout{buf, len, 0};
      size_t rc = ZSTD_decompressStream(dctx_, &zout, &zin);
      in_->consume(zin.pos);
      if (ZSTD_isError(rc)) return Error::invalid("zstd: {}", ZSTD_getErrorName(rc));
      // rc == 0: a frame just ended and its output is flushed.
      in_frame_ = rc != 0;
      if (zout.pos > 0) return zout.pos;
    }
  }

  uint64_t compressed_bytes() const override { return in_->total(); }

 private:
  std::unique_ptr<FdInput> in_;
  ZSTD_DCtx* dctx_;
  bool in_frame_ = false;
};

}  // namespace

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::None: return "none";
    case Compression::Gzip: return "gzip";
    case Compression::Zstd: return "zstd";
  }
  return "unknown";
}

Compression detect_compression(std::string_view head) {
  if (head.starts_with(kGzipMagic)) return Compression::Gzip;
  if (head.starts_with(kZstdMagic)) return Compression::Zstd;
  return Compression::None;
}

Result<std::unique_ptr<ByteSource>> open_decompressed(int fd, Compression* detected) {
  auto in = std::make_unique<FdInput>(fd);
  // A pipe may return fewer bytes than a magic number in one read.
  BERTH_TRY(in->fill(kZstdMagic.size()));
  Compression c = detect_compression(in->view());
  if (detected != nullptr) *detected = c;
  switch (c) {
    case Compression::Gzip: return std::unique_ptr<ByteSource>(new GzipSource(std::move(in)));
    case Compression::Zstd: return std::unique_ptr<ByteSource>(new ZstdSource(std::move(in)));
    case Compression::None: break;
  }
  return std::unique_ptr<ByteSource>(new PlainSource(std::move(in)));
}

}  // namespace berth::image
