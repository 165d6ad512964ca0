#include "runtime/cli/args.h"

#include "base/strings.h"

namespace berth::runtime::cli {
namespace {

const FlagDef* find_flag(const std::vector<FlagDef>& defs, std::string_view name, std::string* canonical) {
  for (const auto& d : defs) {
    auto names = split(d.names, ',');
    for (const auto& n : names) {
      if (n == name) {
        *canonical = names.front();
        return &d;
      }
    }
  }
  return nullptr;
}

}  // namespace

Result<Args> Args::parse(const std::vector<FlagDef>& defs, const std::vector<std::string>& argv) {
  Args a;
  size_t i = 0;
  for (; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // first positional
    std::string_view body(arg);
    body.remove_prefix(body.substr(0, 2) == "--" ? 2 : 1);
    std::string name(body), value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      name = std::string(body.substr(0, eq));
      value = std::string(body.substr(eq + 1));
      has_value = true;
    }
    std::string canonical;
    const FlagDef* def = find_flag(defs, name, &canonical);
    if (!def) return Error::invalid("flag provided but not defined: -{}", name);
    if (def->takes_value) {
      if (!has_value) {
        if (i + 1 >= argv.size()) return Error::invalid("flag needs an argument: -{}", name);
        value = argv[++i];
      }
    } else if (has_value) {
      if (value != "true" && value != "false" && value != "1" && value != "0")
        return Error::invalid("invalid boolean value {:?} for -{}", value, name);
    } else {
      value = "true";
    }
    a.values_[canonical].push_back(value);
  }
  for (; i < argv.size(); ++i) a.positional_.push_back(argv[i]);
  return a;
}

bool Args::flag(std::string_view name) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return false;
  const std::string& v = it->second.back();
  return v == "true" || v == "1";
}

std::optional<std::string> Args::get(std::string_view name) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

const std::vector<std::string>& Args::all(std::string_view name) const {
  static const std::vector<std::string> empty;
  auto it = values_.find(std::string(name));
  return it == values_.end() ? empty : it->second;
}

std::string usage_flags(const std::vector<FlagDef>& defs) {
  std::string out;
  for (const auto& d : defs) {
    std::string names;
    for (const auto& n : split(d.names, ',')) {
      if (!names.empty()) names += ", ";
      names += (n.size() == 1 ? "-" : "--") + n;
    }
    if (d.takes_value) names += " value";
    out += fmt::format("   {:<28} {}\n", names, d.help);
  }
  return out;
}

}  // namespace berth::runtime::cli
