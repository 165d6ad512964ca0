// berthd: the Berth daemon. Serves the Docker Engine API on a Unix socket.
//
//   berthd [--data-root /var/lib/berth] [--exec-root /run/berth]
//          [-H unix:///run/berth/berth.sock] [--log-file F] [--debug]
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <thread>

#include "api/handlers/handlers.h"
#include "api/server.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "engine/container_store.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/health.h"
#include "store/database.h"
#include "image/image_store.h"

using namespace berth;

#ifndef BERTH_BUILD_INIT
#define BERTH_BUILD_INIT ""
#endif

namespace {

std::string socket_path(const std::string& host) {
  constexpr std::string_view unix_scheme = "unix://";
  if (host.rfind(unix_scheme, 0) == 0) return host.substr(unix_scheme.size());
  return host;
}

// A helper binary beside this one when installed; the build tree's otherwise.
std::string default_sibling(const char* name, const char* build_path) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    if (access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  }
  return build_path;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berthd: the Berth container engine daemon (Docker Engine API)"};
  std::string data_root = "/var/lib/berth";
  std::string exec_root = "/run/berth";
  std::string host;
  std::string log_file;
  std::string group = "berth";
  std::string config_file;
  bool debug = false;
  app.add_option("--data-root", data_root, "where images and containers are kept");
  app.add_option("--exec-root", exec_root, "runtime state and the API socket");
  app.add_option("-H,--host", host, "the socket to serve (unix://PATH); default EXEC_ROOT/berth.sock");
  app.add_option("--log-file", log_file, "write the log here instead of stderr");
  app.add_option("--group", group, "group owning the socket, when it exists");
  app.add_flag("-D,--debug", debug, "debug logging");
  app.add_option("--config-file", config_file, "daemon config (JSON); its \"policy\" holds non-root callers");
  CLI11_PARSE(app, argc, argv);

  if (!log_file.empty() && !log::set_file(log_file)) {
    fmt::print(stderr, "berthd: cannot open log file {}\n", log_file);
    return 1;
  }
  if (debug) log::set_level(log::Level::Debug);
  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that goes away is an EPIPE, not a death
  // A thread per connection would get an arena each: two are plenty for a
  // daemon that mostly waits, and keep its resident size down.
  mallopt(M_ARENA_MAX, 2);
  // Freed memory stays in the arenas instead of going back to the kernel
  // at each free: a request that builds a large answer (ps -a with
  // hundreds of containers) would otherwise fault its pages in afresh every
  // time. The server gives back what a finished connection leaves above a
  // few MiB (api/server.cpp), so the idle size stays small.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);

  if (auto r = mkdir_all(exec_root, 0711); !r) {
    log::error("berthd: {}", r.error().message());
    return 1;
  }
  auto images = image::ImageStore::open(data_root);
  if (!images) {
    log::error("berthd: open image store: {}", images.error().message());
    return 1;
  }
  engine::EventBus events;
  api::DaemonContext ctx;
  ctx.events = &events;
  ctx.images = images->get();
  ctx.data_root = data_root;
  ctx.exec_root = exec_root;
  ctx.runtime_path = default_sibling("berth-runtime", BERTH_BUILD_RUNTIME);
  ctx.started = std::time(nullptr);
  if (!config_file.empty()) {
    auto cfg = read_json_file(config_file);
    if (!cfg) {
      log::error("berthd: {}", cfg.error().message());
      return 1;
    }
    auto policy = api::parse_policy(cfg->is_object() && cfg->contains("policy") ? (*cfg)["policy"] : Json());
    if (!policy) {
      log::error("berthd: {}: {}", config_file, policy.error().message());
      return 1;
    }
    ctx.policy = *policy;
  }

  // The engine's records share berth.db through a connection of their own.
  auto db = store::Database::open(data_root + "/berth.db");
  if (!db) {
    log::error("berthd: {}", db.error().message());
    return 1;
  }
  engine::ContainerStore containers(*db);
  if (auto r = containers.migrate(); !r) {
    log::error("berthd: {}", r.error().message());
    return 1;
  }
  engine::Engine eng({data_root, exec_root, ctx.runtime_path, default_sibling("berth-shim", BERTH_BUILD_SHIM),
                      default_sibling("berth-init", BERTH_BUILD_INIT)},
                     **images, containers, events);
  // Declared after the engine: it goes first.
  engine::HealthMonitor health(eng);
  eng.set_health_hooks([&](const engine::ContainerRecord& r) { health.watch(r); },
                       [&](const std::string& id) { health.forget(id); });
  ctx.containers = &containers;
  ctx.engine = &eng;
  ctx.health = &health;

  // Containers that ran before this daemon started: adopt or reconcile.
  eng.restore();

  api::Router router;
  api::add_system_routes(router, ctx);
  api::add_image_routes(router, ctx);
  api::add_attach_routes(router, ctx);
  api::add_container_op_routes(router, ctx);
  api::add_container_routes(router, ctx);
  api::add_event_routes(router, ctx);

  std::string path = host.empty() ? exec_root + "/berth.sock" : socket_path(host);
  api::ListenOptions lo;
  lo.group = group;
  auto server = api::Server::listen(path, lo);
  if (!server) {
    log::error("berthd: {}", server.error().message());
    return 1;
  }
  log::info("berthd: serving the Docker Engine API on {}", path);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop, &sig);
    log::info("berthd: signal {}, stopping", sig);
    (*server)->stop();
  });
  (*server)->serve(router);
  waiter.join();
  eng.drain();
  return 0;
}
