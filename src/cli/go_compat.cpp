#include "cli/go_compat.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace berth::cli {

std::string go_errno_text(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string go_path_error(std::string_view op, std::string_view path, int err) {
  return fmt::format("{} {}: {}", op, path, go_errno_text(err));
}

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::optional<uint16_t> go_parse_port(std::string_view s, std::string& error) {
  // Go reports the first failure it meets walking the digits: "7000x"
  // is out of range before it is bad syntax.
  auto fail = [&](const char* why) -> std::optional<uint16_t> {
    error = fmt::format("strconv.ParseUint: parsing {}: {}", go_quote(s), why);
    return std::nullopt;
  };
  if (s.empty()) return fail("invalid syntax");
  uint32_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return fail("invalid syntax");
    n = n * 10 + static_cast<uint32_t>(c - '0');
    if (n > 65535) return fail("value out of range");
  }
  return static_cast<uint16_t>(n);
}

Result<std::string> trim_id(std::string_view kind, std::string_view id) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  auto first = id.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return Error::invalid("invalid {} name or ID: value is empty", kind);
  return std::string(id.substr(first, id.find_last_not_of(kSpace) - first + 1));
}

std::string join_host_port(std::string_view host, std::string_view port) {
  if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

bool natural_less(std::string_view a, std::string_view b) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = digit(a[i]), db = digit(b[j]);
    if (da != db) return da;
    if (!da) {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
      continue;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    size_t nz_a = i, nz_b = j;
    while (i < a.size() && digit(a[i])) ++i;
    while (j < b.size() && digit(b[j])) ++j;
    if (i - nz_a != j - nz_b) return i - nz_a < j - nz_b;
    auto na = a.substr(nz_a, i - nz_a), nb = b.substr(nz_b, j - nz_b);
    if (na != nb) return na < nb;
    if (nz_a != nz_b) return nz_a < nz_b;
  }
  return a.size() < b.size();
}

std::optional<std::string> arg_count_error(const std::string& path, const std::string& use, size_t n,
                                           size_t min, size_t max) {
  if (n >= min && n <= max) return std::nullopt;
  auto plural = [](size_t k) { return k == 1 ? "argument" : "arguments"; };
  std::string bin = path.substr(0, path.find(' '));
  std::string usage = path + " " + use;
  // cobra's RequiresMinArgs says "See", the others "Run".
  if (max == kNoMax)
    return fmt::format("{}: '{}' requires at least {} {}\n\nUsage:  {}\n\nSee '{} --help' for more information", bin,
                       path, min, plural(min), usage, path);
  if (min == max)
    return fmt::format("{}: '{}' requires {} {}\n\nUsage:  {}\n\nRun '{} --help' for more information", bin, path,
                       min, plural(min), usage, path);
  return fmt::format("{}: '{}' requires at least {} and at most {} {}\n\nUsage:  {}\n\nRun '{} --help' for more "
                     "information",
                     bin, path, min, max, plural(max), usage, path);
}

std::string command_path(const CLI::App& cmd) {
  std::vector<std::string> names;
  for (const CLI::App* a = &cmd; a != nullptr; a = a->get_parent()) names.push_back(a->get_name());
  std::string out;
  for (auto it = names.rbegin(); it != names.rend(); ++it) out += (out.empty() ? "" : " ") + *it;
  return out;
}

bool check_arg_count(const CLI::App& cmd, const std::string& use, size_t n, size_t min, size_t max) {
  auto e = arg_count_error(command_path(cmd), use, n, min, max);
  if (e) std::fprintf(stderr, "%s\n", e->c_str());
  return !e;
}

}  // namespace berth::cli
