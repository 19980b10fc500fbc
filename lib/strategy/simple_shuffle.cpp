#include "strategy/simple_shuffle.hpp"

#include <optional>

namespace llmux::strategy {
namespace {

enum class WeightKey { kNone, kWeight, kRpm, kTpm };

const std::optional<double>& field(const DeploymentConfig& c, WeightKey k) {
  switch (k) {
    case WeightKey::kWeight: return c.weight;
    case WeightKey::kRpm: return c.rpm;
    default: return c.tpm;
  }
}

}  // namespace

size_t SimpleShuffle::pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) {
  const size_t n = candidates.size();
  if (n <= 1) return 0;
  if (!ctx.may_be_weighted) return static_cast<size_t>(rng.below(n));  // the router knows: no weights
  // One pass finds the most preferred key any candidate sets.
  WeightKey key = WeightKey::kNone;
  for (const Deployment* d : candidates) {
    const DeploymentConfig& c = d->config();
    if (c.weight) {
      key = WeightKey::kWeight;
      break;
    }
    if (c.rpm && key != WeightKey::kRpm) {
      key = WeightKey::kRpm;
    } else if (c.tpm && key == WeightKey::kNone) {
      key = WeightKey::kTpm;
    }
  }
  if (key != WeightKey::kNone) {
    double total = 0;
    for (const Deployment* d : candidates) {
      const auto& w = field(d->config(), key);
      if (w && *w > 0) total += *w;
    }
    if (total > 0) {
      double r = rng.uniform() * total;
      for (size_t i = 0; i < n; ++i) {
        const auto& w = field(candidates[i]->config(), key);
        if (!w || *w <= 0) continue;
        if (r < *w) return i;
        r -= *w;
      }
      // Floating-point leftovers: the last positive weight.
      for (size_t i = n; i-- > 0;) {
        const auto& w = field(candidates[i]->config(), key);
        if (w && *w > 0) return i;
      }
    }
  }
  return static_cast<size_t>(rng.below(n));
}

}  // namespace llmux::strategy
