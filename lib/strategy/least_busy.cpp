#include "strategy/least_busy.hpp"

#include "common/deployment_columns.hpp"
#include "strategy/pick_util.hpp"

namespace llmux::strategy {

size_t LeastBusy::pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) {
  const size_t n = candidates.size();
  if (n == 0) return kNoDeployment;
  if (n == 1) return 0;
  // One random draw for the tied minimum (reservoir sampling drew one per tie:
  // 1,000 draws for an idle group of 1,000).
  // In flight here plus what the rest of the fleet reports (0 without shared
  // state).
  if (ctx.columns != nullptr) {
    // The same counters, read from the group's columns (contiguous memory);
    // the fleet's column only once some replica has reported (else all 0).
    const bool fleet = ctx.columns->table->fleet_reported();
    return columns::visit(*ctx.columns, [&](auto cols) {
      if (!fleet) return pick_uniform_among_min(n, [cols](size_t i) { return cols.in_flight(i); }, rng);
      return pick_uniform_among_min(
          n,
          [cols](size_t i) { return cols.in_flight(i) + cols.fleet(i).others_in_flight(); },
          rng);
    });
  }
  return pick_uniform_among_min(
      n,
      [&](size_t i) {
        const Deployment& d = *candidates[i];
        return d.in_flight() + d.fleet_view().others_in_flight();
      },
      rng);
}

}  // namespace llmux::strategy
