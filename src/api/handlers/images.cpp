// Image routes: list, inspect, history, tag, remove, load, save (get),
// import (create?fromSrc=-), prune; pulls answer that they are not
// available yet.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "api/handlers/handlers.h"
#include "base/digest.h"
#include "base/strings.h"
#include "image/archive.h"
#include "image/reference.h"

namespace berth::api {

namespace {

using image::ImageRecord;

std::string familiar(const std::string& normalized) {
  auto r = image::parse_normalized(normalized);
  return r ? r->familiar() : normalized;
}

void publish(DaemonContext& ctx, const std::string& action, const std::string& id,
             const std::string& name = "") {
  if (ctx.events == nullptr) return;
  engine::Event e{"image", action, id, {}, 0};
  if (!name.empty()) e.attributes["name"] = name;
  ctx.events->publish(std::move(e));
}

Json familiar_tags(const ImageRecord& rec) {
  Json tags = Json::array();
  for (const auto& t : rec.tags) tags.push_back(familiar(t));
  return tags;
}

// Copy a request body into a pipe for a reader thread (load, import),
// which gets the read end. SIGPIPE is ignored by the daemon: a reader
// that stops early turns into EPIPE here.
Result<void> pump_body(Request& req, int wfd) {
  std::vector<char> buf(1 << 20);
  for (;;) {
    size_t n = BERTH_TRY(req.read_body(buf.data(), buf.size()));
    if (n == 0) return ok();
    size_t off = 0;
    while (off < n) {
      ssize_t w = ::write(wfd, buf.data() + off, n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Error::sys(errno, "pass request body on");
      }
      off += static_cast<size_t>(w);
    }
  }
}

// Run `fn(read_fd)` in a thread while this one streams the request body
// into it.
template <typename T, typename Fn>
Result<T> with_body_pipe(Request& req, Fn fn) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Error::sys(errno, "pipe");
  Fd rd(p[0]), wr(p[1]);
  std::optional<Result<T>> result;
  std::thread worker([&] {
    result.emplace(fn(rd.get()));
    rd.reset();  // a writer still pumping gets EPIPE and stops
  });
  auto pumped = pump_body(req, wr.get());
  wr.reset();
  worker.join();
  if (!*result) return result->error();
  if (!pumped && pumped.error().sys_errno() != EPIPE) return pumped.error();
  return std::move(*result);
}

void list_images(DaemonContext& ctx, Request& req, Response& res) {
  auto filters = req.filters();
  if (!filters) return res.error(filters.error());
  auto all = ctx.images->list();
  if (!all) return res.error(all.error());
  Json out = Json::array();
  for (const auto& rec : *all) {
    bool keep = true;
    for (const auto& [k, values] : *filters) {
      if (k == "dangling") {
        bool want = !values.empty() && (values[0] == "true" || values[0] == "1");
        keep = keep && (rec.tags.empty() == want);
      } else if (k == "reference") {
        bool any = false;
        for (const auto& v : values)
          for (const auto& t : rec.tags) {
            std::string f = familiar(t);
            std::string repo = f.substr(0, f.rfind(':'));
            if (f == v || repo == v || t == v) any = true;
          }
        keep = keep && any;
      } else if (k == "label" || k == "before" || k == "since") {
        continue;  // applied below where cheap; unknown keys are errors
      } else {
        return res.error(Error::invalid("invalid filter '{}'", k));
      }
    }
    if (!keep) continue;
    auto cfg = ctx.images->config(rec);
    out.push_back(image_summary(rec, cfg ? &*cfg : nullptr));
  }
  res.json(200, out);
}

void inspect_image(DaemonContext& ctx, Request& req, Response& res) {
  auto rec = ctx.images->resolve(req.params["name"]);
  if (!rec) return res.error(rec.error());
  auto cfg = ctx.images->config(*rec);
  if (!cfg) return res.error(cfg.error());
  const Json& c = cfg->json;
  std::vector<std::string> lowers;
  for (auto it = rec->chain_ids.rbegin(); it != rec->chain_ids.rend(); ++it)
    lowers.push_back(ctx.images->layers().diff_path(*it));
  Json j = {{"Id", rec->id},
            {"RepoTags", familiar_tags(*rec)},
            {"RepoDigests", Json::array()},
            {"Parent", ""},
            {"Comment", c.value("comment", "")},
            {"Created", rec->created.empty() ? "0001-01-01T00:00:00Z" : rec->created},
            {"Container", ""},
            {"ContainerConfig", c.value("container_config", Json::object())},
            {"DockerVersion", c.value("docker_version", "")},
            {"Author", cfg->author},
            {"Config", c.contains("config") ? c["config"] : Json(nullptr)},
            {"Architecture", cfg->architecture},
            {"Os", cfg->os},
            {"Size", rec->size},
            {"VirtualSize", rec->size},
            {"GraphDriver", {{"Name", "overlay2"}, {"Data", {{"LowerDir", join(lowers, ":")}}}}},
            {"RootFS", {{"Type", "layers"}, {"Layers", cfg->diff_ids}}},
            {"Metadata", {{"LastTagTime", "0001-01-01T00:00:00Z"}}}};
  if (!cfg->variant.empty()) j["Variant"] = cfg->variant;
  res.json(200, j);
}

void image_history(DaemonContext& ctx, Request& req, Response& res) {
  auto rec = ctx.images->resolve(req.params["name"]);
  if (!rec) return res.error(rec.error());
  auto cfg = ctx.images->config(*rec);
  if (!cfg) return res.error(cfg.error());
  auto sizes = ctx.images->layer_sizes(*rec);
  if (!sizes) return res.error(sizes.error());
  Json out = Json::array();
  size_t layer = 0;
  std::vector<Json> entries;
  for (const auto& h : cfg->history) {
    int64_t size = 0;
    if (!h.empty_layer && layer < sizes->size()) size = (*sizes)[layer++];
    entries.push_back({{"Id", "<missing>"}, {"Created", unix_seconds(h.created)},
                       {"CreatedBy", h.created_by}, {"Tags", nullptr}, {"Size", size},
                       {"Comment", h.comment}});
  }
  if (entries.empty())
    entries.push_back({{"Id", "<missing>"}, {"Created", unix_seconds(rec->created)},
                       {"CreatedBy", ""}, {"Tags", nullptr}, {"Size", rec->size}, {"Comment", ""}});
  // Newest first; the newest entry is the image itself.
  entries.back()["Id"] = rec->id;
  entries.back()["Tags"] = rec->tags.empty() ? Json(nullptr) : familiar_tags(*rec);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) out.push_back(*it);
  res.json(200, out);
}

