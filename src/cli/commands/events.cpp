// events (system events): the daemon's event stream, one line an event,
// in docker's layout or through --format.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "base/strings.h"
#include "cli/commands/commands.h"
#include "cli/template.h"

namespace berth::cli {
namespace {

struct EventsOptions {
  std::string since, until, format;
  std::vector<std::string> filters;
  std::vector<std::string> args;  // none allowed; collected to say so as docker does
};

// Go's time.Format("2006-01-02T15:04:05.000000000Z07:00") in local time.
std::string event_time(int64_t nano) {
  time_t secs = static_cast<time_t>(nano / 1000000000);
  int64_t frac = nano % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  tm local{};
  localtime_r(&secs, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
  long off = local.tm_gmtoff / 60;
  std::string zone = off == 0 ? "Z" : fmt::format("{}{:02}:{:02}", off < 0 ? '-' : '+', std::abs(off) / 60, std::abs(off) % 60);
  return fmt::format("{}.{:09}{}", buf, frac, zone);
}

// docker's prettyPrintEvent: time, type, action, actor, then the
// attributes sorted by key.
std::string pretty(const Json& m) {
  std::string out;
  int64_t nano = m.value("timeNano", int64_t{0});
  if (nano == 0) nano = m.value("time", int64_t{0}) * 1000000000;
  if (nano != 0) out += event_time(nano) + " ";
  const Json actor = m.value("Actor", Json::object());
  out += fmt::format("{} {} {}", m.value("Type", ""), m.value("Action", ""), actor.value("ID", ""));
  std::vector<std::string> attrs;
  if (actor.contains("Attributes") && actor["Attributes"].is_object())
    for (const auto& [k, v] : actor["Attributes"].items())  // std::map: sorted, as docker sorts
      attrs.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  if (!attrs.empty()) out += " (" + join(attrs, ", ") + ")";
  return out;
}

// The event as docker's templates see it: the fields of Go's
// events.Message, every one present (zero when the daemon left it out).
Json message(const Json& m) {
  const Json actor = m.value("Actor", Json::object());
  return Json{{"Status", m.value("status", "")},
              {"ID", m.value("id", "")},
              {"From", m.value("from", "")},
              {"Type", m.value("Type", "")},
              {"Action", m.value("Action", "")},
              {"Actor", {{"ID", actor.value("ID", "")}, {"Attributes", actor.value("Attributes", Json(nullptr))}}},
              {"Scope", m.value("scope", "")},
              {"Time", m.value("time", int64_t{0})},
              {"TimeNano", m.value("timeNano", int64_t{0})}};
}

// `{{json .}}` of events.Message: Go's field order and its json tags
// (omitempty on the old top-level fields, scope and the times), which a
// JSON object with sorted keys cannot give.
std::string message_json(const Json& g) {
  std::vector<std::string> parts;
  auto add = [&](const char* key, const Json& v) { parts.push_back(go_json(key) + ":" + go_json(v)); };
  static const std::pair<const char*, const char*> kOld[] = {{"status", "Status"}, {"id", "ID"}, {"from", "From"}};
  for (const auto& [key, field] : kOld)
    if (!g[field].get<std::string>().empty()) add(key, g[field]);
  add("Type", g["Type"]);
  add("Action", g["Action"]);
  parts.push_back("\"Actor\":{\"ID\":" + go_json(g["Actor"]["ID"]) + ",\"Attributes\":" +
                  go_json(g["Actor"]["Attributes"]) + "}");
  if (!g["Scope"].get<std::string>().empty()) add("scope", g["Scope"]);
  if (g["Time"].get<int64_t>() != 0) add("time", g["Time"]);
  if (g["TimeNano"].get<int64_t>() != 0) add("timeNano", g["TimeNano"]);
  return "{" + join(parts, ",") + "}";
}

int events(Context& ctx, const EventsOptions& o) {
  std::string format = o.format == "json" ? "{{json .}}" : o.format;
  bool whole_json = trim(format) == "{{json .}}";
  std::optional<Template> tmpl;
  if (!format.empty()) {
    auto t = Template::parse(format);
    if (!t) {
      std::fprintf(stderr, "Error parsing format: %s\n", t.error().message().c_str());
      return 64;  // docker's status for a bad events template
    }
    tmpl = std::move(*t);
  }
  std::string q = "/events?";
  auto since = api_timestamp(o.since);
  if (!since) return report(since.error());
  auto until = api_timestamp(o.until);
  if (!until) return report(until.error());
  if (!since->empty()) q += "since=" + *since + "&";
  if (!until->empty()) q += "until=" + *until + "&";
  if (!o.filters.empty()) {
    auto f = filters_json(o.filters);
    if (!f) return report(f.error(), kExitDaemon);
    q += "filters=" + url_escape(*f);
  }
  Client c = ctx.client();
  auto s = c.open("GET", q);
  if (!s) return report(s.error());
  if (s->status() >= 300) return report(daemon_error(Response{s->status(), {}, s->read_all().value_or("")}));
  auto r = s->each_line([&](std::string_view line) -> Result<void> {
    auto m = Json::parse(line, nullptr, false);
    if (!m.is_object() || (m.contains("Actor") && !m["Actor"].is_object())) return ok();
    std::string out;
    if (!tmpl) {
      out = pretty(m);
    } else if (whole_json) {
      out = message_json(message(m));
    } else {
      out = BERTH_TRY(tmpl->execute(message(m)));
    }
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return ok();
  });
  return r ? 0 : report(r.error());
}

}  // namespace

void register_events(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<EventsOptions>();
  auto* cmd = add_command(app, "events", "Get real time events from the server");
  cmd->add_option("--since", o->since, "Show all events created since timestamp");
  cmd->add_option("--until", o->until, "Stream events until this timestamp");
  cmd->add_option("-f,--filter", o->filters, "Filter output based on conditions provided")->allow_extra_args(false);
  cmd->add_option("--format", o->format, "Format output using a custom template");
  cmd->add_option("ARGS", o->args)->group("");
  set_action(cmd, ctx, [&ctx, o, cmd] { return check_no_args(*cmd, o->args, "[OPTIONS]") ? events(ctx, *o) : 1; });
}

}  // namespace berth::cli
