// Healthchecks: Docker's HEALTHCHECK / `docker run --health-cmd`. berthd
// owns one HealthMonitor; it runs each watched container's check as an exec
// through the container's shim, every Interval, and keeps the State.Health
// that `docker inspect` shows. docs/design/health.md has the design.
//
// Usage:
//   HealthMonitor health(engine);
//   health.watch(rec);                 // after start, and for every running
//                                      // container re-adopted at daemon start
//   if (auto h = health.state(rec.id)) inspect["State"]["Health"] = *h;
//   health.forget(rec.id);             // when it stops or is removed
//
// The pure parts (which check applies, the status state machine) are free
// functions below so they can be tested without containers.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "engine/container_store.h"

namespace berth::engine {

class Engine;

// The check that applies to a container, defaults filled in.
struct HealthProbe {
  std::vector<std::string> argv;  // what to exec: CMD's array, or shell + CMD-SHELL's string
  std::chrono::nanoseconds interval{std::chrono::seconds(30)};
  std::chrono::nanoseconds timeout{std::chrono::seconds(30)};
  std::chrono::nanoseconds start_period{0};
  std::chrono::nanoseconds start_interval{std::chrono::seconds(5)};
  int64_t retries = 3;
};

// Docker's merge of the container's Healthcheck over the image's (both in
// the API's shape: {"Test":[...],"Interval":ns,"Timeout":ns,"StartPeriod":ns,
// "StartInterval":ns,"Retries":N}; null or absent when not set): each field
// the container leaves empty (Test [] or zero) comes from the image. Then
// Test ["NONE"] or no Test at all → nullopt (no healthcheck);
// ["CMD", args...] → args; ["CMD-SHELL", "cmd"] → shell + "cmd" (`shell` is
// Config.Shell, default /bin/sh -c). InvalidArgument for another first word,
// an empty command, or a negative duration.
Result<std::optional<HealthProbe>> resolve_healthcheck(const Json& container, const Json& image,
                                                      const std::vector<std::string>& shell = {});

// One probe's outcome, as State.Health.Log shows it.
struct HealthResult {
  std::string start, end;  // RFC 3339
  int64_t exit_code = 0;   // 0 healthy; -1: could not run or timed out
  std::string output;      // stdout and stderr together, at most kMaxHealthOutput bytes
};

constexpr size_t kMaxHealthOutput = 4096;
constexpr size_t kMaxHealthLog = 5;

struct HealthState {
  std::string status = "starting";  // starting healthy unhealthy
  int64_t failing_streak = 0;
  std::deque<HealthResult> log;  // the last kMaxHealthLog
};

// Docker's transitions: success → healthy and the streak resets; a failure
// while still "starting" inside the start period counts for nothing, any
// other failure lengthens the streak and at `retries` makes it unhealthy.
// The result is logged either way. Returns true when the status changed.
bool apply_health_result(HealthState& s, HealthResult r, int64_t retries, bool in_start_period);

// State.Health: {"Status","FailingStreak","Log":[{"Start","End","ExitCode","Output"}]}.
Json health_json(const HealthState& s);

// A duration as Go prints it ("30s", "1m30s", "500ms", "1.5s"): Docker's
// timeout message quotes the Healthcheck's Timeout that way.
std::string go_duration(std::chrono::nanoseconds d);

// Splits the shim's 8-byte-framed output stream ([stream,0,0,0,len BE32]
// payload) into payload bytes; a partial frame stays in `pending`.
// Appends at most `limit` bytes in all to `out`.
void unframe_output(std::string& pending, std::string& out, size_t limit);

class HealthMonitor {
 public:
  explicit HealthMonitor(Engine& engine);
  ~HealthMonitor();  // stops every checker and joins its thread
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Starts checking `rec` (a container that is running) when it has a
  // healthcheck; otherwise, or when it is watched already, does nothing.
  // The status starts as "starting".
  void watch(const ContainerRecord& rec);
  // Stops the container's checker: wakes it at once, kills a probe that is
  // running and drops the state. Does not wait for the thread (the
  // destructor joins it).
  void forget(const std::string& id);
  // State.Health for inspect; nullopt when the container is not watched.
  std::optional<Json> state(const std::string& id) const;

 private:
  struct Checker;
  void run(const std::shared_ptr<Checker>& c);
  // nullopt: stopped, or the container is not running any more.
  std::optional<HealthResult> probe(Checker& c);
  void reap_retired();

  Engine& engine_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Checker>> checkers_;
  std::vector<std::shared_ptr<Checker>> retired_;  // forgotten, thread not joined yet
};

}  // namespace berth::engine
