// stats (container stats): docker's live table of CPU, memory, network and
// block I/O from /containers/{id}/stats, computed as the docker CLI does.
//
// As in docker, one reader a container (a thread blocked on its stream,
// docker's goroutine) keeps that container's latest figures, and the main
// thread draws them every 500 ms. Without container names berth also
// follows the daemon's container events: a started container (a created
// one too with --all) joins the table, one that dies leaves it unless
// --all.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "base/strings.h"
#include "cli/commands/commands.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

using Clock = std::chrono::steady_clock;

const char* kStatsTable =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
// docker waits this long for a figure before it shows a container as "--".
constexpr auto kStale = std::chrono::seconds(2);

struct StatsOptions {
  bool all = false, no_stream = false, no_trunc = false;
  std::string format;
  std::vector<std::string> containers;
};

// One container's latest figures: docker's StatsEntry.
struct Figures {
  std::string id, name;  // name as the daemon sends it, "/web"
  double cpu = 0, mem = 0, mem_limit = 0, mem_percent = 0;
  double net_rx = 0, net_tx = 0, blk_read = 0, blk_write = 0;
  uint64_t pids = 0;
  bool invalid = false;
};

struct Entry {
  std::string container;  // as named on the command line, or the short ID
  Figures f;
  std::string error;       // the daemon's refusal, reported when named
  bool first = false;      // a first answer came (or the wait for it ended)
  bool reading = true;     // the stream is still open
  Clock::time_point started = Clock::now(), updated = Clock::now();
};

// What the readers and the drawing thread share. Never freed: a reader
// may still be blocked on its socket when berth exits.
struct Shared {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::shared_ptr<Entry>> entries;  // in the order they joined
  bool events_ended = false;
  std::string events_error;
};

uint64_t u64(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<uint64_t>() : 0;
}

