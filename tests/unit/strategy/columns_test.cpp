// Built-in strategies over the router's per-group columns
// (PickContext::columns, common/deployment_columns.hpp) must decide exactly
// as over the Deployment objects: the same index and the same random draws,
// whether the candidates are one contiguous run of slots or gathered (a
// filtered subset, slots out of order). The other strategy tests pin the
// semantics on the deployments; this one pins the columns to them.
#include "common/deployment_columns.hpp"
#include "strategy/cost_based.hpp"
#include "strategy/latency_based.hpp"
#include "strategy_test_util.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace llmux;

namespace {

constexpr int kN = 150;  // above KeyScratch's inline size and the 64-key blocks: a dense page
constexpr int kSmallN = 12;  // a padded page (DeploymentColumns::kPaddedPageMax)

struct ColumnPool {
  explicit ColumnPool(int expected = kN) : table(std::make_shared<DeploymentColumns>(static_cast<size_t>(expected))) {}
  std::shared_ptr<DeploymentColumns> table;
  std::vector<std::unique_ptr<Deployment>> owned;
  std::vector<const Deployment*> view;

  void add(DeploymentConfig c) {
    auto d = std::make_unique<Deployment>(std::move(c));
    REQUIRE(DeploymentColumns::attach(table, *d, strategy::CostBased::price(d->config())));
    view.push_back(d.get());
    owned.push_back(std::move(d));
  }

  // The whole (single) page as the candidates' columns.
  CandidateColumns whole_page() const {
    CandidateColumns all;
    all.table = table.get();
    all.page = &table->page(0);
    return all;
  }
};

// Picks with and without the columns, from the same generator state: the
// same index, and the generators still in step.
void check_same(Strategy& s, PickContext ctx, std::span<const Deployment* const> candidates,
                const CandidateColumns& cols, uint64_t seed) {
  Random with(seed);
  Random without(seed);
  for (int k = 0; k < 50; ++k) {
    ctx.columns = &cols;
    const size_t a = s.pick(ctx, candidates, with);
    ctx.columns = nullptr;
    const size_t b = s.pick(ctx, candidates, without);
    REQUIRE(a == b);
    REQUIRE(a < candidates.size());
  }
  CHECK(with.next_u64() == without.next_u64());
}

// Every layout: all candidates contiguous, and every third candidate
// backwards (gathered through a slot array).
void check_layouts(Strategy& s, const ColumnPool& pool, const PickContext& ctx, uint64_t seed) {
  CandidateColumns contiguous;
  contiguous.table = pool.table.get();
  contiguous.page = &pool.table->page(pool.view.front()->column_slot());
  contiguous.base = DeploymentColumns::index(pool.view.front()->column_slot());
  check_same(s, ctx, pool.view, contiguous, seed);

  std::vector<const Deployment*> subset;
  std::vector<uint32_t> slots;
  for (size_t i = pool.view.size(); i-- > 0;) {
    if (i % 3 != 0) continue;
    subset.push_back(pool.view[i]);
    slots.push_back(pool.view[i]->column_slot());
  }
  CandidateColumns gathered;
  gathered.table = pool.table.get();
  gathered.slots = slots.data();
  check_same(s, ctx, subset, gathered, seed + 1);
}

DeploymentConfig config(int i) {
  DeploymentConfig c;
  c.model_name = "group";
  c.id = "d" + std::to_string(i);
  return c;
}

}  // namespace

TEST_CASE("columns: least-busy decides as over the deployments, fleet counts included", "[strategy][columns]") {
  const int n = GENERATE(kN, kSmallN);
  ColumnPool pool(n);
  for (int i = 0; i < n; ++i) pool.add(config(i));
  REQUIRE(pool.table->page(0).padded == (n == kSmallN));
  auto s = make_strategy("least-busy", "{}");
  REQUIRE(s.ok());
  const PickContext ctx = strategy_test::context(TimePoint{});
  check_layouts(**s, pool, ctx, 1);  // all idle: one tie of everyone
  Random setup(42);
  for (int round = 0; round < 5; ++round) {
    for (const Deployment* d : pool.view) {
      d->add_in_flight(static_cast<int64_t>(setup.below(3)));
      d->fleet_view().set_others_in_flight(static_cast<int64_t>(setup.below(2)));
    }
    check_layouts(**s, pool, ctx, 10 + static_cast<uint64_t>(round));
  }
}

