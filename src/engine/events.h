// EventBus: what `docker events` shows — every change to an image or a
// container, kept in a bounded history and delivered live to subscribers.
//
// Usage:
//   bus.publish({"image", "tag", image_id, {{"name", "busybox:latest"}}});
//   auto sub = bus.subscribe(since_nano, filters);   // past events first
//   while (auto e = sub->next(std::chrono::seconds(1))) ... // nullopt: timeout
//
// The history holds the last kHistory events, so `--since` reaches back that
// far (Docker keeps 256 in memory the same way).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"

namespace berth::engine {

struct Event {
  std::string type;    // "image", "container", "network", "volume"
  std::string action;  // "load", "tag", "untag", "delete", "import", "create", "start", "die", ...
  std::string id;      // the object's ID (or name, for a tag)
  std::map<std::string, std::string> attributes;
  int64_t time_nano = 0;  // set by publish when 0

  // The JSON Docker sends: status/id/from (the pre-1.22 fields the CLI still
  // reads), Type, Action, Actor{ID, Attributes}, scope, time, timeNano.
  Json to_json() const;
};

// `docker events --filter` keys: type, event, image, container, label.
using EventFilters = std::map<std::string, std::vector<std::string>>;
bool event_matches(const Event& e, const EventFilters& f);

class EventBus {
 public:
  static constexpr size_t kHistory = 1024;

  class Subscription {
   public:
    // The next matching event, waiting up to `wait`; nullopt on timeout.
    std::optional<Event> next(std::chrono::milliseconds wait);
    ~Subscription();

   private:
    friend class EventBus;
    Subscription(EventBus* bus, EventFilters f) : bus_(bus), filters_(std::move(f)) {}
    EventBus* bus_;
    EventFilters filters_;
    std::deque<Event> queue_;  // guarded by bus_->mu_
  };

  void publish(Event e);
  // Events since `since_nano` (0: none from the past) that match, then live.
  std::unique_ptr<Subscription> subscribe(int64_t since_nano, EventFilters filters);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> history_;
  std::vector<Subscription*> subs_;
};

// "1700000000", "1700000000.5", "2026-11-23T05:00:00Z" → nanoseconds since
// the epoch; nullopt when malformed.
std::optional<int64_t> parse_event_time(std::string_view s);

}  // namespace berth::engine
