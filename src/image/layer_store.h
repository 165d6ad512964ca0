// LayerStore: unpacked layers, one directory per chain ID, shared by every
// image whose stack starts the same way, and the overlayfs mounts that
// stack them into a container's root filesystem.
//
// Usage:
//   auto ls = BERTH_TRY(LayerStore::open("/var/lib/berth/layers"));
//   auto pending = BERTH_TRY(ls->begin());            // layers/tmp/<random>
//   auto st = BERTH_TRY(pending.apply(blob_fd));      // st.diff_id
//   BERTH_TRY(ls->sync());                            // one syncfs for many layers
//   BERTH_TRY(pending.commit(chain));                 // rename to layers/<chain-hex>
//   BERTH_TRY(ls->mount({top_chain, ..., base_chain}, upper, work, "/x/rootfs"));
//
// Layout:
//   layers/<chain-hex>/diff    the layer in overlay form (an overlay lower dir)
//   layers/<chain-hex>/link    its short name, for the legacy mount below
//   layers/l/<short>           symlink ../<chain-hex>/diff
//   layers/tmp/<random>        layers being unpacked: never named by a record
//
// A layer directory appears under its chain ID only once it is complete and
// synced; what the database does not name is removed at start (reconcile).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "image/apply.h"

namespace berth::image {

class LayerStore;

// Whether this kernel's overlayfs takes lower directories one at a time
// ("lowerdir+", Linux 6.8).
bool lowerdir_plus_supported();

class PendingLayer {
 public:
  PendingLayer(PendingLayer&&) noexcept = default;
  PendingLayer& operator=(PendingLayer&&) noexcept = default;
  ~PendingLayer();
  Result<ApplyStats> apply(int blob_fd, const ApplyOptions& opts = {});
  // Rename into place as `chain_id`. If that layer exists already (another
  // image brought it meanwhile), this copy is dropped and the existing kept.
  // Precondition: the data was synced (LayerStore::sync).
  Result<void> commit(const std::string& chain_id);
  int dir_fd() const { return diff_fd_.get(); }

 private:
  friend class LayerStore;
  PendingLayer(LayerStore* s, std::string name, Fd diff_fd)
      : store_(s), name_(std::move(name)), diff_fd_(std::move(diff_fd)) {}
  LayerStore* store_;
  std::string name_;  // under tmp/; empty once committed
  Fd diff_fd_;
};

struct MountOptions {
  // Use mount(2) with short lower-dir names, as on kernels before 6.8, even
  // where the lowerdir+ API exists (tests cover both paths).
  bool force_legacy = false;
  bool read_only = false;  // no upper: a read-only view of the image
};

class LayerStore {
 public:
  static Result<std::unique_ptr<LayerStore>> open(const std::string& root);

  bool has(const std::string& chain_id) const;
  Result<PendingLayer> begin();
  // One syncfs for the layers' file system: makes applied layers durable.
  Result<void> sync();
  Result<void> remove(const std::string& chain_id);
  // Chain IDs of every complete layer on disk.
  Result<std::vector<std::string>> list() const;
  // Remove tmp/ leftovers and layers not in `keep`; short links of removed
  // layers go too.
  Result<size_t> reconcile(const std::vector<std::string>& keep);
  std::string diff_path(const std::string& chain_id) const;
  const std::string& root() const { return root_; }

  // Mount the layers (top first) with `upper`/`work` (created if missing) on
  // `target`. Kernels >= 6.8 take each lower with fsconfig("lowerdir+"),
  // without a length limit; older ones get mount(2) with short names
  // relative to the store, in a child that chdir()s there.
  Result<void> mount(const std::vector<std::string>& chains_top_first, const std::string& upper,
                     const std::string& work, const std::string& target,
                     const MountOptions& opts = {}) const;

 private:
  friend class PendingLayer;
  LayerStore(std::string root, Fd root_fd, Fd tmp_fd, Fd links_fd)
      : root_(std::move(root)), root_fd_(std::move(root_fd)), tmp_fd_(std::move(tmp_fd)),
        links_fd_(std::move(links_fd)) {}
  Result<void> mount_new_api(const std::vector<std::string>& lowers, const std::string& upper,
                             const std::string& work, const std::string& target) const;
  Result<void> mount_legacy(const std::vector<std::string>& chains, const std::string& upper,
                            const std::string& work, const std::string& target) const;

  std::string root_;
  Fd root_fd_, tmp_fd_, links_fd_;
};

}  // namespace berth::image