TEST_CASE("columns: cost-based routing decides as over the deployments", "[strategy][columns]") {
  const int n = GENERATE(kN, kSmallN);
  ColumnPool pool(n);
  for (int i = 0; i < n; ++i) {
    DeploymentConfig c = config(i);
    if (i % 5 != 4) {  // some unpriced: 5.0 per side
      c.input_cost_per_token = 1e-7 * (1 + (i * 7) % 4);
      c.output_cost_per_token = 2e-7 * (1 + (i * 7) % 4);
    }
    pool.add(std::move(c));
  }
  auto s = make_strategy("cost-based-routing", "{}");
  REQUIRE(s.ok());
  check_layouts(**s, pool, strategy_test::context(TimePoint{}), 3);
}

TEST_CASE("columns: usage-based routing decides as over the deployments", "[strategy][columns]") {
  const int n = GENERATE(kN, kSmallN);
  ColumnPool pool(n);
  for (int i = 0; i < n; ++i) pool.add(config(i));
  REQUIRE(pool.table->page(0).padded == (n == kSmallN));
  auto s = make_strategy("usage-based-routing-v2", "{}");
  REQUIRE(s.ok());
  const TimePoint now = TimePoint{} + std::chrono::hours(5);
  check_layouts(**s, pool, strategy_test::context(now), 4);
  for (size_t i = 0; i < pool.view.size(); ++i) {
    pool.view[i]->count_tokens(now, static_cast<int64_t>(100 + (i * 37) % 9));
  }
  check_layouts(**s, pool, strategy_test::context(now), 5);
  // A minute later every count reads 0 again: all tied.
  check_layouts(**s, pool, strategy_test::context(now + std::chrono::minutes(1)), 6);
}

TEST_CASE("columns: latency-based routing decides as over the deployments", "[strategy][columns]") {
  const int n = GENERATE(kN, kSmallN);
  for (const char* args : {R"({"ttl": 60})", R"({"ttl": 60, "lowest_latency_buffer": 0.3})"}) {
    ColumnPool pool(n);
    for (int i = 0; i < n; ++i) pool.add(config(i));
    auto made = strategy::LatencyBased::create(args);
    REQUIRE(made.ok());
    Strategy& s = **made;
    const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
    // Never observed: everyone scores 0.
    check_layouts(s, pool, strategy_test::context(t0), 7);
    // Some observed early (they expire by t0 + 60 s), some later, some
    // streaming (a TTFT window), some seen only by the fleet.
    for (size_t i = 0; i < pool.view.size(); ++i) {
      const Deployment& d = *pool.view[i];
      const double latency = 0.5 + static_cast<double>((i * 13) % 7) * 0.1;
      switch (i % 5) {
        case 0: s.on_attempt_end(d, strategy_test::success(t0, latency)); break;
        case 1: s.on_attempt_end(d, strategy_test::success(t0 + std::chrono::seconds(40), latency)); break;
        case 2: s.on_attempt_end(d, strategy_test::stream_success(t0 + std::chrono::seconds(40), latency, latency / 4)); break;
        case 3: d.fleet_view().set_others_latency(false, {latency * 0.9, 3}); break;
        default: break;  // never observed
      }
      if (i % 7 == 0) d.fleet_view().set_others_latency(false, {latency * 1.1, 2});
      if (i % 11 == 0) d.fleet_view().set_others_latency(true, {latency * 0.2, 1});
    }
    for (bool stream : {false, true}) {
      // Before and after the first samples expire (the columns' means are
      // refreshed through the deployment's data then).
      check_layouts(s, pool, strategy_test::context(t0 + std::chrono::seconds(50), stream), 8);
      check_layouts(s, pool, strategy_test::context(t0 + std::chrono::seconds(70), stream), 9);
    }
  }
}

