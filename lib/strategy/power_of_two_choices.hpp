// -----------------------------------------------------------------------------
// File: strategy/power_of_two_choices.hpp
// -----------------------------------------------------------------------------
// "power-of-two-choices" (not in LiteLLM): Finagle's / Linkerd's P2C over a
// peak-EWMA latency (reference c-abi-lb-transport.md §B.12). pick() draws two
// distinct candidates uniformly and takes the one with the lower
//   cost = peak_ewma_latency × (in_flight + 1)
// ties broken by fewer attempts in flight, then at random. O(1) per pick
// whatever the group size, and it reacts to load at once (in_flight is the
// deployment's live counter) and to latency within one attempt.
//
// Peak EWMA per deployment, in seconds of attempt latency (start to last
// byte). Between observations the value decays toward 0 as
// value × exp(-dt / decay_time), so an idle deployment is probed again. An
// observation above the current (decayed) value replaces it at once (a slow
// deployment is avoided immediately); otherwise the new value is
// current × w + observation × (1 − w), w = exp(-dt / decay_time), dt = time
// since the previous observation: quick successive observations move it
// little, one after a long pause replaces it.
//
// Rules worth knowing:
//  - Untried (never observed) deployments have latency 0, so they get
//    traffic; but an untried deployment that already has attempts in flight
//    costs kPenaltySeconds + in_flight (Finagle's and Envoy's penalty), so a
//    new deployment receives one probe at a time until it has answered once —
//    otherwise a hanging new deployment would attract every request.
//  - Successes and failures with ErrorKind::kTimeout or kConnectionError are
//    observations of their elapsed time; a failure can only raise the value
//    (a slow failure is slow, a fast failure does not make it look fast).
//    Other failures (4xx, 5xx, ...) are left to cooldowns.
//  - Reading applies the decay without writing it (Finagle writes it, so the
//    pick rate would change the weight of the next observation); pick()
//    therefore never writes shared memory.
//
// Arguments (routing_strategy_args): decay_time (seconds, default 10).
//
// Thread safety: pick() reads one atomic per drawn candidate (the estimate
// is published as a single word: ln(value) + stamp/decay_time); observations
// take the deployment's lock.
#pragma once

#include <cstdint>
#include <memory>

#include "llmux/strategy.hpp"

namespace llmux::strategy {

class PowerOfTwoChoices final : public Strategy {
 public:
  static constexpr double kPenaltySeconds = 1e6;
  static constexpr double kDefaultDecayTimeSeconds = 10;

  explicit PowerOfTwoChoices(double decay_time_seconds = kDefaultDecayTimeSeconds);
  // Parses routing_strategy_args (decay_time > 0); kInvalidConfig otherwise.
  static Result<std::unique_ptr<Strategy>> create(std::string_view args_json);

  std::string_view name() const override { return "power-of-two-choices"; }
  size_t pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) override;
  void on_attempt_end(const Deployment& d, const AttemptOutcome& outcome) override;

  double decay_time_seconds() const { return decay_time_seconds_; }

  // Introspection (tests, debugging): the decayed estimate at `now` in
  // seconds (0 when never observed), the cost pick() compares, and the
  // number of observations recorded.
  double latency_estimate(const Deployment& d, TimePoint now) const;
  double cost(const Deployment& d, TimePoint now) const;
  uint64_t observations(const Deployment& d) const;

 private:
  double decay_time_seconds_;
};

}  // namespace llmux::strategy
