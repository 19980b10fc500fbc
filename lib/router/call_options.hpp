// -----------------------------------------------------------------------------
// File: router/call_options.hpp
// -----------------------------------------------------------------------------
// The options of one call, resolved once when it starts: a request's own
// value beats the deployment's, which beats the router's setting (LiteLLM's
// precedence). What depends on the deployment an attempt goes to is resolved
// per attempt by the methods below, from the same stored values. Plain data;
// used on the router's loop thread.
#pragma once

#include <optional>
#include <string_view>

#include "health/retry_policy.hpp"
#include "request/request.hpp"
#include "llmux/clock.hpp"
#include "llmux/config.hpp"

namespace llmux::router {

enum class CallMode { kCompletion, kStream, kEmbedding };

struct CallOptions {
  bool stream = false;  // the call streams (stream() or a "stream": true completion)
  int num_retries = 0;
  double total_timeout_seconds = 0;  // <= 0: none
  Duration connect_timeout = Duration::max();
  Duration stream_idle_timeout = Duration::max();
  Duration first_token_timeout = Duration::max();
  // The request set first_token_timeout itself: it applies to every attempt,
  // also with nowhere else to go, and to non-streaming calls (first body byte).
  bool first_token_requested = false;
  bool disable_fallbacks = false;
  // The fallback rule lists in force (the request's replace the router's).
  health::FallbackInputs fallbacks;
  bool context_window_fallbacks_configured = false;
  bool content_policy_fallbacks_configured = false;

  // Resolves the request's router keys against the router's settings. The
  // result points into both: it must not outlive them.
  static CallOptions resolve(const request::ParsedRequest& request, const RouterSettings& settings, CallMode mode);

  // The per-attempt read limit on `deployment`: `timeout` (non-streaming) or
  // `stream_timeout`, each request > deployment > router.
  Duration read_timeout(const DeploymentConfig& deployment) const;
  // Retries allowed in a group after a failure on `failed` (its num_retries
  // wins over the call's).
  int retries_after_failure_on(const DeploymentConfig* failed) const;
  // Whether `group` has a content-policy fallback (the only fallbacks a
  // content-policy violation may go to).
  bool has_content_policy_fallback(std::string_view group) const;

 private:
  std::optional<double> request_timeout_;
  std::optional<double> request_stream_timeout_;
  double router_timeout_ = 0;
  std::optional<double> router_stream_timeout_;
};

}  // namespace llmux::router
