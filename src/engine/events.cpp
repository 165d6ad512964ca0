#include "engine/events.h"

#include <algorithm>
#include <ctime>

#include "base/strings.h"

namespace berth::engine {

namespace {

int64_t now_nano() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool any_equal(const std::vector<std::string>& want, const std::string& v) {
  return std::find(want.begin(), want.end(), v) != want.end();
}

}  // namespace

Json Event::to_json() const {
  Json attrs = Json::object();
  for (const auto& [k, v] : attributes) attrs[k] = v;
  Json j = {{"Type", type},
            {"Action", action},
            {"Actor", {{"ID", id}, {"Attributes", attrs}}},
            {"scope", "local"},
            {"time", time_nano / 1000000000},
            {"timeNano", time_nano}};
  // The old top-level fields, which `docker events` still prints from.
  if (type == "container" || type == "image") {
    j["status"] = action;
    j["id"] = id;
    if (auto it = attributes.find("image"); it != attributes.end()) j["from"] = it->second;
  }
  return j;
}

bool event_matches(const Event& e, const EventFilters& f) {
  for (const auto& [key, values] : f) {
    if (values.empty()) continue;
    bool ok = false;
    if (key == "type") {
      ok = any_equal(values, e.type);
    } else if (key == "event") {
      // Docker's actions with a detail after ": " ("health_status: healthy",
      // "exec_start: sh -c ...") also match their bare name.
      ok = any_equal(values, e.action) || any_equal(values, e.action.substr(0, e.action.find(": ")));
    } else if (key == "image" || key == "container") {
      if (e.type != key && !(key == "image" && e.attributes.count("image"))) return false;
      for (const auto& v : values) {
        if (e.type == key && (e.id == v || e.id.rfind(v, 0) == 0)) ok = true;
        for (const char* attr : {"name", "image"})
          if (auto it = e.attributes.find(attr); it != e.attributes.end() && it->second == v) ok = true;
      }
    } else if (key == "label") {
      for (const auto& v : values) {
        auto eq = v.find('=');
        auto it = e.attributes.find(v.substr(0, eq));
        if (it != e.attributes.end() && (eq == std::string::npos || it->second == v.substr(eq + 1)))
          ok = true;
      }
    } else {
      return false;  // a filter on something this event does not carry
    }
    if (!ok) return false;
  }
  return true;
}

void EventBus::publish(Event e) {
  if (e.time_nano == 0) e.time_nano = now_nano();
  std::lock_guard<std::mutex> g(mu_);
  history_.push_back(e);
  if (history_.size() > kHistory) history_.pop_front();
  for (auto* s : subs_)
    if (event_matches(e, s->filters_)) s->queue_.push_back(e);
  cv_.notify_all();
}

std::unique_ptr<EventBus::Subscription> EventBus::subscribe(int64_t since_nano,
                                                            EventFilters filters) {
  std::unique_ptr<Subscription> s(new Subscription(this, std::move(filters)));
  std::lock_guard<std::mutex> g(mu_);
  if (since_nano > 0)
    for (const auto& e : history_)
      if (e.time_nano >= since_nano && event_matches(e, s->filters_)) s->queue_.push_back(e);
  subs_.push_back(s.get());
  return s;
}

EventBus::Subscription::~Subscription() {
  std::lock_guard<std::mutex> g(bus_->mu_);
  auto& v = bus_->subs_;
  v.erase(std::remove(v.begin(), v.end(), this), v.end());
}

std::optional<Event> EventBus::Subscription::next(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lk(bus_->mu_);
  if (!bus_->cv_.wait_for(lk, wait, [&] { return !queue_.empty(); })) return std::nullopt;
  Event e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

std::optional<int64_t> parse_event_time(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.find('T') != std::string_view::npos) {
    auto t = parse_rfc3339_seconds(s);
    if (!t) return std::nullopt;
    return *t * 1000000000;
  }
  auto dot = s.find('.');
  auto sec = parse_int(s.substr(0, dot));
  if (!sec || *sec < 0) return std::nullopt;
  int64_t nano = 0;
  if (dot != std::string_view::npos) {
    std::string frac(s.substr(dot + 1));
    if (frac.empty() || frac.size() > 9 || frac.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    frac.resize(9, '0');
    nano = *parse_int(frac);
  }
  return *sec * 1000000000 + nano;
}

}  // namespace berth::engine
