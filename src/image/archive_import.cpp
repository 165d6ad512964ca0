// `docker import`: a root file system tar becomes a one-layer image, and the
// `--change` instructions that set its config.
#include <unistd.h>

#include "base/digest.h"
#include "base/strings.h"
#include "image/archive.h"
#include "image/decompress.h"
#include "image/reference.h"

namespace berth::image {

namespace {

// JSON array form (["a","b"]) or shell form, which runs under /bin/sh -c.
Result<Json> command_value(std::string_view arg) {
  std::string_view t = trim(arg);
  if (!t.empty() && t.front() == '[') {
    auto j = parse_json(t, "instruction");
    if (j && j->is_array() && std::all_of(j->begin(), j->end(), [](const Json& e) { return e.is_string(); }))
      return *j;
  }
  return Json::array({"/bin/sh", "-c", std::string(t)});
}

// ENV/LABEL: "k=v k2=v2" or the legacy "k v" form.
Result<std::vector<std::pair<std::string, std::string>>> key_values(std::string_view instr,
                                                                    std::string_view arg) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view t = trim(arg);
  if (t.empty()) return Error::invalid("{} requires at least one argument", instr);
  auto eq = t.find('=');
  auto sp = t.find_first_of(" \t");
  if (eq == std::string_view::npos || (sp != std::string_view::npos && sp < eq)) {
    if (sp == std::string_view::npos) return Error::invalid("{} must have two arguments", instr);
    out.emplace_back(std::string(t.substr(0, sp)), std::string(trim(t.substr(sp))));
    return out;
  }
  // k=v pairs; values may be double-quoted.
  size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) i++;
    if (i >= t.size()) break;
    size_t k = t.find('=', i);
    if (k == std::string_view::npos) return Error::invalid("{}: {:?} is not key=value", instr, std::string(t.substr(i)));
    std::string key(t.substr(i, k - i));
    // A quoted key ("com.example.x"="y") names what is inside the quotes.
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
    std::string value;
    i = k + 1;
    if (i < t.size() && t[i] == '"') {
      for (i++; i < t.size() && t[i] != '"'; i++) {
        if (t[i] == '\\' && i + 1 < t.size()) i++;
        value.push_back(t[i]);
      }
      if (i >= t.size()) return Error::invalid("{}: unterminated quote", instr);
      i++;
    } else {
      while (i < t.size() && t[i] != ' ' && t[i] != '\t') value.push_back(t[i++]);
    }
    if (key.empty()) return Error::invalid("{}: empty key", instr);
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::vector<std::string> words(std::string_view arg) {
  std::vector<std::string> out;
  for (auto& w : split(trim(arg), ' '))
    if (!trim(w).empty()) out.emplace_back(trim(w));
  return out;
}

}  // namespace

Result<void> apply_config_changes(Json& cfg, const std::vector<std::string>& changes) {
  if (!cfg.is_object()) cfg = Json::object();
  for (const auto& change : changes) {
    std::string_view c = trim(change);
    auto sp = c.find_first_of(" \t");
    std::string instr(c.substr(0, sp));
    std::transform(instr.begin(), instr.end(), instr.begin(), ::toupper);
    std::string_view arg = sp == std::string_view::npos ? "" : c.substr(sp + 1);
    if (instr == "CMD") {
      cfg["Cmd"] = BERTH_TRY(command_value(arg));
    } else if (instr == "ENTRYPOINT") {
      cfg["Entrypoint"] = BERTH_TRY(command_value(arg));
    } else if (instr == "ENV") {
      Json env = cfg.contains("Env") && cfg["Env"].is_array() ? cfg["Env"] : Json::array();
      for (auto& [k, v] : BERTH_TRY(key_values(instr, arg))) {
        std::string entry = k + "=" + v;
        bool replaced = false;
        for (auto& e : env)
          if (e.is_string() && e.get<std::string>().rfind(k + "=", 0) == 0) {
            e = entry;
            replaced = true;
          }
        if (!replaced) env.push_back(entry);
      }
      cfg["Env"] = env;
    } else if (instr == "LABEL") {
      for (auto& [k, v] : BERTH_TRY(key_values(instr, arg))) cfg["Labels"][k] = v;
    } else if (instr == "EXPOSE") {
      for (auto& p : words(arg)) {
        std::string port = p.find('/') == std::string::npos ? p + "/tcp" : p;
        auto num = parse_uint(port.substr(0, port.find('/')));
        std::string proto = port.substr(port.find('/') + 1);
        if (!num || *num == 0 || *num > 65535 || (proto != "tcp" && proto != "udp" && proto != "sctp"))
          return Error::invalid("EXPOSE: invalid port {:?}", p);
        cfg["ExposedPorts"][port] = Json::object();
      }
    } else if (instr == "VOLUME") {
      Json vols = BERTH_TRY(command_value(arg));
      if (vols.size() == 3 && vols[0] == "/bin/sh") vols = words(arg);
      for (const auto& v : vols) cfg["Volumes"][v.get<std::string>()] = Json::object();
    } else if (instr == "WORKDIR") {
      std::string dir(trim(arg));
      if (dir.empty()) return Error::invalid("WORKDIR requires an argument");
      cfg["WorkingDir"] = dir;
    } else if (instr == "USER") {
      cfg["User"] = std::string(trim(arg));
    } else if (instr == "STOPSIGNAL") {
      cfg["StopSignal"] = std::string(trim(arg));
    } else if (instr == "ONBUILD") {
      cfg["OnBuild"].push_back(std::string(trim(arg)));
    } else {
      return Error::invalid("{} is not a valid change command", instr.empty() ? change : instr);
    }
  }
  return ok();
}

