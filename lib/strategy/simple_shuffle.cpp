#include "strategy/simple_shuffle.hpp"

#include <algorithm>
#include <optional>

#include "common/deployment_columns.hpp"

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

// What a candidate weighs under `key`: its value when set and positive, else 0.
double weight_of(const Deployment* d, WeightKey key) {
  const std::optional<double>& w = field(d->config(), key);
  return w && *w > 0 ? *w : 0.0;
}

// The most preferred key any candidate sets.
WeightKey weight_key(std::span<const Deployment* const> candidates) {
  WeightKey key = WeightKey::kNone;
  for (const Deployment* d : candidates) {
    const DeploymentConfig& c = d->config();
    if (c.weight) return WeightKey::kWeight;
    if (c.rpm && key != WeightKey::kRpm) {
      key = WeightKey::kRpm;
    } else if (c.tpm && key == WeightKey::kNone) {
      key = WeightKey::kTpm;
    }
  }
  return key;
}

}  // namespace

void SimpleShuffle::weight_prefix(std::span<const Deployment* const> candidates, std::vector<double>& out) {
  out.assign(candidates.size(), 0.0);
  const WeightKey key = weight_key(candidates);
  if (key == WeightKey::kNone) return;
  double total = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    total += weight_of(candidates[i], key);
    out[i] = total;
  }
}

size_t SimpleShuffle::pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) {
  const size_t n = candidates.size();
  if (n <= 1) return 0;
  if (!ctx.may_be_weighted) return static_cast<size_t>(rng.below(n));  // the router knows: no weights
  if (ctx.columns != nullptr && ctx.columns->weight_prefix != nullptr) {
    // A whole group: one draw against the total the pass below would sum
    // (added in the same order), then the first candidate whose running sum
    // exceeds it, found by binary search. That is the walk's choice (up to
    // rounding at a boundary); a weight <= 0 adds nothing, so its candidate
    // is never the first.
    const double* prefix = ctx.columns->weight_prefix;
    const double total = prefix[n - 1];
    if (total > 0) {
      const double r = rng.uniform() * total;
      const double* at = std::upper_bound(prefix, prefix + n, r);
      // Floating-point leftovers: the last positive weight (the first sum
      // that reaches the total).
      if (at == prefix + n) at = std::lower_bound(prefix, prefix + n, total);
      return static_cast<size_t>(at - prefix);
    }
    return static_cast<size_t>(rng.below(n));
  }
  const WeightKey key = weight_key(candidates);
  if (key != WeightKey::kNone) {
    double total = 0;
    for (const Deployment* d : candidates) total += weight_of(d, key);
    if (total > 0) {
      double r = rng.uniform() * total;
      for (size_t i = 0; i < n; ++i) {
        const double w = weight_of(candidates[i], key);
        if (w <= 0) continue;
        if (r < w) return i;
        r -= w;
      }
      // Floating-point leftovers: the last positive weight.
      for (size_t i = n; i-- > 0;) {
        if (weight_of(candidates[i], key) > 0) return i;
      }
    }
  }
  return static_cast<size_t>(rng.below(n));
}

}  // namespace llmux::strategy
