#include "base/digest.h"


namespace berth {

Sha256::Sha256() { sha256_init(&ctx_); }

void Sha256::update(const void* data, size_t len) {
  sha256_update(&ctx_, len, static_cast<const uint8_t*>(data));
  size_ += len;
}

std::string Sha256::digest() {
  uint8_t md[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx_, sizeof md, md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  out.reserve(7 + 2 * sizeof md);
  for (uint8_t b : md) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

bool is_valid_digest(std::string_view digest) {
  constexpr std::string_view prefix = "sha256:";
  if (digest.size() != prefix.size() + 64 || digest.substr(0, prefix.size()) != prefix)
    return false;
  for (char c : digest.substr(prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<void> check_digest(std::string_view digest) {
  if (is_valid_digest(digest)) return ok();
  if (digest.substr(0, 7) != "sha256:" && digest.find(':') != std::string_view::npos)
    return Error::make(ErrorCode::NotImplemented, "unsupported digest algorithm in {:?}",
                       std::string(digest.substr(0, 80)));
  return Error::invalid("invalid digest {:?}: want sha256: and 64 lowercase hex digits",
                        std::string(digest.substr(0, 80)));
}

std::string_view digest_hex(std::string_view digest) { return digest.substr(7); }

std::string chain_id(std::string_view parent_chain, std::string_view diff_id) {
  if (parent_chain.empty()) return std::string(diff_id);
  return sha256_digest(fmt::format("{} {}", parent_chain, diff_id));
}

}  // namespace berth
