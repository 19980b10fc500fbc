// -----------------------------------------------------------------------------
// File: health/cooldown_tracker.hpp
// -----------------------------------------------------------------------------
// Decides when a deployment cools down and for how long, with LiteLLM's rules
// (reference §5.2-5.4), and stores the decision as an absolute expiry that
// the routing filter reads with one atomic load.
//
// Differences from LiteLLM (deliberate, documented in the README): expiry is
// absolute and checked on read; Retry-After used as a cooldown length is
// capped at kMaxRetryAfterCooldown.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"

namespace llmux::health {

// Live health of one deployment. Shared (shared_ptr) between the deployment
// pool snapshots so it survives add/remove of other deployments.
class DeploymentHealthState {
 public:
  // Cooling down at `now`? Lock-free.
  bool cooling_down(TimePoint now) const {
    return now.time_since_epoch().count() < cooldown_until_ns_.load(std::memory_order_acquire);
  }
  TimePoint cooldown_until() const { return TimePoint(Duration(cooldown_until_ns_.load(std::memory_order_acquire))); }

  struct Snapshot {
    TimePoint cooldown_until{};
    std::string reason;
    int status = 0;
    double cooldown_seconds = 0;
  };
  Snapshot snapshot() const;

 private:
  friend class CooldownTracker;
  std::atomic<int64_t> cooldown_until_ns_{0};

  mutable absl::Mutex mu_;
  // Per-minute success/failure window for the failure-rate rule.
  TimePoint window_start_ ABSL_GUARDED_BY(mu_){};
  int64_t window_successes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t window_failures_ ABSL_GUARDED_BY(mu_) = 0;
  // Legacy allowed_fails counter (window = cooldown_time from the first failure).
  TimePoint legacy_window_start_ ABSL_GUARDED_BY(mu_){};
  int64_t legacy_failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::string reason_ ABSL_GUARDED_BY(mu_);
  int status_ ABSL_GUARDED_BY(mu_) = 0;
  double cooldown_seconds_ ABSL_GUARDED_BY(mu_) = 0;
};

// One failed attempt, as the cooldown rules need it.
struct FailureEvent {
  ErrorKind kind = ErrorKind::kInternalServer;
  int status = 0;                             // LiteLLM-equivalent status
  std::optional<double> retry_after_seconds;  // provider's Retry-After
  std::string message;                        // for health() reporting
  size_t group_size = 1;                      // deployments in the model group
  bool wildcard_deployment = false;           // wildcard deployments never cool down
  std::optional<double> deployment_cooldown_seconds;  // litellm_params.cooldown_time
  std::optional<double> request_cooldown_seconds;     // request kwarg cooldown_time
};

// Thread-safe; one per router.
class CooldownTracker {
 public:
  // LiteLLM constants (reference §5.3).
  static constexpr double kFailureRateThreshold = 0.5;
  static constexpr int64_t kFailureRateMinimumRequests = 5;
  static constexpr int64_t kSingleDeploymentFailureMinimumRequests = 1000;
  static constexpr Duration kWindow = std::chrono::seconds(60);
  static constexpr double kMaxRetryAfterCooldown = 300;

  CooldownTracker(const RouterSettings& settings, const TimeSource& time);

  void record_success(DeploymentHealthState& state);
  // Returns the cooldown length in seconds when the deployment was cooled down.
  std::optional<double> record_failure(DeploymentHealthState& state, const FailureEvent& event);

  // Whether LiteLLM's _is_cooldown_required holds for this failure.
  static bool cooldown_applies_to(const FailureEvent& event);
  // Cooldown length per LiteLLM's precedence: request/deployment cooldown_time >
  // Retry-After > router default. 0 means "no cooldown".
  double cooldown_seconds_for(const FailureEvent& event) const;

  const TimeSource& time() const { return time_; }

 private:
  bool legacy_rule_active() const;
  std::optional<int> allowed_fails_for(ErrorKind kind) const;

  const RouterSettings& settings_;
  const TimeSource& time_;
};

}  // namespace llmux::health
