// -----------------------------------------------------------------------------
// File: support/virtual_clock.hpp
// -----------------------------------------------------------------------------
// A clock that moves only when told to: the one test clock (Envoy's simulated
// time). SimulatedLoop moves it as it runs; unit tests of time-dependent rules
// (cooldowns, minute windows, budgets, latency windows) and integration tests
// that must not see a minute roll over hold one directly. Thread-safe. Starts
// on a minute boundary, far from the epoch (which TransferResult uses as
// "never").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "llmux/clock.hpp"

namespace llmux::testing {

class VirtualClock final : public TimeSource {
 public:
  TimePoint now() const override { return TimePoint(Duration(ns_.load(std::memory_order_acquire))); }
  void advance(Duration d) { ns_.fetch_add(d.count(), std::memory_order_acq_rel); }
  void advance(double seconds) { advance(seconds_to_duration(seconds)); }
  // Moves to `t` (never backwards).
  void advance_to(TimePoint t) {
    int64_t cur = ns_.load(std::memory_order_acquire);
    const int64_t want = t.time_since_epoch().count();
    while (want > cur && !ns_.compare_exchange_weak(cur, want, std::memory_order_acq_rel)) {
    }
  }

  static constexpr TimePoint kStart = TimePoint(std::chrono::hours(1000));

 private:
  std::atomic<int64_t> ns_{kStart.time_since_epoch().count()};
};

}  // namespace llmux::testing
