#include "cli/help.h"

#include <algorithm>
#include <set>
#include <vector>

#include "cli/go_compat.h"

namespace berth::cli {
namespace {

// pflag's word for what a flag takes, from CLI11's type name.
std::string value_word(const CLI::Option& opt) {
  if (opt.get_type_size() == 0) return "";
  if (opt.get_items_expected_max() > 1) return "list";
  std::string t = opt.get_type_name();
  if (t == "TEXT") return "string";
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

// "attach      Attach local ..." : names padded to cobra's 11 or the longest.
std::string command_table(const std::vector<const CLI::App*>& cmds) {
  size_t width = 11;
  for (const auto* c : cmds) width = std::max(width, c->get_name().size());
  std::string out;
  for (const auto* c : cmds) {
    out += "  " + c->get_name() + std::string(width - c->get_name().size() + 1, ' ') + c->get_description();
    out += '\n';
  }
  return out;
}

std::vector<const CLI::App*> sorted(std::vector<const CLI::App*> cmds) {
  std::sort(cmds.begin(), cmds.end(), [](const auto* a, const auto* b) { return a->get_name() < b->get_name(); });
  return cmds;
}

std::string root_help(const CLI::App& app) {
  // docker's first section, in its order.
  static const std::vector<std::string> kCommon = {"run",    "exec",  "ps",     "build",   "pull", "push",
                                                   "images", "login", "logout", "search", "version", "info"};
  auto all = app.get_subcommands([](const CLI::App*) { return true; });
  auto find = [&](const std::string& n) -> const CLI::App* {
    for (const auto* c : all)
      if (c->get_name() == n) return c;
    return nullptr;
  };
  auto not_yet = [](const CLI::App* c) { return c->get_group() == "Not available yet"; };
  std::vector<const CLI::App*> common, management, commands, later;
  std::set<std::string> in_common;
  for (const auto& n : kCommon)
    if (const auto* c = find(n); c && !not_yet(c)) {
      common.push_back(c);
      in_common.insert(n);
    }
  for (const auto* c : all) {
    if (in_common.count(c->get_name())) continue;
    if (not_yet(c)) later.push_back(c);
    else if (!c->get_subcommands([](const CLI::App*) { return true; }).empty()) management.push_back(c);
    else commands.push_back(c);
  }
  std::string out = "Usage:  " + app.get_name() + " [OPTIONS] COMMAND\n\n" + app.get_description() + "\n";
  for (const auto& [title, list] : {std::pair{"Common Commands", common}, {"Management Commands", sorted(management)},
                                    {"Commands", sorted(commands)}, {"Not available yet", sorted(later)}})
    if (!list.empty()) out += std::string("\n") + title + ":\n" + command_table(list);
  out += "\nGlobal Options:\n" + flag_table(app);
  out += "\nRun '" + app.get_name() + " COMMAND --help' for more information on a command.\n";
  return out;
}

}  // namespace

std::string flag_table(const CLI::App& app) {
  struct Line {
    std::string sort_key, left, description;
  };
  std::vector<Line> lines;
  for (const CLI::Option* opt : app.get_options()) {
    if (!opt->nonpositional() || opt == app.get_help_ptr()) continue;
    Line l;
    const auto& shorts = opt->get_snames();
    const auto& longs = opt->get_lnames();
    l.left = shorts.empty() ? "      " : "  -" + shorts[0] + (longs.empty() ? "" : ", ");
    if (!longs.empty()) l.left += "--" + longs[0];
    if (auto w = value_word(*opt); !w.empty()) l.left += " " + w;
    l.sort_key = longs.empty() ? shorts[0] : longs[0];
    l.description = opt->get_description();
    lines.push_back(std::move(l));
  }
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.sort_key < b.sort_key; });
  size_t width = 0;
  for (const auto& l : lines) width = std::max(width, l.left.size());
  std::string out;
  for (const auto& l : lines) out += l.left + std::string(width - l.left.size() + 3, ' ') + l.description + "\n";
  return out;
}

std::string DockerHelp::make_help(const CLI::App* app, std::string name, CLI::AppFormatMode) const {
  if (app->get_parent() == nullptr) return root_help(*app);
  auto subs = app->get_subcommands([](const CLI::App*) { return true; });
  if (!subs.empty()) {
    return "Usage:  " + name + " COMMAND\n\n" + app->get_description() + "\n\nCommands:\n" +
           command_table(sorted(subs)) + "\nRun '" + name + " COMMAND --help' for more information on a command.\n";
  }
  std::string use = usage_of(*app);
  std::string out = "Usage:  " + name + (use.empty() ? "" : " " + use) + "\n\n" + app->get_description() + "\n";
  if (!app->get_aliases().empty()) {
    std::string parent = name.substr(0, name.rfind(' '));
    std::string list = name;
    for (const auto& a : app->get_aliases()) list += ", " + parent + " " + a;
    out += "\nAliases:\n  " + list + "\n";
  }
  if (std::string flags = flag_table(*app); !flags.empty()) out += "\nOptions:\n" + flags;
  return out;
}

}  // namespace berth::cli
