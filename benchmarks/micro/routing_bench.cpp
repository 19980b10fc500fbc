// Routing decision micro benchmarks (DESIGN.md §5: ≤ 100 ns for 8 deployments,
// ≤ 1 µs for 1,000).
//
// "Routing decision" is what Call::attempt() (lib/router/call.cpp) does before
// it builds the HTTP request: read the router's clock, keep the group members
// that are not cooling down in a scratch vector, then Strategy::pick among
// them. decide() below replicates that loop with the real types (a
// DeploymentPool built from configs, its PoolEntry health states, a strategy
// from the registry) so that a change to any of them shows up here.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "health/cooldown_tracker.hpp"
#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "llmux/strategy.hpp"
#include "micro/micro_registry.hpp"
#include "router/deployment_pool.hpp"

namespace llmux::bench {
namespace {

using router::DeploymentPool;
using router::ModelGroup;
using router::PoolEntry;

constexpr std::string_view kGroup = "production-llm";
constexpr double kBudgetSmallNs = 100;   // ≤ 8 deployments
constexpr double kBudgetLargeNs = 1000;  // ≤ 1,000 deployments
constexpr int64_t kPromptTokens = 275;   // json::parse_request's estimate for the sample chat body

enum class Variant { kShuffle, kShuffleWeighted, kLeastBusy };

std::string_view variant_name(Variant v) {
  switch (v) {
    case Variant::kShuffle: return "simple-shuffle";
    case Variant::kShuffleWeighted: return "simple-shuffle-weighted";
    case Variant::kLeastBusy: return "least-busy";
  }
  return "?";
}

std::string_view strategy_name(Variant v) { return v == Variant::kLeastBusy ? "least-busy" : "simple-shuffle"; }

// A model group of `n` deployments as a config would declare them: one
// api_base per GPU server; weighted variants carry `weight` 1..4.
std::vector<DeploymentConfig> make_deployments(size_t n, bool weighted) {
  std::vector<DeploymentConfig> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    DeploymentConfig c;
    c.model_name = std::string(kGroup);
    c.model = "openai/qwen3-14b";
    c.provider = "openai";
    c.provider_model = "qwen3-14b";
    c.id = fmt::format("deployment-{:04}", i);
    c.api_base = fmt::format("http://10.0.{}.{}:8000/v1", i / 256, i % 256);
    c.api_key = "sk-bench";
    if (weighted) c.weight = static_cast<double>(1 + i % 4);
    out.push_back(std::move(c));
  }
  return out;
}

struct RoutingSetup {
  RouterSettings settings;
  std::shared_ptr<const DeploymentPool> pool;
  const ModelGroup* group = nullptr;
  std::unique_ptr<Strategy> strategy;
  std::string error;  // non-empty: setup failed
};

// `cooling_every`: when > 0, every cooling_every-th member is put in a one-hour
// cooldown through the real CooldownTracker (a 429 in a multi-deployment group).
RoutingSetup make_setup(Variant v, size_t n, size_t cooling_every) {
  RoutingSetup s;
  auto pool = DeploymentPool::build(make_deployments(n, v == Variant::kShuffleWeighted), s.settings, nullptr);
  if (!pool.ok()) {
    s.error = pool.error().to_string();
    return s;
  }
  s.pool = std::move(pool).value();
  s.group = s.pool->group(kGroup);
  if (s.group == nullptr || s.group->members.size() != n) {
    s.error = "the pool did not produce the expected model group";
    return s;
  }
  auto strategy = make_strategy(strategy_name(v), "{}");
  if (!strategy.ok()) {
    s.error = strategy.error().to_string();
    return s;
  }
  s.strategy = std::move(strategy).value();
  if (cooling_every > 0) {
    health::CooldownTracker tracker(s.settings, TimeSource::steady());
    health::FailureEvent ev;
    ev.kind = ErrorKind::kRateLimit;
    ev.status = 429;
    ev.message = "rate limited";
    ev.group_size = n;
    ev.deployment_cooldown_seconds = 3600;
    for (size_t i = 0; i < n; i += cooling_every) {
      if (!tracker.record_failure(*s.pool->entries()[i]->health, ev)) {
        s.error = "the cooldown tracker did not cool a deployment down";
        return s;
      }
    }
  }
  return s;
}

// Call::attempt()'s decision, step for step (the scratch vectors are the
// Call's members; `last_failed_` is null on a first attempt).
struct Decision {
  std::vector<const PoolEntry*> scratch_entries;
  std::vector<const Deployment*> scratch_candidates;

