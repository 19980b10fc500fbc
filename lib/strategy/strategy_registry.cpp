// The process-wide strategy registry: names → factories. Holds no routing
// state (each router creates its own strategy instance).
#include <algorithm>
#include <map>

#include "absl/synchronization/mutex.h"
#include "llmux/strategy.hpp"
#include "strategy/least_busy.hpp"
#include "strategy/simple_shuffle.hpp"

namespace llmux {
namespace {

struct Registry {
  absl::Mutex mu;
  std::map<std::string, StrategyFactory, std::less<>> factories ABSL_GUARDED_BY(mu);
};

template <class T>
StrategyFactory stateless_factory() {
  return [](std::string_view) -> Result<std::unique_ptr<Strategy>> { return std::unique_ptr<Strategy>(new T()); };
}

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();
    absl::MutexLock lock(&reg->mu);
    reg->factories["simple-shuffle"] = stateless_factory<strategy::SimpleShuffle>();
    reg->factories["least-busy"] = stateless_factory<strategy::LeastBusy>();
    return reg;
  }();
  return *r;
}

}  // namespace

void register_strategy(std::string name, StrategyFactory factory) {
  Registry& r = registry();
  absl::MutexLock lock(&r.mu);
  r.factories[std::move(name)] = std::move(factory);
}

Result<std::unique_ptr<Strategy>> make_strategy(std::string_view name, std::string_view args_json) {
  StrategyFactory factory;
  {
    Registry& r = registry();
    absl::MutexLock lock(&r.mu);
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
  absl::MutexLock lock(&r.mu);
  std::vector<std::string> names;
  for (const auto& [n, f] : r.factories) names.push_back(n);
  return names;
}

}  // namespace llmux
