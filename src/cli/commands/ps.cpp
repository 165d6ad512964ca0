// ps (container ls): the containers/json rows as docker's table.
#include <ctime>
#include <algorithm>
#include <iterator>
#include <set>

#include "base/strings.h"
#include "cli/commands/commands.h"
#include "cli/go_compat.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

struct PsOptions {
  bool all = false, quiet = false, no_trunc = false, latest = false, size = false;
  int last = -1;
  std::vector<std::string> filters;
  std::string format;
};

// docker's ps columns: the row field, its title, and the member of the
// daemon's entry it is made from ("" for none).
struct ColumnInfo {
  std::string_view name, title, member;
};
constexpr ColumnInfo kColumns[] = {
    {"Command", "COMMAND", "Command"},    {"CreatedAt", "CREATED AT", "Created"},
    {"ID", "CONTAINER ID", "Id"},         {"Image", "IMAGE", "Image"},
    {"Labels", "LABELS", "Labels"},       {"LocalVolumes", "LOCAL VOLUMES", ""},
    {"Mounts", "MOUNTS", "Mounts"},       {"Names", "NAMES", "Names"},
    {"Networks", "NETWORKS", "NetworkSettings"}, {"Ports", "PORTS", "Ports"},
    {"RunningFor", "CREATED", "Created"}, {"Size", "SIZE", "SizeRw"},
    {"State", "STATE", "State"},          {"Status", "STATUS", "Status"}};

const ColumnInfo& column_info(std::string_view name) {
  return *std::find_if(std::begin(kColumns), std::end(kColumns), [&](const ColumnInfo& c) { return c.name == name; });
}

// docker's default table.
constexpr std::string_view kDefaultTable[] = {"ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"};

std::string go_time(int64_t unix_seconds) {
  time_t t = unix_seconds;
  tm local{};
  localtime_r(&t, &local);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &local);
  return buf;
}

std::string ports_text(const Json& ports) {
  std::vector<std::string> out;
  if (!ports.is_array()) return "";
  for (const auto& p : ports) {
    std::string proto = p.value("Type", "tcp");
    int priv = p.value("PrivatePort", 0);
    if (p.contains("PublicPort")) {
      std::string ip = p.value("IP", "");
      out.push_back(fmt::format("{}{}{}->{}/{}", ip, ip.empty() ? "" : ":", p.value("PublicPort", 0), priv, proto));
    } else {
      out.push_back(fmt::format("{}/{}", priv, proto));
    }
  }
  return join(out, ", ");
}

std::string member_text(const RawObject& c, std::string_view member) { return raw_string(c[member]).value_or(""); }

// The text of one of docker's ps columns for a container entry.
std::string column(const RawObject& c, std::string_view name, bool no_trunc) {
  if (name == "Command") {
    std::string command = member_text(c, "Command");
    return go_quote(no_trunc ? command : ellipsis(command, 20));
  }
  if (name == "CreatedAt") return go_time(raw_int(c["Created"]).value_or(0));
  if (name == "RunningFor") return time_ago(raw_int(c["Created"]).value_or(0));
  if (name == "ID") {
    std::string id = member_text(c, "Id");
    return no_trunc ? id : short_id(id);
  }
  if (name == "Image") {
    std::string image = member_text(c, "Image");
    return !no_trunc && image.starts_with("sha256:") ? short_id(image) : image;
  }
  if (name == "State" || name == "Status") return member_text(c, name);
  if (name == "LocalVolumes") return "0";
  if (name == "Size") {
    Json size = raw_json(c["SizeRw"]);
    return size.is_number() ? human_size(size.get<double>()) : "0B";
  }
  if (name == "Ports") {
    std::string_view ports = c["Ports"];
    return ports.empty() || ports == "[]" ? "" : ports_text(raw_json(ports));
  }
  std::vector<std::string> parts;
  if (name == "Names") {
    for (auto& n : raw_strings(c["Names"]).value_or(std::vector<std::string>{})) {
      if (!n.empty() && n[0] == '/') n.erase(0, 1);
      if (no_trunc || n.find('/') == std::string::npos) parts.push_back(std::move(n));
    }
  } else if (name == "Labels") {
    Json labels = raw_json(c["Labels"]);
    if (labels.is_object())
      for (const auto& [k, v] : labels.items()) parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  } else if (name == "Mounts") {
    Json mounts = raw_json(c["Mounts"]);
    if (mounts.is_array())
      for (const auto& m : mounts)
        if (m.is_object()) parts.push_back(m.value("Name", m.value("Source", "")));
  } else if (name == "Networks") {
    Json settings = raw_json(c["NetworkSettings"]);
    if (settings.is_object() && settings.contains("Networks") && settings["Networks"].is_object())
      for (const auto& [k, v] : settings["Networks"].items()) parts.push_back(k);
  }
  return join(parts, ",");
}

