#include "strategy/power_of_two_choices.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "unit/strategy/strategy_test_util.hpp"

using namespace llmux;
using namespace llmux::strategy_test;
using llmux::testing::VirtualClock;
using strategy::PowerOfTwoChoices;

namespace {
TimePoint after(TimePoint t, double seconds) { return t + seconds_to_duration(seconds); }
}  // namespace

TEST_CASE("p2c: one candidate is index 0; untried idle candidates share traffic", "[strategy][p2c]") {
  VirtualClock clock;
  PowerOfTwoChoices s;
  CHECK(s.name() == "power-of-two-choices");
  CHECK_FALSE(s.enforces_rate_limits());
  Pool p;
  p.add();
  Random rng(1);
  CHECK(s.pick(context(clock.now()), p.all(), rng) == 0);
  p.add();
  p.add();
  auto h = histogram(s, p, context(clock.now()), 3000);
  for (int n : h) CHECK(n == Approx(1000).epsilon(0.1));
}

TEST_CASE("p2c: lower latency × (in_flight + 1) wins; the worst of the group is never picked", "[strategy][p2c]") {
  VirtualClock clock;
  PowerOfTwoChoices s;
  Pool p;
  for (int i = 0; i < 3; ++i) p.add();
  s.on_attempt_end(p[0], success(clock.now(), 0.1));
  s.on_attempt_end(p[1], success(clock.now(), 0.5));
  s.on_attempt_end(p[2], success(clock.now(), 1.0));
  CHECK(s.cost(p[0], clock.now()) == Approx(0.1));
  // Two distinct draws: p[0] wins whenever drawn (2/3), p[1] when paired with p[2] (1/3).
  auto h = histogram(s, p, context(clock.now()), 6000);
  CHECK(h[0] == Approx(4000).epsilon(0.05));
  CHECK(h[1] == Approx(2000).epsilon(0.08));
  CHECK(h[2] == 0);
}

TEST_CASE("p2c: reacts to attempts in flight at once", "[strategy][p2c]") {
  VirtualClock clock;
  PowerOfTwoChoices s;
  Pool p;
  p.add();
  p.add();
  s.on_attempt_end(p[0], success(clock.now(), 0.1));
  s.on_attempt_end(p[1], success(clock.now(), 1.0));
  CHECK(histogram(s, p, context(clock.now()), 50) == std::vector<int>{50, 0});
  p[0].add_in_flight(20);  // 0.1 × 21 = 2.1 > 1.0
  CHECK(s.cost(p[0], clock.now()) == Approx(2.1));
  CHECK(histogram(s, p, context(clock.now()), 50) == std::vector<int>{0, 50});
  p[0].add_in_flight(-15);  // 0.1 × 6 = 0.6 < 1.0
  CHECK(histogram(s, p, context(clock.now()), 50) == std::vector<int>{50, 0});
}

TEST_CASE("p2c: an untried deployment gets one probe at a time; cost ties go to fewer in flight", "[strategy][p2c]") {
  VirtualClock clock;
  PowerOfTwoChoices s;
  Pool p;
  p.add();  // untried
  p.add();
  s.on_attempt_end(p[1], success(clock.now(), 30.0));
  CHECK(histogram(s, p, context(clock.now()), 50) == std::vector<int>{50, 0});  // untried and idle: cost 0
  p[0].add_in_flight(1);
  CHECK(s.cost(p[0], clock.now()) == Approx(PowerOfTwoChoices::kPenaltySeconds + 1));
  CHECK(histogram(s, p, context(clock.now()), 50) == std::vector<int>{0, 50});

  // Two estimates that decayed to exactly 0: equal cost, fewer in flight wins.
  Pool q;
  q.add();
  q.add();
  s.on_attempt_end(q[0], success(clock.now(), 1.0));
  s.on_attempt_end(q[1], success(clock.now(), 1.0));
  const TimePoint much_later = after(clock.now(), 1e5);
  CHECK(s.latency_estimate(q[0], much_later) == 0);
  q[0].add_in_flight(2);
  CHECK(s.cost(q[0], much_later) == 0);
  CHECK(histogram(s, q, context(much_later), 50) == std::vector<int>{0, 50});
  q[0].add_in_flight(-2);
  auto h = histogram(s, q, context(much_later), 2000);  // full tie: random
  CHECK(h[0] == Approx(1000).epsilon(0.1));
}

