// -----------------------------------------------------------------------------
// File: health/cooldown_tracker.hpp
// -----------------------------------------------------------------------------
// Decides when a deployment cools down and for how long, with LiteLLM's rules
// (reference §5.2-5.4), and keeps the result as a small circuit breaker whose
// state the routing filter reads with one atomic load.
//
// The circuit (DESIGN.md §4, "recovery is observed, not assumed"):
//
//   closed ──(LiteLLM rule says cool down)──> open (until an absolute expiry)
//   open ──(expiry passes; nothing to do, checked on read)──> half-open
//   half-open ──begin_probe──> half-open + probe in flight (others excluded)
//   probe in flight ──success──> closed (trips = 0)
//   probe in flight ──deployment-fault failure──> open for
//                     min(base × 2^trips, max(kMaxCooldownSeconds, base)), ++trips
//   probe in flight ──caller-error failure / end_probe_without_verdict──> half-open
//
// Differences from LiteLLM (deliberate, documented in the README): expiry is
// absolute and checked on read; an expired cooldown leaves the deployment
// half-open instead of fully trusted; Retry-After used as a cooldown length is
// capped at kMaxRetryAfterCooldown; a failure while open never shortens the
// current cooldown.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"

namespace llmux::health {

// What the routing filter needs to know about a deployment at one instant.
enum class Availability {
  kAvailable,       // circuit closed: route normally
  kCoolingDown,     // circuit open: exclude
  kProbeAvailable,  // half-open, probe slot free: usable only via begin_probe
  kProbeInFlight,   // half-open, someone else is probing: exclude
};

// The circuit as health reporting shows it.
enum class CircuitState { kClosed, kOpen, kHalfOpen };
// "closed", "open", "half-open".
std::string_view circuit_state_name(CircuitState state);

// How many deployments of one model group have their circuit tripped (open
// or half-open). The routing filter reads it once per decision: at 0 it skips
// every member's circuit word. Kept exact by the CooldownTracker (each change
// of a tripped bit, and a tripped state's destruction, adjusts it after the
// word changed, so a reader that sees 0 sees no tripped word that was set
// before). Thread-safe (one atomic).
class TripCounter {
 public:
  int64_t value() const { return n_.load(std::memory_order_acquire); }

 private:
  friend class DeploymentHealthState;
  friend class CooldownTracker;
  mutable std::atomic<int64_t> n_{0};
};

// Live health of one deployment. Shared (shared_ptr) between the deployment
// pool snapshots so it survives add/remove of other deployments.
// Thread-safe: the circuit word is atomic (lock-free reads); the counters and
// the last reason are guarded by an internal mutex. Only CooldownTracker
// changes it.
class DeploymentHealthState {
 public:
  // `trips` (may be null): the counter of the deployment's model group.
  explicit DeploymentHealthState(std::shared_ptr<const TripCounter> trips = nullptr) : trip_counter_(std::move(trips)) {}
  ~DeploymentHealthState();
  DeploymentHealthState(const DeploymentHealthState&) = delete;
  DeploymentHealthState& operator=(const DeploymentHealthState&) = delete;

  // The group counter this state reports to (null: none).
  const TripCounter* trip_counter() const { return trip_counter_.get(); }

  // The circuit at `now`. Lock-free (one atomic load).
  Availability availability(TimePoint now) const {
    // Inline: the candidate filter reads it for every deployment of every attempt.
    const uint64_t w = word_.load(std::memory_order_acquire);
    if ((w & kTrippedBit) == 0) return Availability::kAvailable;
    if (now.time_since_epoch().count() < unpack_until(w)) return Availability::kCoolingDown;
    return (w & (kProbeBit | kFleetHoldBit)) != 0 ? Availability::kProbeInFlight : Availability::kProbeAvailable;
  }

  // availability(now), with the expiry from the same load of the word into
  // `until` (the cooldown's end when kCoolingDown): the routing filter times
  // the members cooling down without reading each word twice.
  Availability availability(TimePoint now, TimePoint& until) const {
    const uint64_t w = word_.load(std::memory_order_acquire);
    until = TimePoint(Duration(unpack_until(w)));
    if ((w & kTrippedBit) == 0) return Availability::kAvailable;
    if (now.time_since_epoch().count() < unpack_until(w)) return Availability::kCoolingDown;
    return (w & (kProbeBit | kFleetHoldBit)) != 0 ? Availability::kProbeInFlight : Availability::kProbeAvailable;
  }

