#include "strategy/cost_based.hpp"

#include <catch2/catch.hpp>

#include "unit/strategy/strategy_test_util.hpp"

using namespace llmux;
using namespace llmux::strategy_test;
using llmux::testing::VirtualClock;
using strategy::CostBased;

namespace {
auto priced(std::optional<double> in, std::optional<double> out) {
  return [in, out](DeploymentConfig& c) {
    c.input_cost_per_token = in;
    c.output_cost_per_token = out;
  };
}
}  // namespace

TEST_CASE("cost: price is input + output per token; an unconfigured side counts 5.0", "[strategy][cost]") {
  Pool p;
  p.add(priced(1e-6, 2e-6));
  p.add(priced(0, 0));
  p.add(priced(std::nullopt, std::nullopt));
  p.add(priced(1.0, std::nullopt));
  CHECK(CostBased::price(p[0].config()) == Approx(3e-6));
  CHECK(CostBased::price(p[1].config()) == 0);
  CHECK(CostBased::price(p[2].config()) == 10.0);
  CHECK(CostBased::price(p[3].config()) == 6.0);
  CostBased s;
  CHECK(s.enforces_rate_limits());
  CHECK(s.name() == "cost-based-routing");
}

TEST_CASE("cost: a price of 0 is real and wins; an unknown price loses to any configured one", "[strategy][cost]") {
  VirtualClock clock;
  CostBased s;
  Pool p;
  p.add(priced(std::nullopt, std::nullopt));  // unknown: 10.0
  p.add(priced(0, 0));                        // free (LiteLLM would treat it as unknown)
  p.add(priced(1e-6, 2e-6));
  CHECK(histogram(s, p, context(clock.now()), 100) == std::vector<int>{0, 100, 0});

  Pool q;
  q.add(priced(std::nullopt, std::nullopt));
  q.add(priced(1e-6, 2e-6));
  q.add(priced(4.0, std::nullopt));  // 9.0
  CHECK(histogram(s, q, context(clock.now()), 100) == std::vector<int>{0, 100, 0});
}

TEST_CASE("cost: ties are spread at random", "[strategy][cost]") {
  VirtualClock clock;
  CostBased s;
  Pool p;
  p.add(priced(1e-6, 1e-6));
  p.add(priced(2e-6, 2e-6));
  p.add(priced(1e-6, 1e-6));
  auto h = histogram(s, p, context(clock.now()), 4000);
  CHECK(h[0] == Approx(2000).epsilon(0.08));
  CHECK(h[1] == 0);
  CHECK(h[2] == Approx(2000).epsilon(0.08));
  // All unknown: uniform.
  Pool u;
  for (int i = 0; i < 4; ++i) u.add();
  h = histogram(s, u, context(clock.now()), 4000);
  for (int n : h) CHECK(n == Approx(1000).epsilon(0.1));
}
