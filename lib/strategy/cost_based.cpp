#include "strategy/cost_based.hpp"

#include "common/deployment_columns.hpp"
#include "strategy/pick_util.hpp"
#include "strategy/strategy_args.hpp"

namespace llmux::strategy {

Result<std::unique_ptr<Strategy>> CostBased::create(std::string_view args_json) {
  if (Status s = parse_number_args(args_json, {}); !s.ok()) return s.error();
  return std::unique_ptr<Strategy>(new CostBased());
}

size_t CostBased::pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) {
  const size_t n = candidates.size();
  if (n == 0) return kNoDeployment;
  if (n == 1) return 0;
  if (ctx.columns != nullptr) {
    // price() of each candidate, stored in the group's columns when the
    // deployment joined the pool (its config is immutable).
    return columns::visit(*ctx.columns, [&](auto cols) {
      return pick_uniform_among_min(n, [cols](size_t i) { return cols.price(i); }, rng);
    });
  }
  return pick_uniform_among_min(n, [&](size_t i) { return price(candidates[i]->config()); }, rng);
}

}  // namespace llmux::strategy
