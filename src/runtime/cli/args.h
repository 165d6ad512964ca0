// Command-line parsing with the semantics of Go's flag package, which runc
// (and so every engine that drives a runc-compatible runtime) relies on:
//   -name and --name are the same flag, so `-no-subreaper` works;
//   values as `--name value`, `--name=value`; booleans as `--name` or
//   `--name=true|false`; parsing stops at the first positional argument or
//   "--" (so `exec ID sh -c ...` keeps its own flags).
// Written by hand because CLI11 and getopt reject single-dash long flags.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::runtime::cli {

struct FlagDef {
  std::string_view names;  // "bundle,b": the first is the canonical name
  bool takes_value;
  std::string_view help;
};

class Args {
 public:
  // Parses argv[0..] (the subcommand's arguments, not its name).
  static Result<Args> parse(const std::vector<FlagDef>& defs, const std::vector<std::string>& argv);

  bool has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
  bool flag(std::string_view name) const;  // boolean flag, honouring =false
  std::optional<std::string> get(std::string_view name) const;
  std::string get_or(std::string_view name, std::string def) const { return get(name).value_or(def); }
  const std::vector<std::string>& all(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

std::string usage_flags(const std::vector<FlagDef>& defs);

}  // namespace berth::runtime::cli