const Json& member(const Json& j, const char* key) {
  static const Json kEmpty = Json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

// The docker CLI's calculations (calculateCPUPercentUnix, calculateBlockIO,
// calculateMemUsageUnixNoCache, calculateNetwork) over one stats object.
Figures figures(const Json& v) {
  Figures f;
  f.id = v.value("id", "");
  f.name = v.value("name", "");
  const Json& cpu = member(v, "cpu_stats");
  const Json& pre = member(v, "precpu_stats");
  double cpu_delta = static_cast<double>(u64(member(cpu, "cpu_usage"), "total_usage")) -
                     static_cast<double>(u64(member(pre, "cpu_usage"), "total_usage"));
  double system_delta = static_cast<double>(u64(cpu, "system_cpu_usage")) -
                        static_cast<double>(u64(pre, "system_cpu_usage"));
  double online = static_cast<double>(u64(cpu, "online_cpus"));
  if (online == 0) {
    const Json& usage = member(cpu, "cpu_usage");
    if (auto it = usage.find("percpu_usage"); it != usage.end() && it->is_array())
      online = static_cast<double>(it->size());
  }
  if (system_delta > 0 && cpu_delta > 0) f.cpu = cpu_delta / system_delta * online * 100.0;

  const Json& blkio = member(v, "blkio_stats");
  if (auto it = blkio.find("io_service_bytes_recursive"); it != blkio.end() && it->is_array())
    for (const auto& e : *it) {
      std::string op = e.value("op", "");
      if (op.empty()) continue;
      if (op[0] == 'r' || op[0] == 'R') f.blk_read += static_cast<double>(u64(e, "value"));
      if (op[0] == 'w' || op[0] == 'W') f.blk_write += static_cast<double>(u64(e, "value"));
    }

  // Memory without the page cache: usage less inactive_file (cgroup v2)
  // or total_inactive_file (v1), as docker 19.03 and later show it.
  const Json& mem = member(v, "memory_stats");
  const Json& mstats = member(mem, "stats");
  uint64_t usage = u64(mem, "usage");
  if (mstats.contains("total_inactive_file") && u64(mstats, "total_inactive_file") < usage)
    f.mem = static_cast<double>(usage - u64(mstats, "total_inactive_file"));
  else if (u64(mstats, "inactive_file") < usage)
    f.mem = static_cast<double>(usage - u64(mstats, "inactive_file"));
  else
    f.mem = static_cast<double>(usage);
  f.mem_limit = static_cast<double>(u64(mem, "limit"));
  if (f.mem_limit != 0) f.mem_percent = f.mem / f.mem_limit * 100.0;
  f.pids = u64(member(v, "pids_stats"), "current");

  const Json& nets = member(v, "networks");
  for (const auto& [_, n] : nets.items()) {
    f.net_rx += static_cast<double>(u64(n, "rx_bytes"));
    f.net_tx += static_cast<double>(u64(n, "tx_bytes"));
  }
  return f;
}

// docker's statsContext: the row the templates see.
Json row(const Entry& e, bool stale, bool trunc) {
  const Figures& f = e.f;
  bool invalid = f.invalid || stale;
  auto pct = [](double v) { return fmt::format("{:.2f}%", v); };
  auto io = [](double a, double b) { return human_size(a) + " / " + human_size(b); };
  std::string id = trunc ? short_id(f.id) : f.id;
  return Json{{"Container", e.container},
              {"Name", f.name.size() > 1 ? f.name.substr(1) : "--"},
              {"ID", id},
              {"CPUPerc", invalid ? "--" : pct(f.cpu)},
              {"MemUsage", invalid ? "-- / --" : bytes_size(f.mem) + " / " + bytes_size(f.mem_limit)},
              {"MemPerc", invalid ? "--" : pct(f.mem_percent)},
              {"NetIO", invalid ? "--" : io(f.net_rx, f.net_tx)},
              {"BlockIO", invalid ? "--" : io(f.blk_read, f.blk_write)},
              {"PIDs", invalid ? "--" : std::to_string(f.pids)}};
}

// The reader of one container's stats. A stream that ends leaves the
// container shown as "--", as docker shows it; a one-shot answer stays.
void collect(Shared* sh, std::shared_ptr<Entry> e, Client client, bool stream) {
  bool got = false;
  auto finish = [&](const std::string& error) {
    std::lock_guard<std::mutex> g(sh->mu);
    if (!error.empty()) e->error = error;
    if (stream || !got) e->f.invalid = true;
    e->first = true;
    e->reading = false;
    sh->changed.notify_all();
  };
  auto s = client.open("GET", fmt::format("/containers/{}/stats?stream={}", url_escape(e->container), stream ? 1 : 0));
  if (!s) return finish(s.error().message());
  if (s->status() >= 300)
    return finish(daemon_error(Response{s->status(), {}, s->read_all().value_or("")}).message());
  (void)s->each_line([&](std::string_view line) -> Result<void> {
    auto j = Json::parse(line, nullptr, false);
    if (!j.is_object()) return ok();
    Figures f = figures(j);
    std::lock_guard<std::mutex> g(sh->mu);
    got = true;
    e->f = std::move(f);
    e->first = true;
    e->updated = Clock::now();
    sh->changed.notify_all();
    return ok();
  });
  finish("");
}

// A container joins the table once.
void add(Shared* sh, const std::string& container, const Client& client, bool stream) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard<std::mutex> g(sh->mu);
    for (const auto& x : sh->entries)
      if (x->container == container) return;
    e = std::make_shared<Entry>();
    e->container = container;
    sh->entries.push_back(e);
  }
  std::thread(collect, sh, e, client, stream).detach();
}

void remove(Shared* sh, const std::string& container) {
  std::lock_guard<std::mutex> g(sh->mu);
  std::erase_if(sh->entries, [&](const auto& x) { return x->container == container; });
}

// docker's event handler while `stats` runs without names.
void follow_events(Shared* sh, BodyStream events, Client client, const StatsOptions& o) {
  auto r = events.each_line([&](std::string_view line) -> Result<void> {
    auto j = Json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("Actor") || !j["Actor"].is_object()) return ok();
    std::string action = j.value("Action", "");
    std::string id = short_id(j["Actor"].value("ID", ""));
    if (id.empty()) return ok();
    if (action == "start" || (action == "create" && o.all)) add(sh, id, client, !o.no_stream);
    else if (action == "die" && !o.all) remove(sh, id);
    return ok();
  });
  std::lock_guard<std::mutex> g(sh->mu);
  sh->events_ended = true;
  if (!r) sh->events_error = r.error().message();
  sh->changed.notify_all();
}