TEST_CASE("p2c: peak EWMA jumps to a higher observation and decays with decay_time", "[strategy][p2c]") {
  VirtualClock clock;
  PowerOfTwoChoices s(10);
  Pool p;
  p.add();
  const TimePoint t0 = clock.now();
  CHECK(s.latency_estimate(p[0], t0) == 0);
  s.on_attempt_end(p[0], success(t0, 1.0));
  CHECK(s.latency_estimate(p[0], t0) == Approx(1.0));
  CHECK(s.latency_estimate(p[0], after(t0, 10)) == Approx(std::exp(-1.0)));
  CHECK(s.latency_estimate(p[0], after(t0, 20)) == Approx(std::exp(-2.0)));

  // Peak: a higher observation replaces the value at once.
  s.on_attempt_end(p[0], success(after(t0, 10), 2.0));
  CHECK(s.latency_estimate(p[0], after(t0, 10)) == Approx(2.0));
  // Lower: blend from the decayed value with w = exp(-dt/τ).
  const double w = std::exp(-1.0);
  const double current = 2.0 * w;
  s.on_attempt_end(p[0], success(after(t0, 20), 0.5));
  const double blended = current * w + 0.5 * (1 - w);
  CHECK(s.latency_estimate(p[0], after(t0, 20)) == Approx(blended));
  CHECK(blended < current);
  CHECK(blended > 0.5);
  // Simultaneous lower observation: no weight.
  s.on_attempt_end(p[0], success(after(t0, 20), 0.01));
  CHECK(s.latency_estimate(p[0], after(t0, 20)) == Approx(blended));
  // After a long pause a lower observation replaces the value.
  s.on_attempt_end(p[0], success(after(t0, 1000), 0.3));
  CHECK(s.latency_estimate(p[0], after(t0, 1000)) == Approx(0.3));
  CHECK(s.observations(p[0]) == 5);
}

TEST_CASE("p2c: a deployment that was slow a while ago is probed again", "[strategy][p2c]") {
  VirtualClock clock;
  PowerOfTwoChoices s;  // decay_time 10 s
  Pool p;
  p.add();
  p.add();
  const TimePoint t0 = clock.now();
  s.on_attempt_end(p[0], success(t0, 5.0));
  s.on_attempt_end(p[1], success(t0, 1.0));
  CHECK(histogram(s, p, context(t0), 50) == std::vector<int>{0, 50});
  // p[1] answered again at t0+20; p[0]'s 5 s decayed to 5e^-2 ≈ 0.68 < p[1]'s ≈ 1.
  s.on_attempt_end(p[1], success(after(t0, 20), 1.0));
  CHECK(s.latency_estimate(p[0], after(t0, 20)) == Approx(5.0 * std::exp(-2.0)));
  CHECK(histogram(s, p, context(after(t0, 20)), 50) == std::vector<int>{50, 0});
}

TEST_CASE("p2c: timeouts and connection errors are observations that only raise the value", "[strategy][p2c]") {
  VirtualClock clock;
  PowerOfTwoChoices s;
  Pool p;
  p.add();
  const TimePoint t0 = clock.now();
  s.on_attempt_end(p[0], success(t0, 2.0));
  // Not observed: 429, 500.
  s.on_attempt_end(p[0], failure(t0, ErrorKind::kRateLimit, 0.001));
  s.on_attempt_end(p[0], failure(t0, ErrorKind::kInternalServer, 0.001));
  CHECK(s.observations(p[0]) == 1);
  // A fast connection error is counted but does not make it look fast.
  s.on_attempt_end(p[0], failure(after(t0, 1), ErrorKind::kConnectionError, 0.001));
  CHECK(s.observations(p[0]) == 2);
  CHECK(s.latency_estimate(p[0], after(t0, 1)) == Approx(2.0 * std::exp(-0.1)));
  // A slow timeout is slow.
  s.on_attempt_end(p[0], failure(after(t0, 2), ErrorKind::kTimeout, 30));
  CHECK(s.latency_estimate(p[0], after(t0, 2)) == Approx(30.0));
  // A never-seen deployment that timed out is no longer "untried".
  Pool q;
  q.add();
  q.add();
  s.on_attempt_end(q[0], failure(t0, ErrorKind::kTimeout, 60));
  CHECK(histogram(s, q, context(t0), 50) == std::vector<int>{0, 50});
}

TEST_CASE("p2c: routing_strategy_args.decay_time", "[strategy][p2c][args]") {
  auto made = PowerOfTwoChoices::create(R"({"decay_time": 2.5, "other": true})");
  REQUIRE(made.ok());
  CHECK(dynamic_cast<PowerOfTwoChoices&>(**made).decay_time_seconds() == 2.5);
  auto def = PowerOfTwoChoices::create("{}");
  REQUIRE(def.ok());
  CHECK(dynamic_cast<PowerOfTwoChoices&>(**def).decay_time_seconds() == 10);
  for (const char* bad : {R"({"decay_time": 0})", R"({"decay_time": -3})", R"({"decay_time": "x"})",
                          R"({"decay_time": false})"}) {
    INFO(bad);
    auto r = PowerOfTwoChoices::create(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidConfig);
    CHECK(r.error().message.find("router_settings.routing_strategy_args.decay_time") != std::string::npos);
  }
}
