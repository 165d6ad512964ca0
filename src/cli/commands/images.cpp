// images (image ls), rmi, tag, history, load, save.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "base/fd.h"
#include "base/strings.h"
#include "cli/commands/commands.h"
#include "cli/output.h"
#include "cli/transfer.h"

namespace berth::cli {

std::pair<std::string, std::string> split_ref(const std::string& ref) {
  auto colon = ref.rfind(':');
  auto slash = ref.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return {ref, "latest"};
  return {ref.substr(0, colon), ref.substr(colon + 1)};
}

namespace {

struct ImagesOptions {
  bool all = false, quiet = false, no_trunc = false, digests = false;
  std::vector<std::string> filters;
  std::string format;
  std::string reference;
};

int images(Context& ctx, const ImagesOptions& o) {
  std::string q = "/images/json?";
  if (o.all) q += "all=1&";
  Json f = Json::object();
  for (const auto& kv : o.filters) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "invalid argument \"%s\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\n", kv.c_str());
      return kExitDaemon;
    }
    f[kv.substr(0, eq)][kv.substr(eq + 1)] = true;
  }
  if (!o.reference.empty()) f["reference"][o.reference] = true;
  if (!f.empty()) q += "filters=" + url_escape(f.dump());
  Client c = ctx.client();
  auto list = get_json(c, q);
  if (!list) return report(list.error());
  std::vector<Json> rows;
  std::set<std::string> seen;
  for (const auto& img : *list) {
    std::string id = img.value("Id", "");
    std::string shown = o.no_trunc ? id : short_id(id);
    if (o.quiet) {
      if (seen.insert(shown).second) rows.push_back(Json{{"ID", shown}});
      continue;
    }
    std::vector<std::string> tags;
    if (img.contains("RepoTags") && img["RepoTags"].is_array())
      for (const auto& t : img["RepoTags"]) tags.push_back(t.get<std::string>());
    if (tags.empty()) tags.push_back("<none>:<none>");
    int64_t created = img.value("Created", int64_t{0});
    for (const auto& t : tags) {
      auto [repo, tag] = split_ref(t);
      double size = img.value("Size", 0.0);
      rows.push_back(Json{{"Containers", "N/A"},
                          {"CreatedAt", std::to_string(created)},
                          {"CreatedSince", time_ago(created)},
                          {"Digest", "<none>"},
                          {"ID", shown},
                          {"Repository", repo},
                          {"SharedSize", "N/A"},
                          {"Size", human_size(size)},
                          {"Tag", tag},
                          {"UniqueSize", "N/A"},
                          {"VirtualSize", human_size(img.value("VirtualSize", size))}});
    }
  }
  Json headers = {{"Repository", "REPOSITORY"}, {"Tag", "TAG"},           {"ID", "IMAGE ID"},
                  {"CreatedSince", "CREATED"},  {"CreatedAt", "CREATED AT"}, {"Size", "SIZE"},
                  {"Digest", "DIGEST"},         {"Containers", "CONTAINERS"}, {"SharedSize", "SHARED SIZE"},
                  {"UniqueSize", "UNIQUE SIZE"}, {"VirtualSize", "VIRTUAL SIZE"}};
  std::string table = o.digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                                : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  auto out = render(o.quiet ? "{{.ID}}" : o.format, table, headers, rows);
  if (!out) return report(out.error(), kExitDaemon);
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}

int rmi(Context& ctx, const std::vector<std::string>& names, bool force, bool no_prune) {
  Client c = ctx.client();
  int rc = 0;
  for (const auto& n : names) {
    auto r = c.call("DELETE", fmt::format("/images/{}?force={}&noprune={}", n, force ? 1 : 0, no_prune ? 1 : 0));
    if (!r) return report(r.error());
    if (r->status >= 300) {
      rc = report(daemon_error(*r));
      continue;
    }
    auto j = r->json();
    if (!j) continue;
    for (const auto& e : *j) {
      if (e.contains("Untagged")) std::printf("Untagged: %s\n", e["Untagged"].get<std::string>().c_str());
      if (e.contains("Deleted")) std::printf("Deleted: %s\n", e["Deleted"].get<std::string>().c_str());
    }
  }
  return rc;
}

int tag(Context& ctx, const std::string& source, const std::string& target) {
  auto [repo, t] = split_ref(target);
  Client c = ctx.client();
  auto r = post(c, "POST", fmt::format("/images/{}/tag?repo={}&tag={}", source, url_escape(repo), url_escape(t)));
  return r ? 0 : report(r.error());
}

struct HistoryOptions {
  bool quiet = false, no_trunc = false, human = true;
  std::string format, image;
};

