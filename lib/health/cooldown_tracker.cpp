#include "health/cooldown_tracker.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace llmux::health {

DeploymentHealthState::Snapshot DeploymentHealthState::snapshot() const {
  absl::MutexLock lock(&mu_);
  return Snapshot{cooldown_until(), reason_, status_, cooldown_seconds_};
}

CooldownTracker::CooldownTracker(const RouterSettings& settings, const TimeSource& time)
    : settings_(settings), time_(time) {}

void CooldownTracker::record_success(DeploymentHealthState& state) {
  const TimePoint now = time_.now();
  absl::MutexLock lock(&state.mu_);
  if (now - state.window_start_ >= kWindow) {
    state.window_start_ = now;
    state.window_successes_ = 0;
    state.window_failures_ = 0;
  }
  ++state.window_successes_;
}

bool CooldownTracker::cooldown_applies_to(const FailureEvent& event) {
  // LiteLLM's _is_cooldown_required: connection errors never cool down;
  // 4xx other than 401/404/408/429 never do; 5xx and the rest do.
  if (event.kind == ErrorKind::kConnectionError) return false;
  if (event.wildcard_deployment) return false;
  const int s = event.status;
  if (s <= 0) return false;
  if (s >= 400 && s < 500) return s == 401 || s == 404 || s == 408 || s == 429;
  return true;
}

double CooldownTracker::cooldown_seconds_for(const FailureEvent& event) const {
  if (event.request_cooldown_seconds && *event.request_cooldown_seconds >= 0) return *event.request_cooldown_seconds;
  if (event.deployment_cooldown_seconds && *event.deployment_cooldown_seconds >= 0) {
    return *event.deployment_cooldown_seconds;
  }
  if (event.retry_after_seconds && *event.retry_after_seconds >= 0) {
    return std::min(*event.retry_after_seconds, kMaxRetryAfterCooldown);
  }
  return settings_.cooldown_time_seconds;
}

bool CooldownTracker::legacy_rule_active() const {
  return settings_.allowed_fails_policy.has_value() || settings_.allowed_fails_set;
}

std::optional<int> CooldownTracker::allowed_fails_for(ErrorKind kind) const {
  if (!settings_.allowed_fails_policy) return std::nullopt;
  const AllowedFailsPolicy& p = *settings_.allowed_fails_policy;
  std::optional<int> v;
  switch (kind) {
    case ErrorKind::kAuthentication: v = p.authentication; break;
    case ErrorKind::kTimeout: v = p.timeout; break;
    case ErrorKind::kRateLimit: v = p.rate_limit; break;
    case ErrorKind::kContentPolicyViolation: v = p.content_policy_violation; break;
    case ErrorKind::kBadRequest:
    case ErrorKind::kContextWindowExceeded: v = p.bad_request; break;
    default: break;
  }
  if (v && *v == 0) v.reset();  // LiteLLM: 0/None falls back to allowed_fails
  return v;
}

static bool status_is_retryable(int status) {
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

std::optional<double> CooldownTracker::record_failure(DeploymentHealthState& state, const FailureEvent& event) {
  const TimePoint now = time_.now();
  const double seconds = cooldown_seconds_for(event);
  const bool required = !settings_.disable_cooldowns && seconds > 1e-9 && cooldown_applies_to(event);
  const bool single = event.group_size <= 1;

  absl::MutexLock lock(&state.mu_);
  // The failure always counts toward the failure-rate window (LiteLLM counts
  // every error type, including the ones that never cool down).
  if (now - state.window_start_ >= kWindow) {
    state.window_start_ = now;
    state.window_successes_ = 0;
    state.window_failures_ = 0;
  }
  ++state.window_failures_;
  if (!required) return std::nullopt;

  bool cool = false;
  if (legacy_rule_active()) {
    const int allowed = allowed_fails_for(event.kind).value_or(settings_.allowed_fails);
    if (now - state.legacy_window_start_ >= seconds_to_duration(settings_.cooldown_time_seconds)) {
      state.legacy_window_start_ = now;
      state.legacy_failures_ = 0;
    }
    const int64_t n = ++state.legacy_failures_;
    cool = n > allowed;
  } else {
    const int64_t f = state.window_failures_;
    const int64_t t = f + state.window_successes_;
    const double rate = t > 0 ? static_cast<double>(f) / static_cast<double>(t) : 0.0;
    if (event.status == 429 && !single) {
      cool = true;
    } else if (rate >= 1.0 && t >= kSingleDeploymentFailureMinimumRequests) {
      cool = true;
    } else if (rate > kFailureRateThreshold && t >= kFailureRateMinimumRequests && !single) {
      cool = true;
    } else if (!status_is_retryable(event.status)) {
      cool = true;  // 401 / 404, single-deployment groups included
    }
  }
  if (!cool) return std::nullopt;

  const TimePoint until = now + seconds_to_duration(seconds);
  state.cooldown_until_ns_.store(until.time_since_epoch().count(), std::memory_order_release);
  state.status_ = event.status;
  state.cooldown_seconds_ = seconds;
  state.reason_ = fmt::format("{} {}: {}", event.status, error_kind_name(event.kind),
                              event.message.size() > 200 ? event.message.substr(0, 200) + "..." : event.message);
  return seconds;
}

}  // namespace llmux::health
