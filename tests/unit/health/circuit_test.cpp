// The half-open circuit on top of LiteLLM's cooldown rules (DESIGN.md §4).
#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "health/cooldown_tracker.hpp"
#include "unit/health/health_test_util.hpp"

using namespace llmux;
using namespace llmux::health;
using llmux::testing::VirtualClock;
using llmux::testing::failure;

namespace {

FailureEvent server_error() { return failure(500, ErrorKind::kInternalServer); }
FailureEvent rate_limited() { return failure(429, ErrorKind::kRateLimit); }

// Trips `st` with a 429 (router default cooldown 5 s) and lets it expire.
void trip_and_expire(CooldownTracker& tracker, DeploymentHealthState& st, VirtualClock& t) {
  REQUIRE(tracker.record_failure(st, rate_limited()) == Approx(5.0));
  t.advance(5);
  REQUIRE(st.availability(t.now()) == Availability::kProbeAvailable);
}

}  // namespace

TEST_CASE("a deployment that never cooled down is available and closed", "[circuit]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  CHECK(st.availability(t.now()) == Availability::kAvailable);
  CHECK_FALSE(st.cooling_down(t.now()));
  CHECK_FALSE(tracker.begin_probe(st, t.now()));
  const auto snap = st.snapshot(t.now());
  CHECK(snap.state == CircuitState::kClosed);
  CHECK(snap.trips == 0);
  CHECK_FALSE(snap.probe_in_flight);
  tracker.record_success(st);
  CHECK(st.availability(t.now()) == Availability::kAvailable);
}

TEST_CASE("open -> half-open on expiry -> probe -> closed on success", "[circuit]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;

  REQUIRE(tracker.record_failure(st, rate_limited()) == Approx(5.0));
  const TimePoint until = st.cooldown_until();
  CHECK(st.availability(t.now()) == Availability::kCoolingDown);
  CHECK(st.cooling_down(t.now()));
  CHECK(st.snapshot(t.now()).state == CircuitState::kOpen);
  CHECK_FALSE(tracker.begin_probe(st, t.now()));  // not yet half-open

  t.advance(4.999);
  CHECK(st.availability(t.now()) == Availability::kCoolingDown);
  t.advance(0.001);
  // Expired: half-open, not cooling down, but not trusted either.
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
  CHECK_FALSE(st.cooling_down(t.now()));
  CHECK(st.snapshot(t.now()).state == CircuitState::kHalfOpen);
  // Stays half-open however long nobody probes.
  t.advance(3600);
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);

  REQUIRE(tracker.begin_probe(st, t.now()));
  CHECK(st.availability(t.now()) == Availability::kProbeInFlight);
  CHECK_FALSE(st.cooling_down(t.now()));
  CHECK_FALSE(tracker.begin_probe(st, t.now()));  // one probe at a time
  auto snap = st.snapshot(t.now());
  CHECK(snap.state == CircuitState::kHalfOpen);
  CHECK(snap.probe_in_flight);

  tracker.record_success(st);
  CHECK(st.availability(t.now()) == Availability::kAvailable);
  snap = st.snapshot(t.now());
  CHECK(snap.state == CircuitState::kClosed);
  CHECK_FALSE(snap.probe_in_flight);
  CHECK(snap.trips == 0);
  CHECK(snap.cooldown_until == until);  // the absolute expiry is kept for reporting
  CHECK_FALSE(tracker.begin_probe(st, t.now()));
}

TEST_CASE("a failed probe re-opens with exponential backoff, capped, and success resets it", "[circuit]") {
  RouterSettings s;  // base 5 s
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  trip_and_expire(tracker, st, t);

  const double expected[] = {10, 20, 40, 80, 160, 300, 300};
  int trips = 0;
  for (double seconds : expected) {
    REQUIRE(tracker.begin_probe(st, t.now()));
    const auto got = tracker.record_failure(st, server_error());
    REQUIRE(got.has_value());
    CHECK(*got == Approx(seconds));
    ++trips;
    const auto snap = st.snapshot(t.now());
    CHECK(snap.state == CircuitState::kOpen);
    CHECK(snap.trips == trips);
    CHECK(snap.cooldown_seconds == Approx(seconds));
    CHECK(snap.status == 500);
    CHECK_FALSE(snap.probe_in_flight);
    CHECK(st.availability(t.now()) == Availability::kCoolingDown);
    CHECK_FALSE(tracker.begin_probe(st, t.now()));
    t.advance(seconds - 0.01);
    CHECK(st.availability(t.now()) == Availability::kCoolingDown);
    t.advance(0.01);
    CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
  }

  REQUIRE(tracker.begin_probe(st, t.now()));
  tracker.record_success(st);
  CHECK(st.snapshot(t.now()).trips == 0);
  // The next trip starts over from the base length; its first failed probe doubles it once.
  trip_and_expire(tracker, st, t);
  REQUIRE(tracker.begin_probe(st, t.now()));
  CHECK(tracker.record_failure(st, server_error()) == Approx(10));
}