int history(Context& ctx, const HistoryOptions& o) {
  Client c = ctx.client();
  auto list = get_json(c, fmt::format("/images/{}/history", o.image));
  if (!list) return report(list.error());
  std::vector<Json> rows;
  for (const auto& h : *list) {
    std::string id = h.value("Id", "");
    if (!o.no_trunc && id != "<missing>") id = short_id(id);
    int64_t created = h.value("Created", int64_t{0});
    std::string by = h.value("CreatedBy", "");
    for (auto& ch : by)
      if (ch == '\t') ch = ' ';
    if (!o.no_trunc) by = ellipsis(by, 45);
    double size = h.value("Size", 0.0);
    rows.push_back(Json{{"ID", id},
                        {"CreatedSince", created > 0 ? time_ago(created) : "N/A"},
                        {"CreatedAt", created > 0 ? std::to_string(created) : "N/A"},
                        {"CreatedBy", by},
                        {"Size", o.human ? human_size(size) : fmt::format("{}", static_cast<int64_t>(size))},
                        {"Comment", h.value("Comment", "")}});
  }
  Json headers = {{"ID", "IMAGE"}, {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"},
                  {"CreatedBy", "CREATED BY"}, {"Size", "SIZE"}, {"Comment", "COMMENT"}};
  auto out = render(o.quiet ? "{{.ID}}" : o.format,
                    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", headers, rows);
  if (!out) return report(out.error(), kExitDaemon);
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}

int load(Context& ctx, const std::string& input, bool quiet) {
  Fd file;
  int fd = 0;
  if (!input.empty()) {
    file.reset(::open(input.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) return report(Error::sys(errno, "open {}", input));
    fd = file.get();
  } else if (::isatty(0)) {
    std::fprintf(stderr, "requested load from stdin, but stdin is empty\n");
    return 1;
  }
  Client c = ctx.client();
  auto s = c.open_upload("POST", quiet ? "/images/load?quiet=1" : "/images/load?quiet=0", fd, "application/x-tar");
  if (!s) return report(s.error());
  if (s->status() >= 300) return report(stream_error(*s));
  auto p = print_progress(*s);
  return p ? 0 : report(p.error());
}

int save(Context& ctx, const std::vector<std::string>& names, const std::string& output) {
  auto out = OutputFile::open(output, "failed to save image");
  if (!out) return report(out.error());
  std::string q = "/images/get?";
  for (const auto& n : names) q += "names=" + url_escape(n) + "&";
  Client c = ctx.client();
  if (auto r = download(c, q, *out); !r) return report(r.error());
  return 0;
}

}  // namespace

void register_images(CLI::App& app, Context& ctx, bool management) {
  {
    auto o = std::make_shared<ImagesOptions>();
    auto* cmd = add_command(app, management ? "ls" : "images", "List images");
    if (management) cmd->alias("list");
    cmd->add_flag("-a,--all", o->all, "Show all images (default hides intermediate images)");
    cmd->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
    cmd->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    cmd->add_flag("--digests", o->digests, "Show digests");
    cmd->add_option("-f,--filter", o->filters, "Filter output based on conditions provided")->allow_extra_args(false);
    cmd->add_option("--format", o->format, "Format output using a custom template");
    cmd->add_option("REPOSITORY", o->reference, "[REPOSITORY[:TAG]]");
    set_action(cmd, ctx, [&ctx, o] { return images(ctx, *o); });
  }
  {
    struct O { std::vector<std::string> names; bool force = false, no_prune = false; };
    auto o = std::make_shared<O>();
    auto* cmd = add_command(app, management ? "rm" : "rmi", "Remove one or more images");
    if (management) cmd->alias("remove");
    cmd->add_flag("-f,--force", o->force, "Force removal of the image");
    cmd->add_flag("--no-prune", o->no_prune, "Do not delete untagged parents");
    cmd->add_option("IMAGE", o->names, "Images to remove")->required();
    set_action(cmd, ctx, [&ctx, o] { return rmi(ctx, o->names, o->force, o->no_prune); });
  }
  {
    struct O { std::string source, target; };
    auto o = std::make_shared<O>();
    auto* cmd = add_command(app, "tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
    cmd->add_option("SOURCE_IMAGE", o->source, "SOURCE_IMAGE[:TAG]")->required();
    cmd->add_option("TARGET_IMAGE", o->target, "TARGET_IMAGE[:TAG]")->required();
    set_action(cmd, ctx, [&ctx, o] { return tag(ctx, o->source, o->target); });
  }
  {
    auto o = std::make_shared<HistoryOptions>();
    auto* cmd = add_command(app, "history", "Show the history of an image");
    cmd->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
    cmd->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    cmd->add_option("-H,--human", o->human, "Print sizes and dates in human readable format")->default_str("true");
    cmd->add_option("--format", o->format, "Format output using a custom template");
    cmd->add_option("IMAGE", o->image, "Image")->required();
    set_action(cmd, ctx, [&ctx, o] { return history(ctx, *o); });
  }
  {
    struct O { std::string input; bool quiet = false; };
    auto o = std::make_shared<O>();
    auto* cmd = add_command(app, "load", "Load an image from a tar archive or STDIN");
    cmd->add_option("-i,--input", o->input, "Read from tar archive file, instead of STDIN");
    cmd->add_flag("-q,--quiet", o->quiet, "Suppress the load output");
    set_action(cmd, ctx, [&ctx, o] { return load(ctx, o->input, o->quiet); });
  }
  {
    struct O { std::vector<std::string> names; std::string output; };
    auto o = std::make_shared<O>();
    auto* cmd = add_command(app, "save", "Save one or more images to a tar archive (streamed to STDOUT by default)");
    cmd->add_option("-o,--output", o->output, "Write to a file, instead of STDOUT");
    cmd->add_option("IMAGE", o->names, "Images to save")->required();
    set_action(cmd, ctx, [&ctx, o] { return save(ctx, o->names, o->output); });
  }
}

}  // namespace berth::cli
