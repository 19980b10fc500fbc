// -----------------------------------------------------------------------------
// File: health/retry_policy.hpp
// -----------------------------------------------------------------------------
// Retry and fallback decisions, LiteLLM's order of operations (reference §6):
// retries within the group first, then fallback groups. Pure functions of
// their inputs (randomness passed in), so every rule is unit-testable.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"

namespace llmux::health {

// LiteLLM back-off constants (litellm/constants.py).
inline constexpr double kInitialRetryDelay = 0.5;
inline constexpr double kMaxRetryDelay = 8.0;
inline constexpr double kRetryJitter = 0.75;
inline constexpr double kMaxHonouredRetryAfter = 60.0;

// Retry count a retry policy assigns to this error, if any (reference §6.5).
std::optional<int> retries_from_policy(const RetryPolicy& policy, ErrorKind kind);

// The policy in force for a group: model_group_retry_policy[group], else retry_policy.
const RetryPolicy* retry_policy_for(const RouterSettings& settings, std::string_view group);

struct RetryContext {
  size_t healthy_deployments = 0;  // not cooling down, in the group
  size_t group_size = 0;
  bool context_window_fallbacks_configured = false;
  bool content_policy_fallbacks_configured = false;
};

// LiteLLM's should_retry_this_error (reference §6.2): false = stop retrying in
// this group (go to fallbacks).
bool should_retry_error(const Error& error, const RetryContext& ctx);

// Wait before the next attempt (reference §6.4, with llmux's fixes):
// - another healthy deployment in the group: no wait;
// - else the latest failure's Retry-After when 0 < ra <= 60 s, plus jitter;
// - else min(max(0.5 * 2^k, retry_after), 8 s) plus jitter, k = retries made so far.
Duration retry_backoff(const Error& latest, const RetryContext& ctx, int retries_done, double min_retry_after_seconds,
                       Random& rng);

// Whether to retry in the same group after a failure, and after how long
// (reference §6.2-§6.5): a retry policy's count for the error class wins;
// otherwise `allowed` retries while should_retry_error holds. A silent
// deployment (it timed out without answering) is only failed over: no retry
// when no other healthy deployment is left. `retries_done` counts the
// group's retries so far.
struct RetryDecision {
  bool retry = false;
  Duration wait{};      // before the next attempt
  int allowed = 0;      // the retry count in force (reported as max_retries)
};
RetryDecision decide_retry(const RouterSettings& settings, std::string_view group, const Error& error,
                           const RetryContext& ctx, int retries_done, int allowed, bool silent, Random& rng);

// Which fallback groups apply to a failure of `group` with `error`
// (reference §6.6): context-window and content-policy errors use their own
// lists when configured (exact key only), otherwise the generic `fallbacks`
// (exact key, then the key with a provider prefix stripped, then "*").
// `request_*` replace the router's lists when present; client-side lists
// apply to every error. Groups equal to `group` are skipped; at most
// `max_fallbacks` are returned.
struct FallbackInputs {
  const std::vector<FallbackRule>* fallbacks = nullptr;
  const std::vector<FallbackRule>* context_window_fallbacks = nullptr;
  const std::vector<FallbackRule>* content_policy_fallbacks = nullptr;
  const std::vector<std::string>* client_fallbacks = nullptr;
  int max_fallbacks = 5;
};
std::vector<std::string> fallback_groups_for(std::string_view group, const Error& error, const FallbackInputs& in);

}  // namespace llmux::health