// One container as docker's formatter sees it; only the `need`ed fields
// (all when nullopt) are computed.
Json ps_row(const RawObject& c, bool no_trunc, const std::optional<std::set<std::string>>& need) {
  Json r = Json::object();
  for (const auto& col : kColumns)
    if (!need || need->count(std::string(col.name))) r[std::string(col.name)] = column(c, col.name, no_trunc);
  if (!need || need->count("Platform")) r["Platform"] = nullptr;
  return r;
}

int ps(Context& ctx, const PsOptions& o) {
  std::string q = "/containers/json?";
  if (o.all || o.latest || o.last > 0) q += "all=1&";
  if (o.latest) q += "limit=1&";
  else if (o.last > 0) q += fmt::format("limit={}&", o.last);
  if (o.size) q += "size=1&";
  if (!o.filters.empty()) {
    auto f = filters_json(o.filters);
    if (!f) return report(f.error(), kExitDaemon);
    q += "filters=" + url_escape(*f);
  }
  std::string format = o.quiet ? "{{.ID}}" : o.format;
  // docker's default table (most `ps` calls print it) is written straight
  // from its columns; any other format goes through its template.
  const std::string_view spec = trim(format);
  const bool default_table = spec.empty() || (spec.starts_with("table") && trim(spec.substr(5)).empty());
  std::optional<Renderer> renderer;
  std::optional<std::set<std::string>> need = std::set<std::string>();
  if (default_table) {
    for (std::string_view name : kDefaultTable) need->emplace(name);
  } else {
    Json headers = Json::object();
    for (const auto& col : kColumns) headers[std::string(col.name)] = col.title;
    auto made = Renderer::make(format, "", headers);
    if (!made) return report(made.error(), kExitDaemon);
    renderer.emplace(std::move(*made));
    need = renderer->fields();
  }
  Client c = ctx.client();
  auto r = c.call("GET", q);
  if (!r) return report(r.error());
  if (r->status >= 300) return report(daemon_error(*r));
  // A row at a time: with hundreds of containers, holding them all would
  // cost more (in page faults) than the parsing. Of each entry only the
  // members those columns are made from are read.
  std::vector<std::string_view> members;
  for (const auto& col : kColumns)
    if (!col.member.empty() && (!need || need->count(std::string(col.name))) &&
        std::find(members.begin(), members.end(), col.member) == members.end())
      members.push_back(col.member);
  std::string table;
  if (default_table)
    for (std::string_view name : kDefaultTable) (table += column_info(name).title) += name == "Names" ? '\n' : '\t';
  bool template_failed = false;
  auto rendered = for_each_object(r->body, "the daemon's response", members, [&](const RawObject& ct) -> Result<void> {
    if (default_table) {
      for (std::string_view name : kDefaultTable)
        (table += column(ct, name, o.no_trunc)) += name == "Names" ? '\n' : '\t';
      return ok();
    }
    auto added = renderer->add(ps_row(ct, o.no_trunc, need));
    template_failed = !added;
    return added;
  });
  if (!rendered) return report(rendered.error(), template_failed ? kExitDaemon : 1);
  std::string out = default_table ? tabwrite(table) : renderer->finish();
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

Result<std::string> filters_json(const std::vector<std::string>& filters) {
  Json f = Json::object();
  for (const auto& kv : filters) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return Error::invalid("invalid argument \"{}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)", kv);
    f[kv.substr(0, eq)][kv.substr(eq + 1)] = true;
  }
  return f.dump();
}

void register_ps(CLI::App& app, Context& ctx, const std::string& name, bool alias) {
  auto o = std::make_shared<PsOptions>();
  auto* cmd = add_command(app, name, "List containers");
  if (alias) {
    cmd->alias("ps");
    cmd->alias("list");
  }
  cmd->add_flag("-a,--all", o->all, "Show all containers (default shows just running)");
  cmd->add_flag("-q,--quiet", o->quiet, "Only display container IDs");
  cmd->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  cmd->add_flag("-l,--latest", o->latest, "Show the latest created container (includes all states)");
  cmd->add_option("-n,--last", o->last, "Show n last created containers (includes all states)");
  cmd->add_flag("-s,--size", o->size, "Display total file sizes");
  cmd->add_option("-f,--filter", o->filters, "Filter output based on conditions provided")->allow_extra_args(false);
  cmd->add_option("--format", o->format, "Format output using a custom template");
  set_action(cmd, ctx, [&ctx, o] { return ps(ctx, *o); });
}

}  // namespace berth::cli
