// `docker diff` for an overlay container: what changed is what sits in the
// upper directory. Each upper path is Added or Modified depending on whether
// the lower stack shows something at that path; a whiteout is a Deleted
// path; an opaque directory hides everything the lowers had under it, and
// each such hidden child that the upper did not recreate is Deleted.
//
// Docker reports the parents of a change as Modified. Every parent of an
// upper entry is itself an upper directory (overlay copies parents up), so
// reporting each upper directory that exists below as Modified covers them.
// (Docker leaves out such a directory when its own metadata is unchanged
// and only Modified entries lie below; we keep it: it did change on disk.)
#include <fcntl.h>

#include <algorithm>
#include <unordered_map>

#include "base/fd.h"
#include "base/strings.h"
#include "image/diff.h"
#include "image/tree_walk.h"

namespace berth::image {

namespace {

// What one lower layer says about a path.
enum class LayerVerdict {
  Found,   // the layer has it
  Absent,  // not here; look in the next layer down
  Hidden,  // not here, and this layer hides it in every layer below
};

struct LayerLookup {
  LayerVerdict verdict = LayerVerdict::Absent;
  struct stat st {};
  Fd dir;  // when Found, a directory, and asked for
  bool opaque = false;  // when Found as a directory
};

// Resolves `rel` in one layer a component at a time, never following a
// symlink, and with overlay's rules for what a layer hides below it: a
// whiteout, a non-directory in place of a parent, an opaque parent.
Result<LayerLookup> lookup_in_layer(int layer_fd, const std::vector<std::string>& parts,
                                    bool open_found_dir) {
  LayerLookup out;
  Fd cur;
  int cur_fd = layer_fd;
  bool opaque_above = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    struct stat st;
    if (fstatat(cur_fd, parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) return Error::sys(errno, "lstat {}", parts[i]);
      out.verdict = opaque_above ? LayerVerdict::Hidden : LayerVerdict::Absent;
      return out;
    }
    if (is_whiteout(st)) {
      out.verdict = LayerVerdict::Hidden;
      return out;
    }
    bool last = i + 1 == parts.size();
    if (!S_ISDIR(st.st_mode)) {
      out.verdict = last ? LayerVerdict::Found : LayerVerdict::Hidden;
      out.st = st;
      return out;
    }
    if (last && !open_found_dir) {
      out.verdict = LayerVerdict::Found;
      out.st = st;
      return out;
    }
    Fd next(BERTH_TRY(open_dir_at(cur_fd, parts[i])));
    bool opaque = BERTH_TRY(is_opaque_dir(next.get()));
    if (last) {
      out.verdict = LayerVerdict::Found;
      out.st = st;
      out.dir = std::move(next);
      out.opaque = opaque;
      return out;
    }
    opaque_above = opaque_above || opaque;
    cur = std::move(next);
    cur_fd = cur.get();
  }
  out.verdict = LayerVerdict::Absent;  // empty path: the root is not a change
  return out;
}

class LowerStack {
 public:
  explicit LowerStack(const std::vector<int>& layers) : layers_(layers) {}

  Result<bool> exists(const std::string& rel) {
    auto parts = split(rel, '/');
    for (int layer : layers_) {
      auto l = BERTH_TRY(lookup_in_layer(layer, parts, false));
      if (l.verdict == LayerVerdict::Found) return true;
      if (l.verdict == LayerVerdict::Hidden) return false;
    }
    return false;
  }

  // Names visible under directory `rel` in the merged lower view.
  Result<std::vector<std::string>> children(const std::string& rel) {
    auto parts = split(rel, '/');
    std::unordered_map<std::string, bool> seen;  // name -> visible
    for (int layer : layers_) {
      auto l = BERTH_TRY(lookup_in_layer(layer, parts, true));
      if (l.verdict == LayerVerdict::Hidden) break;
      if (l.verdict == LayerVerdict::Absent) continue;
      if (!l.dir) break;  // a non-directory hides the directories below
      for (auto& name : BERTH_TRY(list_dir(l.dir.get()))) {
        struct stat st;
        if (fstatat(l.dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        seen.try_emplace(std::move(name), !is_whiteout(st));
      }
      if (l.opaque) break;
    }
    std::vector<std::string> out;
    for (auto& [name, visible] : seen) {
      if (visible) out.push_back(name);
    }
    return out;
  }

 private:
  const std::vector<int>& layers_;
};

}  // namespace

Result<std::vector<Change>> list_changes(int upper_dirfd, const std::vector<int>& lower_dirfds) {
  LowerStack lower(lower_dirfds);
  std::vector<Change> changes;
  auto visit = [&](const TreeEntry& e) -> Result<WalkStep> {
    std::string abs = "/" + e.path;
    bool below = BERTH_TRY(lower.exists(e.path));
    if (is_whiteout(e.st)) {
      // A whiteout over nothing (a lower that changed since) deletes nothing.
      if (below) changes.push_back({ChangeKind::Deleted, std::move(abs)});
      return WalkStep::Skip;
    }
    changes.push_back({below ? ChangeKind::Modified : ChangeKind::Added, abs});
    if (below && e.dir_fd >= 0 && BERTH_TRY(is_opaque_dir(e.dir_fd))) {
      for (const auto& name : BERTH_TRY(lower.children(e.path))) {
        struct stat st;
        if (fstatat(e.dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
        if (errno != ENOENT) return Error::sys(errno, "lstat {}/{}", abs, name);
        changes.push_back({ChangeKind::Deleted, abs + "/" + name});
      }
    }
    return WalkStep::Descend;
  };
  BERTH_TRY_CTX(walk_tree(upper_dirfd, visit), "list changes");
  std::sort(changes.begin(), changes.end(),
            [](const Change& a, const Change& b) { return a.path < b.path; });
  return changes;
}

}  // namespace berth::image
