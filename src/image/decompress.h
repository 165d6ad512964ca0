// Reading layer blobs: plain tar, gzip (ISA-L's inflate, several times
// zlib's speed) or zstd, detected from the first bytes.
//
// Usage:
//   Compression c;
//   auto src = BERTH_TRY(open_decompressed(fd, &c));
//   char buf[1 << 20];
//   for (;;) { size_t n = BERTH_TRY(src->read(buf, sizeof buf)); if (n == 0) break; ... }
//   src->compressed_bytes();   // bytes consumed from fd so far
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/result.h"

namespace berth::image {

enum class Compression { None, Gzip, Zstd };
const char* compression_name(Compression c);
// From magic bytes: 1f 8b is gzip, 28 b5 2f fd is zstd, anything else plain.
Compression detect_compression(std::string_view head);

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `len` decompressed bytes; 0 only at the end of the stream. A
  // truncated or corrupt stream is an error, never a silent short read.
  virtual Result<size_t> read(void* buf, size_t len) = 0;
  // Bytes read from the underlying fd so far.
  virtual uint64_t compressed_bytes() const = 0;
};

// Reads from `fd` (its current offset) until EOF; the fd stays owned by the
// caller and must outlive the source.
Result<std::unique_ptr<ByteSource>> open_decompressed(int fd, Compression* detected = nullptr);

}  // namespace berth::image
