// The process-wide strategy registry: names → factories. Holds no routing
// state (each router creates its own strategy instance). std::mutex rather
// than absl::Mutex so that TSan builds see the locking (Debian's abseil is
// not instrumented).
#include <algorithm>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "llmux/strategy.hpp"
#include "strategy/cost_based.hpp"
#include "strategy/latency_based.hpp"
#include "strategy/least_busy.hpp"
#include "strategy/power_of_two_choices.hpp"
#include "strategy/simple_shuffle.hpp"
#include "strategy/strategy_registry.hpp"
#include "strategy/usage_based.hpp"

namespace llmux {
namespace {

struct Registry {
  std::mutex mu;
  // Guarded by mu. In registration order: the built-ins in LiteLLM's order,
  // then the program's own; re-registering a name keeps its place.
  std::vector<std::pair<std::string, StrategyFactory>> factories;

  StrategyFactory* find(std::string_view name) {
    for (auto& [n, f] : factories) {
      if (n == name) return &f;
    }
    return nullptr;
  }
  void add(std::string name, StrategyFactory factory) {
    if (StrategyFactory* existing = find(name)) {
      *existing = std::move(factory);
    } else {
      factories.emplace_back(std::move(name), std::move(factory));
    }
  }
};

template <class T>
StrategyFactory stateless_factory() {
  return [](std::string_view) -> Result<std::unique_ptr<Strategy>> { return std::unique_ptr<Strategy>(new T()); };
}

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();
    std::lock_guard lock(reg->mu);
    reg->add("simple-shuffle", stateless_factory<strategy::SimpleShuffle>());
    reg->add("least-busy", stateless_factory<strategy::LeastBusy>());
    reg->add(std::string(strategy::UsageBased::kNameV1), [](std::string_view args) {
      return strategy::UsageBased::create(strategy::UsageBased::kNameV1, args);
    });
    reg->add(std::string(strategy::UsageBased::kNameV2), [](std::string_view args) {
      return strategy::UsageBased::create(strategy::UsageBased::kNameV2, args);
    });
    reg->add("latency-based-routing", &strategy::LatencyBased::create);
    reg->add("cost-based-routing", &strategy::CostBased::create);
    // LiteLLM accepts this name but no strategy implements it (every call
    // fails, reference §4.0); its intent — budgets — is provider_budget_config,
    // which the router's budget filter enforces under any strategy.
    reg->add("provider-budget-routing", stateless_factory<strategy::SimpleShuffle>());
    reg->add("power-of-two-choices", &strategy::PowerOfTwoChoices::create);
    return reg;
  }();
  return *r;
}

std::vector<std::string> names_in_registration_order() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  std::vector<std::string> names;
  names.reserve(r.factories.size());
  for (const auto& [n, f] : r.factories) names.push_back(n);
  return names;
}

}  // namespace

namespace strategy {

bool is_registered(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  return r.find(name) != nullptr;
}

Error unknown_strategy_error(std::string_view name) {
  return Error(ErrorKind::kInvalidConfig,
               fmt::format("router_settings.routing_strategy: '{}' is not one of {}", name,
                           fmt::join(names_in_registration_order(), ", ")));
}

}  // namespace strategy

void register_strategy(std::string name, StrategyFactory factory) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.add(std::move(name), std::move(factory));
}

Result<std::unique_ptr<Strategy>> make_strategy(std::string_view name, std::string_view args_json) {
  StrategyFactory factory;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    if (StrategyFactory* f = r.find(name)) factory = *f;
  }
  if (!factory) return strategy::unknown_strategy_error(name);
  return factory(args_json);
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> names = names_in_registration_order();
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace llmux
