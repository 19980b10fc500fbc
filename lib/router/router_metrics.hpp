// -----------------------------------------------------------------------------
// File: router/router_metrics.hpp
// -----------------------------------------------------------------------------
// The counters behind Router::metrics_prometheus(): fed by the router's own
// routing events, rendered in the
// Prometheus text exposition format 0.0.4 together with gauges taken from
// Router::health() at render time.
//
// Thread safety: record*() run on the router's I/O thread, render() on any
// thread. One std::mutex guards the counters (std::mutex rather than
// absl::Mutex so that ThreadSanitizer sees it). Recording takes the lock once
// and only bumps numbers; every string is formatted at render time.
//
// Labels are model groups, deployment ids, api_base and error class names:
// nothing recorded or rendered can hold an API key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "llmux/router.hpp"

namespace llmux::router {

// The values of a series' labels, in the order of the family's label names.
template <size_t N>
using LabelValues = std::array<std::string, N>;
template <size_t N>
using LabelViews = std::array<std::string_view, N>;

// Hash and equality over label tuples that also accept views, so that the
// event path looks a series up without building strings.
struct LabelValuesHash {
  using is_transparent = void;
  template <size_t N>
  size_t operator()(const LabelViews<N>& labels) const {
    return absl::Hash<LabelViews<N>>{}(labels);
  }
  template <size_t N>
  size_t operator()(const LabelValues<N>& labels) const {
    LabelViews<N> views;
    for (size_t i = 0; i < N; ++i) views[i] = labels[i];
    return (*this)(views);
  }
};

struct LabelValuesEq {
  using is_transparent = void;
  template <size_t N, class A, class B>
  static bool equal(const std::array<A, N>& a, const std::array<B, N>& b) {
    for (size_t i = 0; i < N; ++i) {
      if (std::string_view(a[i]) != std::string_view(b[i])) return false;
    }
    return true;
  }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return equal(a, b);
  }
};

// One metric family's series: label values → value. Node-based, so a value
// stays where it is while other series are added (RouterMetrics keeps
// pointers to the ones the usual call bumps).
template <size_t N, class V>
using Series = absl::node_hash_map<LabelValues<N>, V, LabelValuesHash, LabelValuesEq>;

// Upper bounds (seconds) of llmux_call_duration_seconds' buckets: LiteLLM
// proxy's LATENCY_BUCKETS up to one minute; +Inf is implied.
inline constexpr std::array<double, 31> kCallDurationBuckets = {
    0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0,
    5.5,   6.0,     6.5,    7.0,   7.5,  8.0, 8.5, 9.0, 9.5, 10.0, 15.0, 20.0, 25.0, 30.0, 60.0,
};

struct DurationHistogram {
  // Observations per bucket (not cumulative); the last one is +Inf.
  std::array<uint64_t, kCallDurationBuckets.size() + 1> bucket_counts{};
  double sum_seconds = 0;
  uint64_t count = 0;
};

class RouterMetrics {
 public:
  // Counts a routing event: kSuccess/kFailure (calls, attempts, duration;
  // a success's tokens and spend), kRetry, kFallback and kCooldown.
  // kRecovered is not counted.
  void record(const RouterEvent& event);
  // Every family in a fixed order (HELP and TYPE even before any sample),
  // series sorted by label values, then the per-deployment gauges of
  // `health` sorted by (model_group, deployment_id).
  // With `shared` (Redis configured), the shared-state gauge and counters too.
  struct SharedStateStatus {
    bool up = false;
    uint64_t commands_sent = 0;
    uint64_t commands_failed = 0;
    uint64_t commands_dropped = 0;
  };
  std::string render(const std::vector<DeploymentHealth>& health,
                     const std::optional<SharedStateStatus>& shared = std::nullopt) const;

 private:
  struct Counters {
    Series<2, uint64_t> calls;        // model_group, outcome
    Series<3, uint64_t> attempts;     // model_group, deployment_id, outcome
    Series<1, uint64_t> retries;      // model_group
    Series<2, uint64_t> fallbacks;    // model_group, fallback_group
    Series<2, uint64_t> cooldowns;    // model_group, deployment_id
    Series<2, uint64_t> tokens;       // model_group, type
    Series<1, double> spend_usd;      // model_group
    Series<1, DurationHistogram> call_duration;  // model_group
    Series<1, uint64_t> shared_state;  // "up" | "down" transitions
  };

  // The series the usual call bumps: a success after one attempt with usage
  // reported. Per deployment (its group beside it), looked up once and kept,
  // so such a call costs one lookup instead of seven. As many entries as the
  // attempts family has deployment labels.
  struct UsualSuccess {
    std::string group;
    uint64_t* calls = nullptr;
    uint64_t* attempts = nullptr;
    DurationHistogram* duration = nullptr;
    uint64_t* prompt_tokens = nullptr;
    uint64_t* completion_tokens = nullptr;
    double* spend_usd = nullptr;
  };

  void record_call_locked(const RouterEvent& event);
  // True when `event` is a usual success and it was counted through usual_.
  bool record_usual_success_locked(const RouterEvent& event);

  mutable std::mutex mu_;
  Counters counters_;  // guarded by mu_
  // By deployment id; guarded by mu_; points into counters_.
  absl::flat_hash_map<std::string, UsualSuccess> usual_;
};

}  // namespace llmux::router
