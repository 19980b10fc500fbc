#include "strategy/simple_shuffle.hpp"

#include "common/deployment_columns.hpp"

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

namespace {

std::vector<double> prefix_of(const Pool& p) {
  std::vector<double> out{-1.0};  // replaced, not appended to
  strategy::SimpleShuffle::weight_prefix(p.view, out);
  return out;
}

// The candidates as a whole model group with its running sums of weights
// (what the router passes for an unfiltered group).
struct WholeGroup {
  std::vector<double> prefix;
  CandidateColumns columns;
  explicit WholeGroup(const Pool& p) : prefix(prefix_of(p)) { columns.weight_prefix = prefix.data(); }
  PickContext context() const {
    PickContext ctx;
    ctx.columns = &columns;
    return ctx;
  }
};

}  // namespace

TEST_CASE("simple-shuffle: the running sums of the weights follow the key rules", "[strategy]") {
  Pool w;  // weight wins over rpm; missing or non-positive weights add 0
  w.add(2, 500);
  w.add(std::nullopt, 100);
  w.add(0);
  w.add(-3);
  w.add(0.5);
  CHECK(prefix_of(w) == std::vector<double>{2, 2, 2, 2, 2.5});

  Pool rpm;  // no weight anywhere: rpm over tpm
  rpm.add(std::nullopt, std::nullopt, 1000);
  rpm.add(std::nullopt, 10, 1000);
  rpm.add(std::nullopt, 30);
  CHECK(prefix_of(rpm) == std::vector<double>{0, 10, 40});

  Pool tpm;
  tpm.add(std::nullopt, std::nullopt, 7);
  tpm.add(std::nullopt);
  CHECK(prefix_of(tpm) == std::vector<double>{7, 7});

  Pool none;
  none.add(std::nullopt);
  none.add(std::nullopt);
  CHECK(prefix_of(none) == std::vector<double>{0, 0});
}

TEST_CASE("simple-shuffle over a whole group's running sums picks as the pass over the weights", "[strategy]") {
  // Whole-number weights: the walk's subtractions and the sums are exact, so
  // the binary search must choose exactly what the walk chooses, draw for draw.
  Pool p;
  for (int i = 0; i < 300; ++i) {
    if (i % 7 == 3) {
      p.add(std::nullopt);
    } else {
      p.add(static_cast<double>(i % 5));  // some 0
    }
  }
  strategy::SimpleShuffle s;
  const WholeGroup group(p);
  Random with(77);
  Random without(77);
  for (int k = 0; k < 5000; ++k) {
    const size_t a = s.pick(group.context(), p.view, with);
    REQUIRE(a == s.pick(PickContext{}, p.view, without));
    const auto& w = p.view[a]->config().weight;
    REQUIRE((w && *w > 0));
  }
  CHECK(with.next_u64() == without.next_u64());
}

TEST_CASE("simple-shuffle over running sums: the weights' shares, all-zero is uniform", "[strategy]") {
  strategy::SimpleShuffle s;
  Pool p;
  p.add(0.25);
  p.add(std::nullopt);
  p.add(0.75);
  p.add(1.5);
  const WholeGroup group(p);
  Random rng(3);
  std::vector<int> h(4, 0);
  for (int i = 0; i < 100000; ++i) h[s.pick(group.context(), p.view, rng)]++;
  CHECK(h[0] == Approx(10000).epsilon(0.05));
  CHECK(h[1] == 0);
  CHECK(h[2] == Approx(30000).epsilon(0.05));
  CHECK(h[3] == Approx(60000).epsilon(0.05));

  Pool zero;
  zero.add(0);
  zero.add(std::nullopt, std::nullopt, 0);
  const WholeGroup zero_group(zero);
  Random with(8);
  Random without(8);
  std::vector<int> z(2, 0);
  for (int i = 0; i < 20000; ++i) {
    const size_t a = s.pick(zero_group.context(), zero.view, with);
    REQUIRE(a == s.pick(PickContext{}, zero.view, without));
    z[a]++;
  }
  CHECK(z[0] == Approx(10000).epsilon(0.05));
}