TEST_CASE("columns: latency-based routing without fleet reports decides on the published means as over the deployments",
          "[strategy][columns]") {
  // No replica reports: while no mean has expired (the table's expiry gate),
  // the scan reads the means alone (never observed = -1, scored 0).
  const int n = GENERATE(kN, kSmallN);
  for (const char* args : {R"({"ttl": 60})", R"({"ttl": 60, "lowest_latency_buffer": 0.3})",
                           R"({"ttl": 60, "lowest_latency_buffer": 2})"}) {
    ColumnPool pool(n);
    for (int i = 0; i < n; ++i) pool.add(config(i));
    auto made = strategy::LatencyBased::create(args);
    REQUIRE(made.ok());
    Strategy& s = **made;
    const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
    for (size_t i = 0; i < pool.view.size(); ++i) {
      const Deployment& d = *pool.view[i];
      const double latency = 0.5 + static_cast<double>((i * 13) % 7) * 0.1;
      switch (i % 4) {
        case 0: s.on_attempt_end(d, strategy_test::success(t0, latency)); break;
        case 1: s.on_attempt_end(d, strategy_test::success(t0 + std::chrono::seconds(40), latency)); break;
        case 2: s.on_attempt_end(d, strategy_test::stream_success(t0 + std::chrono::seconds(40), latency, latency / 4)); break;
        default: break;  // never observed (only every 4th: none when n is small)
      }
    }
    REQUIRE_FALSE(pool.table->fleet_reported());
    for (bool stream : {false, true}) {
      check_layouts(s, pool, strategy_test::context(t0 + std::chrono::seconds(50), stream), 8);
      // The first samples have expired (the gate has passed), then nothing has.
      check_layouts(s, pool, strategy_test::context(t0 + std::chrono::seconds(70), stream), 9);
      check_layouts(s, pool, strategy_test::context(t0 + std::chrono::seconds(75), stream), 10);
    }
  }
}

TEST_CASE("columns: a latency mean that expires after the expiry gate was recomputed counts as expired",
          "[strategy][columns]") {
  const int n = GENERATE(kN, kSmallN);
  ColumnPool pool(n);
  for (int i = 0; i < n; ++i) pool.add(config(i));
  auto made = strategy::LatencyBased::create(R"({"ttl": 60})");
  REQUIRE(made.ok());
  Strategy& s = **made;
  const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
  const auto at = [t0](int seconds) { return t0 + std::chrono::seconds(seconds); };
  const auto current = [&](int seconds) {
    return pool.table->latency_means_current(at(seconds).time_since_epoch().count());
  };
  // Deployment 2's first sample expires at t0 + 50 s, 1's only one at
  // t0 + 60 s; 0 is the fastest.
  s.on_attempt_end(*pool.view[2], strategy_test::success(at(-10), 7.0));
  s.on_attempt_end(*pool.view[1], strategy_test::success(at(0), 9.0));
  s.on_attempt_end(*pool.view[0], strategy_test::success(at(30), 0.5));
  s.on_attempt_end(*pool.view[2], strategy_test::success(at(30), 7.0));
  for (int i = 3; i < n; ++i) s.on_attempt_end(*pool.view[static_cast<size_t>(i)], strategy_test::success(at(30), 1.0 + i));
  const CandidateColumns all = pool.whole_page();
  Random rng(11);
  const auto pick = [&](int seconds) {
    PickContext ctx = strategy_test::context(at(seconds));
    ctx.columns = &all;
    return s.pick(ctx, pool.view, rng);
  };
  CHECK(current(40));
  CHECK(pick(40) == 0);
  CHECK_FALSE(current(55));  // 2's first sample has expired: it is dropped by this pick
  CHECK(pick(55) == 0);
  CHECK(current(56));        // recomputed: open until 1's sample expires
  CHECK(pick(56) == 0);
  // 1's sample has expired since: never observed again, tried first.
  CHECK(pick(61) == 1);
}

