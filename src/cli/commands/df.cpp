// system df: docker's disk usage summary (images, containers, local
// volumes, build cache) from GET /system/df, and its -v tables.
#include <cstdio>
#include <tuple>

#include "base/strings.h"
#include "cli/commands/commands.h"
#include "cli/output.h"
#include "cli/template.h"

namespace berth::cli {
namespace {

struct DfOptions {
  bool verbose = false;
  std::string format;
  std::vector<std::string> args;  // none allowed; collected to say so as docker does
};

const char* kDfTable = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";

int64_t i64(const Json& j, const char* key, int64_t fallback = 0) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : fallback;
}

const Json& list(const Json& du, const char* key) {
  static const Json kEmpty = Json::array();
  auto it = du.find(key);
  return it != du.end() && it->is_array() ? *it : kEmpty;
}

// go-units' HumanSize, with docker's " (N%)" of the total when there is one.
std::string reclaimable(int64_t bytes, int64_t total) {
  std::string s = human_size(static_cast<double>(bytes), 4);
  return total > 0 ? fmt::format("{} ({}%)", s, bytes * 100 / total) : s;
}

Json summary_row(const std::string& type, size_t total, int active, int64_t size, const std::string& reclaim) {
  return Json{{"Type", type},
              {"TotalCount", std::to_string(total)},
              {"Active", std::to_string(active)},
              {"Size", human_size(static_cast<double>(size), 4)},
              {"Reclaimable", reclaim}};
}

bool container_active(const Json& c) {
  std::string state = c.value("State", "");
  return state == "running" || state == "paused" || state == "restarting";
}

// docker's four rows: what each kind holds, how much is in use, and what
// removing the unused would give back.
std::vector<Json> summary(const Json& du) {
  std::vector<Json> rows;
  {
    const Json& images = list(du, "Images");
    int64_t total = i64(du, "LayersSize"), used = 0;
    int active = 0;
    for (const auto& i : images) {
      if (i64(i, "Containers") > 0) ++active;
      if (i64(i, "Containers") != 0 && i64(i, "Size", -1) != -1 && i64(i, "SharedSize", -1) != -1)
        used += i64(i, "Size") - i64(i, "SharedSize");
    }
    rows.push_back(summary_row("Images", images.size(), active, total, reclaimable(total - used, total)));
  }
  {
    const Json& containers = list(du, "Containers");
    int64_t size = 0, free = 0;
    int active = 0;
    for (const auto& c : containers) {
      size += i64(c, "SizeRw");
      if (container_active(c)) ++active;
      else free += i64(c, "SizeRw");
    }
    rows.push_back(summary_row("Containers", containers.size(), active, size, reclaimable(free, size)));
  }
  {
    const Json& volumes = list(du, "Volumes");
    int64_t size = 0, free = 0;
    int active = 0;
    for (const auto& v : volumes) {
      const Json usage = v.value("UsageData", Json::object());
      int64_t s = i64(usage, "Size", -1);
      if (i64(usage, "RefCount") > 0) ++active;
      if (s == -1) continue;
      size += s;
      if (i64(usage, "RefCount") == 0) free += s;
    }
    rows.push_back(summary_row("Local Volumes", volumes.size(), active, size, reclaimable(free, size)));
  }
  {
    const Json& cache = list(du, "BuildCache");
    int64_t size = 0, in_use = 0;
    int active = 0;
    for (const auto& b : cache) {
      bool used = b.value("InUse", false), shared = b.value("Shared", false);
      if (!shared) size += i64(b, "Size");
      if (used) ++active;
      if (used && !shared) in_use += i64(b, "Size");
    }
    rows.push_back(summary_row("Build Cache", cache.size(), active, size, human_size(static_cast<double>(size - in_use), 4)));
  }
  return rows;
}


// The rows of `df -v`: docker's image, container, volume and build cache
// contexts with the fields their tables show.
Json verbose_rows(const Json& du, bool trunc) {
  Json out = {{"Images", Json::array()}, {"Containers", Json::array()}, {"Volumes", Json::array()},
              {"BuildCache", Json::array()}};
  for (const auto& i : list(du, "Images")) {
    std::string repo = "<none>", tag = "<none>";
    const Json tags = i.value("RepoTags", Json::array());
    if (tags.is_array() && !tags.empty() && tags[0] != "<none>:<none>")
      std::tie(repo, tag) = split_ref(tags[0].get<std::string>());  // docker shows the first tag only
    int64_t size = i64(i, "Size"), shared = i64(i, "SharedSize", -1), containers = i64(i, "Containers", -1);
    std::string id = i.value("Id", "");
    out["Images"].push_back({{"Repository", repo},
                             {"Tag", tag},
                             {"ID", trunc ? short_id(id) : id},
                             {"CreatedSince", time_ago(i64(i, "Created"))},
                             {"Size", human_size(static_cast<double>(size))},
                             {"SharedSize", shared == -1 ? "N/A" : human_size(static_cast<double>(shared), 4)},
                             {"UniqueSize", shared == -1 ? "N/A" : human_size(static_cast<double>(size - shared), 4)},
                             {"Containers", containers == -1 ? "N/A" : std::to_string(containers)}});
  }
  for (const auto& c : list(du, "Containers")) {
    std::string id = c.value("Id", ""), image = c.value("Image", ""), command = c.value("Command", "");
    if (trunc && image.starts_with("sha256:")) image = short_id(image);
    std::vector<std::string> names;
    for (const auto& n : c.value("Names", Json::array())) {
      std::string s = n.get<std::string>();
      names.push_back(!s.empty() && s[0] == '/' ? s.substr(1) : s);
    }
    int volumes = 0;
    for (const auto& m : c.value("Mounts", Json::array()))
      if (m.value("Driver", "") == "local") ++volumes;
    out["Containers"].push_back({{"ID", trunc ? short_id(id) : id},
                                 {"Image", image.empty() ? "<no image>" : image},
                                 {"Command", Json(trunc ? ellipsis(command, 20) : command).dump()},
                                 {"LocalVolumes", std::to_string(volumes)},
                                 {"Size", human_size(static_cast<double>(i64(c, "SizeRw")))},
                                 {"RunningFor", time_ago(i64(c, "Created"))},
                                 {"Status", c.value("Status", "")},
                                 {"Names", join(names, ",")}});
  }
  for (const auto& v : list(du, "Volumes")) {
    const Json usage = v.value("UsageData", Json());
    bool known = usage.is_object();
    out["Volumes"].push_back({{"Name", v.value("Name", "")},
                              {"Links", known ? std::to_string(i64(usage, "RefCount")) : "N/A"},
                              {"Size", known ? human_size(static_cast<double>(i64(usage, "Size")), 4) : "N/A"}});
  }
  return out;
}

// `df -v` as tables: a titled section a kind, as docker prints them.
Result<std::string> verbose_tables(const Json& du, const Json& rows) {
  struct Section {
    const char* title;
    const char* key;
    const char* table;
    Json headers;
  };
  const Section sections[] = {
      {"Images space usage:\n\n", "Images",
       "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
       {{"Repository", "REPOSITORY"}, {"Tag", "TAG"}, {"ID", "IMAGE ID"}, {"CreatedSince", "CREATED"},
        {"Size", "SIZE"}, {"SharedSize", "SHARED SIZE"}, {"UniqueSize", "UNIQUE SIZE"}, {"Containers", "CONTAINERS"}}},
      {"\nContainers space usage:\n\n", "Containers",
       "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
       {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Command", "COMMAND"}, {"LocalVolumes", "LOCAL VOLUMES"},
        {"Size", "SIZE"}, {"RunningFor", "CREATED"}, {"Status", "STATUS"}, {"Names", "NAMES"}}},
      {"\nLocal Volumes space usage:\n\n", "Volumes", "table {{.Name}}\t{{.Links}}\t{{.Size}}",
       {{"Name", "VOLUME NAME"}, {"Links", "LINKS"}, {"Size", "SIZE"}}},
  };
  std::string out;
  for (const auto& s : sections) {
    out += s.title;
    std::vector<Json> items(rows[s.key].begin(), rows[s.key].end());
    out += BERTH_TRY(render("", s.table, s.headers, items));
  }
  int64_t builder = 0;
  for (const auto& b : list(du, "BuildCache"))
    if (!b.value("Shared", false)) builder += i64(b, "Size");
  out += fmt::format("\nBuild cache usage: {}\n\n", human_size(static_cast<double>(builder), 4));
  out += BERTH_TRY(render("", "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
                          {{"ID", "CACHE ID"}, {"CacheType", "CACHE TYPE"}, {"Size", "SIZE"},
                           {"CreatedSince", "CREATED"}, {"LastUsedSince", "LAST USED"}, {"UsageCount", "USAGE"},
                           {"Shared", "SHARED"}},
                          {}));
  return out;
}

int df(Context& ctx, const DfOptions& o) {
  Client c = ctx.client();
  auto du = get_json(c, "/system/df");
  if (!du) return report(du.error());
  Result<std::string> out = std::string();
  bool table = o.format.empty() || o.format.starts_with("table");
  if (!o.verbose) {
    Json headers = {{"Type", "TYPE"}, {"TotalCount", "TOTAL"}, {"Active", "ACTIVE"}, {"Size", "SIZE"},
                    {"Reclaimable", "RECLAIMABLE"}};
    out = render(o.format, kDfTable, headers, summary(*du));
  } else if (o.format.empty() || trim(o.format) == "table") {
    out = verbose_tables(*du, verbose_rows(*du, true));
  } else {
    // A template of its own sees the four lists at once, as docker's does.
    auto t = Template::parse(o.format);
    if (!t) return report(t.error(), kExitDaemon);
    out = t->execute(verbose_rows(*du, table));
  }
  if (!out) return report(out.error(), kExitDaemon);
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}

}  // namespace

void register_df(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<DfOptions>();
  auto* cmd = add_command(app, "df", "Show docker disk usage");
  cmd->add_flag("-v,--verbose", o->verbose, "Show detailed information on space usage");
  cmd->add_option("--format", o->format, "Format output using a custom template");
  cmd->add_option("ARGS", o->args)->group("");
  set_action(cmd, ctx, [&ctx, o, cmd] { return check_no_args(*cmd, o->args, "[OPTIONS]") ? df(ctx, *o) : 1; });
}

}  // namespace berth::cli
