#include "strategy/latency_based.hpp"

#include <catch2/catch.hpp>

#include "unit/strategy/strategy_test_util.hpp"

using namespace llmux;
using namespace llmux::strategy_test;
using llmux::testing::VirtualClock;
using strategy::LatencyBased;
using strategy::LatencyBasedArgs;

TEST_CASE("latency: a sample is seconds per completion token, raw seconds without tokens", "[strategy][latency]") {
  VirtualClock clock;
  Pool p;
  p.add();
  p.add();
  LatencyBased s;
  s.on_attempt_end(p[0], success(clock.now(), 2.0, 10));
  s.on_attempt_end(p[1], success(clock.now(), 2.0, 0));
  CHECK(s.score(p[0], false, clock.now()) == Approx(0.2));
  CHECK(s.score(p[1], false, clock.now()) == Approx(2.0));
  CHECK(s.enforces_rate_limits());
  CHECK(s.name() == "latency-based-routing");
}

TEST_CASE("latency: the lowest mean wins; untried deployments are tried first", "[strategy][latency]") {
  VirtualClock clock;
  Pool p;
  for (int i = 0; i < 3; ++i) p.add();
  LatencyBased s;
  s.on_attempt_end(p[0], success(clock.now(), 0.3));
  s.on_attempt_end(p[1], success(clock.now(), 0.1));
  s.on_attempt_end(p[1], success(clock.now(), 0.3));  // mean 0.2
  // p[2] never answered: score 0, always first.
  auto h = histogram(s, p, context(clock.now()), 200);
  CHECK(h == std::vector<int>{0, 0, 200});

  s.on_attempt_end(p[2], success(clock.now(), 0.25));
  h = histogram(s, p, context(clock.now()), 200);
  CHECK(h == std::vector<int>{0, 200, 0});

  // Several untried ones share the traffic.
  p.add();
  p.add();
  h = histogram(s, p, context(clock.now()), 2000);
  CHECK(h[0] + h[1] + h[2] == 0);
  CHECK(h[3] == Approx(1000).epsilon(0.1));
  CHECK(h[4] == Approx(1000).epsilon(0.1));
}

TEST_CASE("latency: lowest_latency_buffer admits candidates within lowest × (1 + buffer)", "[strategy][latency]") {
  VirtualClock clock;
  Pool p;
  for (int i = 0; i < 3; ++i) p.add();
  LatencyBasedArgs args;
  args.lowest_latency_buffer = 0.5;
  LatencyBased s(args);
  s.on_attempt_end(p[0], success(clock.now(), 0.10));
  s.on_attempt_end(p[1], success(clock.now(), 0.14));  // <= 0.15: in
  s.on_attempt_end(p[2], success(clock.now(), 0.16));  // > 0.15: out
  auto h = histogram(s, p, context(clock.now()), 4000);
  CHECK(h[0] == Approx(2000).epsilon(0.08));
  CHECK(h[1] == Approx(2000).epsilon(0.08));
  CHECK(h[2] == 0);

  // Without a buffer only the fastest.
  LatencyBased strict;
  Pool q;
  q.add();
  q.add();
  strict.on_attempt_end(q[0], success(clock.now(), 0.10));
  strict.on_attempt_end(q[1], success(clock.now(), 0.11));
  CHECK(histogram(strict, q, context(clock.now()), 100) == std::vector<int>{100, 0});
}

TEST_CASE("latency: the window keeps the newest max_latency_list_size samples", "[strategy][latency]") {
  VirtualClock clock;
  Pool p;
  p.add();
  LatencyBasedArgs args;
  args.max_latency_list_size = 3;
  LatencyBased s(args);
  for (double v : {10.0, 10.0, 1.0, 2.0, 3.0}) {
    s.on_attempt_end(p[0], success(clock.now(), v));
    clock.advance(1);
  }
  CHECK(s.window_size(p[0], false, clock.now()) == 3);
  // LiteLLM would keep [10, 10, 3] (mean 7.67); a sliding window has [1, 2, 3].
  CHECK(s.score(p[0], false, clock.now()) == Approx(2.0));
  CHECK(s.outcomes_recorded(p[0]) == 5);
}

