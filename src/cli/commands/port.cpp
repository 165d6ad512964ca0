// port (container port): a container's published ports, read from
// inspect's NetworkSettings.Ports ({"80/tcp": [{"HostIp", "HostPort"}]}).
#include <algorithm>
#include <cstdio>

#include "cli/commands/commands.h"
#include "cli/go_compat.h"

namespace berth::cli {
namespace {

int port(Context& ctx, const std::string& name, const std::string& spec) {
  auto id = trim_id("container", name);
  if (!id) return report(id.error());
  Client c = ctx.client();
  auto info = get_json(c, fmt::format("/containers/{}/json", *id));
  if (!info) return report(info.error());
  const Json* ports = nullptr;
  if (info->contains("NetworkSettings") && (*info)["NetworkSettings"].is_object() &&
      (*info)["NetworkSettings"].contains("Ports") && (*info)["NetworkSettings"]["Ports"].is_object())
    ports = &(*info)["NetworkSettings"]["Ports"];
  auto frontend = [](const Json& f) {
    auto text = [&](const char* k) {
      return f.is_object() && f.contains(k) && f[k].is_string() ? f[k].get<std::string>() : std::string();
    };
    return join_host_port(text("HostIp"), text("HostPort"));
  };
  std::vector<std::string> out;
  if (!spec.empty()) {
    // As the docker CLI: "80" means 80/tcp, the number is checked only
    // after the container was found, and the key is matched as written.
    auto slash = spec.find('/');
    std::string number = spec.substr(0, slash);
    std::string proto = slash == std::string::npos ? "" : spec.substr(slash + 1);
    if (proto.empty()) proto = "tcp";
    std::string why;
    if (!go_parse_port(number, why)) {
      std::fprintf(stderr, "Error: invalid port (%s): %s\n", number.c_str(), why.c_str());
      return 1;
    }
    std::string key = number + "/" + proto;
    if (!ports || !ports->contains(key) || !(*ports)[key].is_array() || (*ports)[key].empty()) {
      std::fprintf(stderr, "Error: No public port '%s' published for %s\n", spec.c_str(), name.c_str());
      return 1;
    }
    for (const auto& f : (*ports)[key]) out.push_back(frontend(f));
  } else if (ports) {
    for (const auto& [key, frontends] : ports->items()) {
      if (!frontends.is_array()) continue;
      for (const auto& f : frontends) out.push_back(key + " -> " + frontend(f));
    }
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return natural_less(a, b); });
  for (const auto& line : out) std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

void register_port(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<std::vector<std::string>>();
  auto* cmd = add_command(app, "port", "List port mappings or a specific mapping for the container");
  cmd->add_option("CONTAINER", *args, "CONTAINER [PRIVATE_PORT[/PROTO]]");
  set_action(cmd, ctx, [&ctx, args, cmd] {
    if (!check_arg_count(*cmd, "CONTAINER [PRIVATE_PORT[/PROTO]]", args->size(), 1, 2)) return 1;
    return port(ctx, (*args)[0], args->size() > 1 ? (*args)[1] : "");
  });
}

}  // namespace berth::cli
