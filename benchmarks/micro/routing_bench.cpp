// Routing decision micro benchmarks (DESIGN.md §5: ≤ 100 ns for 8 deployments,
// ≤ 1 µs for 1,000), for every built-in strategy, plus the decision and
// outcome bookkeeping under contention from two threads.
//
// "Routing decision" is what Call::attempt() (lib/router/call.cpp) does before
// it builds the HTTP request: read the router's clock, run the candidate
// filters over the group's members in a scratch vector, then Strategy::pick
// among them. decide() below replicates that loop with the real types (a
// DeploymentPool built from configs, its PoolEntry health states, a strategy
// from the registry) so that a change to any of them shows up here.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/alloc_counter.hpp"
#include "health/cooldown_tracker.hpp"
#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "llmux/strategy.hpp"
#include "micro/micro_registry.hpp"
#include "request/request.hpp"
#include "micro/payloads.hpp"
#include "router/candidate_filter.hpp"
#include "router/deployment_pool.hpp"

namespace llmux::bench {
namespace {

using router::DeploymentPool;
using router::ModelGroup;
using router::PoolEntry;

constexpr std::string_view kGroup = "production-llm";
constexpr double kBudgetSmallNs = 100;   // ≤ 8 deployments
constexpr double kBudgetLargeNs = 1000;  // ≤ 1,000 deployments
constexpr int64_t kPromptTokens = 275;   // request::parse_request's estimate for the sample chat body

enum class Variant { kShuffle, kShuffleWeighted, kLeastBusy, kLatency, kUsage, kCost, kP2C };

constexpr Variant kAllStrategies[] = {Variant::kShuffle, Variant::kLeastBusy, Variant::kLatency,
                                      Variant::kUsage,   Variant::kCost,      Variant::kP2C};

std::string_view variant_name(Variant v) {
  switch (v) {
    case Variant::kShuffle: return "simple-shuffle";
    case Variant::kShuffleWeighted: return "simple-shuffle-weighted";
    case Variant::kLeastBusy: return "least-busy";
    case Variant::kLatency: return "latency-based-routing";
    case Variant::kUsage: return "usage-based-routing-v2";
    case Variant::kCost: return "cost-based-routing";
    case Variant::kP2C: return "power-of-two-choices";
  }
  return "?";
}

std::string_view strategy_name(Variant v) {
  return v == Variant::kShuffleWeighted ? "simple-shuffle" : variant_name(v);
}

// A model group of `n` deployments as a config would declare them: one
// api_base per GPU server; weighted variants carry `weight` 1..4; the cost
// variant carries prices (7 price levels, so there are ties).
std::vector<DeploymentConfig> make_deployments(size_t n, Variant v) {
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
    if (v == Variant::kShuffleWeighted) c.weight = static_cast<double>(1 + i % 4);
    if (v == Variant::kCost) {
      c.input_cost_per_token = 1e-7 * static_cast<double>(1 + i % 7);
      c.output_cost_per_token = 4e-7 * static_cast<double>(1 + i % 7);
    }
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
  auto pool = DeploymentPool::build(make_deployments(n, v), s.settings, nullptr);
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

// Statistics as after some traffic: every deployment has answered (latency
// windows full, peak-EWMA estimates set, tokens counted this minute), with
// different values so that there is one best candidate. Outcomes are stamped
// with the steady clock the decision reads. The per-minute token counters
// read 0 again in the next minute: a run crossing a minute boundary sees them
// all tied (the same work for the strategy).
void warm_statistics(Variant v, RoutingSetup& s) {
  const TimePoint now = TimeSource::steady().now();
  const auto& entries = s.pool->entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Deployment& d = *entries[i]->deployment;
    const double spread = static_cast<double>((i * 37) % 101) / 100.0;  // 0 .. 1, one minimum
    switch (v) {
      case Variant::kLatency:
        for (int k = 0; k < 12; ++k) {
          AttemptOutcome o;
          o.success = true;
          o.at = now;
          o.stream = k % 4 == 0;
          o.latency = seconds_to_duration(2.0 + spread + 0.01 * k);
          o.time_to_first_token = o.stream ? seconds_to_duration(0.2 + spread) : Duration(-1);
          o.completion_tokens = 200;
          s.strategy->on_attempt_end(d, o);
        }
        break;
      case Variant::kP2C: {
        AttemptOutcome o;
        o.success = true;
        o.at = now;
        o.latency = seconds_to_duration(1.0 + spread);
        s.strategy->on_attempt_end(d, o);
        break;
      }
      case Variant::kUsage:
        d.count_tokens(now, 1000 + static_cast<int64_t>((i * 7919) % 5000));
        break;
      default:
        break;
    }
  }
}

// Call::attempt()'s decision, step for step (router::select_deployment): the
// router's own candidate filters (router/candidate_filter.hpp, with the
// default settings: cooldown, order, max_parallel and the rest as
// configured) over the group's flat arrays, then Strategy::pick. The scratch
// space is the router's; `avoid` is null on a first attempt.
struct Decision {
  router::FilterScratch scratch;
  router::FilterReport report;

