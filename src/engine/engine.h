// Engine: containers from create to remove. berthd's threads never clone
// or enter namespaces: a container is created and started by its own
// berth-shim (which runs berth-runtime), and the engine talks to the shim
// over its control socket. The shim's exit record is the truth about a
// container that was running.
//
// Usage:
//   Engine e(opts, images, containers, events);
//   auto c = BERTH_TRY(e.create("web", create_request_json));
//   BERTH_TRY(e.start(c.id));
//   int64_t code = BERTH_TRY(e.wait(c.id));
//   BERTH_TRY(e.remove(c.id, /*force=*/false));
#pragma once

#include <string>
#include <vector>

#include "base/fd.h"
#include "base/json.h"
#include "base/result.h"
#include "engine/container_store.h"
#include "engine/events.h"
#include "image/image_store.h"

namespace berth::engine {

struct EngineOptions {
  std::string data_root;  // containers/<id>/ (rootfs, upper layer, logs, hosts files)
  std::string exec_root;  // containers/<id>/ (bundle, shim state), runtime/
  std::string runtime;    // berth-runtime
  std::string shim;       // berth-shim
  std::string init;       // berth-init for --init; empty: --init is refused
};

// A stream to a process's stdio from its shim (docs/design/shim.md, Attach).
struct AttachStream {
  Fd fd;
  bool tty = false;
  bool stdin = false;
};

class Engine {
 public:
  Engine(EngineOptions o, image::ImageStore& images, ContainerStore& containers, EventBus& events)
      : o_(std::move(o)), images_(images), containers_(containers), events_(events) {}

  Result<ContainerRecord> create(const std::string& name, const Json& body);
  // AlreadyExists when it is running already (the API's 304).
  Result<void> start(const std::string& name_or_id);
  // Blocks until the container is not running; its exit code.
  Result<int64_t> wait(const std::string& name_or_id);
  Result<void> kill(const std::string& name_or_id, int signal);
  Result<void> stop(const std::string& name_or_id, int timeout_s);
  Result<void> remove(const std::string& name_or_id, bool force);
  // The record with its state refreshed from the shim.
  Result<ContainerRecord> inspect(const std::string& name_or_id);
  Result<std::vector<ContainerRecord>> list();
  std::string log_path(const std::string& id) const;

  // Where a container's things live, for the engine's other parts
  // (container_ops, health): data_root/containers/ID (rootfs, rw/upper,
  // logs), exec_root/containers/ID (bundle), the shim's state directory.
  std::string container_dir(const std::string& id) const;
  std::string run_dir(const std::string& id) const;
  std::string shim_dir(const std::string& id) const;
  const EngineOptions& options() const { return o_; }
  image::ImageStore& images() { return images_; }
  ContainerStore& containers() { return containers_; }
  EventBus& events() { return events_; }

  // One request on the container's shim control socket; the reply object
  // when it says ok.
  Result<Json> shim_request(const std::string& id, const Json& req);
  // The stdio stream of the container's init (exec_id empty) or an exec.
  Result<AttachStream> shim_attach(const std::string& id, const std::string& exec_id);
  Result<ContainerRecord> refresh(ContainerRecord rec);
  void publish(const ContainerRecord& rec, const std::string& action,
               std::map<std::string, std::string> extra = {});

 private:

  EngineOptions o_;
  image::ImageStore& images_;
  ContainerStore& containers_;
  EventBus& events_;
};

}  // namespace berth::engine