void tag_image(DaemonContext& ctx, Request& req, Response& res) {
  auto rec = ctx.images->resolve(req.params["name"]);
  if (!rec) return res.error(rec.error());
  std::string repo = req.query_value("repo").value_or("");
  std::string tag = req.query_value("tag").value_or("");
  if (repo.empty()) return res.error(Error::invalid("repository name must have at least one component"));
  std::string name = tag.empty() ? repo : repo + ":" + tag;
  auto ref = image::parse_normalized(name);
  if (!ref) return res.error(ref.error());
  if (!ref->digest.empty()) return res.error(Error::invalid("refusing to create a tag with a digest reference"));
  if (auto r = ctx.images->tag(rec->id, name); !r) return res.error(r.error());
  publish(ctx, "tag", rec->id, ref->familiar());
  res.empty(201);
}

void remove_image(DaemonContext& ctx, Request& req, Response& res) {
  const std::string& name = req.params["name"];
  auto rec = ctx.images->resolve(name);
  if (!rec) return res.error(rec.error());
  bool force = req.query_bool("force");
  Json out = Json::array();
  auto ref = image::parse_normalized(name);
  bool by_tag = ref && ref->digest.empty() && !image::looks_like_image_id(name) &&
                std::find(rec->tags.begin(), rec->tags.end(),
                          (ref->tag.empty() ? ref->name() + ":latest" : ref->string())) != rec->tags.end();
  if (by_tag && rec->tags.size() > 1) {
    if (auto r = ctx.images->untag(name); !r) return res.error(r.error());
    std::string untagged = familiar(ref->tag.empty() ? ref->name() + ":latest" : ref->string());
    publish(ctx, "untag", rec->id, untagged);
    out.push_back({{"Untagged", untagged}});
    return res.json(200, out);
  }
  if (!by_tag && rec->tags.size() > 1 && !force)
    return res.error(Error::make(ErrorCode::Conflict,
                                 "conflict: unable to delete {} (must be forced) - image is referenced "
                                 "in multiple repositories",
                                 rec->id.substr(7, 12)));
  for (const auto& t : rec->tags) out.push_back({{"Untagged", familiar(t)}});
  if (auto r = ctx.images->delete_image(rec->id); !r) return res.error(r.error());
  for (const auto& t : rec->tags) publish(ctx, "untag", rec->id, familiar(t));
  publish(ctx, "delete", rec->id);
  out.push_back({{"Deleted", rec->id}});
  (void)ctx.images->gc();
  res.json(200, out);
}

