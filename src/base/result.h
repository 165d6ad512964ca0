// Result<T> and Error: how every fallible function in Berth reports failure.
//
// Usage:
//   Result<Fd> open_config(const std::string& path);
//   auto fd = BERTH_TRY(open_config(p));          // propagates the Error
//   return Error::sys(errno, "open {}", path);    // "open /x: ENOENT (No such file...)"
//   return err.context("load bundle {}", dir);     // "load bundle /b: open /b/config.json: ..."
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace berth {

// Categories follow containerd's errdefs; api/ maps them to HTTP status codes.
enum class ErrorCode {
  NotFound,
  InvalidArgument,
  AlreadyExists,
  Conflict,
  FailedPrecondition,
  PermissionDenied,
  Unavailable,
  NotImplemented,
  Internal,
};

const char* error_code_name(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message, int sys_errno = 0)
      : code_(code), errno_(sys_errno), message_(std::move(message)) {}

  template <typename... Args>
  static Error make(ErrorCode code, fmt::format_string<Args...> f, Args&&... args) {
    return Error(code, fmt::format(f, std::forward<Args>(args)...));
  }
  // A failed syscall: the message names the operation and object, then errno.
  template <typename... Args>
  static Error sys(int err, fmt::format_string<Args...> f, Args&&... args) {
    return Error(code_for_errno(err),
                 fmt::format("{}: {}", fmt::format(f, std::forward<Args>(args)...),
                             errno_text(err)),
                 err);
  }
  template <typename... Args>
  static Error invalid(fmt::format_string<Args...> f, Args&&... args) {
    return Error(ErrorCode::InvalidArgument, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  static Error not_found(fmt::format_string<Args...> f, Args&&... args) {
    return Error(ErrorCode::NotFound, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  static Error internal(fmt::format_string<Args...> f, Args&&... args) {
    return Error(ErrorCode::Internal, fmt::format(f, std::forward<Args>(args)...));
  }

  // Prefix context as the error travels up: "start container x: <inner>".
  template <typename... Args>
  Error context(fmt::format_string<Args...> f, Args&&... args) const& {
    Error e = *this;
    e.message_ = fmt::format("{}: {}", fmt::format(f, std::forward<Args>(args)...), message_);
    return e;
  }

  ErrorCode code() const { return code_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }

  static ErrorCode code_for_errno(int err);
  // "ENOENT (No such file or directory)"
  static std::string errno_text(int err);

 private:
  ErrorCode code_;
  int errno_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

  T value_or(T other) const& { return ok() ? value() : std::move(other); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT(implicit)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const {}
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_{ErrorCode::Internal, ""};
  bool ok_ = true;
};

inline Result<void> ok() { return {}; }

}  // namespace berth

// Evaluate a Result expression; on error return it from the enclosing
// function, otherwise yield the value (GNU statement expression, g++ and clang).
#define BERTH_TRY(expr)                                  \
  ({                                                     \
    auto&& berth_try_r_ = (expr);                        \
    if (!berth_try_r_.ok()) return std::move(berth_try_r_).error(); \
    std::move(berth_try_r_).value();                     \
  })

// As BERTH_TRY, adding context to the error: BERTH_TRY_CTX(f(), "load {}", p)
#define BERTH_TRY_CTX(expr, ...)                                         \
  ({                                                                     \
    auto&& berth_try_r_ = (expr);                                        \
    if (!berth_try_r_.ok()) return berth_try_r_.error().context(__VA_ARGS__); \
    std::move(berth_try_r_).value();                                     \
  })