TEST_CASE("re-open length: base from the usual precedence; the cap never undercuts a configured base", "[circuit]") {
  CHECK(CooldownTracker::reopen_seconds(5, 1) == Approx(10));
  CHECK(CooldownTracker::reopen_seconds(5, 6) == Approx(300));
  CHECK(CooldownTracker::reopen_seconds(5, 1000) == Approx(300));
  CHECK(CooldownTracker::reopen_seconds(600, 3) == Approx(600));
  CHECK(CooldownTracker::reopen_seconds(200, 1) == Approx(300));

  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  trip_and_expire(tracker, st, t);
  REQUIRE(tracker.begin_probe(st, t.now()));
  FailureEvent e = rate_limited();
  e.retry_after_seconds = 30;  // Retry-After is the base
  CHECK(tracker.record_failure(st, e) == Approx(60));
  t.advance(60);
  REQUIRE(tracker.begin_probe(st, t.now()));
  e.deployment_cooldown_seconds = 1;  // deployment cooldown_time beats Retry-After
  CHECK(tracker.record_failure(st, e) == Approx(4));  // 1 × 2^2
}

TEST_CASE("every deployment-fault failure re-opens a probing deployment", "[circuit]") {
  struct Case {
    int status;
    ErrorKind kind;
    size_t group_size;
  };
  // Connection errors and single-group 429s never cool down by LiteLLM's
  // rules; as a probe's verdict they still mean "not recovered".
  const Case cases[] = {
      {500, ErrorKind::kInternalServer, 2},  {502, ErrorKind::kBadGateway, 2},
      {503, ErrorKind::kServiceUnavailable, 1}, {429, ErrorKind::kRateLimit, 1},
      {401, ErrorKind::kAuthentication, 2},  {404, ErrorKind::kNotFound, 2},
      {408, ErrorKind::kTimeout, 1},         {0, ErrorKind::kTimeout, 1},
      {500, ErrorKind::kConnectionError, 2}, {0, ErrorKind::kConnectionError, 1},
      {0, ErrorKind::kMidStream, 1},
  };
  for (const Case& c : cases) {
    RouterSettings s;
    VirtualClock t;
    CooldownTracker tracker(s, t);
    DeploymentHealthState st;
    trip_and_expire(tracker, st, t);
    REQUIRE(tracker.begin_probe(st, t.now()));
    INFO("status " << c.status << " kind " << error_kind_name(c.kind));
    CHECK(tracker.record_failure(st, failure(c.status, c.kind, c.group_size)) == Approx(10));
    CHECK(st.availability(t.now()) == Availability::kCoolingDown);
    CHECK(st.snapshot(t.now()).trips == 1);
  }
}

TEST_CASE("a caller error during a probe ends it without a verdict", "[circuit]") {
  struct Case {
    int status;
    ErrorKind kind;
  };
  const Case cases[] = {
      {400, ErrorKind::kBadRequest},
      {422, ErrorKind::kBadRequest},
      {403, ErrorKind::kPermissionDenied},
      {400, ErrorKind::kContextWindowExceeded},
      {400, ErrorKind::kContentPolicyViolation},
      {409, ErrorKind::kApiError},
  };
  for (const Case& c : cases) {
    RouterSettings s;
    VirtualClock t;
    CooldownTracker tracker(s, t);
    DeploymentHealthState st;
    trip_and_expire(tracker, st, t);
    REQUIRE(tracker.begin_probe(st, t.now()));
    INFO("status " << c.status << " kind " << error_kind_name(c.kind));
    CHECK_FALSE(tracker.record_failure(st, failure(c.status, c.kind)));
    CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
    const auto snap = st.snapshot(t.now());
    CHECK(snap.state == CircuitState::kHalfOpen);
    CHECK_FALSE(snap.probe_in_flight);
    CHECK(snap.trips == 0);
    // The next request may probe; its success closes the circuit.
    REQUIRE(tracker.begin_probe(st, t.now()));
    tracker.record_success(st);
    CHECK(st.availability(t.now()) == Availability::kAvailable);
  }
}