  // Open (kCoolingDown) at `now`? Lock-free. Half-open is not cooling down:
  // routing should use availability().
  bool cooling_down(TimePoint now) const { return availability(now) == Availability::kCoolingDown; }
  // Absolute expiry of the latest cooldown (epoch when never cooled down). It
  // stays at the old value after the circuit closes.
  TimePoint cooldown_until() const { return TimePoint(Duration(unpack_until(word_.load(std::memory_order_acquire)))); }

  struct Snapshot {
    TimePoint cooldown_until{};
    std::string reason;             // last cooldown's cause ("429 RateLimitError: ...")
    int status = 0;                 // last cooldown's status
    double cooldown_seconds = 0;    // last cooldown's length
    CircuitState state = CircuitState::kClosed;
    int trips = 0;                  // consecutive re-openings after failed probes
    bool probe_in_flight = false;
    std::string source;             // who cooled it: empty = this replica, else a replica id or "redis"
  };
  // Consistent copy, circuit state evaluated at `now`.
  Snapshot snapshot(TimePoint now) const;

 private:
  friend class CooldownTracker;

  // One 64-bit word: bits 0-60 expiry (ns since the clock's epoch: 73 years),
  // bit 61 "held by the fleet" (another replica holds the half-open probe
  // lease: excluded like a probe in flight, without this replica's probe
  // verdict rules), bit 62 "tripped" (open or half-open; closed when clear),
  // bit 63 "probe in flight". One word so that readers never see a torn state
  // and begin_probe is a single CAS.
  static constexpr uint64_t kUntilMask = (uint64_t{1} << 61) - 1;
  static constexpr uint64_t kFleetHoldBit = uint64_t{1} << 61;
  static constexpr uint64_t kTrippedBit = uint64_t{1} << 62;
  static constexpr uint64_t kProbeBit = uint64_t{1} << 63;
  static int64_t unpack_until(uint64_t w) { return static_cast<int64_t>(w & kUntilMask); }
  static uint64_t pack_until(TimePoint t);
  // The word changed from `before` to `after`: keeps the group's counter.
  void count_trip(uint64_t before, uint64_t after) const {
    if (trip_counter_ == nullptr || ((before ^ after) & kTrippedBit) == 0) return;
    trip_counter_->n_.fetch_add((after & kTrippedBit) != 0 ? 1 : -1, std::memory_order_acq_rel);
  }

  std::atomic<uint64_t> word_{0};
  const std::shared_ptr<const TripCounter> trip_counter_;  // immutable

  // std::mutex, not absl::Mutex: ThreadSanitizer sees it (DEVELOPERS.md).
  mutable std::mutex mu_;
  // Guarded by mu_ from here on.
  // Per-minute success/failure window for the failure-rate rule.
  TimePoint window_start_{};
  int64_t window_successes_ = 0;
  int64_t window_failures_ = 0;
  // Legacy allowed_fails counter (window = cooldown_time from the first failure).
  TimePoint legacy_window_start_{};
  int64_t legacy_failures_ = 0;
  int trips_ = 0;
  std::string reason_;
  std::string source_;  // empty = this replica
  int status_ = 0;
  double cooldown_seconds_ = 0;
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

// Thread-safe; one per router. Borrows `settings` and `time`, which must
// outlive it (as must every settings object given to set_settings).
class CooldownTracker {
 public:
  // LiteLLM constants (reference §5.3).
  static constexpr double kFailureRateThreshold = 0.5;
  static constexpr int64_t kFailureRateMinimumRequests = 5;
  static constexpr int64_t kSingleDeploymentFailureMinimumRequests = 1000;
  static constexpr Duration kWindow = std::chrono::seconds(60);
  static constexpr double kMaxRetryAfterCooldown = 300;
  // llmux: ceiling of the exponential re-open backoff after failed probes
  // (a configured cooldown_time above it is still honoured as the base).
  static constexpr double kMaxCooldownSeconds = 300;

  CooldownTracker(const RouterSettings& settings, const TimeSource& time);

  // A successful attempt. Counts toward the failure-rate window; on a
  // half-open deployment (probe in flight or not) it closes the circuit and
  // resets trips. While open it changes nothing else: the cooldown holds.
  void record_success(DeploymentHealthState& state);
  // A failed attempt. Returns the cooldown length in seconds when it opened
  // (or re-opened, or extended) the circuit. On a probing deployment a
  // deployment-fault failure (failure_is_deployment_fault) re-opens at once
  // with exponential backoff; any other failure ends the probe without a
  // verdict.
  std::optional<double> record_failure(DeploymentHealthState& state, const FailureEvent& event);

