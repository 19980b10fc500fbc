#include "strategy/least_busy.hpp"

namespace llmux::strategy {

size_t LeastBusy::pick(const PickContext&, std::span<const Deployment* const> candidates, Random& rng) {
  size_t best = 0;
  int64_t best_load = INT64_MAX;
  uint64_t ties = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const int64_t load = candidates[i]->in_flight();
    if (load < best_load) {
      best_load = load;
      best = i;
      ties = 1;
    } else if (load == best_load && rng.below(++ties) == 0) {
      best = i;  // reservoir sampling over the tied minimum
    }
  }
  return best;
}

}  // namespace llmux::strategy