TEST_CASE("end_probe_without_verdict frees the slot and keeps the deployment half-open", "[circuit]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  trip_and_expire(tracker, st, t);
  REQUIRE(tracker.begin_probe(st, t.now()));
  tracker.end_probe_without_verdict(st);
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
  CHECK_FALSE(st.snapshot(t.now()).probe_in_flight);
  CHECK(tracker.begin_probe(st, t.now()));
  // Harmless when nothing is probing.
  tracker.end_probe_without_verdict(st);
  tracker.end_probe_without_verdict(st);
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
  DeploymentHealthState fresh;
  tracker.end_probe_without_verdict(fresh);
  CHECK(fresh.availability(t.now()) == Availability::kAvailable);
}

TEST_CASE("Retry-After 0 on a failed probe frees the slot without re-opening", "[circuit]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  trip_and_expire(tracker, st, t);
  REQUIRE(tracker.begin_probe(st, t.now()));
  FailureEvent e = rate_limited();
  e.retry_after_seconds = 0;
  CHECK_FALSE(tracker.record_failure(st, e));
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
  CHECK(st.snapshot(t.now()).trips == 0);
}

TEST_CASE("a success while open does not cut the cooldown short", "[circuit]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  REQUIRE(tracker.record_failure(st, rate_limited()));
  tracker.record_success(st);  // an attempt that started before the cooldown
  CHECK(st.availability(t.now()) == Availability::kCoolingDown);
  t.advance(5);
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
  // Half-open without a claimed probe (e.g. a call addressed by id): the
  // success is still an observed recovery.
  tracker.record_success(st);
  CHECK(st.availability(t.now()) == Availability::kAvailable);
}

TEST_CASE("a failure while open never shortens a longer re-opening", "[circuit]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  trip_and_expire(tracker, st, t);
  REQUIRE(tracker.begin_probe(st, t.now()));
  REQUIRE(tracker.record_failure(st, server_error()) == Approx(10));
  const TimePoint until = st.cooldown_until();
  // A late 429 of an older attempt asks for 5 s: the 10 s stand.
  CHECK_FALSE(tracker.record_failure(st, rate_limited()));
  CHECK(st.cooldown_until() == until);
  // A longer one extends it.
  FailureEvent longer = rate_limited();
  longer.retry_after_seconds = 20;
  CHECK(tracker.record_failure(st, longer) == Approx(20));
  CHECK(st.cooldown_until() > until);
  CHECK(st.snapshot(t.now()).trips == 1);  // not a probe: trips unchanged
}

TEST_CASE("closing the circuit forgets the failures that tripped it", "[circuit]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  for (int i = 0; i < 4; ++i) REQUIRE_FALSE(tracker.record_failure(st, server_error()));
  REQUIRE(tracker.record_failure(st, failure(401, ErrorKind::kAuthentication)));
  t.advance(5);
  REQUIRE(tracker.begin_probe(st, t.now()));
  tracker.record_success(st);
  // Within the same minute: with the old counters this would be 6/7 failures.
  CHECK_FALSE(tracker.record_failure(st, server_error()));
  CHECK(st.availability(t.now()) == Availability::kAvailable);
}

TEST_CASE("disable_cooldowns disables the circuit too", "[circuit]") {
  RouterSettings s;
  s.disable_cooldowns = true;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  for (int i = 0; i < 20; ++i) {
    CHECK_FALSE(tracker.record_failure(st, failure(401, ErrorKind::kAuthentication)));
    CHECK_FALSE(tracker.record_failure(st, rate_limited()));
    CHECK_FALSE(tracker.record_failure(st, server_error()));
  }
  CHECK(st.availability(t.now()) == Availability::kAvailable);
  CHECK_FALSE(tracker.begin_probe(st, t.now()));
  CHECK(st.snapshot(t.now()).state == CircuitState::kClosed);
}

TEST_CASE("wildcard deployments never open", "[circuit]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  FailureEvent e = failure(401, ErrorKind::kAuthentication);
  e.wildcard_deployment = true;
  for (int i = 0; i < 10; ++i) CHECK_FALSE(tracker.record_failure(st, e));
  CHECK(st.availability(t.now()) == Availability::kAvailable);
}