// docker's redraw: cursor home, each line followed by "erase to end of
// line", then "erase below", in one write so the table does not flicker.
std::string frame(const std::string& table) {
  std::string out = "\033[H";
  for (const auto& line : split(table, '\n')) out += line + "\033[K\n";
  return out + "\033[J";
}

int stats(Context& ctx, const StatsOptions& o) {
  Client client = ctx.client();
  auto* sh = new Shared;  // see Shared
  bool show_all = o.containers.empty();
  bool stream = !o.no_stream;
  if (show_all) {
    // Subscribed before the list is read, so that no start is missed.
    auto ev = client.open("GET", "/events?filters=" + url_escape(R"({"type":{"container":true}})"));
    if (!ev) return report(ev.error());
    if (ev->status() >= 300) return report(daemon_error(Response{ev->status(), {}, ev->read_all().value_or("")}));
    auto list = get_json(client, o.all ? "/containers/json?all=1" : "/containers/json");
    if (!list) return report(list.error());
    std::thread(follow_events, sh, std::move(*ev), client, o).detach();
    for (const auto& c : *list) add(sh, short_id(c.value("Id", "")), client, stream);
  } else {
    for (const auto& name : o.containers) add(sh, name, client, stream);
  }

  // Each container's first figures, or two seconds of waiting for them.
  {
    std::unique_lock<std::mutex> g(sh->mu);
    for (;;) {
      auto now = Clock::now();
      bool waiting = false;
      for (const auto& e : sh->entries)
        if (!e->first && now - e->started < kStale) waiting = true;
      if (!waiting) break;
      sh->changed.wait_for(g, std::chrono::milliseconds(50));
    }
    if (!show_all) {
      std::vector<std::string> errors;
      for (const auto& e : sh->entries)
        if (!e->error.empty()) errors.push_back(e->error);
      if (!errors.empty()) {
        std::fprintf(stderr, "%s\n", join(errors, "\n").c_str());
        return 1;
      }
    }
  }

  Json headers = {{"Container", "CONTAINER"}, {"Name", "NAME"},       {"ID", "CONTAINER ID"},
                  {"CPUPerc", "CPU %"},       {"MemUsage", "MEM USAGE / LIMIT"}, {"MemPerc", "MEM %"},
                  {"NetIO", "NET I/O"},       {"BlockIO", "BLOCK I/O"}, {"PIDs", "PIDS"}};
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // docker's ticker
    std::vector<Json> rows;
    bool events_ended;
    std::string events_error;
    {
      std::lock_guard<std::mutex> g(sh->mu);
      auto now = Clock::now();
      for (const auto& e : sh->entries) {
        // No figure for two seconds from an open stream: docker zeroes the entry.
        bool stale = e->reading && now - e->updated > kStale;
        rows.push_back(row(*e, stale, !o.no_trunc));
      }
      events_ended = sh->events_ended;
      events_error = sh->events_error;
    }
    auto out = render(o.format, kStatsTable, headers, rows);
    if (!out) return report(out.error());
    std::string text = stream ? frame(*out) : *out;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (!stream || (rows.empty() && !show_all)) return 0;
    // The daemon went away: docker ends quietly on an unexpected EOF.
    if (show_all && events_ended) {
      if (events_error.empty() || events_error.find("closed the connection") != std::string::npos) return 0;
      std::fprintf(stderr, "%s\n", events_error.c_str());
      return 1;
    }
  }
}

}  // namespace

void register_stats(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<StatsOptions>();
  auto* cmd = add_command(app, "stats", "Display a live stream of container(s) resource usage statistics");
  cmd->add_flag("-a,--all", o->all, "Show all containers (default shows just running)");
  cmd->add_flag("--no-stream", o->no_stream, "Disable streaming stats and only pull the first result");
  cmd->add_flag("--no-trunc", o->no_trunc, "Do not truncate output");
  cmd->add_option("--format", o->format, "Format output using a custom template");
  cmd->add_option("CONTAINER", o->containers, "Containers (default: all running)");
  set_action(cmd, ctx, [&ctx, o] { return stats(ctx, *o); });
}

}  // namespace berth::cli