void load_images(DaemonContext& ctx, Request& req, Response& res) {
  auto loaded = with_body_pipe<std::vector<image::LoadedImage>>(
      req, [&](int fd) { return image::load_archive(*ctx.images, fd); });
  if (!loaded) return res.error(loaded.error());
  if (auto r = res.begin_stream(200, "application/json"); !r) return;
  for (const auto& img : *loaded)
    publish(ctx, "load", img.tags.empty() ? img.id : familiar(img.tags.front()));
  for (const auto& img : *loaded) {
    if (img.tags.empty()) (void)res.write_json({{"stream", "Loaded image ID: " + img.id + "\n"}});
    for (const auto& t : img.tags) (void)res.write_json({{"stream", "Loaded image: " + familiar(t) + "\n"}});
  }
  (void)res.end_stream();
}

void save_images(DaemonContext& ctx, Response& res, std::vector<std::string> names) {
  if (names.empty()) return res.error(Error::invalid("no images named"));
  for (const auto& n : names)
    if (auto r = ctx.images->resolve(n); !r) return res.error(r.error());
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return res.error(Error::sys(errno, "pipe"));
  Fd rd(p[0]), wr(p[1]);
  std::optional<Result<void>> result;
  std::thread worker([&] {
    result.emplace(image::save_archive(*ctx.images, names, wr.get()));
    wr.reset();
  });
  bool streaming = static_cast<bool>(res.begin_stream(200, "application/x-tar"));
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(rd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (streaming && !res.write(std::string_view(buf.data(), static_cast<size_t>(n)))) streaming = false;
  }
  rd.reset();
  worker.join();
  // An error after the first byte cannot change the status: end the
  // stream short, so the client sees a truncated tar rather than a good one.
  if (!*result) return;
  for (const auto& n : names) publish(ctx, "save", n);
  (void)res.end_stream();
}

void create_image(DaemonContext& ctx, Request& req, Response& res) {
  if (auto from = req.query_value("fromImage"); from) {
    std::string name = *from;
    if (auto tag = req.query_value("tag"); tag && !tag->empty()) name += (tag->rfind("sha256:", 0) == 0 ? "@" : ":") + *tag;
    return res.error(Error::make(ErrorCode::NotImplemented,
                                 "pulling images is not available yet in Berth (asked for {}); "
                                 "load the image from a file with `docker load -i FILE`",
                                 name));
  }
  auto src = req.query_value("fromSrc");
  if (!src) return res.error(Error::invalid("either fromImage or fromSrc is required"));
  if (*src != "-")
    return res.error(Error::make(ErrorCode::NotImplemented,
                                 "importing from a URL is not supported; send the tar as the body (fromSrc=-)"));
  image::ImportOptions opts;
  opts.changes = req.query_values("changes");
  opts.message = req.query_value("message").value_or("");
  std::string repo = req.query_value("repo").value_or("");
  std::string tag = req.query_value("tag").value_or("");
  if (!repo.empty()) opts.tag = tag.empty() ? repo : repo + ":" + tag;
  auto img = with_body_pipe<image::LoadedImage>(
      req, [&](int fd) { return image::import_rootfs(*ctx.images, fd, opts); });
  if (!img) return res.error(img.error());
  publish(ctx, "import", img->id);
  if (auto r = res.begin_stream(200, "application/json"); !r) return;
  (void)res.write_json({{"status", img->id}});
  (void)res.end_stream();
}

