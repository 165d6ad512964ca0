// container prune, image prune, system prune: docker's question, the
// prune requests, and the list of what went.
//
// system prune removes what berthd has to remove: stopped containers, then
// dangling (with -a: unused) images. berthd has no networks, volumes or
// build cache yet, so docker's further prune requests would find nothing;
// the question still names them, as docker's does.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "base/strings.h"
#include "cli/commands/commands.h"
#include "cli/go_compat.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

struct PruneOptions {
  bool force = false, all = false, volumes = false;
  std::vector<std::string> filters;
  std::vector<std::string> args;  // none allowed; collected to say so as docker does
};

// docker's prompt.Confirm: the question on stdout, one line from stdin,
// "y" or "Y" (spaces around ignored) is yes; anything else, EOF included, no.
bool confirm(const std::string& question) {
  std::fputs((question + " [y/N] ").c_str(), stdout);
  std::fflush(stdout);
  char* line = nullptr;
  size_t cap = 0;
  bool yes = false;
  if (::getline(&line, &cap, stdin) >= 0) {
    std::string_view answer = trim(line);
    yes = answer == "y" || answer == "Y";
  }
  std::free(line);
  return yes;
}

struct Pruned {
  uint64_t space = 0;
  std::string output;  // "Deleted ...:\n" and one line a removal; empty if none
};

Result<Json> post_prune(Client& c, const std::string& path, const Json& filters) {
  std::string q = path;
  if (!filters.empty()) q += "?filters=" + url_escape(filters.dump());
  auto r = BERTH_TRY(c.call("POST", q));
  if (r.status >= 300) return daemon_error(r);
  return r.json();
}

Result<Json> filter_object(const std::vector<std::string>& filters) {
  return Json::parse(BERTH_TRY(filters_json(filters)));
}

Result<Pruned> prune_containers(Client& c, const Json& filters) {
  Json answer = BERTH_TRY(post_prune(c, "/containers/prune", filters));
  Pruned p;
  if (answer.contains("ContainersDeleted") && answer["ContainersDeleted"].is_array() &&
      !answer["ContainersDeleted"].empty()) {
    p.output = "Deleted Containers:\n";
    for (const auto& id : answer["ContainersDeleted"]) p.output += id.get<std::string>() + "\n";
    p.space = answer.value("SpaceReclaimed", uint64_t{0});
  }
  return p;
}

Result<Pruned> prune_images(Client& c, Json filters, bool all) {
  filters["dangling"][all ? "false" : "true"] = true;
  Json answer = BERTH_TRY(post_prune(c, "/images/prune", filters));
  Pruned p;
  if (answer.contains("ImagesDeleted") && answer["ImagesDeleted"].is_array() && !answer["ImagesDeleted"].empty()) {
    p.output = "Deleted Images:\n";
    for (const auto& e : answer["ImagesDeleted"]) {
      std::string untagged = e.value("Untagged", "");
      p.output += untagged.empty() ? "deleted: " + e.value("Deleted", "") + "\n" : "untagged: " + untagged + "\n";
    }
    p.space = answer.value("SpaceReclaimed", uint64_t{0});
  }
  return p;
}

// docker's confirmationMessage for system prune.
std::string system_question(const PruneOptions& o) {
  std::string q = "WARNING! This will remove:\n  - all stopped containers\n"
                  "  - all networks not used by at least one container\n";
  if (o.volumes) q += "  - all anonymous volumes not used by at least one container\n";
  q += o.all ? "  - all images without at least one container associated to them\n  - all build cache\n"
             : "  - all dangling images\n  - unused build cache\n";
  std::vector<std::string> shown;
  for (const auto& f : o.filters) {
    auto eq = f.find('=');
    std::string key = f.substr(0, eq);
    if (key == "label" || key == "label!" || key == "until") shown.push_back(f);
  }
  std::sort(shown.begin(), shown.end(), [](const auto& a, const auto& b) { return natural_less(a, b); });
  if (!shown.empty()) {
    q += "\n  Items to be pruned will be filtered with:\n";
    for (const auto& f : shown) q += "  - " + f + "\n";
  }
  return q + "\nAre you sure you want to continue?";
}

int prune(Context& ctx, const std::string& kind, const PruneOptions& o) {
  auto filters = filter_object(o.filters);
  if (!filters) return report(filters.error(), kExitDaemon);
  if (kind == "system" && o.volumes && filters->contains("until")) {
    std::fprintf(stderr, "ERROR: The \"until\" filter is not supported with \"--volumes\"\n");
    return 1;
  }
  if (!o.force) {
    std::string question =
        kind == "container" ? "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"
        : kind == "image"   ? (o.all ? "WARNING! This will remove all images without at least one container "
                                       "associated to them.\nAre you sure you want to continue?"
                                     : "WARNING! This will remove all dangling images.\nAre you sure you want to "
                                       "continue?")
                            : system_question(o);
    // A "no" is no error: docker exits 0 and says nothing more.
    if (!confirm(question)) return 0;
  }
  Client c = ctx.client();
  std::vector<Pruned> done;
  if (kind != "image") {
    auto p = prune_containers(c, *filters);
    if (!p) return report(p.error());
    done.push_back(std::move(*p));
  }
  if (kind != "container") {
    auto p = prune_images(c, *filters, o.all);
    if (!p) return report(p.error());
    done.push_back(std::move(*p));
  }
  uint64_t space = 0;
  for (const auto& p : done) {
    if (!p.output.empty()) std::printf("%s\n", p.output.c_str());
    space += p.space;
  }
  std::printf("Total reclaimed space: %s\n", human_size(static_cast<double>(space), 4).c_str());
  return 0;
}

}  // namespace

void register_prune(CLI::App& app, Context& ctx, const std::string& kind) {
  auto o = std::make_shared<PruneOptions>();
  const char* what = kind == "container" ? "Remove all stopped containers"
                     : kind == "image"   ? "Remove unused images"
                                         : "Remove unused data";
  auto* cmd = add_command(app, "prune", what);
  cmd->add_flag("-f,--force", o->force, "Do not prompt for confirmation");
  if (kind != "container")
    cmd->add_flag("-a,--all", o->all,
                  kind == "image" ? "Remove all unused images, not just dangling ones"
                                  : "Remove all unused images not just dangling ones");
  if (kind == "system") cmd->add_flag("--volumes", o->volumes, "Prune anonymous volumes");
  cmd->add_option("--filter", o->filters, "Provide filter values (e.g. \"until=<timestamp>\")")->allow_extra_args(false);
  cmd->add_option("ARGS", o->args)->group("");
  set_action(cmd, ctx, [&ctx, kind, o, cmd] {
    return check_no_args(*cmd, o->args, "[OPTIONS]") ? prune(ctx, kind, *o) : 1;
  });
}

}  // namespace berth::cli