TEST_CASE("latency: samples older than ttl leave the window; an empty window is untried again", "[strategy][latency]") {
  VirtualClock clock;
  Pool p;
  p.add();
  p.add();
  LatencyBasedArgs args;
  args.ttl_seconds = 60;
  LatencyBased s(args);
  const TimePoint t0 = clock.now();
  s.on_attempt_end(p[0], success(t0, 5.0));
  s.on_attempt_end(p[0], success(t0 + std::chrono::seconds(30), 1.0));
  s.on_attempt_end(p[1], success(t0 + std::chrono::seconds(30), 2.0));

  CHECK(s.score(p[0], false, t0 + std::chrono::seconds(30)) == Approx(3.0));
  CHECK(s.score(p[0], false, t0 + std::chrono::seconds(60)) == Approx(3.0));  // exactly ttl old: still in
  CHECK(histogram(s, p, context(t0 + std::chrono::seconds(60)), 50) == std::vector<int>{0, 50});
  // 61 s: the 5 s sample expired, mean 1.0 < 2.0.
  CHECK(s.score(p[0], false, t0 + std::chrono::seconds(61)) == Approx(1.0));
  CHECK(s.window_size(p[0], false, t0 + std::chrono::seconds(61)) == 1);
  CHECK(histogram(s, p, context(t0 + std::chrono::seconds(61)), 50) == std::vector<int>{50, 0});
  // 91 s: everything expired; both untried again, traffic is shared.
  const TimePoint late = t0 + std::chrono::seconds(91);
  CHECK(s.score(p[0], false, late) == 0);
  CHECK(s.window_size(p[1], false, late) == 0);
  auto h = histogram(s, p, context(late), 2000);
  CHECK(h[0] == Approx(1000).epsilon(0.1));
  // A new sample after expiry starts a fresh window.
  s.on_attempt_end(p[0], success(late, 4.0));
  CHECK(s.score(p[0], false, late) == Approx(4.0));
  CHECK(s.window_size(p[0], false, late) == 1);
}

TEST_CASE("latency: a timeout adds a 1000 s penalty; other failures add nothing", "[strategy][latency]") {
  VirtualClock clock;
  Pool p;
  p.add();
  p.add();
  LatencyBased s;
  s.on_attempt_end(p[0], success(clock.now(), 5.0));
  s.on_attempt_end(p[1], success(clock.now(), 1.0));
  s.on_attempt_end(p[1], failure(clock.now(), ErrorKind::kRateLimit));
  s.on_attempt_end(p[1], failure(clock.now(), ErrorKind::kInternalServer));
  s.on_attempt_end(p[1], failure(clock.now(), ErrorKind::kConnectionError));
  CHECK(s.window_size(p[1], false, clock.now()) == 1);
  CHECK(histogram(s, p, context(clock.now()), 50) == std::vector<int>{0, 50});

  s.on_attempt_end(p[1], failure(clock.now(), ErrorKind::kTimeout));
  CHECK(s.window_size(p[1], false, clock.now()) == 2);
  CHECK(s.score(p[1], false, clock.now()) == Approx((1.0 + LatencyBased::kTimeoutPenaltySeconds) / 2));
  CHECK(histogram(s, p, context(clock.now()), 50) == std::vector<int>{50, 0});

  // A timeout on a deployment never seen makes it "tried" and slow.
  Pool q;
  q.add();
  q.add();
  s.on_attempt_end(q[0], failure(clock.now(), ErrorKind::kTimeout));
  CHECK(histogram(s, q, context(clock.now()), 50) == std::vector<int>{0, 50});
}

