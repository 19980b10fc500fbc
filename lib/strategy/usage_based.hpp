// -----------------------------------------------------------------------------
// File: strategy/usage_based.hpp
// -----------------------------------------------------------------------------
// LiteLLM's usage-based-routing-v2 (reference §4.5): the candidate that used
// the fewest tokens in the current minute (Deployment::minute_tokens, counted
// by the router: prompt + completion tokens of successful attempts); ties
// are broken uniformly at random, as v2 does.
//
// Registered as "usage-based-routing-v2" and as "usage-based-routing" (v1,
// §4.4) with the same implementation. v1's deterministic tie-break (the first
// minimum in dict order, no shuffle) is deliberately not reproduced: random
// ties spread a cold start instead of sending every request of the first
// minute to one deployment.
//
// Differences from LiteLLM, on purpose:
//  - rpm/tpm headroom is not checked here: the router drops candidates
//    without headroom before pick() (enforces_rate_limits() is true), with
//    one rule for v1 and v2 (LiteLLM v2's selection skips a deployment at
//    rpm+1 >= limit while its pre-call check admits up to the limit, §14.21).
//  - The counters are the deployment's lock-free per-minute counters on the
//    router's clock (LiteLLM: cache keys per local/UTC wall-clock minute,
//    read-modify-written, §14.22, §14.26).
//  - routing_strategy_args (v2's `ttl`) is accepted and ignored: the window is
//    the clock's minute.
//
// Thread safety: stateless apart from the deployments' atomics.
#pragma once

#include <memory>
#include <string>

#include "llmux/strategy.hpp"

namespace llmux::strategy {

class UsageBased final : public Strategy {
 public:
  static constexpr std::string_view kNameV2 = "usage-based-routing-v2";
  static constexpr std::string_view kNameV1 = "usage-based-routing";

  explicit UsageBased(std::string_view name = kNameV2) : name_(name) {}
  // Checks that routing_strategy_args is an object (its keys are ignored).
  static Result<std::unique_ptr<Strategy>> create(std::string_view name, std::string_view args_json);

  std::string_view name() const override { return name_; }
  size_t pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) override;
  bool enforces_rate_limits() const override { return true; }

 private:
  std::string_view name_;  // one of the constants above, or a caller's literal
};

}  // namespace llmux::strategy