TEST_CASE("columns: publications racing with recomputes keep the expiry gate no later than any latency mean's expiry",
          "[strategy][columns][threads]") {
  // One sample per window, stamped back and forth in time, so that its
  // expiry moves earlier and later while another thread recomputes the gate.
  ColumnPool pool;
  for (int i = 0; i < 40; ++i) pool.add(config(i));
  auto made = strategy::LatencyBased::create(R"({"ttl": 1, "max_latency_list_size": 1})");
  REQUIRE(made.ok());
  Strategy& s = **made;
  const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int64_t k = 0; !stop.load(); ++k) {  // 64-bit: the writer runs until stopped, k * 7919 must not overflow
      const Deployment& d = *pool.view[static_cast<size_t>(k) % pool.view.size()];
      const auto t = t0 + std::chrono::milliseconds((k * 7919) % 3000);
      s.on_attempt_end(d, k % 3 == 0 ? strategy_test::stream_success(t, 0.2, 0.1) : strategy_test::success(t, 0.3));
    }
  });
  const CandidateColumns all = pool.whole_page();
  Random rng(2);
  for (int k = 0; k < 20000; ++k) {
    PickContext ctx = strategy_test::context(t0 + std::chrono::milliseconds(1000 + (k * 13) % 3000), k % 2 == 0);
    ctx.columns = &all;
    CHECK(s.pick(ctx, pool.view, rng) < pool.view.size());
  }
  stop = true;
  writer.join();
  const int64_t gate = ExpiryGate::time_of(pool.table->latency_expiry().snapshot());
  for (const Deployment* d : pool.view) {
    CHECK(gate <= DeploymentColumns::latency_means(*d, false)->valid_until.load());
    CHECK(gate <= DeploymentColumns::latency_means(*d, true)->valid_until.load());
  }
}

TEST_CASE("columns: fleet reports arriving after picks without any are seen by the next pick", "[strategy][columns]") {
  // Until a replica reports, the group's table says so and the scans skip the
  // fleet's column; the first report must count from the next pick on.
  const int n = GENERATE(kN, kSmallN);
  const TimePoint now = TimePoint{} + std::chrono::hours(1);
  const PickContext ctx = strategy_test::context(now);
  {
    ColumnPool pool(n);
    for (int i = 0; i < n; ++i) pool.add(config(i));
    auto s = make_strategy("least-busy", "{}");
    REQUIRE(s.ok());
    for (int i = 0; i < n; ++i) pool.view[static_cast<size_t>(i)]->add_in_flight(i == 3 ? 0 : 1);
    check_layouts(**s, pool, ctx, 20);
    const CandidateColumns all = pool.whole_page();
    PickContext with = ctx;
    with.columns = &all;
    Random rng(3);
    CHECK((*s)->pick(with, pool.view, rng) == 3);
    CHECK_FALSE(pool.table->fleet_reported());
    pool.view[3]->fleet_view().set_others_in_flight(5);  // busy elsewhere
    pool.view[7]->add_in_flight(-1);                      // idle here
    CHECK((*s)->pick(with, pool.view, rng) == 7);
    check_layouts(**s, pool, ctx, 21);
  }
  {
    ColumnPool pool(n);
    for (int i = 0; i < n; ++i) pool.add(config(i));
    auto made = strategy::LatencyBased::create(R"({"ttl": 60})");
    REQUIRE(made.ok());
    Strategy& s = **made;
    for (int i = 0; i < n; ++i) {
      s.on_attempt_end(*pool.view[static_cast<size_t>(i)], strategy_test::success(now, i == 2 ? 0.2 : 0.5 + 0.01 * i));
    }
    const CandidateColumns all = pool.whole_page();
    PickContext with = ctx;
    with.columns = &all;
    Random rng(4);
    CHECK(s.pick(with, pool.view, rng) == 2);
    // Another replica measured deployment 2 as slow, and 9 as very fast.
    pool.view[2]->fleet_view().set_others_latency(false, {5.0, 50});
    pool.view[9]->fleet_view().set_others_latency(false, {0.001, 50});
    CHECK(pool.table->fleet_reported());
    CHECK(s.pick(with, pool.view, rng) == 9);
    check_layouts(s, pool, ctx, 22);
  }
}

