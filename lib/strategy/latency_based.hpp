// -----------------------------------------------------------------------------
// File: strategy/latency_based.hpp
// -----------------------------------------------------------------------------
// LiteLLM's latency-based-routing (reference §4.3): prefer the deployment with
// the lowest recent latency per output token.
//
// Per deployment two windows of samples: latency (every success: seconds /
// completion_tokens, raw seconds when completion_tokens <= 0) and time to
// first token (streaming successes: ttft / completion_tokens, same rule). A
// failure with ErrorKind::kTimeout adds a 1000 s penalty sample, as LiteLLM
// does; other failures add nothing. pick(): candidates without samples score
// 0 (tried first); otherwise the mean of the window — for streaming requests
// the TTFT window's mean when it has samples. Candidates with
// score <= lowest + lowest_latency_buffer * lowest qualify; one of them is
// chosen uniformly at random.
//
// Arguments (routing_strategy_args): ttl (seconds, default 3600),
// lowest_latency_buffer (default 0), max_latency_list_size (default 10).
//
// Differences from LiteLLM, on purpose:
//  - Each window is a real sliding window: the newest max_latency_list_size
//    samples that are not older than ttl. LiteLLM keeps the oldest size-1
//    samples and overwrites the last slot, and expires the whole map at once
//    (§14.20).
//  - The TTFT mean divides by the number of TTFT samples (LiteLLM divides the
//    TTFT sum by the length of the latency list, §14.20).
//  - A timed-out *streaming* attempt also adds the 1000 s penalty to the TTFT
//    window: otherwise a deployment that hangs before its first token would
//    keep its old, fast TTFT score for streaming requests.
//  - Per-deployment data is locked per deployment, not a read-modify-written
//    dict (§14.26); the per-minute rpm/tpm LiteLLM keeps in the same map are
//    the Deployment's own counters, enforced by the router before pick()
//    (enforces_rate_limits() is true).
//  - Non-chat responses are treated like chat responses (LiteLLM stores a
//    timedelta that its average then ignores).
//
// Fleet: with shared routing state each window's mean is weighed (by sample
// counts) with the summaries the other replicas report for the deployment
// (Deployment::fleet_view()); a deployment only others have measured scores
// their mean. The router publishes own_window() for them.
//
// Thread safety: pick() and the hooks may run concurrently from any threads.
// pick() reads a published mean per window (two atomics) and only takes the
// deployment's lock (try_lock, never waiting) when a sample has expired.
// Over the group's columns, while the table's expiry gate says no mean has
// expired and no other replica reports, it reads the means alone (one atomic
// per candidate); publishing a mean lowers the gate when its expiry moves
// earlier (common/expiry_gate.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "llmux/strategy.hpp"

namespace llmux::strategy {

struct LatencyBasedArgs {
  double ttl_seconds = 3600;
  double lowest_latency_buffer = 0;
  int max_latency_list_size = 10;
};

class LatencyBased final : public Strategy {
 public:
  // The penalty sample a timed-out attempt adds (LiteLLM's 1000.0).
  static constexpr double kTimeoutPenaltySeconds = 1000.0;

  explicit LatencyBased(LatencyBasedArgs args = {});
  // Parses routing_strategy_args (see above); kInvalidConfig on a bad value.
  static Result<std::unique_ptr<Strategy>> create(std::string_view args_json);

  std::string_view name() const override { return "latency-based-routing"; }
  size_t pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) override;
  bool enforces_rate_limits() const override { return true; }
  void on_attempt_end(const Deployment& d, const AttemptOutcome& outcome) override;

  const LatencyBasedArgs& args() const { return args_; }

  // Introspection (tests, debugging). The score pick() would use at `now`;
  // 0 when the deployment has no sample.
  double score(const Deployment& d, bool stream, TimePoint now) const;
  // Samples currently in a window at `now` (ttft: the TTFT window).
  int window_size(const Deployment& d, bool ttft, TimePoint now) const;
  // Outcomes that added samples to the deployment's windows, ever.
  uint64_t outcomes_recorded(const Deployment& d) const;
  // This replica's own window at `now` (expired samples dropped): its mean
  // and size, without the fleet's (what the router shares).
  FleetView::Latency own_window(const Deployment& d, bool ttft, TimePoint now) const;

 private:
  LatencyBasedArgs args_;
  Duration ttl_;
};

}  // namespace llmux::strategy
