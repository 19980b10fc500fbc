#include "strategy/least_busy.hpp"
#include "unit/strategy/strategy_test_util.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

using namespace llmux;

TEST_CASE("least-busy picks the deployment with the fewest attempts in flight", "[strategy]") {
  std::vector<std::unique_ptr<Deployment>> owned;
  std::vector<const Deployment*> view;
  for (int i = 0; i < 3; ++i) {
    DeploymentConfig c;
    c.id = std::to_string(i);
    owned.push_back(std::make_unique<Deployment>(c));
    view.push_back(owned.back().get());
  }
  owned[0]->add_in_flight(5);
  owned[1]->add_in_flight(1);
  owned[2]->add_in_flight(3);
  strategy::LeastBusy s;
  Random rng(3);
  PickContext ctx;
  for (int i = 0; i < 100; ++i) CHECK(s.pick(ctx, view, rng) == 1);
  owned[1]->add_in_flight(4);  // now 5, 5, 3
  CHECK(s.pick(ctx, view, rng) == 2);
  // Ties are spread, not always the first.
  owned[2]->add_in_flight(2);  // 5, 5, 5
  std::vector<int> h(3, 0);
  for (int i = 0; i < 3000; ++i) h[s.pick(ctx, view, rng)]++;
  for (int n : h) CHECK(n > 800);
}

TEST_CASE("least-busy counts what the rest of the fleet has in flight too", "[strategy][fleet]") {
  std::vector<std::unique_ptr<Deployment>> owned;
  std::vector<const Deployment*> view;
  for (int i = 0; i < 2; ++i) {
    DeploymentConfig c;
    c.id = std::to_string(i);
    owned.push_back(std::make_unique<Deployment>(c));
    view.push_back(owned.back().get());
  }
  owned[0]->add_in_flight(1);
  owned[1]->add_in_flight(2);
  strategy::LeastBusy s;
  Random rng(5);
  PickContext ctx;
  CHECK(s.pick(ctx, view, rng) == 0);
  owned[0]->fleet_view().set_others_in_flight(4);  // 1 + 4 here vs 2
  for (int i = 0; i < 50; ++i) CHECK(s.pick(ctx, view, rng) == 1);
  owned[0]->fleet_view().set_others_in_flight(0);  // the reports stopped being fresh
  CHECK(s.pick(ctx, view, rng) == 0);
}

TEST_CASE("least-busy: a unique minimum needs no random draw; ties draw once, in index order", "[strategy]") {
  strategy_test::Pool pool;
  for (int i = 0; i < 40; ++i) pool.add();  // above KeyScratch's inline size
  for (int i = 0; i < 40; ++i) pool[static_cast<size_t>(i)].add_in_flight(i == 23 ? 0 : 2);
  auto made = make_strategy("least-busy", "{}");
  REQUIRE(made.ok());
  Random rng(77);
  Random untouched(77);
  CHECK((*made)->pick(strategy_test::context(TimePoint{}), pool.all(), rng) == 23);
  CHECK(rng.next_u64() == untouched.next_u64());  // no draw consumed
  // Ties at 2 in flight: indices 5, 17 and 30; one draw picks among them in index order.
  for (int i = 0; i < 40; ++i) pool[static_cast<size_t>(i)].add_in_flight(i == 23 ? 2 : 0);
  for (int i = 0; i < 40; ++i) {
    if (i != 5 && i != 17 && i != 30) pool[static_cast<size_t>(i)].add_in_flight(1);
  }
  Random a(9);
  Random b(9);
  const size_t expected[] = {5, 17, 30};
  for (int k = 0; k < 300; ++k) {
    const size_t got = (*made)->pick(strategy_test::context(TimePoint{}), pool.all(), a);
    CHECK(got == expected[b.below(3)]);
  }
}