TEST_CASE("columns: thousands of candidates (more blocks than the inline scratch)", "[strategy][columns]") {
  constexpr int kMany = 3000;
  std::shared_ptr<DeploymentColumns> table = std::make_shared<DeploymentColumns>(kMany);
  std::vector<std::unique_ptr<Deployment>> owned;
  std::vector<const Deployment*> view;
  for (int i = 0; i < kMany; ++i) {
    owned.push_back(std::make_unique<Deployment>(config(i)));
    REQUIRE(DeploymentColumns::attach(table, *owned.back(), 1.0));
    view.push_back(owned.back().get());
    owned.back()->add_in_flight(i == 2500 || i == 2999 || i == 70 ? 0 : 1 + i % 3);
  }
  auto s = make_strategy("least-busy", "{}");
  REQUIRE(s.ok());
  CandidateColumns cols;
  cols.table = table.get();
  cols.page = &table->page(view.front()->column_slot());
  cols.base = 0;
  PickContext ctx = strategy_test::context(TimePoint{});
  ctx.columns = &cols;
  Random a(5);
  Random b(5);
  const size_t expected[] = {70, 2500, 2999};  // one draw among the ties, in index order
  for (int k = 0; k < 100; ++k) CHECK((*s)->pick(ctx, view, a) == expected[b.below(3)]);
  ctx.columns = nullptr;
  for (int k = 0; k < 100; ++k) CHECK((*s)->pick(ctx, view, a) == expected[b.below(3)]);
}

TEST_CASE("columns: picks race with outcomes, in-flight changes and fleet reports", "[strategy][columns][threads]") {
  // Run under ThreadSanitizer in CI: the column slots are written by the
  // hooks and counters while another thread scans them.
  ColumnPool pool;
  for (int i = 0; i < 40; ++i) pool.add(config(i));
  auto latency = strategy::LatencyBased::create(R"({"ttl": 1})");
  auto least = make_strategy("least-busy", "{}");
  REQUIRE(latency.ok());
  REQUIRE(least.ok());
  CandidateColumns cols;
  cols.table = pool.table.get();
  cols.page = &pool.table->page(pool.view.front()->column_slot());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    TimePoint t = TimePoint{} + std::chrono::hours(1);
    for (int k = 0; !stop.load(); ++k) {
      const Deployment& d = *pool.view[static_cast<size_t>(k) % pool.view.size()];
      t += std::chrono::milliseconds(7);
      (*latency)->on_attempt_end(d, strategy_test::stream_success(t, 0.1 + (k % 5) * 0.1, 0.05));
      d.add_in_flight(k % 2 == 0 ? 1 : -1);
      d.fleet_view().set_others_in_flight(k % 3);
      d.fleet_view().set_others_latency(false, {0.3, k % 4});
      d.count_tokens(t, 10);
    }
  });
  Random rng(1);
  for (int k = 0; k < 20000; ++k) {
    PickContext ctx = strategy_test::context(TimePoint{} + std::chrono::hours(1) + std::chrono::milliseconds(k), k % 2 == 0);
    ctx.columns = &cols;
    CHECK((*latency)->pick(ctx, pool.view, rng) < pool.view.size());
    CHECK((*least)->pick(ctx, pool.view, rng) < pool.view.size());
  }
  stop = true;
  writer.join();
}
