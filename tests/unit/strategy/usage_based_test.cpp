#include "strategy/usage_based.hpp"

#include <catch2/catch.hpp>

#include "unit/strategy/strategy_test_util.hpp"

using namespace llmux;
using namespace llmux::strategy_test;
using llmux::testing::VirtualClock;
using strategy::UsageBased;

TEST_CASE("usage-v2: the deployment with the fewest tokens this minute wins", "[strategy][usage]") {
  VirtualClock clock;
  Pool p;
  for (int i = 0; i < 3; ++i) p.add();
  p[0].count_tokens(clock.now(), 100);
  p[1].count_tokens(clock.now(), 50);
  p[2].count_tokens(clock.now(), 200);
  UsageBased s;
  CHECK(s.enforces_rate_limits());
  CHECK(s.name() == "usage-based-routing-v2");
  CHECK(histogram(s, p, context(clock.now()), 100) == std::vector<int>{0, 100, 0});
  // Requests do not count, tokens do.
  for (int i = 0; i < 10; ++i) p[1].count_request(clock.now());
  CHECK(histogram(s, p, context(clock.now()), 100) == std::vector<int>{0, 100, 0});
  p[1].count_tokens(clock.now(), 100);  // 150 now
  CHECK(histogram(s, p, context(clock.now()), 100) == std::vector<int>{100, 0, 0});
}

TEST_CASE("usage-v2: ties are spread at random", "[strategy][usage]") {
  VirtualClock clock;
  Pool p;
  for (int i = 0; i < 3; ++i) p.add();
  p[0].count_tokens(clock.now(), 10);
  p[1].count_tokens(clock.now(), 10);
  p[2].count_tokens(clock.now(), 30);
  UsageBased s;
  auto h = histogram(s, p, context(clock.now()), 4000);
  CHECK(h[0] == Approx(2000).epsilon(0.08));
  CHECK(h[1] == Approx(2000).epsilon(0.08));
  CHECK(h[2] == 0);

  // A new minute starts every counter at 0: all three tie.
  clock.advance(60);
  h = histogram(s, p, context(clock.now()), 6000);
  for (int n : h) CHECK(n == Approx(2000).epsilon(0.08));
}

TEST_CASE("usage-v2: many candidates, all tied, still uniform (no per-tie draw bias)", "[strategy][usage]") {
  VirtualClock clock;
  Pool p;
  for (int i = 0; i < 100; ++i) p.add();  // above the inline scratch size
  for (int i = 0; i < 100; ++i) p[static_cast<size_t>(i)].count_tokens(clock.now(), i < 50 ? 5 : 7);
  UsageBased s;
  auto h = histogram(s, p, context(clock.now()), 50000);
  for (int i = 0; i < 50; ++i) CHECK(h[static_cast<size_t>(i)] == Approx(1000).epsilon(0.2));
  for (int i = 50; i < 100; ++i) CHECK(h[static_cast<size_t>(i)] == 0);
}

TEST_CASE("usage v1 shares the implementation under its own name", "[strategy][usage]") {
  auto v1 = make_strategy("usage-based-routing", "{}");
  REQUIRE(v1.ok());
  CHECK((*v1)->name() == "usage-based-routing");
  CHECK((*v1)->enforces_rate_limits());
  auto v2 = make_strategy("usage-based-routing-v2", R"({"ttl": 60})");  // v2's ttl: accepted, ignored
  REQUIRE(v2.ok());
  CHECK((*v2)->name() == "usage-based-routing-v2");
  auto bad = make_strategy("usage-based-routing-v2", "[]");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidConfig);
  CHECK(bad.error().message.find("router_settings.routing_strategy_args") != std::string::npos);
}
