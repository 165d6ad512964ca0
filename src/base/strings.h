// Small string helpers that std lacks in C++20.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view s);
// Whole-string integer parse; nullopt on junk, overflow or empty input.
std::optional<int64_t> parse_int(std::string_view s, int base = 10);
std::optional<uint64_t> parse_uint(std::string_view s, int base = 10);
// "2006-01-02T15:04:05[.frac](Z|±hh:mm)" → seconds since the epoch (the
// fraction dropped); nullopt when malformed.
std::optional<int64_t> parse_rfc3339_seconds(std::string_view s);
// The current UTC time as RFC 3339 with nanoseconds: "2006-01-02T15:04:05.000000000Z".
std::string now_rfc3339();
// That form of a given UTC time.
std::string rfc3339_utc(int64_t seconds_since_epoch, long nanoseconds);

}  // namespace berth