  const PoolEntry* decide(const ModelGroup& group, Strategy& strategy, Random& rng, const TimeSource& time) {
    const TimePoint now = time.now();
    scratch_entries.clear();
    for (const PoolEntry* e : group.members) {
      if (!e->health->cooling_down(now)) scratch_entries.push_back(e);
    }
    if (scratch_entries.empty()) return nullptr;
    size_t index = 0;
    if (scratch_entries.size() > 1) {
      scratch_candidates.clear();
      for (const PoolEntry* e : scratch_entries) scratch_candidates.push_back(e->deployment.get());
      PickContext ctx{group.name, kPromptTokens, false, now};
      index = strategy.pick(ctx, std::span<const Deployment* const>(scratch_candidates), rng);
      if (index >= scratch_entries.size()) index = 0;
    }
    return scratch_entries[index];
  }
};

void bm_decision(benchmark::State& state, Variant v, size_t n, size_t cooling_every, bool fresh_scratch) {
  RoutingSetup s = make_setup(v, n, cooling_every);
  if (!s.error.empty()) {
    state.SkipWithError(s.error.c_str());
    return;
  }
  Random rng(0x5eed);
  const TimeSource& time = TimeSource::steady();
  Decision reused;
  // Steady state: the scratch vectors keep their capacity from call to call.
  (void)reused.decide(*s.group, *s.strategy, rng, time);
  for (auto _ : state) {
    const PoolEntry* picked;
    if (fresh_scratch) {
      // What a new Call does today: its scratch vectors start empty.
      Decision fresh;
      picked = fresh.decide(*s.group, *s.strategy, rng, time);
    } else {
      picked = reused.decide(*s.group, *s.strategy, rng, time);
    }
    benchmark::DoNotOptimize(picked);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["deployments"] = static_cast<double>(n);
}

// Model-group resolution (Call::start(), once per call) against the hash
// lookup it is built on.
void bm_resolve(benchmark::State& state, std::string group_name) {
  RouterSettings settings;
  std::vector<DeploymentConfig> configs = make_deployments(8, false);
  for (auto& c : configs) c.model_name = group_name;
  auto pool = DeploymentPool::build(std::move(configs), settings, nullptr);
  if (!pool.ok()) {
    state.SkipWithError(pool.error().to_string().c_str());
    return;
  }
  std::shared_ptr<const DeploymentPool> p = std::move(pool).value();
  for (auto _ : state) {
    std::optional<router::Resolution> r = p->resolve(group_name);
    benchmark::DoNotOptimize(r);
  }
}

void bm_resolve_baseline(benchmark::State& state, std::string group_name) {
  absl::flat_hash_map<std::string, size_t> index;
  index.emplace(group_name, 0);
  index.emplace("some-other-group", 1);
  const std::string_view key = group_name;
  for (auto _ : state) {
    auto it = index.find(absl::string_view(key.data(), key.size()));
    benchmark::DoNotOptimize(it);
  }
}

}  // namespace

void register_routing_benchmarks(std::vector<Comparison>& out) {
  for (Variant v : {Variant::kShuffle, Variant::kShuffleWeighted, Variant::kLeastBusy}) {
    for (size_t n : {size_t{2}, size_t{8}, size_t{100}, size_t{1000}}) {
      const std::string name = fmt::format("routing/{}/{}", variant_name(v), n);
      benchmark::RegisterBenchmark(name.c_str(), [v, n](benchmark::State& st) { bm_decision(st, v, n, 0, false); });
      Comparison c;
      c.label = fmt::format("routing decision, {}, {} deployments", variant_name(v), n);
      c.figure = name;
      c.budget_ns = n <= 8 ? kBudgetSmallNs : kBudgetLargeNs;
      out.push_back(std::move(c));
    }
  }
  {
    const std::string name = "routing/simple-shuffle/1000/half-cooling";
    benchmark::RegisterBenchmark(name.c_str(),
                                 [](benchmark::State& st) { bm_decision(st, Variant::kShuffle, 1000, 2, false); });
    out.push_back(Comparison{"routing decision, simple-shuffle, 1000 deployments, half cooling down", name,
                             kBudgetLargeNs, "", "", false});
  }
  for (size_t n : {size_t{8}, size_t{1000}}) {
    const std::string name = fmt::format("routing/simple-shuffle/{}/fresh-scratch", n);
    benchmark::RegisterBenchmark(name.c_str(),
                                 [n](benchmark::State& st) { bm_decision(st, Variant::kShuffle, n, 0, true); });
    out.push_back(Comparison{
        fmt::format("routing decision, simple-shuffle, {} deployments, scratch vectors new per call (as a new Call has)", n),
        name, n <= 8 ? kBudgetSmallNs : kBudgetLargeNs, "", "", false});
  }
  for (std::string group : {std::string("gpt-4o"), std::string("claude-3-5-sonnet-20240620")}) {
    const std::string name = fmt::format("resolve/{}", group);
    const std::string base = fmt::format("resolve-baseline/{}", group);
    benchmark::RegisterBenchmark(name.c_str(), [group](benchmark::State& st) { bm_resolve(st, group); });
    benchmark::RegisterBenchmark(base.c_str(), [group](benchmark::State& st) { bm_resolve_baseline(st, group); });
    out.push_back(Comparison{fmt::format("DeploymentPool::resolve(\"{}\")", group), name, 0, base,
                             "one absl::flat_hash_map lookup of the name", false});
  }
}

}  // namespace llmux::bench
