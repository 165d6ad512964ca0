// berth-image-tool: drives the image library from the command line for the
// end-to-end tests and the load benchmark, until berthd serves the same
// operations through the API. Not installed; not a user interface.
//
//   berth-image-tool --root DIR load -i FILE | --oci-dir DIR
//   berth-image-tool --root DIR save -o FILE | --oci-dir DIR  NAME...
//   berth-image-tool --root DIR import FILE|- [-c CHANGE]... [-m MSG] [TAG]
//   berth-image-tool --root DIR images | inspect NAME | tag SRC DST | rmi NAME | gc
//   berth-image-tool --root DIR mount [--legacy] [--ro] NAME TARGET UPPER WORK
//   berth-image-tool diff UPPER -o FILE
//   berth-image-tool changes UPPER LOWER...
//   berth-image-tool export DIR -o FILE
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "base/strings.h"
#include "image/archive.h"
#include "image/diff.h"
#include "image/image_store.h"
#include "image/reference.h"

using namespace berth;
using namespace berth::image;

namespace {

[[noreturn]] void die(const Error& e) {
  fmt::print(stderr, "berth-image-tool: {}\n", e.message());
  std::exit(e.code() == ErrorCode::NotFound ? 2 : 1);
}

template <typename T>
T must(Result<T> r) {
  if (!r) die(r.error());
  return std::move(r).value();
}
void must(Result<void> r) {
  if (!r) die(r.error());
}

[[noreturn]] void usage() {
  fmt::print(stderr, "usage: berth-image-tool [--root DIR] COMMAND ... (see the source)\n");
  std::exit(64);
}

Fd open_in(const std::string& path) {
  if (path == "-") return Fd(dup(0));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(Error::sys(errno, "open {}", path));
  return Fd(fd);
}

Fd open_out(const std::string& path) {
  if (path == "-") return Fd(dup(1));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die(Error::sys(errno, "create {}", path));
  return Fd(fd);
}

Fd open_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die(Error::sys(errno, "open {}", path));
  return Fd(fd);
}

