// -----------------------------------------------------------------------------
// File: strategy/least_busy.hpp
// -----------------------------------------------------------------------------
// LiteLLM's least-busy: the candidate with the fewest attempts in flight.
// Counters are the deployments' own atomics (LiteLLM's read-modify-write dict
// loses updates — reference §14.26); ties are broken at random instead of by
// dict order. With shared routing state the count is this replica's plus the
// other replicas' (Deployment::fleet_view(), kept fresh by the router).
// Stateless itself, so thread-safe.
#pragma once

#include "llmux/strategy.hpp"

namespace llmux::strategy {

class LeastBusy final : public Strategy {
 public:
  std::string_view name() const override { return "least-busy"; }
  size_t pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) override;
};

}  // namespace llmux::strategy
