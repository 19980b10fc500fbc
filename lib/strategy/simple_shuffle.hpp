// -----------------------------------------------------------------------------
// File: strategy/simple_shuffle.hpp
// -----------------------------------------------------------------------------
// LiteLLM's default strategy: a weighted random pick. The weight key is the
// first of `weight`, `rpm`, `tpm` that ANY candidate sets (LiteLLM looks only
// at the first candidate — reference §14.2); candidates without that key
// weigh 0; when every weight is 0 the pick is uniform (LiteLLM raises
// ZeroDivisionError). Stateless, so thread-safe.
#pragma once

#include <span>
#include <vector>

#include "llmux/strategy.hpp"

namespace llmux::strategy {

class SimpleShuffle final : public Strategy {
 public:
  std::string_view name() const override { return "simple-shuffle"; }
  // With CandidateColumns::weight_prefix (the candidates are a whole model
  // group) the weighted pick is a binary search of the group's prefix sums;
  // else one pass sums the weights and another walks them.
  size_t pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) override;

  // The running sums of the candidates' weights as pick() weighs them (the
  // key some candidate sets; a candidate without it, or with a weight <= 0,
  // adds 0): out[i] = the weights of candidates 0..i, added in that order
  // (the total pick() draws against). All 0 when no candidate sets a key. A
  // deployment pool keeps them per model group (router::ModelGroup).
  static void weight_prefix(std::span<const Deployment* const> candidates, std::vector<double>& out);
};

}  // namespace llmux::strategy