TEST_CASE("exactly one of many concurrent begin_probe calls wins", "[circuit]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  for (int round = 0; round < 20; ++round) {
    DeploymentHealthState st;
    trip_and_expire(tracker, st, t);
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    const TimePoint now = t.now();
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        for (int k = 0; k < 100; ++k) winners += tracker.begin_probe(st, now) ? 1 : 0;
      });
    }
    for (auto& th : threads) th.join();
    CHECK(winners.load() == 1);
    CHECK(st.availability(now) == Availability::kProbeInFlight);
  }
}

TEST_CASE("circuit state names", "[circuit]") {
  CHECK(circuit_state_name(CircuitState::kClosed) == "closed");
  CHECK(circuit_state_name(CircuitState::kOpen) == "open");
  CHECK(circuit_state_name(CircuitState::kHalfOpen) == "half-open");
}

// --- What other replicas of a fleet decided (shared state) ---

TEST_CASE("a remote cooldown opens the circuit until its expiry and never shortens a longer one",
          "[circuit][fleet]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  REQUIRE(tracker.apply_remote_cooldown(st, t.now() + std::chrono::seconds(30), "429 RateLimitError: slow down", 429,
                                        30, "host:1:abc"));
  CHECK(st.availability(t.now()) == Availability::kCoolingDown);
  auto snap = st.snapshot(t.now());
  CHECK(snap.source == "host:1:abc");
  CHECK(snap.status == 429);
  CHECK(snap.cooldown_seconds == 30);
  // A shorter one changes nothing.
  CHECK_FALSE(tracker.apply_remote_cooldown(st, t.now() + std::chrono::seconds(10), "x", 500, 10, "other"));
  CHECK(st.snapshot(t.now()).source == "host:1:abc");
  // A local failure that opens it again says "this replica".
  t.advance(31);
  REQUIRE(tracker.begin_probe(st, t.now()));
  REQUIRE(tracker.record_failure(st, llmux::testing::failure(429, ErrorKind::kRateLimit)).has_value());
  CHECK(st.snapshot(t.now()).source.empty());
}

TEST_CASE("a remote recovery closes an open or half-open circuit and starts the windows afresh", "[circuit][fleet]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  REQUIRE(tracker.record_failure(st, llmux::testing::failure(429, ErrorKind::kRateLimit)).has_value());
  CHECK(tracker.apply_remote_recovery(st));
  CHECK(st.availability(t.now()) == Availability::kAvailable);
  CHECK_FALSE(tracker.apply_remote_recovery(st));  // already closed
  // Half-open with our own probe in flight: closes too; the probe's late
  // success is harmless.
  REQUIRE(tracker.record_failure(st, llmux::testing::failure(429, ErrorKind::kRateLimit)).has_value());
  t.advance(6);
  REQUIRE(tracker.begin_probe(st, t.now()));
  CHECK(tracker.apply_remote_recovery(st));
  tracker.record_success(st);
  CHECK(st.availability(t.now()) == Availability::kAvailable);
}

TEST_CASE("a fleet hold keeps a half-open deployment from probing here until released", "[circuit][fleet]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  tracker.hold_for_fleet(st);  // closed: nothing to hold
  CHECK(st.availability(t.now()) == Availability::kAvailable);
  REQUIRE(tracker.record_failure(st, llmux::testing::failure(429, ErrorKind::kRateLimit)).has_value());
  tracker.hold_for_fleet(st);
  CHECK(st.availability(t.now()) == Availability::kCoolingDown);
  t.advance(6);
  CHECK(st.availability(t.now()) == Availability::kProbeInFlight);
  CHECK_FALSE(tracker.begin_probe(st, t.now()));
  // A failure while held is not a probe verdict: no re-opening with backoff.
  CHECK_FALSE(tracker.record_failure(st, llmux::testing::failure(500, ErrorKind::kInternalServer)).has_value());
  tracker.release_fleet_hold(st);
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
  CHECK(tracker.begin_probe(st, t.now()));
  // A new cooldown drops the hold along with the old state.
  REQUIRE(tracker.record_failure(st, llmux::testing::failure(500, ErrorKind::kInternalServer)).has_value());
  tracker.hold_for_fleet(st);
  REQUIRE(tracker.apply_remote_cooldown(st, t.now() + std::chrono::seconds(100), "503", 503, 100, "peer"));
  t.advance(101);
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
}
