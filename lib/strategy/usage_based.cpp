#include "strategy/usage_based.hpp"

#include "common/deployment_columns.hpp"
#include "strategy/pick_util.hpp"
#include "strategy/strategy_args.hpp"

namespace llmux::strategy {

Result<std::unique_ptr<Strategy>> UsageBased::create(std::string_view name, std::string_view args_json) {
  if (Status s = parse_number_args(args_json, {}); !s.ok()) return s.error();
  return std::unique_ptr<Strategy>(new UsageBased(name));
}

size_t UsageBased::pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) {
  const size_t n = candidates.size();
  if (n == 0) return kNoDeployment;
  if (n == 1) return 0;
  const uint64_t minute = MinuteCounter::minute_tag(ctx.now);
  if (ctx.columns != nullptr) {
    // The same counters (Deployment::minute_tokens), in the group's columns.
    return columns::visit(*ctx.columns, [&](auto cols) {
      return pick_uniform_among_min(n, [cols, minute](size_t i) { return cols.tokens(i).value_in(minute); }, rng);
    });
  }
  return pick_uniform_among_min(n, [&](size_t i) { return candidates[i]->minute_tokens().value_in(minute); }, rng);
}

}  // namespace llmux::strategy