TEST_CASE("latency: streaming requests compare the TTFT window with its own count", "[strategy][latency]") {
  VirtualClock clock;
  Pool p;
  p.add();
  p.add();
  LatencyBased s;
  // p[0]: fast per token overall, but slow to start.
  s.on_attempt_end(p[0], success(clock.now(), 0.1));
  s.on_attempt_end(p[0], success(clock.now(), 0.1));
  s.on_attempt_end(p[0], stream_success(clock.now(), 0.1, 0.9));
  // p[1]: slower per token, quick first token.
  s.on_attempt_end(p[1], stream_success(clock.now(), 0.5, 0.3));

  CHECK(s.window_size(p[0], true, clock.now()) == 1);
  // TTFT mean over 1 TTFT sample (LiteLLM divides by 3 latency samples: 0.3).
  CHECK(s.score(p[0], true, clock.now()) == Approx(0.9));
  CHECK(s.score(p[0], false, clock.now()) == Approx(0.1));
  CHECK(histogram(s, p, context(clock.now(), false), 50) == std::vector<int>{50, 0});
  CHECK(histogram(s, p, context(clock.now(), true), 50) == std::vector<int>{0, 50});

  // TTFT is per completion token too.
  Pool q;
  q.add();
  s.on_attempt_end(q[0], stream_success(clock.now(), 4.0, 2.0, 20));
  CHECK(s.score(q[0], true, clock.now()) == Approx(0.1));
  CHECK(s.score(q[0], false, clock.now()) == Approx(0.2));

  // Without TTFT samples a streaming request uses the latency window.
  Pool r;
  r.add();
  s.on_attempt_end(r[0], success(clock.now(), 0.7));
  CHECK(s.score(r[0], true, clock.now()) == Approx(0.7));
  // A non-stream outcome carrying a TTFT adds no TTFT sample.
  AttemptOutcome o = success(clock.now(), 0.7);
  o.time_to_first_token = seconds_to_duration(0.01);
  s.on_attempt_end(r[0], o);
  CHECK(s.window_size(r[0], true, clock.now()) == 0);
}

TEST_CASE("latency: a timed-out streaming attempt also penalises the TTFT window", "[strategy][latency]") {
  VirtualClock clock;
  Pool p;
  p.add();
  p.add();
  LatencyBased s;
  s.on_attempt_end(p[0], stream_success(clock.now(), 1.0, 0.1));
  s.on_attempt_end(p[1], stream_success(clock.now(), 1.0, 0.5));
  CHECK(histogram(s, p, context(clock.now(), true), 50) == std::vector<int>{50, 0});
  s.on_attempt_end(p[0], failure(clock.now(), ErrorKind::kTimeout, 30, /*stream=*/true));
  CHECK(s.window_size(p[0], true, clock.now()) == 2);
  CHECK(histogram(s, p, context(clock.now(), true), 50) == std::vector<int>{0, 50});
}

TEST_CASE("latency: one candidate is returned without looking; picks are deterministic per seed", "[strategy][latency]") {
  VirtualClock clock;
  Pool p;
  p.add();
  LatencyBased s;
  Random rng(1);
  CHECK(s.pick(context(clock.now()), p.all(), rng) == 0);
  for (int i = 0; i < 5; ++i) p.add();
  CHECK(histogram(s, p, context(clock.now()), 500, 3) == histogram(s, p, context(clock.now()), 500, 3));
}