Result<std::string> new_image_tag(const std::string& name) {
  auto ref = BERTH_TRY(parse_normalized(name));
  if (!ref.digest.empty()) return Error::invalid("cannot tag with a digest: {}", name);
  if (ref.tag.empty()) ref.tag = std::string(kDefaultTag);
  return ref.string();
}

Result<LoadedImage> record_new_image(ImageStore& store, ContentStore::Lease& lease, const Json& config,
                                     const std::vector<Descriptor>& layers, const std::string& tag) {
  auto cinfo = BERTH_TRY(store.content().put(lease, canonical_json(config)));
  Json layer_list = Json::array();
  for (const auto& l : layers)
    layer_list.push_back({{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}});
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", media::kOciManifest},
                   {"config", {{"mediaType", media::kOciConfig}, {"digest", cinfo.digest}, {"size", cinfo.size}}},
                   {"layers", layer_list}};
  auto minfo = BERTH_TRY(store.content().put(lease, canonical_json(manifest)));
  auto rec = BERTH_TRY(store.add_image(minfo.digest));
  LoadedImage out{rec.id, {}};
  if (!tag.empty()) {
    BERTH_TRY(store.tag(rec.id, tag));
    out.tags.push_back(tag);
  }
  return out;
}

Result<LoadedImage> import_rootfs(ImageStore& store, int tar_fd, const ImportOptions& opts) {
  Json cfg_changes = Json::object();
  BERTH_TRY(apply_config_changes(cfg_changes, opts.changes));
  std::string tag;
  if (!opts.tag.empty()) tag = BERTH_TRY_CTX(new_image_tag(opts.tag), "import");
  auto lease = store.content().lease();
  auto run = [&]() -> Result<LoadedImage> {
    // The layer is stored uncompressed, as `docker import` stores it: its
    // digest is then also its diff ID.
    auto src = BERTH_TRY(open_decompressed(tar_fd));
    auto w = BERTH_TRY(store.content().writer(lease));
    std::vector<char> buf(1 << 20);
    for (;;) {
      size_t n = BERTH_TRY(src->read(buf.data(), buf.size()));
      if (n == 0) break;
      BERTH_TRY(w.write(buf.data(), n));
    }
    auto layer = BERTH_TRY(w.commit());
    Platform p = opts.platform.value_or(Platform::host_default());
    std::string now = now_rfc3339();
    Json history = {{"created", now}, {"comment", opts.message.empty() ? "Imported from -" : opts.message}};
    Json config = {{"architecture", p.architecture},
                   {"os", p.os},
                   {"created", now},
                   {"config", cfg_changes},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {layer.digest}}}},
                   {"history", {history}}};
    if (!p.variant.empty()) config["variant"] = p.variant;
    Descriptor d{media::kOciLayer, layer.digest, static_cast<int64_t>(layer.size), {}, {}};
    return record_new_image(store, lease, config, {d}, tag);
  };
  auto r = run();
  if (!r) {
    { auto dropped = std::move(lease); }
    (void)store.gc();
    return r.error().context("import");
  }
  return r;
}

}  // namespace berth::image
