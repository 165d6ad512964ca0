// Content digests: "sha256:<64 lowercase hex>", the names of every blob,
// layer (diff ID, chain ID) and image (config digest) in Berth.
//
// Usage:
//   Sha256 h;  h.update(chunk1);  h.update(chunk2);
//   std::string d = h.digest();                 // "sha256:9f86d0..."
//   if (!is_valid_digest(d)) ...
//   std::string hex = digest_hex(d);            // "9f86d0..." (valid digests only)
#pragma once

#include <nettle/sha2.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth {

// Incremental SHA-256 (Nettle, which uses the CPU's SHA extensions; lighter
// in a daemon's memory than libcrypto, which maps megabytes at start-up).
class Sha256 {
 public:
  Sha256();
  ~Sha256() = default;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&& o) noexcept = default;
  Sha256& operator=(Sha256&& o) noexcept = default;

  void update(const void* data, size_t len);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Finalizes: "sha256:<hex>". The object may not be updated afterwards.
  std::string digest();
  // Bytes hashed so far.
  uint64_t size() const { return size_; }

 private:
  sha256_ctx ctx_;
  uint64_t size_ = 0;
};

std::string sha256_digest(std::string_view data);

// The digest grammar accepted for names on disk and in manifests: only
// sha256 with exactly 64 lowercase hex digits, so a digest can be used as a
// file name without further checks.
bool is_valid_digest(std::string_view digest);
Result<void> check_digest(std::string_view digest);
// The hex part of a valid digest (precondition: is_valid_digest).
std::string_view digest_hex(std::string_view digest);

// Chain ID of a layer stack (OCI image spec): ChainID(L0) = DiffID(L0),
// ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)).
std::string chain_id(std::string_view parent_chain, std::string_view diff_id);

}  // namespace berth
