#include "cli/go_compat.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
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

std::string usage_of(const CLI::App& cmd) {
  // docker's own words where the table's positionals do not say it: the
  // commands that read their arguments themselves, and docker's
  // REPOSITORY[:TAG] and NAME|ID forms.
  static const std::map<std::string, std::string> docker_use = {
      {"commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]"},
      {"create", "[OPTIONS] IMAGE [COMMAND] [ARG...]"},
      {"run", "[OPTIONS] IMAGE [COMMAND] [ARG...]"},
      {"exec", "[OPTIONS] CONTAINER COMMAND [ARG...]"},
      {"diff", "CONTAINER"},
      {"export", "[OPTIONS] CONTAINER"},
      {"images", "[OPTIONS] [REPOSITORY[:TAG]]"},
      {"image ls", "[OPTIONS] [REPOSITORY[:TAG]]"},
      {"import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]"},
      {"inspect", "[OPTIONS] NAME|ID [NAME|ID...]"},
      {"port", "CONTAINER [PRIVATE_PORT[/PROTO]]"},
      {"stats", "[OPTIONS] [CONTAINER...]"},
      {"tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"},
      {"top", "CONTAINER [ps OPTIONS]"},
  };
  std::string path = command_path(cmd);
  path = path.substr(std::min(path.size(), path.find(' ') + 1));  // without "berth "
  const std::string last = cmd.get_name();
  for (const std::string& key : {path, last}) {
    auto it = docker_use.find(key);
    if (it != docker_use.end() && !(key == last && path.starts_with("image ") && last == "ls")) return it->second;
  }
  std::string use;
  bool flags = false;
  for (const CLI::Option* opt : cmd.get_options()) {
    if (opt->nonpositional()) {
      flags = flags || opt != cmd.get_help_ptr();
      continue;
    }
    std::string name = opt->get_name();
    if (name.empty()) continue;
    std::string item = opt->get_items_expected_max() > 1 ? name + " [" + name + "...]" : name;
    use += " " + (opt->get_required() ? item : "[" + item + "]");
  }
  return (flags ? "[OPTIONS]" : "") + (flags ? use : use.empty() ? "" : use.substr(1));
}

static int report_unknown_flag(const std::string& path, const std::string& use, const std::string& flag) {
  // pflag's words: "-z" is a shorthand, reported by its letter.
  if (flag.size() >= 2 && flag[1] != '-')
    std::fprintf(stderr, "unknown shorthand flag: '%c' in %s\n", flag[1], flag.c_str());
  else
    std::fprintf(stderr, "unknown flag: %s\n", flag.c_str());
  std::fprintf(stderr, "\nUsage:  %s %s\n\nRun '%s --help' for more information\n", path.c_str(), use.c_str(),
               path.c_str());
  return 125;
}

std::optional<int> check_prefix_args(const CLI::App& cmd, std::vector<std::string>& rest, size_t min) {
  const std::string path = command_path(cmd), use = usage_of(cmd);
  if (!rest.empty() && rest[0] == "--") rest.erase(rest.begin());
  else if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-') return report_unknown_flag(path, use, rest[0]);
  if (auto msg = arg_count_error(path, use, rest.size(), min, kNoMax)) {
    std::fprintf(stderr, "%s\n", msg->c_str());
    return 1;
  }
  return std::nullopt;
}

int report_parse_error(const CLI::App& cmd, const CLI::ParseError& e) {
  const std::string path = command_path(cmd);
  const std::string use = usage_of(cmd);
  size_t min = 0, max = 0;
  for (const CLI::Option* opt : cmd.get_options()) {
    if (opt->nonpositional()) continue;
    size_t most = static_cast<size_t>(std::max(opt->get_items_expected_max(), 1));
    if (opt->get_required()) min += static_cast<size_t>(std::max(opt->get_items_expected_min(), 1));
    max = (max == kNoMax || most > (1U << 20)) ? kNoMax : max + most;
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e)) {
    if (auto msg = arg_count_error(path, use, 0, std::max<size_t>(min, 1), max)) {
      std::fprintf(stderr, "%s\n", msg->c_str());
      return 1;
    }
  }
  if (const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&e)) {
    std::string what = extras->what();
    size_t colon = what.rfind(": ");
    std::string first = colon == std::string::npos ? "" : what.substr(colon + 2);
    first = first.substr(0, first.find(' '));
    if (!first.empty() && first[0] != '-') {
      if (auto msg = arg_count_error(path, use, max + 1, min, max)) {
        std::fprintf(stderr, "%s\n", msg->c_str());
        return 1;
      }
    }
    if (!first.empty()) return report_unknown_flag(path, use, first);
  }
  std::fprintf(stderr, "%s\n\nUsage:  %s %s\n\nRun '%s --help' for more information\n", e.what(), path.c_str(),
               use.c_str(), path.c_str());
  return 125;
}

bool check_arg_count(const CLI::App& cmd, const std::string& use, size_t n, size_t min, size_t max) {
  auto e = arg_count_error(command_path(cmd), use, n, min, max);
  if (e) std::fprintf(stderr, "%s\n", e->c_str());
  return !e;
}

}  // namespace berth::cli