  TimePoint now{};  // the clock reading of the last decision

  static const request::ParsedRequest& request() {
    static const request::ParsedRequest* r = [] {
      auto parsed = request::parse_request(kChatRequestBody, request::Endpoint::kChatCompletions);
      return new request::ParsedRequest(std::move(parsed).value());
    }();
    return *r;
  }

  const PoolEntry* decide(const ModelGroup& group, Strategy& strategy, Random& rng, const TimeSource& time) {
    static const RouterSettings settings;
    now = time.now();
    router::FilterInput in;
    in.now = now;
    in.settings = &settings;
    in.request = &request();
    in.group_name = group.name;
    const bool strategy_limits = strategy.enforces_rate_limits();
    in.enforce_rate_limits = strategy_limits;
    report.clear();
    const router::Candidates c = router::filter_group(in, group, scratch, report);
    if (c.empty()) return nullptr;
    size_t index = 0;
    if (c.size() > 1 || strategy_limits) {
      PickContext ctx{group.name, in.request->estimated_prompt_tokens, false, now};
      ctx.may_be_weighted = group.any_weight;
      if (c.columns.table != nullptr) ctx.columns = &c.columns;
      index = strategy.pick(ctx, c.deployments, rng);
      if (index == Strategy::kNoDeployment) return nullptr;
      if (index >= c.size()) index = 0;
    }
    return c.entries[index];
  }
};

// Allocations of this thread over the timed loop, per iteration, as the
// counter "allocations_per_iteration" (the summary carries it; 0 expected in
// steady state). -1 when the counter is not linked in (sanitizer builds).
class AllocationCount {
 public:
  AllocationCount() : before_(alloc_counter::this_thread()) {}
  void report(benchmark::State& state) const {
    const double per = alloc_counter::available() && state.iterations() > 0
                           ? static_cast<double>((alloc_counter::this_thread() - before_).allocations) /
                                 static_cast<double>(state.iterations())
                           : -1.0;
    state.counters["allocations_per_iteration"] = per;
  }

