// -----------------------------------------------------------------------------
// File: strategy/simple_shuffle.hpp
// -----------------------------------------------------------------------------
// LiteLLM's default strategy: a weighted random pick. The weight key is the
// first of `weight`, `rpm`, `tpm` that ANY candidate sets (LiteLLM looks only
// at the first candidate — reference §14.2); candidates without that key
// weigh 0; when every weight is 0 the pick is uniform (LiteLLM raises
// ZeroDivisionError). Stateless, so thread-safe.
#pragma once

#include "llmux/strategy.hpp"

namespace llmux::strategy {

class SimpleShuffle final : public Strategy {
 public:
  std::string_view name() const override { return "simple-shuffle"; }
  size_t pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) override;
};

}  // namespace llmux::strategy
