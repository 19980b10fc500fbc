// The process-wide strategy registry: names → factories. Holds no routing
// state (each router creates its own strategy instance). std::mutex rather
// than absl::Mutex so that TSan builds see the locking (Debian's abseil is
// not instrumented).
#include <algorithm>
#include <map>
#include <mutex>

#include "llmux/strategy.hpp"
#include "strategy/cost_based.hpp"
#include "strategy/latency_based.hpp"
#include "strategy/least_busy.hpp"
#include "strategy/power_of_two_choices.hpp"
#include "strategy/simple_shuffle.hpp"
#include "strategy/usage_based.hpp"

namespace llmux {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, StrategyFactory, std::less<>> factories;  // guarded by mu
};

template <class T>
StrategyFactory stateless_factory() {
  return [](std::string_view) -> Result<std::unique_ptr<Strategy>> { return std::unique_ptr<Strategy>(new T()); };
}

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();
    std::lock_guard lock(reg->mu);
    reg->factories["simple-shuffle"] = stateless_factory<strategy::SimpleShuffle>();
    reg->factories["least-busy"] = stateless_factory<strategy::LeastBusy>();
    // LiteLLM accepts this name but no strategy implements it (every call
    // fails, reference §4.0); its intent — budgets — is provider_budget_config,
    // which the router's budget filter enforces under any strategy.
    reg->factories["provider-budget-routing"] = stateless_factory<strategy::SimpleShuffle>();
    reg->factories["latency-based-routing"] = &strategy::LatencyBased::create;
    reg->factories[std::string(strategy::UsageBased::kNameV2)] = [](std::string_view args) {
      return strategy::UsageBased::create(strategy::UsageBased::kNameV2, args);
    };
    reg->factories[std::string(strategy::UsageBased::kNameV1)] = [](std::string_view args) {
      return strategy::UsageBased::create(strategy::UsageBased::kNameV1, args);
    };
    reg->factories["cost-based-routing"] = &strategy::CostBased::create;
    reg->factories["power-of-two-choices"] = &strategy::PowerOfTwoChoices::create;
    return reg;
  }();
  return *r;
}

}  // namespace

void register_strategy(std::string name, StrategyFactory factory) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.factories[std::move(name)] = std::move(factory);
}

Result<std::unique_ptr<Strategy>> make_strategy(std::string_view name, std::string_view args_json) {
  StrategyFactory factory;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    auto it = r.factories.find(name);
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    std::string known;
    for (const auto& n : strategy_names()) known += (known.empty() ? "" : ", ") + n;
    return Error(ErrorKind::kInvalidConfig,
                 "router_settings.routing_strategy: '" + std::string(name) +
                     "' is not available in this build (available: " + known + ")");
  }
  return factory(args_json);
}

std::vector<std::string> strategy_names() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [n, f] : r.factories) names.push_back(n);
  return names;
}

}  // namespace llmux
