// -----------------------------------------------------------------------------
// File: llmux/error.hpp
// -----------------------------------------------------------------------------
// The error taxonomy shared by the C++ API, the C ABI (llmux_status) and
// every binding, and Result<T>, the value every fallible call returns.
// Errors are values: nothing in the public API throws.
#pragma once

#include "llmux/export.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "llmux/metadata.hpp"

namespace llmux {

// One kind per user-visible failure class. Values are stable (they cross the C
// ABI as integers): append new kinds, never renumber.
enum class ErrorKind : int {
  kBadRequest = 1,              // 400 / 422 / invalid_request_error
  kContextWindowExceeded = 2,   // 400, prompt longer than the model's context
  kContentPolicyViolation = 3,  // 400, provider's safety system refused
  kAuthentication = 4,          // 401
  kPermissionDenied = 5,        // 403
  kNotFound = 6,                // 404 / model_not_found
  kTimeout = 7,                 // 408 / 504 / any llmux deadline
  kRateLimit = 8,               // 429
  kNoDeploymentsAvailable = 9,  // every candidate filtered or cooling down
  kBudgetExceeded = 10,         // every candidate over budget
  kInternalServer = 11,         // 500
  kBadGateway = 12,             // 502
  kServiceUnavailable = 13,     // 503
  kApiError = 14,               // any other HTTP status (409, 418, ...)
  kConnectionError = 15,        // no HTTP response: refused, reset, DNS
  kMidStream = 16,              // a stream failed after content was delivered
  kCancelled = 17,              // the caller cancelled the call
  kInvalidConfig = 18,          // the configuration is wrong
  kInvalidArgument = 19,        // the request (or an API argument) is wrong
};

// LiteLLM's exception class name for a kind ("RateLimitError", "Timeout", ...).
LLMUX_API std::string_view error_kind_name(ErrorKind kind);
// The status code LiteLLM reports for the kind when the provider gave none
// (APIConnectionError → 500, Timeout → 408, ...).
LLMUX_API int error_kind_default_status(ErrorKind kind);
// Whether the kind is one of the request-is-wrong classes (400-family).
LLMUX_API bool error_kind_is_bad_request(ErrorKind kind);

struct LLMUX_API Error {
  ErrorKind kind = ErrorKind::kInternalServer;
  // Human-readable, includes the provider's own message when there is one.
  // Never contains an API key.
  std::string message;
  // LiteLLM-equivalent status (what `exc.status_code` is in LiteLLM).
  int status = 0;
  // The HTTP status the provider actually answered, 0 when there was none.
  int provider_status = 0;
  // Seconds the caller may wait before trying again: the provider's
  // Retry-After, or for kNoDeploymentsAvailable the time until the first
  // deployment recovers.
  std::optional<double> retry_after_seconds;
  // Provider family of the deployment that failed ("openai", ...), if any.
  std::string llm_provider;
  // Router metadata of the call at the time it failed.
  RouterMetadata metadata;

  Error() = default;
  Error(ErrorKind k, std::string msg);
  Error(ErrorKind k, std::string msg, int provider_http_status);

  std::string_view type_name() const { return error_kind_name(kind); }
  // "<TypeName>: <message>"
  std::string to_string() const;
};

namespace detail {
// Prints "llmux: <accessor> called on ..." (naming the error, for a value
// accessor) to stderr and aborts. Called only when an accessor's
// precondition is broken.
[[noreturn]] LLMUX_API void result_access_failed(std::string_view accessor, const Error* error);
}  // namespace detail

// Either a value or an Error. Cheap to move; not thread-safe to share mutably.
//
// Accessors and their preconditions (checked in every build, like
// absl::StatusOr): value(), operator* and operator-> require ok();
// error() requires !ok(). Breaking one is a bug in the caller: the process
// aborts with a message naming the error (no exception, in particular no
// std::bad_variant_access, ever leaves it). value_or() has no precondition.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: ok().
  T& value() & { return *get_value("value()"); }
  const T& value() const& { return *get_value("value()"); }
  T&& value() && { return std::move(*get_value("value()")); }
  T* operator->() { return get_value("operator->"); }
  const T* operator->() const { return get_value("operator->"); }
  T& operator*() & { return *get_value("operator*"); }
  const T& operator*() const& { return *get_value("operator*"); }

  // The value, or `fallback` when this holds an error.
  template <class U>
  T value_or(U&& fallback) const& {
    return ok() ? *std::get_if<0>(&v_) : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  T value_or(U&& fallback) && {
    return ok() ? std::move(*std::get_if<0>(&v_)) : static_cast<T>(std::forward<U>(fallback));
  }

  // Precondition: !ok().
  Error& error() & { return *get_error(); }
  const Error& error() const& { return *get_error(); }
  Error&& error() && { return std::move(*get_error()); }

 private:
  T* get_value(std::string_view accessor) {
    if (T* v = std::get_if<0>(&v_)) return v;
    detail::result_access_failed(accessor, std::get_if<1>(&v_));
  }
  const T* get_value(std::string_view accessor) const {
    if (const T* v = std::get_if<0>(&v_)) return v;
    detail::result_access_failed(accessor, std::get_if<1>(&v_));
  }
  Error* get_error() {
    if (Error* e = std::get_if<1>(&v_)) return e;
    detail::result_access_failed("Result::error()", nullptr);
  }
  const Error* get_error() const {
    if (const Error* e = std::get_if<1>(&v_)) return e;
    detail::result_access_failed("Result::error()", nullptr);
  }

  std::variant<T, Error> v_;
};

// Result of an operation that yields no value. error() requires !ok()
// (checked: aborts with a message otherwise).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(implicit)
  static Status Ok() { return Status(); }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (!error_) detail::result_access_failed("Status::error()", nullptr);
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

}  // namespace llmux