TEST_CASE("latency: routing_strategy_args", "[strategy][latency][args]") {
  auto made = LatencyBased::create(R"({"ttl": 120, "lowest_latency_buffer": 0.25, "max_latency_list_size": 4,
                                       "unknown_key": [1, 2]})");
  REQUIRE(made.ok());
  auto* s = dynamic_cast<LatencyBased*>(made.value().get());
  REQUIRE(s != nullptr);
  CHECK(s->args().ttl_seconds == 120);
  CHECK(s->args().lowest_latency_buffer == 0.25);
  CHECK(s->args().max_latency_list_size == 4);

  auto defaults = LatencyBased::create("{}");
  REQUIRE(defaults.ok());
  auto* d = dynamic_cast<LatencyBased*>(defaults.value().get());
  REQUIRE(d != nullptr);
  CHECK(d->args().ttl_seconds == 3600);
  CHECK(d->args().lowest_latency_buffer == 0);
  CHECK(d->args().max_latency_list_size == 10);

  // LiteLLM's pydantic accepts numeric strings.
  auto str = LatencyBased::create(R"({"ttl": "90"})");
  REQUIRE(str.ok());
  CHECK(dynamic_cast<LatencyBased*>(str.value().get())->args().ttl_seconds == 90);

  struct Bad {
    const char* json;
    const char* path;
  };
  for (const Bad& b : {Bad{R"({"ttl": -1})", "routing_strategy_args.ttl"},
                       Bad{R"({"ttl": 0})", "routing_strategy_args.ttl"},
                       Bad{R"({"ttl": "soon"})", "routing_strategy_args.ttl"},
                       Bad{R"({"ttl": null})", "routing_strategy_args.ttl"},
                       Bad{R"({"lowest_latency_buffer": -0.5})", "routing_strategy_args.lowest_latency_buffer"},
                       Bad{R"({"max_latency_list_size": 0})", "routing_strategy_args.max_latency_list_size"},
                       Bad{R"({"max_latency_list_size": 2.5})", "routing_strategy_args.max_latency_list_size"},
                       Bad{R"([1, 2])", "routing_strategy_args must be an object"},
                       Bad{R"({"ttl": )", "routing_strategy_args is not valid JSON"}}) {
    INFO(b.json);
    auto r = LatencyBased::create(b.json);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidConfig);
    CHECK(r.error().message.find(std::string("router_settings.") + b.path) != std::string::npos);
  }
  auto bad = LatencyBased::create(R"({"ttl": -1})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "router_settings.routing_strategy_args.ttl must be a number > 0 (got -1)");
}

TEST_CASE("latency: the fleet's summaries are weighed with this replica's samples by count", "[strategy][latency][fleet]") {
  VirtualClock clock;
  Pool p;
  p.add();
  p.add();
  LatencyBased s;
  s.on_attempt_end(p[0], success(clock.now(), 0.2));
  s.on_attempt_end(p[1], success(clock.now(), 0.3));
  CHECK(s.score(p[0], false, clock.now()) == Approx(0.2));
  // Three samples of 1.0 elsewhere: (0.2 + 3 × 1.0) / 4.
  p[0].fleet_view().set_others_latency(false, {1.0, 3});
  CHECK(s.score(p[0], false, clock.now()) == Approx(0.8));
  auto h = histogram(s, p, context(clock.now()), 100);
  CHECK(h == std::vector<int>{0, 100});
  // What this replica shares is its own window only.
  const FleetView::Latency own = s.own_window(p[0], false, clock.now());
  CHECK(own.samples == 1);
  CHECK(own.mean == Approx(0.2));
  // Streaming: the fleet's TTFT summary counts the same way.
  p[1].fleet_view().set_others_latency(true, {0.01, 2});
  CHECK(s.score(p[1], true, clock.now()) == Approx(0.01));
}

TEST_CASE("latency: a deployment only other replicas measured scores their mean, not 0", "[strategy][latency][fleet]") {
  VirtualClock clock;
  Pool p;
  p.add();
  p.add();
  LatencyBased s;
  // This replica measured nothing; the fleet says d0 is slow.
  p[0].fleet_view().set_others_latency(false, {2.0, 5});
  CHECK(s.score(p[0], false, clock.now()) == Approx(2.0));
  CHECK(s.score(p[1], false, clock.now()) == 0);
  auto h = histogram(s, p, context(clock.now()), 100);
  CHECK(h == std::vector<int>{0, 100});
  // Empty again (fail open): both untried, shared.
  p[0].fleet_view().set_others_latency(false, {});
  h = histogram(s, p, context(clock.now()), 400);
  CHECK(h[0] > 100);
  CHECK(h[1] > 100);
  CHECK(s.own_window(p[0], false, clock.now()).samples == 0);
}