void print_loaded(const std::vector<LoadedImage>& imgs) {
  for (const auto& i : imgs) {
    if (i.tags.empty()) fmt::print("Loaded image ID: {}\n", i.id);
    for (const auto& t : i.tags) {
      auto r = parse_normalized(t);
      fmt::print("Loaded image: {}\n", r ? r->familiar() : t);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string root = "/var/lib/berth";
  if (args.size() >= 2 && args[0] == "--root") {
    root = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty()) usage();
  std::string cmd = args[0];
  args.erase(args.begin());
  // Flags "-x VALUE" out of args, positional arguments left.
  auto take = [&](const std::string& flag) -> std::optional<std::string> {
    for (size_t i = 0; i + 1 < args.size(); i++)
      if (args[i] == flag) {
        std::string v = args[i + 1];
        args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
        return v;
      }
    return std::nullopt;
  };
  auto take_all = [&](const std::string& flag) {
    std::vector<std::string> out;
    while (auto v = take(flag)) out.push_back(*v);
    return out;
  };
  auto has = [&](const std::string& flag) {
    for (size_t i = 0; i < args.size(); i++)
      if (args[i] == flag) {
        args.erase(args.begin() + static_cast<long>(i));
        return true;
      }
    return false;
  };

  if (cmd == "diff") {
    auto out = take("-o");
    if (!out || args.size() != 1) usage();
    Fd upper = open_dir(args[0]);
    Fd o = open_out(*out);
    auto r = must(write_layer_diff(upper.get(), o.get()));
    fmt::print(stderr, "{} {}\n", r.diff_id, r.size);
    return 0;
  }
  if (cmd == "export") {
    auto out = take("-o");
    if (!out || args.size() != 1) usage();
    Fd dir = open_dir(args[0]);
    Fd o = open_out(*out);
    must(write_tree_tar(dir.get(), o.get()));
    return 0;
  }
  if (cmd == "changes") {
    if (args.empty()) usage();
    Fd upper = open_dir(args[0]);
    std::vector<Fd> lowers;
    std::vector<int> fds;
    for (size_t i = 1; i < args.size(); i++) {
      lowers.push_back(open_dir(args[i]));
      fds.push_back(lowers.back().get());
    }
    for (const auto& c : must(list_changes(upper.get(), fds)))
      fmt::print("{} {}\n", "CAD"[static_cast<int>(c.kind)], c.path);
    return 0;
  }

  auto store = must(ImageStore::open(root));
  if (cmd == "load") {
    auto start = std::chrono::steady_clock::now();
    std::vector<LoadedImage> imgs;
    if (auto dir = take("--oci-dir")) {
      imgs = must(load_oci_layout(*store, *dir));
    } else {
      Fd in = open_in(take("-i").value_or("-"));
      imgs = must(load_archive(*store, in.get()));
    }
    print_loaded(imgs);
    if (getenv("BERTH_TOOL_TIMING"))
      fmt::print(stderr, "load took {:.3f} s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return 0;
  }
  if (cmd == "save") {
    if (auto dir = take("--oci-dir")) {
      must(save_oci_layout(*store, args, *dir));
      return 0;
    }
    Fd out = open_out(take("-o").value_or("-"));
    must(save_archive(*store, args, out.get()));
    return 0;
  }
  if (cmd == "import") {
    ImportOptions opts;
    opts.changes = take_all("-c");
    opts.message = take("-m").value_or("");
    if (args.empty() || args.size() > 2) usage();
    if (args.size() == 2) opts.tag = args[1];
    Fd in = open_in(args[0]);
    auto img = must(import_rootfs(*store, in.get(), opts));
    fmt::print("{}\n", img.id);
    return 0;
  }
  if (cmd == "images") {
    for (const auto& i : must(store->list())) {
      std::vector<std::string> names;
      for (const auto& t : i.tags) names.push_back(must(parse_normalized(t)).familiar());
      fmt::print("{} {} {} {}\n", i.id, i.size, i.chain_ids.size(),
                 names.empty() ? "<none>" : join(names, ","));
    }
    return 0;
  }
  if (cmd == "inspect") {
    if (args.size() != 1) usage();
    auto rec = must(store->resolve(args[0]));
    auto mbytes = must(store->content().read_blob(rec.manifest_digest, kMaxManifestSize));
    auto m = must(parse_manifest(mbytes));
    auto cbytes = must(store->content().read_blob(m.config.digest, kMaxConfigSize));
    Json out = {{"Id", rec.id},
                {"RepoTags", rec.tags},
                {"ManifestDigest", rec.manifest_digest},
                {"Size", rec.size},
                {"ChainIDs", rec.chain_ids},
                {"Config", Json::parse(cbytes)}};
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  if (cmd == "tag") {
    if (args.size() != 2) usage();
    auto rec = must(store->resolve(args[0]));
    must(store->tag(rec.id, args[1]));
    return 0;
  }
  if (cmd == "rmi") {
    if (args.size() != 1) usage();
    auto rec = must(store->resolve(args[0]));
    // Docker's rule: a name that is one of several tags only untags.
    auto ref = parse_normalized(args[0]);
    if (ref && !looks_like_image_id(args[0]) && rec.tags.size() > 1) {
      must(store->untag(args[0]));
      fmt::print("Untagged: {}\n", ref->familiar());
      return 0;
    }
    for (const auto& t : rec.tags) fmt::print("Untagged: {}\n", must(parse_normalized(t)).familiar());
    must(store->delete_image(rec.id));
    must(store->gc());
    fmt::print("Deleted: {}\n", rec.id);
    return 0;
  }
  if (cmd == "gc") {
    auto s = must(store->gc());
    fmt::print("blobs {} bytes {} layers {}\n", s.blobs_removed, s.bytes_removed, s.layers_removed);
    return 0;
  }
  if (cmd == "mount") {
    MountOptions mo;
    mo.force_legacy = has("--legacy");
    mo.read_only = has("--ro");
    if (args.size() != 4) usage();
    auto rec = must(store->resolve(args[0]));
    std::vector<std::string> top_first(rec.chain_ids.rbegin(), rec.chain_ids.rend());
    must(store->layers().mount(top_first, args[2], args[3], args[1], mo));
    return 0;
  }
  usage();
}
