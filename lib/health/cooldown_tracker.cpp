#include "health/cooldown_tracker.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace llmux::health {

namespace {

int64_t ns_of(TimePoint t) { return t.time_since_epoch().count(); }

bool status_is_retryable(int status) { return status == 408 || status == 409 || status == 429 || status >= 500; }

}  // namespace

std::string_view circuit_state_name(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed: return "closed";
    case CircuitState::kOpen: return "open";
    case CircuitState::kHalfOpen: return "half-open";
  }
  return "closed";
}

uint64_t DeploymentHealthState::pack_until(TimePoint t) {
  const int64_t ns = ns_of(t);
  if (ns <= 0) return 0;
  return std::min(static_cast<uint64_t>(ns), kUntilMask);
}

DeploymentHealthState::~DeploymentHealthState() {
  // A tripped state leaving (its deployment removed): no longer counted.
  count_trip(word_.load(std::memory_order_acquire), 0);
}

DeploymentHealthState::Snapshot DeploymentHealthState::snapshot(TimePoint now) const {
  std::lock_guard lock(mu_);
  const uint64_t w = word_.load(std::memory_order_acquire);
  Snapshot s;
  s.cooldown_until = TimePoint(Duration(unpack_until(w)));
  s.reason = reason_;
  s.source = source_;
  s.status = status_;
  s.cooldown_seconds = cooldown_seconds_;
  if ((w & kTrippedBit) == 0) {
    s.state = CircuitState::kClosed;
  } else if (ns_of(now) < unpack_until(w)) {
    s.state = CircuitState::kOpen;
  } else {
    s.state = CircuitState::kHalfOpen;
  }
  s.trips = trips_;
  s.probe_in_flight = (w & kProbeBit) != 0;
  return s;
}

CooldownTracker::CooldownTracker(const RouterSettings& settings, const TimeSource& time)
    : settings_(&settings), time_(time) {}