  // Claims the deployment's single probe slot: true iff it is half-open at
  // `now` and no probe is in flight (lock-free CAS). The caller must then
  // report the attempt with record_success / record_failure, or with
  // end_probe_without_verdict when it ends without one (cancelled).
  bool begin_probe(DeploymentHealthState& state, TimePoint now);
  // Frees the probe slot (cancelled probe, caller error); the deployment
  // stays half-open. No-op when no probe is in flight.
  void end_probe_without_verdict(DeploymentHealthState& state);

  // Forgets everything about the deployment (LiteLLM's Router.reset): the
  // circuit closes (a probe in flight loses its slot; its verdict then counts
  // as on a closed circuit), trips, failure windows and the last reason clear.
  static void reset(DeploymentHealthState& state);

  // --- Shared state: what other replicas of the fleet decided ---
  // Another replica (or a LiteLLM worker) cooled the deployment until `until`
  // (this router's clock). Opens the circuit unless a cooldown ending later
  // is already running; keeps this replica's trips. Returns whether it
  // changed anything.
  // `source` names who decided it (a replica id, or "redis" for a key read
  // back whose writer is unknown) for health reporting.
  bool apply_remote_cooldown(DeploymentHealthState& state, TimePoint until, std::string reason, int status,
                             double seconds, std::string source);
  // Another replica's probe succeeded: the circuit closes and the failure
  // windows start afresh, as after a probe of our own. Returns whether the
  // circuit was open or half-open.
  bool apply_remote_recovery(DeploymentHealthState& state);
  // LiteLLM's allowed-fails rule counted fleet-wide (LiteLLM >= 1.110 keeps
  // the count in Redis). The allowance this failure is compared with when
  // that rule is in force (allowed_fails set, or a policy) and the failure
  // counts toward it (a cooldown is required for it and not disabled);
  // nullopt otherwise. The caller counts the failure in the fleet's counter
  // (expiring after cooldown_time, the rule's window) besides this replica's.
  std::optional<int> fleet_allowed_fails(const FailureEvent& event) const;
  // The fleet's counter passed the allowance with `event`: opens the circuit
  // for the cooldown the local rule would have given, unless it is already
  // open or half-open. Returns the cooldown length when it opened.
  std::optional<double> apply_fleet_allowed_fails(DeploymentHealthState& state, const FailureEvent& event);
  // Another replica holds the probe lease: exclude the deployment while it is
  // half-open, until release_fleet_hold (lease expiry, or news).
  void hold_for_fleet(DeploymentHealthState& state);
  void release_fleet_hold(DeploymentHealthState& state);

  // Whether LiteLLM's _is_cooldown_required holds for this failure.
  static bool cooldown_applies_to(const FailureEvent& event);
  // Whether a failed probe says the deployment is still unhealthy: 5xx, 429,
  // 401, 404, 408, timeouts, connection errors, broken streams. Caller errors
  // (400, 403, 422, context window, content policy, ...) say nothing.
  static bool failure_is_deployment_fault(const FailureEvent& event);
  // Cooldown length per LiteLLM's precedence: request/deployment cooldown_time >
  // Retry-After > router default. 0 means "no cooldown".
  double cooldown_seconds_for(const FailureEvent& event) const;
  // Length of the re-opening after the `trips`-th consecutive failed probe.
  static double reopen_seconds(double base, int trips);

  const TimeSource& time() const { return time_; }
  // Decides by `settings` from now on (a router's settings update). The
  // caller keeps it alive as long as the tracker.
  void set_settings(const RouterSettings& settings) { settings_.store(&settings, std::memory_order_release); }

 private:
  bool legacy_rule_active() const;
  std::optional<int> allowed_fails_for(ErrorKind kind) const;
  // Both run with state.mu_ held.
  bool rule_says_cool_down(DeploymentHealthState& state, const FailureEvent& event, TimePoint now) const;
  static void set_reason(DeploymentHealthState& state, const FailureEvent& event, double seconds);
  // The circuit just closed (a recovery seen here or announced by the
  // fleet): failures from before it must not re-trip it on the next single
  // failure, so trips and both failure windows start afresh at `now`, with
  // `successes` in the new window. state.mu_ held.
  static void start_afresh(DeploymentHealthState& state, TimePoint now, int successes);

  const RouterSettings& settings() const { return *settings_.load(std::memory_order_acquire); }

  std::atomic<const RouterSettings*> settings_;
  const TimeSource& time_;
};

}  // namespace llmux::health
