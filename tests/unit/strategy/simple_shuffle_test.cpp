#include "strategy/simple_shuffle.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

using namespace llmux;

namespace {

struct Pool {
  std::vector<std::unique_ptr<Deployment>> owned;
  std::vector<const Deployment*> view;
  void add(std::optional<double> weight, std::optional<double> rpm = {}, std::optional<double> tpm = {}) {
    DeploymentConfig c;
    c.id = std::to_string(owned.size());
    c.weight = weight;
    c.rpm = rpm;
    c.tpm = tpm;
    owned.push_back(std::make_unique<Deployment>(c));
    view.push_back(owned.back().get());
  }
};

std::vector<int> histogram(Strategy& s, const Pool& p, int picks, uint64_t seed = 99) {
  Random rng(seed);
  std::vector<int> h(p.view.size(), 0);
  PickContext ctx;
  for (int i = 0; i < picks; ++i) h[s.pick(ctx, p.view, rng)]++;
  return h;
}

}  // namespace

TEST_CASE("simple-shuffle without weights is uniform", "[strategy]") {
  Pool p;
  for (int i = 0; i < 4; ++i) p.add(std::nullopt);
  strategy::SimpleShuffle s;
  auto h = histogram(s, p, 40000);
  for (int n : h) CHECK(n == Approx(10000).epsilon(0.05));
}

TEST_CASE("simple-shuffle follows weight over every candidate", "[strategy]") {
  Pool p;
  p.add(1);
  p.add(3);
  p.add(6);
  strategy::SimpleShuffle s;
  auto h = histogram(s, p, 100000);
  CHECK(h[0] == Approx(10000).epsilon(0.05));
  CHECK(h[1] == Approx(30000).epsilon(0.05));
  CHECK(h[2] == Approx(60000).epsilon(0.05));
}

TEST_CASE("simple-shuffle: a weight on a later candidate still counts (LiteLLM looks only at the first)", "[strategy]") {
  Pool p;
  p.add(std::nullopt);  // no weight: 0
  p.add(2);
  strategy::SimpleShuffle s;
  auto h = histogram(s, p, 1000);
  CHECK(h[0] == 0);
  CHECK(h[1] == 1000);
}

TEST_CASE("simple-shuffle: weight > rpm > tpm, all-zero weights are uniform", "[strategy]") {
  Pool rpm;
  rpm.add(std::nullopt, 100);
  rpm.add(std::nullopt, 300);
  strategy::SimpleShuffle s;
  auto h = histogram(s, rpm, 40000);
  CHECK(h[0] == Approx(10000).epsilon(0.06));

  Pool zero;
  zero.add(0);
  zero.add(0);
  auto z = histogram(s, zero, 20000);
  CHECK(z[0] == Approx(10000).epsilon(0.05));
}

TEST_CASE("simple-shuffle is deterministic for a seed", "[strategy]") {
  Pool p;
  p.add(1);
  p.add(1);
  p.add(1);
  strategy::SimpleShuffle s;
  CHECK(histogram(s, p, 1000, 5) == histogram(s, p, 1000, 5));
}

TEST_CASE("simple-shuffle: the router's 'no weights in this group' hint gives the same draws without the pass",
          "[strategy]") {
  Pool p;
  for (int i = 0; i < 7; ++i) p.add(std::nullopt);
  strategy::SimpleShuffle s;
  Random with_pass(1234);
  Random with_hint(1234);
  PickContext hinted;
  hinted.may_be_weighted = false;
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(s.pick(PickContext{}, p.view, with_pass) == s.pick(hinted, p.view, with_hint));
  }
  // The default promises nothing: weights are honoured.
  Pool w;
  w.add(1);
  w.add(0);
  Random rng(5);
  for (int i = 0; i < 200; ++i) CHECK(s.pick(PickContext{}, w.view, rng) == 0);
}