 private:
  alloc_counter::Counts before_;
};

void bm_decision(benchmark::State& state, Variant v, size_t n, size_t cooling_every, bool fresh_scratch) {
  RoutingSetup s = make_setup(v, n, cooling_every);
  if (!s.error.empty()) {
    state.SkipWithError(s.error.c_str());
    return;
  }
  warm_statistics(v, s);
  Random rng(0x5eed);
  const TimeSource& time = TimeSource::steady();
  Decision reused;
  // Steady state: the scratch vectors keep their capacity from call to call.
  (void)reused.decide(*s.group, *s.strategy, rng, time);
  const AllocationCount allocations;
  for (auto _ : state) {
    const PoolEntry* picked;
    if (fresh_scratch) {
      // Scratch space new per decision (the router keeps one per loop).
      Decision fresh;
      picked = fresh.decide(*s.group, *s.strategy, rng, time);
    } else {
      picked = reused.decide(*s.group, *s.strategy, rng, time);
    }
    benchmark::DoNotOptimize(picked);
  }
  allocations.report(state);
  state.SetItemsProcessed(state.iterations());
  state.counters["deployments"] = static_cast<double>(n);
}

// Strategy::pick alone over a prepared candidate span (no clock read, no
// cooldown filter): the strategy's own share of the decision.
void bm_pick(benchmark::State& state, Variant v, size_t n) {
  RoutingSetup s = make_setup(v, n, 0);
  if (!s.error.empty()) {
    state.SkipWithError(s.error.c_str());
    return;
  }
  warm_statistics(v, s);
  std::vector<const Deployment*> candidates;
  for (const PoolEntry* e : s.group->members) candidates.push_back(e->deployment.get());
  PickContext ctx{s.group->name, kPromptTokens, false, TimeSource::steady().now()};
  ctx.may_be_weighted = s.group->any_weight;
  // The group's columns, as the router passes them when nothing is filtered out.
  const CandidateColumns columns = s.group->all_columns();
  if (columns.table != nullptr) ctx.columns = &columns;
  Random rng(0x5eed);
  for (auto _ : state) {
    size_t index = s.strategy->pick(ctx, std::span<const Deployment* const>(candidates), rng);
    benchmark::DoNotOptimize(index);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["deployments"] = static_cast<double>(n);
}

// The least an O(n) strategy can do: read one counter of every candidate.
void bm_pick_baseline(benchmark::State& state, size_t n) {
  RoutingSetup s = make_setup(Variant::kShuffle, n, 0);
  if (!s.error.empty()) {
    state.SkipWithError(s.error.c_str());
    return;
  }
  std::vector<const Deployment*> candidates;
  for (const PoolEntry* e : s.group->members) candidates.push_back(e->deployment.get());
  for (auto _ : state) {
    int64_t sum = 0;
    for (const Deployment* d : candidates) sum += d->in_flight();
    benchmark::DoNotOptimize(sum);
  }
}

// One attempt's routing work as the router does it: the decision, then the
// deployment counters and the strategy hooks around the attempt (in flight
// +1, request counted, on_attempt_start, on_attempt_end with a success, tokens
// counted, in flight -1). Run with 1 and with 2 threads on one shared group
// of 8 deployments and one strategy instance: the ratio is what contention
// (locks, shared cache lines) adds per attempt.
void bm_contended(benchmark::State& state, RoutingSetup* s) {
  if (!s->error.empty()) {
    state.SkipWithError(s->error.c_str());
    return;
  }
  Random rng(0x5eed + static_cast<uint64_t>(state.thread_index()));
  const TimeSource& time = TimeSource::steady();
  Decision decision;
  int64_t i = 0;
  for (auto _ : state) {
    const PoolEntry* picked = decision.decide(*s->group, *s->strategy, rng, time);
    const Deployment& d = *picked->deployment;
    const TimePoint now = decision.now;
    d.add_in_flight(1);
    d.count_request(now);
    s->strategy->on_attempt_start(d, now);
    AttemptOutcome o;
    o.success = true;
    o.at = now;
    o.latency = std::chrono::milliseconds(800 + (i++ & 255));
    o.prompt_tokens = kPromptTokens;
    o.completion_tokens = 120;
    s->strategy->on_attempt_end(d, o);
    d.count_tokens(now, o.prompt_tokens + o.completion_tokens);
    d.add_in_flight(-1);
  }
  state.SetItemsProcessed(state.iterations());
}

// Model-group resolution (Call::start(), once per call) against the hash
// lookup it is built on.
void bm_resolve(benchmark::State& state, std::string group_name) {
  RouterSettings settings;
  std::vector<DeploymentConfig> configs = make_deployments(8, Variant::kShuffle);
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
  for (Variant v : {Variant::kShuffle, Variant::kShuffleWeighted, Variant::kLeastBusy, Variant::kLatency,
                    Variant::kUsage, Variant::kCost, Variant::kP2C}) {
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
        fmt::format("routing decision, simple-shuffle, {} deployments, scratch vectors new per decision", n),
        name, n <= 8 ? kBudgetSmallNs : kBudgetLargeNs, "", "", false});
  }
  for (size_t n : {size_t{8}, size_t{1000}}) {
    const std::string base = fmt::format("routing-pick-baseline/{}", n);
    benchmark::RegisterBenchmark(base.c_str(), [n](benchmark::State& st) { bm_pick_baseline(st, n); });
    for (Variant v : kAllStrategies) {
      const std::string name = fmt::format("routing-pick/{}/{}", variant_name(v), n);
      benchmark::RegisterBenchmark(name.c_str(), [v, n](benchmark::State& st) { bm_pick(st, v, n); });
      out.push_back(Comparison{fmt::format("Strategy::pick alone, {}, {} deployments", variant_name(v), n), name, 0,
                               base, "reading in_flight() of every candidate", false});
    }
  }
  // Contention: one shared setup per strategy, alive for the whole process
  // (the benchmark threads of both runs use it).
  static std::vector<std::unique_ptr<RoutingSetup>> shared;
  for (Variant v : kAllStrategies) {
    shared.push_back(std::make_unique<RoutingSetup>(make_setup(v, 8, 0)));
    RoutingSetup* s = shared.back().get();
    if (s->error.empty()) warm_statistics(v, *s);
    const std::string one = fmt::format("routing-contended/{}/1-thread", variant_name(v));
    const std::string two = fmt::format("routing-contended/{}/2-threads", variant_name(v));
    benchmark::RegisterBenchmark(one.c_str(), [s](benchmark::State& st) { bm_contended(st, s); })->Threads(1);
    benchmark::RegisterBenchmark(two.c_str(), [s](benchmark::State& st) { bm_contended(st, s); })->Threads(2);
    out.push_back(Comparison{
        fmt::format("decision + outcome bookkeeping, {}, 8 deployments, 2 threads on one strategy", variant_name(v)),
        two, 0, one, "the same work on 1 thread", false});
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
