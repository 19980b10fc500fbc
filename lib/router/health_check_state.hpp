// -----------------------------------------------------------------------------
// File: router/health_check_state.hpp
// -----------------------------------------------------------------------------
// What active health checks know about one deployment: the latest result
// (what reports show) and the routing verdict (what the candidate filter
// reads). Results come from this router's own checks and, through the
// shared-state layer, from other replicas; the newer one wins, so a result
// seen twice (our own, echoed back) changes nothing.
//
// The routing verdict is the latest result that counts for routing — a
// skipped check never does, and with health_check_ignore_transient_errors a
// 429/408 failure does not either (LiteLLM leaves the previous verdict in
// place) — and it holds until the result is older than the staleness
// threshold.
//
// Thread safety: failed_at() and next_check_at() are lock-free (one atomic
// load each: the filter reads them for every candidate); record() and the
// accessors of the latest result take an internal mutex. Shared (shared_ptr)
// between deployment pool snapshots, like the cooldown state.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

#include "llmux/clock.hpp"
#include "llmux/health_check.hpp"

namespace llmux::router {

// Wall-clock time (Unix seconds) from the router's clock: one anchor read
// when the router starts, then the loop's own time. Results shared between
// replicas carry wall-clock times; staleness and scheduling use the loop's.
class WallClock {
 public:
  WallClock() = default;
  WallClock(TimePoint anchor, double unix_seconds_at_anchor) : anchor_(anchor), unix_at_anchor_(unix_seconds_at_anchor) {}
  double to_unix(TimePoint t) const { return unix_at_anchor_ + duration_to_seconds(t - anchor_); }
  TimePoint from_unix(double unix_seconds) const { return anchor_ + seconds_to_duration(unix_seconds - unix_at_anchor_); }

 private:
  TimePoint anchor_{};
  double unix_at_anchor_ = 0;
};

// `seconds` as a Duration within [min_seconds, 1e9 s] (about 31 years): the
// config accepts any positive number, a Duration does not hold any.
inline Duration bounded_seconds(double seconds, double min_seconds) {
  return seconds_to_duration(std::clamp(seconds, min_seconds, 1e9));
}

// Whether a failed check is one health_check_ignore_transient_errors ignores:
// LiteLLM's 429 (rate limited) and 408 (timed out).
bool is_transient_failure(const HealthCheckResult& result);

class HealthCheckState {
 public:
  // Routed around at `now`: the verdict is a failure younger than the
  // staleness threshold. Lock-free.
  bool failed_at(TimePoint now) const {
    const int64_t until = failed_until_.load(std::memory_order_acquire);
    return until != 0 && now.time_since_epoch().count() < until;
  }
  // Until when a failed verdict holds (epoch when the verdict is not a failure).
  TimePoint failed_until() const { return TimePoint(Duration(failed_until_.load(std::memory_order_acquire))); }

  // When the background schedule checks the deployment next (epoch: not
  // scheduled). Written by the checker on the loop thread.
  TimePoint next_check_at() const { return TimePoint(Duration(next_check_.load(std::memory_order_acquire))); }
  void set_next_check_at(TimePoint t) { next_check_.store(t.time_since_epoch().count(), std::memory_order_release); }

  // Records `result`, which ended at `ended` on the router's clock. The
  // latest result is replaced when `result` is newer (checked_at); the
  // routing verdict when it is newer than the verdict's result and
  // `counts_for_routing`. A failure then holds until `ended + staleness`.
  // Returns whether anything changed.
  bool record(const HealthCheckResult& result, TimePoint ended, Duration staleness, bool counts_for_routing);

  // The latest result and when it ended on the router's clock.
  struct Latest {
    HealthCheckResult result;
    TimePoint ended{};
  };
  std::optional<Latest> latest() const;

 private:
  std::atomic<int64_t> failed_until_{0};  // ns on the router's clock; 0 = not failed
  std::atomic<int64_t> next_check_{0};

  // std::mutex, not absl::Mutex: ThreadSanitizer sees it (DEVELOPERS.md).
  mutable std::mutex mu_;
  std::optional<Latest> latest_;                    // guarded by mu_
  std::optional<double> verdict_checked_at_;        // guarded by mu_: checked_at behind the verdict
};

}  // namespace llmux::router
