// ScopeExit: run an undo action when a scope ends, unless dismissed.
//   auto undo = ScopeExit([&] { rmdir(dir); });
//   ... on success: undo.dismiss();
#pragma once

#include <utility>

namespace berth {

template <typename F>
class [[nodiscard]] ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ScopeExit(ScopeExit&& o) noexcept : f_(std::move(o.f_)), active_(std::exchange(o.active_, false)) {}
  ~ScopeExit() {
    if (active_) f_();
  }
  void dismiss() { active_ = false; }

 private:
  F f_;
  bool active_ = true;
};

}  // namespace berth
