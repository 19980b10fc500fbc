// Two threads pick and report outcomes on the same strategy and deployments
// at once (the contract of include/llmux/strategy.hpp). Checks that nothing
// is lost: every pick is in range, every in-flight count returns to 0, and the
// statistics strategies recorded every outcome. Best run under TSan too.
#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <thread>

#include "strategy/latency_based.hpp"
#include "strategy/power_of_two_choices.hpp"
#include "unit/strategy/strategy_test_util.hpp"

using namespace llmux;
using namespace llmux::strategy_test;

namespace {

constexpr int kDeployments = 8;
constexpr int kIterations = 20000;  // per thread
constexpr int kThreads = 2;

struct Totals {
  std::array<int64_t, kDeployments> picks{};
  int64_t out_of_range = 0;
  int64_t recorded = 0;  // outcomes a latency/p2c strategy must have kept
};

// A shared clock both threads move forward (1 ms per attempt), so samples
// expire (ttl 1 s) while the other thread reads.
std::atomic<int64_t> g_clock_ns{int64_t{1000} * 3600 * 1000000000};

void hammer(Strategy& s, const Pool& pool, uint64_t seed, Totals& t) {
  Random rng(seed);
  for (int i = 0; i < kIterations; ++i) {
    const TimePoint now{Duration(g_clock_ns.fetch_add(1000000, std::memory_order_relaxed))};
    const size_t k = s.pick(context(now, (i & 3) == 0), pool.all(), rng);
    if (k >= pool.view.size()) {
      t.out_of_range++;
      continue;
    }
    t.picks[k]++;
    const Deployment& d = *pool.view[k];
    d.add_in_flight(1);
    d.count_request(now);
    s.on_attempt_start(d, now);
    const TimePoint end = now + std::chrono::milliseconds(5 + static_cast<int>(k));
    AttemptOutcome o;
    switch (i % 10) {
      case 0:
        o = failure(end, ErrorKind::kTimeout, 0.5);
        t.recorded++;
        break;
      case 1:
        o = failure(end, ErrorKind::kRateLimit, 0.001);
        break;
      case 2:
        o = stream_success(end, 0.2 + 0.01 * static_cast<double>(k), 0.05, 40);
        t.recorded++;
        break;
      default:
        o = success(end, 0.1 + 0.01 * static_cast<double>(k), 20);
        t.recorded++;
        break;
    }
    s.on_attempt_end(d, o);
    if (o.success) d.count_tokens(end, 60);
    d.add_in_flight(-1);
  }
}

}  // namespace

TEST_CASE("strategies: concurrent pick + on_attempt_end from two threads", "[strategy][concurrency]") {
  struct Case {
    const char* name;
    const char* args;
  };
  for (const Case& c : {Case{"latency-based-routing", R"({"ttl": 1, "max_latency_list_size": 5})"},
                        Case{"power-of-two-choices", R"({"decay_time": 0.5})"},
                        Case{"usage-based-routing-v2", "{}"}, Case{"cost-based-routing", "{}"},
                        Case{"least-busy", "{}"}, Case{"simple-shuffle", "{}"}}) {
    INFO(c.name);
    auto made = make_strategy(c.name, c.args);
    REQUIRE(made.ok());
    Strategy& s = **made;
    Pool pool;
    for (int i = 0; i < kDeployments; ++i) pool.add();

    std::array<Totals, kThreads> totals{};
    std::array<std::thread, kThreads> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads[static_cast<size_t>(t)] =
          std::thread(hammer, std::ref(s), std::cref(pool), 100 + t, std::ref(totals[static_cast<size_t>(t)]));
    }
    for (auto& th : threads) th.join();

    int64_t picks = 0;
    int64_t recorded = 0;
    for (const Totals& t : totals) {
      CHECK(t.out_of_range == 0);
      for (int64_t n : t.picks) picks += n;
      recorded += t.recorded;
    }
    CHECK(picks == int64_t{kThreads} * kIterations);
    for (const Deployment* d : pool.view) CHECK(d->in_flight() == 0);

    if (auto* lat = dynamic_cast<strategy::LatencyBased*>(&s)) {
      uint64_t kept = 0;
      for (const Deployment* d : pool.view) kept += lat->outcomes_recorded(*d);
      CHECK(kept == static_cast<uint64_t>(recorded));
    }
    if (auto* p2c = dynamic_cast<strategy::PowerOfTwoChoices*>(&s)) {
      uint64_t kept = 0;
      for (const Deployment* d : pool.view) kept += p2c->observations(*d);
      CHECK(kept == static_cast<uint64_t>(recorded));
    }
  }
}
