// Status and Result<T>: errors as values across every layer boundary.
//
// A Status is either OK (cheap: no allocation) or an error carrying a positive
// errno value and a human-readable message. Result<T> holds either a T or an
// error Status. C++20 has no std::expected; this is the small subset we need.
//
// Conventions:
//  - errno values are positive (EIO, ENOSPC, EINVAL, EROFS, ...). Corruption of
//    on-disk metadata is EUCLEAN (the kernel's EFSCORRUPTED); see kCorrupted.
//  - An error is logged once, where it is handled, not where it is created.
//  - Exceptions never cross a layer boundary; these types never throw.
//
// Thread safety: value types; no shared state.
#pragma once

#include <cerrno>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace foliofs {

// errno used for detected metadata corruption (checksum, magic, bounds).
inline constexpr int kCorrupted = EUCLEAN;

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  // `err` must be a positive errno value.
  static Status Error(int err, std::string message) { return Status(err, std::move(message)); }
  static Status Corrupted(std::string message) { return Status(kCorrupted, std::move(message)); }

  bool ok() const { return rep_ == nullptr; }
  explicit operator bool() const { return ok(); }
  // 0 when ok().
  int err() const { return rep_ ? rep_->err : 0; }
  const std::string& message() const;
  // "OK" or "<strerror(err)>: <message>".
  std::string ToString() const;
  // Returns a copy whose message is "<context>: <old message>"; OK stays OK.
  Status WithContext(const std::string& context) const;

 private:
  struct Rep {
    int err;
    std::string message;
  };
  Status(int err, std::string message);
  // shared_ptr keeps copies cheap; errors are immutable once made.
  std::shared_ptr<const Rep> rep_;
};

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<T, Status>, "use Status directly");

 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status error) : v_(std::move(error)) {
    if (std::get<Status>(v_).ok()) v_ = Status::Error(EINVAL, "Result built from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  // The error, or OK when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  int err() const { return ok() ? 0 : std::get<Status>(v_).err(); }

  // Precondition: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace foliofs

// Propagate a non-OK Status (or Result's status) to the caller.
#define FOLIOFS_CONCAT_INNER(a, b) a##b
#define FOLIOFS_CONCAT(a, b) FOLIOFS_CONCAT_INNER(a, b)
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::foliofs::Status _st = (expr);                        \
    if (!_st.ok()) return _st;                             \
  } while (0)
// ASSIGN_OR_RETURN(auto x, MakeX()); evaluates MakeX() once.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL(FOLIOFS_CONCAT(_res_, __LINE__), lhs, rexpr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                          \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