void CooldownTracker::record_success(DeploymentHealthState& state) {
  const TimePoint now = time_.now();
  std::lock_guard lock(state.mu_);
  if (now - state.window_start_ >= kWindow) {
    state.window_start_ = now;
    state.window_successes_ = 0;
    state.window_failures_ = 0;
  }
  ++state.window_successes_;

  uint64_t w = state.word_.load(std::memory_order_acquire);
  for (;;) {
    // Closed: nothing to do. Open: a success (of an attempt that started
    // before the cooldown) does not cut the cooldown short.
    if ((w & DeploymentHealthState::kTrippedBit) == 0 || ns_of(now) < DeploymentHealthState::unpack_until(w)) return;
    // Half-open: recovery observed. Keep the expiry for reporting.
    if (state.word_.compare_exchange_weak(w, w & DeploymentHealthState::kUntilMask, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      state.count_trip(w, w & DeploymentHealthState::kUntilMask);
      break;
    }
  }
  start_afresh(state, now, /*successes=*/1);
}

void CooldownTracker::start_afresh(DeploymentHealthState& state, TimePoint now, int successes) {
  state.trips_ = 0;
  state.window_start_ = now;
  state.window_successes_ = successes;
  state.window_failures_ = 0;
  state.legacy_window_start_ = now;
  state.legacy_failures_ = 0;
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

bool CooldownTracker::failure_is_deployment_fault(const FailureEvent& event) {
  switch (event.kind) {
    case ErrorKind::kConnectionError:
    case ErrorKind::kTimeout:
    case ErrorKind::kMidStream:
      return true;
    case ErrorKind::kBadRequest:
    case ErrorKind::kContextWindowExceeded:
    case ErrorKind::kContentPolicyViolation:
    case ErrorKind::kPermissionDenied:
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kInvalidConfig:
    case ErrorKind::kCancelled:
    case ErrorKind::kBudgetExceeded:
    case ErrorKind::kNoDeploymentsAvailable:
      return false;
    default:
      break;
  }
  const int s = event.status;
  if (s >= 400 && s < 500) return s == 401 || s == 404 || s == 408 || s == 429;
  return true;  // 5xx, or a server-side kind without a status
}

double CooldownTracker::cooldown_seconds_for(const FailureEvent& event) const {
  if (event.request_cooldown_seconds && *event.request_cooldown_seconds >= 0) return *event.request_cooldown_seconds;
  if (event.deployment_cooldown_seconds && *event.deployment_cooldown_seconds >= 0) {
    return *event.deployment_cooldown_seconds;
  }
  if (event.retry_after_seconds && *event.retry_after_seconds >= 0) {
    return std::min(*event.retry_after_seconds, kMaxRetryAfterCooldown);
  }
  return settings().cooldown_time_seconds;
}

double CooldownTracker::reopen_seconds(double base, int trips) {
  const int exponent = std::clamp(trips, 0, 30);  // 2^30 × any base is past the cap already
  return std::min(std::ldexp(base, exponent), std::max(kMaxCooldownSeconds, base));
}

bool CooldownTracker::legacy_rule_active() const {
  return settings().allowed_fails_policy.has_value() || settings().allowed_fails_set;
}

std::optional<int> CooldownTracker::allowed_fails_for(ErrorKind kind) const {
  if (!settings().allowed_fails_policy) return std::nullopt;
  const AllowedFailsPolicy& p = *settings().allowed_fails_policy;
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

bool CooldownTracker::rule_says_cool_down(DeploymentHealthState& state, const FailureEvent& event,
                                          TimePoint now) const {
  if (legacy_rule_active()) {
    const int allowed = allowed_fails_for(event.kind).value_or(settings().allowed_fails);
    if (now - state.legacy_window_start_ >= seconds_to_duration(settings().cooldown_time_seconds)) {
      state.legacy_window_start_ = now;
      state.legacy_failures_ = 0;
    }
    const int64_t n = ++state.legacy_failures_;
    return n > allowed;
  }
  const bool single = event.group_size <= 1;
  const int64_t f = state.window_failures_;
  const int64_t t = f + state.window_successes_;
  const double rate = t > 0 ? static_cast<double>(f) / static_cast<double>(t) : 0.0;
  if (event.status == 429 && !single) return true;
  if (rate >= 1.0 && t >= kSingleDeploymentFailureMinimumRequests) return true;
  if (rate > kFailureRateThreshold && t >= kFailureRateMinimumRequests && !single) return true;
  return !status_is_retryable(event.status);  // 401 / 404, single-deployment groups included
}

void CooldownTracker::set_reason(DeploymentHealthState& state, const FailureEvent& event, double seconds) {
  state.status_ = event.status;
  state.source_.clear();
  state.cooldown_seconds_ = seconds;
  state.reason_ = fmt::format("{} {}: {}", event.status, error_kind_name(event.kind),
                              event.message.size() > 200 ? event.message.substr(0, 200) + "..." : event.message);
}

std::optional<double> CooldownTracker::record_failure(DeploymentHealthState& state, const FailureEvent& event) {
  using S = DeploymentHealthState;
  const TimePoint now = time_.now();

  std::lock_guard lock(state.mu_);
  // The failure always counts toward the failure-rate window (LiteLLM counts
  // every error type, including the ones that never cool down).
  if (now - state.window_start_ >= kWindow) {
    state.window_start_ = now;
    state.window_successes_ = 0;
    state.window_failures_ = 0;
  }
  ++state.window_failures_;

  // A probe's verdict. begin_probe / end_probe_without_verdict may race with
  // us (they do not take the mutex), hence the CAS loop.
  uint64_t w = state.word_.load(std::memory_order_acquire);
  while ((w & S::kProbeBit) != 0) {
    const double base = cooldown_seconds_for(event);
    const bool reopen =
        !settings().disable_cooldowns && !event.wildcard_deployment && base > 1e-9 && failure_is_deployment_fault(event);
    if (!reopen) {
      // Caller error (or a cooldown of 0 asked for): no verdict, the
      // deployment stays half-open and the next request may probe.
      if (state.word_.compare_exchange_weak(w, w & ~S::kProbeBit, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
        return std::nullopt;
      }
      continue;
    }
    const double seconds = reopen_seconds(base, state.trips_ + 1);
    const uint64_t desired = S::pack_until(now + seconds_to_duration(seconds)) | S::kTrippedBit;
    if (state.word_.compare_exchange_weak(w, desired, std::memory_order_acq_rel, std::memory_order_acquire)) {
      state.count_trip(w, desired);
      ++state.trips_;
      set_reason(state, event, seconds);
      return seconds;
    }
  }

  // Not a probe: LiteLLM's rules.
  const double seconds = cooldown_seconds_for(event);
  const bool required = !settings().disable_cooldowns && seconds > 1e-9 && cooldown_applies_to(event);
  if (!required) return std::nullopt;
  if (!rule_says_cool_down(state, event, now)) return std::nullopt;

  const uint64_t until = S::pack_until(now + seconds_to_duration(seconds));
  for (;;) {
    // Never shorten a running cooldown (it may be a long re-opening).
    if ((w & S::kTrippedBit) != 0 && S::unpack_until(w) > static_cast<int64_t>(until)) return std::nullopt;
    // Opening also drops a probe claimed meanwhile: its verdict is moot.
    if (state.word_.compare_exchange_weak(w, until | S::kTrippedBit, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      state.count_trip(w, until | S::kTrippedBit);
      break;
    }
  }
  set_reason(state, event, seconds);
  return seconds;
}

bool CooldownTracker::begin_probe(DeploymentHealthState& state, TimePoint now) {
  using S = DeploymentHealthState;
  if (settings().disable_cooldowns) return false;
  uint64_t w = state.word_.load(std::memory_order_acquire);
  for (;;) {
    if ((w & S::kTrippedBit) == 0 || (w & (S::kProbeBit | S::kFleetHoldBit)) != 0 ||
        ns_of(now) < S::unpack_until(w)) {
      return false;
    }
    if (state.word_.compare_exchange_weak(w, w | S::kProbeBit, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      return true;
    }
  }
}

bool CooldownTracker::apply_remote_cooldown(DeploymentHealthState& state, TimePoint until, std::string reason,
                                            int status, double seconds, std::string source) {
  using S = DeploymentHealthState;
  if (settings().disable_cooldowns) return false;
  std::lock_guard lock(state.mu_);
  const uint64_t packed = S::pack_until(until);
  uint64_t w = state.word_.load(std::memory_order_acquire);
  for (;;) {
    // Never shorten a running cooldown; a probe of ours in flight keeps its
    // slot (its verdict is still news for the fleet).
    if ((w & S::kTrippedBit) != 0 && S::unpack_until(w) >= static_cast<int64_t>(packed)) return false;
    if (state.word_.compare_exchange_weak(w, packed | S::kTrippedBit | (w & S::kProbeBit), std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      state.count_trip(w, S::kTrippedBit);
      break;
    }
  }
  state.reason_ = std::move(reason);
  state.source_ = std::move(source);
  state.status_ = status;
  state.cooldown_seconds_ = seconds;
  return true;
}

bool CooldownTracker::apply_remote_recovery(DeploymentHealthState& state) {
  using S = DeploymentHealthState;
  const TimePoint now = time_.now();
  std::lock_guard lock(state.mu_);
  uint64_t w = state.word_.load(std::memory_order_acquire);
  for (;;) {
    if ((w & S::kTrippedBit) == 0) return false;
    // Keep the expiry for reporting, drop every flag (a probe of ours that is
    // still in flight reports to a closed circuit: record_success ignores it).
    if (state.word_.compare_exchange_weak(w, w & S::kUntilMask, std::memory_order_acq_rel, std::memory_order_acquire)) {
      state.count_trip(w, 0);
      break;
    }
  }
  start_afresh(state, now, /*successes=*/0);
  return true;
}

std::optional<int> CooldownTracker::fleet_allowed_fails(const FailureEvent& event) const {
  if (!legacy_rule_active() || settings().disable_cooldowns) return std::nullopt;
  if (!(cooldown_seconds_for(event) > 1e-9) || !cooldown_applies_to(event)) return std::nullopt;
  return allowed_fails_for(event.kind).value_or(settings().allowed_fails);
}

std::optional<double> CooldownTracker::apply_fleet_allowed_fails(DeploymentHealthState& state,
                                                                 const FailureEvent& event) {
  using S = DeploymentHealthState;
  if (!fleet_allowed_fails(event)) return std::nullopt;
  const double seconds = cooldown_seconds_for(event);
  const TimePoint now = time_.now();
  std::lock_guard lock(state.mu_);
  const uint64_t until = S::pack_until(now + seconds_to_duration(seconds));
  uint64_t w = state.word_.load(std::memory_order_acquire);
  for (;;) {
    // Open or half-open already (this replica's own rule, a probe, another
    // replica): that decision stands.
    if ((w & S::kTrippedBit) != 0) return std::nullopt;
    if (state.word_.compare_exchange_weak(w, until | S::kTrippedBit, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      state.count_trip(w, until | S::kTrippedBit);
      break;
    }
  }
  set_reason(state, event, seconds);
  return seconds;
}

void CooldownTracker::hold_for_fleet(DeploymentHealthState& state) {
  using S = DeploymentHealthState;
  uint64_t w = state.word_.load(std::memory_order_acquire);
  while ((w & S::kTrippedBit) != 0 && (w & S::kFleetHoldBit) == 0) {
    if (state.word_.compare_exchange_weak(w, w | S::kFleetHoldBit, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      return;
    }
  }
}

void CooldownTracker::release_fleet_hold(DeploymentHealthState& state) {
  state.word_.fetch_and(~DeploymentHealthState::kFleetHoldBit, std::memory_order_acq_rel);
}

void CooldownTracker::end_probe_without_verdict(DeploymentHealthState& state) {
  state.word_.fetch_and(~DeploymentHealthState::kProbeBit, std::memory_order_acq_rel);
}

void CooldownTracker::reset(DeploymentHealthState& state) {
  std::lock_guard<std::mutex> lock(state.mu_);
  state.count_trip(state.word_.exchange(0, std::memory_order_acq_rel), 0);
  state.window_start_ = TimePoint{};
  state.window_successes_ = 0;
  state.window_failures_ = 0;
  state.legacy_window_start_ = TimePoint{};
  state.legacy_failures_ = 0;
  state.trips_ = 0;
  state.reason_.clear();
  state.source_.clear();
  state.status_ = 0;
  state.cooldown_seconds_ = 0;
}

}  // namespace llmux::health
