// `docker commit`: the container's image plus one new layer — the diff of
// its overlay upper directory, written as a deterministic tar straight into
// the content store — with a config merged from the container's, the
// request's and the `changes` instructions, recorded through the image
// library's record_new_image (the same end as `docker import`).
#include <fcntl.h>
#include <unistd.h>

#include <optional>
#include <set>
#include <thread>

#include "base/fd.h"
#include "base/scope_exit.h"
#include "base/strings.h"
#include "engine/container_ops.h"
#include "image/archive.h"
#include "image/manifest.h"

namespace berth::engine {

namespace {

// The fields of a container's Config that an image config carries.
constexpr const char* kImageConfigKeys[] = {"User",    "ExposedPorts", "Env",        "Entrypoint", "Cmd",
                                            "Healthcheck", "ArgsEscaped", "Volumes", "WorkingDir",
                                            "Labels",  "OnBuild",      "StopSignal", "Shell"};

bool empty_value(const Json& v) {
  return v.is_null() || ((v.is_array() || v.is_object() || v.is_string()) && v.empty());
}

std::string env_key(const std::string& e) { return e.substr(0, e.find('=')); }

// The diff of `upper_path` as a layer blob in the content store.
Result<image::BlobInfo> store_upper_diff(image::ContentStore& cs, image::ContentStore::Lease& lease,
                                         const std::string& upper_path) {
  Fd upper(open(upper_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!upper) return Error::sys(errno, "open {}", upper_path);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Error::sys(errno, "pipe");
  Fd rd(p[0]), wr(p[1]);
  std::optional<Result<image::TarResult>> tar;
  std::thread worker([&] {
    tar.emplace(image::write_layer_diff(upper.get(), wr.get()));
    wr.reset();
  });
  auto w = cs.writer(lease);
  std::optional<Error> write_error;
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(rd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!w || write_error) continue;  // drain, so the writer thread finishes
    if (auto r = w->write(buf.data(), static_cast<size_t>(n)); !r) write_error = r.error();
  }
  rd.reset();
  worker.join();
  if (!*tar) return tar->error().context("diff {}", upper_path);
  if (!w) return w.error();
  if (write_error) return *write_error;
  // Uncompressed: the blob's digest is the layer's diff ID.
  return w->commit((*tar)->diff_id, static_cast<int64_t>((*tar)->size));
}

std::vector<std::string> command_of(const Json& cfg) {
  std::vector<std::string> out;
  for (const char* k : {"Entrypoint", "Cmd"})
    if (cfg.contains(k) && cfg[k].is_array())
      for (const auto& e : cfg[k])
        if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

}  // namespace

Json merge_image_config(const Json& user_in, const Json& base_in) {
  const Json user = user_in.is_object() ? user_in : Json::object();
  const Json base = base_in.is_object() ? base_in : Json::object();
  Json out = Json::object();
  for (const char* k : kImageConfigKeys)
    if (user.contains(k) && !empty_value(user[k])) out[k] = user[k];
  auto inherit = [&](const char* k) {
    if (!out.contains(k) && base.contains(k) && !empty_value(base[k])) out[k] = base[k];
  };
  for (const char* k : {"User", "WorkingDir", "StopSignal", "Healthcheck", "OnBuild", "Shell"}) inherit(k);
  // Maps: the user's keys win, the base's others are kept.
  for (const char* k : {"ExposedPorts", "Volumes", "Labels"}) {
    if (!base.contains(k) || !base[k].is_object()) continue;
    for (auto it = base[k].begin(); it != base[k].end(); ++it)
      if (!out.contains(k) || !out[k].contains(it.key())) out[k][it.key()] = it.value();
  }
  if (base.contains("Env") && base["Env"].is_array()) {
    Json env = out.contains("Env") && out["Env"].is_array() ? out["Env"] : Json::array();
    std::set<std::string> have;
    for (const auto& e : env)
      if (e.is_string()) have.insert(env_key(e.get<std::string>()));
    for (const auto& e : base["Env"])
      if (e.is_string() && !have.count(env_key(e.get<std::string>()))) env.push_back(e);
    if (!env.empty()) out["Env"] = env;
  }
  // An Entrypoint of the user's own resets the base's Cmd (Docker's rule).
  if (!out.contains("Entrypoint")) {
    if (!out.contains("Cmd")) {
      inherit("Cmd");
      inherit("ArgsEscaped");
    }
    inherit("Entrypoint");
  }
  return out;
}

Result<std::string> commit(Engine& eng, const std::string& name_or_id, const CommitOptions& opts) {
  auto rec = BERTH_TRY(eng.inspect(name_or_id));
  auto& store = eng.images();
  std::string tag;
  if (!opts.repo.empty())
    tag = BERTH_TRY(image::new_image_tag(opts.tag.empty() ? opts.repo : opts.repo + ":" + opts.tag));
  else if (!opts.tag.empty())
    return Error::invalid("a tag needs a repository: {}", opts.tag);
  auto parent = BERTH_TRY_CTX(store.get(rec.image_id), "image of container {}", rec.name);
  auto parent_cfg = BERTH_TRY(store.config(parent));
  auto mbytes = BERTH_TRY(store.content().read_blob(parent.manifest_digest, image::kMaxManifestSize));
  auto parent_manifest = BERTH_TRY(image::parse_manifest(mbytes));

  // The config: the request's over the container's over the image's, then
  // the changes.
  const Json& image_config = parent_cfg.json.contains("config") ? parent_cfg.json["config"] : Json::object();
  Json container_config = merge_image_config(*rec.config, image_config);
  Json config = merge_image_config(opts.config, container_config);
  BERTH_TRY(image::apply_config_changes(config, opts.changes));

  // Freeze a running container while its upper directory is read, so the
  // layer is one moment's state.
  bool paused_here = false;
  if (opts.pause && rec.state.status == "running") {
    BERTH_TRY(pause(eng, rec.id));
    paused_here = true;
  }
  ScopeExit thaw([&] {
    if (paused_here) (void)unpause(eng, rec.id);
  });

  auto lease = store.content().lease();
  auto run = [&]() -> Result<image::LoadedImage> {
    auto layer = BERTH_TRY(store_upper_diff(store.content(), lease, eng.container_dir(rec.id) + "/rw/upper"));
    std::string now = now_rfc3339();
    Json img = parent_cfg.json;
    img.erase("container");
    img.erase("container_config");
    img["created"] = now;
    img["config"] = config;
    if (!opts.author.empty()) img["author"] = opts.author;
    else img.erase("author");
    img["rootfs"]["type"] = "layers";
    img["rootfs"]["diff_ids"].push_back(layer.digest);
    Json entry = {{"created", now}, {"created_by", join(command_of(container_config), " ")}};
    if (!opts.comment.empty()) entry["comment"] = opts.comment;
    if (!opts.author.empty()) entry["author"] = opts.author;
    if (!img.contains("history") || !img["history"].is_array()) img["history"] = Json::array();
    img["history"].push_back(entry);
    std::vector<image::Descriptor> layers = parent_manifest.layers;
    layers.push_back({image::media::kOciLayer, layer.digest, static_cast<int64_t>(layer.size), {}, {}});
    return image::record_new_image(store, lease, img, layers, tag);
  };
  auto made = run();
  if (!made) {
    { auto dropped = std::move(lease); }
    (void)store.gc();
    return made.error().context("commit container {}", rec.name);
  }
  eng.publish(rec, "commit", {{"comment", opts.comment}});
  return made->id;
}

}  // namespace berth::engine