void prune_images(DaemonContext& ctx, Request& req, Response& res) {
  auto filters = req.filters();
  if (!filters) return res.error(filters.error());
  bool dangling_only = true;
  if (auto it = filters->find("dangling"); it != filters->end() && !it->second.empty())
    dangling_only = !(it->second[0] == "false" || it->second[0] == "0");
  auto all = ctx.images->list();
  if (!all) return res.error(all.error());
  // An image that a container (in any state) was made from stays, as in Docker.
  std::set<std::string> in_use;
  if (ctx.engine != nullptr) {
    auto containers = ctx.engine->list();
    if (!containers) return res.error(containers.error());
    for (const auto& c : *containers) in_use.insert(c->image_id);
  }
  Json deleted = Json::array();
  int64_t reclaimed = 0;
  for (const auto& rec : *all) {
    if (dangling_only && !rec.tags.empty()) continue;
    if (in_use.count(rec.id)) continue;
    for (const auto& t : rec.tags) deleted.push_back({{"Untagged", familiar(t)}});
    if (!ctx.images->delete_image(rec.id)) continue;
    publish(ctx, "delete", rec.id);
    deleted.push_back({{"Deleted", rec.id}});
  }
  auto gc = ctx.images->gc();
  if (gc) reclaimed = static_cast<int64_t>(gc->bytes_removed);
  res.json(200, {{"ImagesDeleted", deleted.empty() ? Json(nullptr) : deleted}, {"SpaceReclaimed", reclaimed}});
}

}  // namespace

Json image_summary(const ImageRecord& rec, const image::ImageConfig* cfg) {
  Json labels = nullptr;
  if (cfg && cfg->json.contains("config") && cfg->json["config"].is_object() &&
      cfg->json["config"].contains("Labels"))
    labels = cfg->json["config"]["Labels"];
  return {{"Id", rec.id},
          {"ParentId", ""},
          {"RepoTags", familiar_tags(rec)},
          {"RepoDigests", Json::array()},
          {"Created", unix_seconds(rec.created)},
          {"Size", rec.size},
          {"VirtualSize", rec.size},
          {"SharedSize", -1},
          {"Labels", labels},
          {"Containers", -1}};
}

void add_image_routes(Router& r, DaemonContext& ctx) {
  auto bind = [&ctx](void (*fn)(DaemonContext&, Request&, Response&)) {
    return [&ctx, fn](Request& req, Response& res) { fn(ctx, req, res); };
  };
  // Literal paths before the {name*} patterns they would also match.
  r.add("GET", "/images/json", bind(list_images));
  r.add("POST", "/images/load", bind(load_images));
  r.add("GET", "/images/get", [&ctx](Request& req, Response& res) {
    save_images(ctx, res, req.query_values("names"));
  });
  r.add("POST", "/images/create", bind(create_image));
  r.add("POST", "/images/prune", bind(prune_images));
  r.add("GET", "/images/{name*}/json", bind(inspect_image));
  r.add("GET", "/images/{name*}/history", bind(image_history));
  r.add("GET", "/images/{name*}/get", [&ctx](Request& req, Response& res) {
    save_images(ctx, res, {req.params["name"]});
  });
  r.add("POST", "/images/{name*}/tag", bind(tag_image));
  r.add("POST", "/images/{name*}/push", [](Request& req, Response& res) {
    res.error(Error::make(ErrorCode::NotImplemented,
                          "pushing images is not available yet in Berth (asked for {})", req.params["name"]));
  });
  r.add("DELETE", "/images/{name*}", bind(remove_image));
}

}  // namespace berth::api
