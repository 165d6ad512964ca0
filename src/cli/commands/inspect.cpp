// inspect, container inspect, image inspect: the daemon's objects as an
// indented JSON array in the daemon's key order, or through -f/--format.
#include <cstdio>

#include "cli/commands/commands.h"
#include "cli/template.h"

namespace berth::cli {
namespace {

struct InspectOptions {
  std::string format, type;
  bool size = false;
  std::vector<std::string> names;
};

int inspect(Context& ctx, const InspectOptions& o, const std::string& kind) {
  std::string type = kind.empty() ? o.type : kind;
  if (!type.empty() && type != "container" && type != "image") {
    std::fprintf(stderr, "\"%s\" is not a valid value for --type\n", type.c_str());
    return kExitDaemon;
  }
  std::optional<Template> tmpl;
  if (!o.format.empty()) {
    auto t = Template::parse(o.format);
    if (!t) return report(t.error(), kExitDaemon);
    tmpl = std::move(*t);
  }
  Client c = ctx.client();
  std::vector<std::string> raw;
  std::vector<std::string> missing;
  for (const auto& n : o.names) {
    bool found = false;
    for (const char* k : {"container", "image"}) {
      if (!type.empty() && type != k) continue;
      std::string path = std::string(k) == "container" ? fmt::format("/containers/{}/json{}", n, o.size ? "?size=1" : "")
                                                       : fmt::format("/images/{}/json", n);
      auto r = c.call("GET", path);
      if (!r) return report(r.error());
      if (r->status == 200) {
        raw.push_back(r->body);
        found = true;
        break;
      }
      if (r->status != 404) return report(daemon_error(*r));
    }
    if (!found) missing.push_back(n);
  }
  int rc = 0;
  if (tmpl) {
    for (const auto& body : raw) {
      auto j = Json::parse(body, nullptr, false);
      auto out = tmpl->execute(j);
      if (!out) {
        std::fflush(stdout);
        return report(out.error().context("template parsing error"));
      }
      std::printf("%s\n", out->c_str());
    }
  } else {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& body : raw) all.push_back(nlohmann::ordered_json::parse(body, nullptr, false));
    std::printf("%s\n", all.dump(4).c_str());
  }
  std::fflush(stdout);
  for (const auto& n : missing) {
    const char* what = type == "container" ? "container" : type == "image" ? "image" : "object";
    std::fprintf(stderr, "Error: No such %s: %s\n", what, n.c_str());
    rc = 1;
  }
  return rc;
}

}  // namespace

void register_inspect(CLI::App& app, Context& ctx, const std::string& kind) {
  auto o = std::make_shared<InspectOptions>();
  auto* cmd = add_command(app, "inspect", "Return low-level information on Berth objects");
  cmd->add_option("-f,--format", o->format, "Format output using a custom template");
  if (kind.empty()) cmd->add_option("--type", o->type, "Only inspect objects of the given type");
  if (kind != "image") cmd->add_flag("-s,--size", o->size, "Display total file sizes if the type is container");
  cmd->add_option("NAME", o->names, "Objects to inspect")->required();
  set_action(cmd, ctx, [&ctx, o, kind] { return inspect(ctx, *o, kind); });
}

}  // namespace berth::cli
