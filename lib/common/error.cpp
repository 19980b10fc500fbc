#include "llmux/error.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace llmux {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest: return "BadRequestError";
    case ErrorKind::kContextWindowExceeded: return "ContextWindowExceededError";
    case ErrorKind::kContentPolicyViolation: return "ContentPolicyViolationError";
    case ErrorKind::kAuthentication: return "AuthenticationError";
    case ErrorKind::kPermissionDenied: return "PermissionDeniedError";
    case ErrorKind::kNotFound: return "NotFoundError";
    case ErrorKind::kTimeout: return "Timeout";
    case ErrorKind::kRateLimit: return "RateLimitError";
    case ErrorKind::kNoDeploymentsAvailable: return "NoDeploymentsAvailableError";
    case ErrorKind::kBudgetExceeded: return "BudgetExceededError";
    case ErrorKind::kInternalServer: return "InternalServerError";
    case ErrorKind::kBadGateway: return "BadGatewayError";
    case ErrorKind::kServiceUnavailable: return "ServiceUnavailableError";
    case ErrorKind::kApiError: return "APIError";
    case ErrorKind::kConnectionError: return "APIConnectionError";
    case ErrorKind::kMidStream: return "MidStreamFallbackError";
    case ErrorKind::kCancelled: return "CancelledError";
    case ErrorKind::kInvalidConfig: return "InvalidConfigError";
    case ErrorKind::kInvalidArgument: return "InvalidArgumentError";
  }
  return "UnknownError";
}

int error_kind_default_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest:
    case ErrorKind::kContextWindowExceeded:
    case ErrorKind::kContentPolicyViolation:
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kInvalidConfig: return 400;
    case ErrorKind::kAuthentication: return 401;
    case ErrorKind::kPermissionDenied: return 403;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kTimeout: return 408;
    case ErrorKind::kRateLimit:
    case ErrorKind::kNoDeploymentsAvailable:
    case ErrorKind::kBudgetExceeded: return 429;
    case ErrorKind::kInternalServer:
    case ErrorKind::kApiError:
    case ErrorKind::kConnectionError: return 500;
    case ErrorKind::kBadGateway: return 502;
    case ErrorKind::kServiceUnavailable:
    case ErrorKind::kMidStream: return 503;
    case ErrorKind::kCancelled: return 499;  // nginx's "client closed request"
  }
  return 500;
}

bool error_kind_is_bad_request(ErrorKind kind) {
  return kind == ErrorKind::kBadRequest || kind == ErrorKind::kContextWindowExceeded ||
         kind == ErrorKind::kContentPolicyViolation;
}

Error::Error(ErrorKind k, std::string msg)
    : kind(k), message(std::move(msg)), status(error_kind_default_status(k)) {}

Error::Error(ErrorKind k, std::string msg, int provider_http_status)
    : kind(k),
      message(std::move(msg)),
      status(provider_http_status > 0 ? provider_http_status : error_kind_default_status(k)),
      provider_status(provider_http_status) {}

std::string Error::to_string() const { return fmt::format("{}: {}", error_kind_name(kind), message); }

namespace detail {

void result_access_failed(std::string_view accessor, const Error* error) {
  // No allocation: this may run with the heap in any state.
  if (error) {
    const std::string_view type = error_kind_name(error->kind);
    std::fprintf(stderr, "llmux: Result::%.*s called on an error (check ok() first): %.*s: %s\n", static_cast<int>(accessor.size()),
                 accessor.data(), static_cast<int>(type.size()), type.data(), error->message.c_str());
  } else {
    std::fprintf(stderr, "llmux: %.*s called on a success: there is no error (check ok() first)\n", static_cast<int>(accessor.size()),
                 accessor.data());
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail

}  // namespace llmux
