// What docker's CLI shows through the Go libraries it is built on, written
// out so that berth prints the same: Go's error texts (errno, strconv,
// %q), the docker client's check of an empty ID, net.JoinHostPort, the
// natural order of fvbommel/sortorder, and cobra's complaints about a
// command's number of arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace CLI {
class App;
class ParseError;
}

namespace berth::cli {

// Go's text for an errno: "no such file or directory" (strerror, first
// letter lower-cased, as Go's own table reads).
std::string go_errno_text(int err);
// Go's os.PathError: "open /x: no such file or directory".
std::string go_path_error(std::string_view op, std::string_view path, int err);
// Go's %q of a string: double-quoted, `"` and `\` escaped, control bytes
// as \n, \t, \xNN.
std::string go_quote(std::string_view s);

// strconv.ParseUint(s, 10, 16): the value, or Go's error text
// (`strconv.ParseUint: parsing "x": invalid syntax` / `value out of range`)
// in `error`. Digits only: no sign, no underscores, not empty.
std::optional<uint16_t> go_parse_port(std::string_view s, std::string& error);

// The docker client's trimID: an object name or ID without surrounding
// whitespace, or InvalidArgument "invalid container name or ID: value is
// empty" (`kind` = "container") when nothing is left.
Result<std::string> trim_id(std::string_view kind, std::string_view id);

// net.JoinHostPort: "host:port", or "[host]:port" when host has a ':'.
std::string join_host_port(std::string_view host, std::string_view port);

// sortorder.NaturalLess: runs of digits compare as numbers ("a2" < "a10"),
// digits sort before other bytes, and of equal numbers the one with fewer
// leading zeros first.
bool natural_less(std::string_view a, std::string_view b);

// cobra's argument-count error as docker 28 words it, or nullopt when
// `n` is within [min, max] (max = kNoMax: no upper bound):
//   berth: 'berth port' requires at least 1 and at most 2 arguments
//
//   Usage:  berth port CONTAINER [PRIVATE_PORT[/PROTO]]
//
//   Run 'berth port --help' for more information
// `path` is the command as typed ("berth container port"), `use` its
// usage after the command name ("CONTAINER [PRIVATE_PORT[/PROTO]]").
constexpr size_t kNoMax = static_cast<size_t>(-1);
std::optional<std::string> arg_count_error(const std::string& path, const std::string& use, size_t n,
                                           size_t min, size_t max);
// "berth container port": the names from the root down to `cmd`.
std::string command_path(const CLI::App& cmd);
// Prints arg_count_error for `cmd` to stderr; false when it did.
bool check_arg_count(const CLI::App& cmd, const std::string& use, size_t n, size_t min, size_t max);

// A command's usage after its name, from its table entry: "[OPTIONS]"
// when it has flags, then its positionals, an optional one in brackets and
// a repeated one as docker writes it ("CONTAINER [CONTAINER...]").
std::string usage_of(const CLI::App& cmd);

// For a command that hands the rest of its line on (run, create, top):
// what CLI11 left over must not begin with a flag (it is one of ours that
// does not exist: docker's "unknown flag" and exit 125), and must hold at
// least `min` arguments (cobra's error, exit 1). A leading "--" is dropped.
// The exit code when the line is refused, after printing why.
std::optional<int> check_prefix_args(const CLI::App& cmd, std::vector<std::string>& rest, size_t min);

// A command line CLI11 refused, reported as docker's cobra does, and its
// exit code: a missing or extra argument is the arg-count error (exit 1);
// an unknown flag "unknown flag: --x" with the usage (exit 125), as is any
// other bad flag or value.
int report_parse_error(const CLI::App& cmd, const CLI::ParseError& e);

}  // namespace berth::cli
