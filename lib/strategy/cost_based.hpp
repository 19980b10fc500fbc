// -----------------------------------------------------------------------------
// File: strategy/cost_based.hpp
// -----------------------------------------------------------------------------
// LiteLLM's cost-based-routing (reference §4.6): the cheapest candidate, by
// price = input_cost_per_token + output_cost_per_token (DeploymentConfig:
// litellm_params, then model_info, then the model map — filled by the router's
// pricing::PriceBook when the deployment joins the pool). Ties are broken
// uniformly at random.
//
// Differences from LiteLLM, on purpose:
//  - A configured price of 0 is a real price (LiteLLM ignores a falsy price
//    and falls back to its model map or 5.0, §14.25), so a free self-hosted
//    deployment wins.
//  - A side that neither the config nor the model map prices costs
//    kUnknownPrice (5.0, LiteLLM's fallback for unknown models). The map is
//    read with get_model_info's lookup; LiteLLM's strategy reads
//    model_cost[litellm_params.model] verbatim and misses prefixed names.
//  - Ties are random (LiteLLM: stable sort over its cache's dict order).
//  - rpm/tpm headroom is checked by the router before pick()
//    (enforces_rate_limits() is true), on the deployment's own counters.
//  - It works for sync and async calls alike (LiteLLM's sync path has no
//    cost-based branch and always fails, §14.1).
//
// Thread safety: stateless (reads immutable configs only).
#pragma once

#include <memory>

#include "llmux/strategy.hpp"

namespace llmux::strategy {

class CostBased final : public Strategy {
 public:
  static constexpr double kUnknownPrice = 5.0;

  // Checks that routing_strategy_args is an object (its keys are ignored).
  static Result<std::unique_ptr<Strategy>> create(std::string_view args_json);
  // The price pick() compares, per token pair.
  static double price(const DeploymentConfig& c) {
    return c.input_cost_per_token.value_or(kUnknownPrice) + c.output_cost_per_token.value_or(kUnknownPrice);
  }

  std::string_view name() const override { return "cost-based-routing"; }
  size_t pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) override;
  bool enforces_rate_limits() const override { return true; }
};

}  // namespace llmux::strategy
