#include "health/cooldown_tracker.hpp"

#include <catch2/catch.hpp>

#include "unit/health/health_test_util.hpp"

using namespace llmux;
using namespace llmux::health;
using llmux::testing::VirtualClock;
using llmux::testing::failure;

TEST_CASE("429 cools down a deployment of a multi-deployment group for cooldown_time", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  auto secs = tracker.record_failure(st, failure(429, ErrorKind::kRateLimit));
  REQUIRE(secs.has_value());
  CHECK(*secs == Approx(5.0));
  CHECK(st.cooling_down(t.now()));
  t.advance(4.9);
  CHECK(st.cooling_down(t.now()));
  t.advance(0.2);
  CHECK_FALSE(st.cooling_down(t.now()));  // absolute expiry, checked on read
  CHECK(st.snapshot(t.now()).status == 429);
  CHECK(st.snapshot(t.now()).reason.find("provider said no") != std::string::npos);
}

TEST_CASE("429 on a single-deployment group does not cool down by default", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  CHECK_FALSE(tracker.record_failure(st, failure(429, ErrorKind::kRateLimit, 1)).has_value());
  CHECK_FALSE(st.cooling_down(t.now()));
}

TEST_CASE("401 and 404 cool down even a single deployment; 400/403/422 never", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  for (int status : {401, 404}) {
    DeploymentHealthState st;
    CHECK(tracker.record_failure(st, failure(status, ErrorKind::kAuthentication, 1)).has_value());
  }
  for (int status : {400, 403, 422}) {
    DeploymentHealthState st;
    for (int i = 0; i < 10; ++i) CHECK_FALSE(tracker.record_failure(st, failure(status, ErrorKind::kBadRequest)).has_value());
  }
}

TEST_CASE("connection errors never cool down", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  for (int i = 0; i < 10; ++i) {
    CHECK_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kConnectionError)).has_value());
  }
}

TEST_CASE("5xx cools down only above 50% failures with at least 5 calls in the minute", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  // 3 successes, then failures: 4th failure makes 4/7 > 50% with T >= 5.
  for (int i = 0; i < 3; ++i) tracker.record_success(st);
  CHECK_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer)));  // 1/4
  CHECK_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer)));  // 2/5
  CHECK_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer)));  // 3/6 = 50%, not >
  CHECK(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer)));        // 4/7
}

TEST_CASE("the failure-rate window is one minute", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  for (int i = 0; i < 4; ++i) CHECK_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer)));
  t.advance(61);
  // The old failures aged out: 1/1 with T < 5.
  CHECK_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer)));
}

TEST_CASE("single-deployment groups need 100% failures over 1000 calls for 5xx", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  for (int i = 0; i < 999; ++i) REQUIRE_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer, 1)));
  CHECK(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer, 1)));
}

TEST_CASE("cooldown length precedence: request > deployment > Retry-After > router", "[cooldown]") {
  RouterSettings s;
  s.cooldown_time_seconds = 7;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  FailureEvent e = failure(429, ErrorKind::kRateLimit);
  CHECK(tracker.cooldown_seconds_for(e) == Approx(7));
  e.retry_after_seconds = 12;
  CHECK(tracker.cooldown_seconds_for(e) == Approx(12));
  e.retry_after_seconds = 100000;  // capped
  CHECK(tracker.cooldown_seconds_for(e) == Approx(CooldownTracker::kMaxRetryAfterCooldown));
  e.deployment_cooldown_seconds = 3;
  CHECK(tracker.cooldown_seconds_for(e) == Approx(3));
  e.request_cooldown_seconds = 1;
  CHECK(tracker.cooldown_seconds_for(e) == Approx(1));
  // cooldown_time 0 on the deployment disables its cooldown.
  FailureEvent off = failure(429, ErrorKind::kRateLimit);
  off.deployment_cooldown_seconds = 0;
  DeploymentHealthState st;
  CHECK_FALSE(tracker.record_failure(st, off).has_value());
}

TEST_CASE("disable_cooldowns and wildcard deployments never cool down", "[cooldown]") {
  RouterSettings s;
  s.disable_cooldowns = true;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  CHECK_FALSE(tracker.record_failure(st, failure(401, ErrorKind::kAuthentication)));
  RouterSettings s2;
  CooldownTracker tracker2(s2, t);
  FailureEvent w = failure(401, ErrorKind::kAuthentication);
  w.wildcard_deployment = true;
  CHECK_FALSE(tracker2.record_failure(st, w));
}

TEST_CASE("legacy allowed_fails rule: cool down after more than allowed_fails failures", "[cooldown]") {
  RouterSettings s;
  s.allowed_fails = 2;
  s.allowed_fails_set = true;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  CHECK_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer, 1)));
  CHECK_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer, 1)));
  CHECK(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer, 1)));

  AllowedFailsPolicy policy;
  policy.rate_limit = 5;
  RouterSettings s2;
  s2.allowed_fails_policy = policy;
  CooldownTracker tracker2(s2, t);
  DeploymentHealthState st2;
  for (int i = 0; i < 5; ++i) CHECK_FALSE(tracker2.record_failure(st2, failure(429, ErrorKind::kRateLimit)));
  CHECK(tracker2.record_failure(st2, failure(429, ErrorKind::kRateLimit)));
}

// ---- LiteLLM rules not covered above (reference §5.3 / §5.4) ----------------------

TEST_CASE("429 cools down at once only in multi-deployment groups", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState multi;
  CHECK(tracker.record_failure(multi, failure(429, ErrorKind::kRateLimit, 3)) == Approx(5.0));
  DeploymentHealthState single;
  // Single: a stream of 429s still needs the 1000-call 100% rule.
  for (int i = 0; i < 20; ++i) CHECK_FALSE(tracker.record_failure(single, failure(429, ErrorKind::kRateLimit, 1)));
  CHECK(single.availability(t.now()) == Availability::kAvailable);
}

TEST_CASE("401 and 404 cool down on the first failure, even alone in their group", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState a;
  CHECK(tracker.record_failure(a, failure(401, ErrorKind::kAuthentication, 1)) == Approx(5.0));
  CHECK(a.cooling_down(t.now()));
  CHECK(a.snapshot(t.now()).status == 401);
  DeploymentHealthState n;
  CHECK(tracker.record_failure(n, failure(404, ErrorKind::kNotFound, 1)) == Approx(5.0));
  CHECK(n.cooling_down(t.now()));
}

TEST_CASE("408 and 5xx need the failure-rate rule", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  // T < 5: even 100% failures do not cool down.
  for (int i = 0; i < 4; ++i) CHECK_FALSE(tracker.record_failure(st, failure(408, ErrorKind::kTimeout)));
  // 5th call, 5/5 > 50%, T >= 5.
  CHECK(tracker.record_failure(st, failure(408, ErrorKind::kTimeout)));
}

TEST_CASE("the failure-rate rule does not apply to single-deployment groups", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  for (int i = 0; i < 3; ++i) tracker.record_success(st);
  for (int i = 0; i < 20; ++i) CHECK_FALSE(tracker.record_failure(st, failure(503, ErrorKind::kServiceUnavailable, 1)));
}

TEST_CASE("failures that never cool down still count toward the failure rate", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  for (int i = 0; i < 4; ++i) CHECK_FALSE(tracker.record_failure(st, failure(400, ErrorKind::kBadRequest)));
  // 5/5 failures in the minute: the first 5xx trips it.
  CHECK(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer)));
}

TEST_CASE("the 1000-call rule needs 100% failures", "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  tracker.record_success(st);
  for (int i = 0; i < 1500; ++i) REQUIRE_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer, 1)));
  // A new minute: the old success aged out; 1000 failures in a row trip it.
  t.advance(60);
  for (int i = 0; i < 999; ++i) REQUIRE_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer, 1)));
  CHECK(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer, 1)));
}

TEST_CASE("legacy allowed_fails_policy: per error class, 0 or unset falls back to allowed_fails", "[cooldown]") {
  AllowedFailsPolicy policy;
  policy.authentication = 1;
  policy.timeout = 2;
  policy.rate_limit = 0;  // falls back
  RouterSettings s;
  s.allowed_fails_policy = policy;  // allowed_fails stays 3
  VirtualClock t;
  CooldownTracker tracker(s, t);

  DeploymentHealthState auth;
  CHECK_FALSE(tracker.record_failure(auth, failure(401, ErrorKind::kAuthentication)));
  CHECK(tracker.record_failure(auth, failure(401, ErrorKind::kAuthentication)));

  DeploymentHealthState timeout;
  CHECK_FALSE(tracker.record_failure(timeout, failure(408, ErrorKind::kTimeout)));
  CHECK_FALSE(tracker.record_failure(timeout, failure(408, ErrorKind::kTimeout)));
  CHECK(tracker.record_failure(timeout, failure(408, ErrorKind::kTimeout)));

  for (auto [status, kind] : {std::pair{429, ErrorKind::kRateLimit}, std::pair{500, ErrorKind::kInternalServer}}) {
    DeploymentHealthState st;
    for (int i = 0; i < 3; ++i) CHECK_FALSE(tracker.record_failure(st, failure(status, kind, 1)));
    CHECK(tracker.record_failure(st, failure(status, kind, 1)));
  }

  // The legacy rule still never cools a 400 down.
  DeploymentHealthState bad;
  for (int i = 0; i < 10; ++i) CHECK_FALSE(tracker.record_failure(bad, failure(400, ErrorKind::kBadRequest)));
}

TEST_CASE("legacy allowed_fails counts within cooldown_time from the first failure", "[cooldown]") {
  RouterSettings s;
  s.allowed_fails = 1;
  s.allowed_fails_set = true;
  s.cooldown_time_seconds = 10;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  CHECK_FALSE(tracker.record_failure(st, failure(429, ErrorKind::kRateLimit)));
  t.advance(10);  // the counter's window (cooldown_time) has passed
  CHECK_FALSE(tracker.record_failure(st, failure(429, ErrorKind::kRateLimit)));
  t.advance(9);
  CHECK(tracker.record_failure(st, failure(429, ErrorKind::kRateLimit)) == Approx(10));
}

TEST_CASE("cooldown length: request cooldown_time beats a longer deployment one; Retry-After 0 means none",
          "[cooldown]") {
  RouterSettings s;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  FailureEvent e = failure(401, ErrorKind::kAuthentication);
  e.deployment_cooldown_seconds = 3;
  e.request_cooldown_seconds = 30;
  CHECK(tracker.cooldown_seconds_for(e) == Approx(30));
  // Negative values are "unset".
  e.request_cooldown_seconds = -1;
  e.deployment_cooldown_seconds = -1;
  e.retry_after_seconds = 9;
  CHECK(tracker.cooldown_seconds_for(e) == Approx(9));

  FailureEvent zero = failure(401, ErrorKind::kAuthentication);
  zero.retry_after_seconds = 0;
  CHECK(tracker.cooldown_seconds_for(zero) == 0);
  DeploymentHealthState st;
  CHECK_FALSE(tracker.record_failure(st, zero));
  CHECK(st.availability(t.now()) == Availability::kAvailable);

  // The chosen length is what the deployment actually sits out.
  FailureEvent ra = failure(401, ErrorKind::kAuthentication);
  ra.retry_after_seconds = 12;
  DeploymentHealthState st2;
  CHECK(tracker.record_failure(st2, ra) == Approx(12));
  t.advance(11.9);
  CHECK(st2.cooling_down(t.now()));
  t.advance(0.2);
  CHECK_FALSE(st2.cooling_down(t.now()));
}

// ---- LiteLLM's allowed-fails rule counted by the fleet (shared state) ---------------

TEST_CASE("fleet allowed-fails: only while the rule is in force, for failures that may cool, with the kind's "
          "allowance",
          "[cooldown][fleet]") {
  VirtualClock t;
  RouterSettings plain;  // allowed_fails 3 not set: the default rules apply, nothing to count fleet-wide
  CHECK_FALSE(CooldownTracker(plain, t).fleet_allowed_fails(failure(500, ErrorKind::kInternalServer)));

  RouterSettings s;
  s.allowed_fails = 2;
  s.allowed_fails_set = true;
  CooldownTracker tracker(s, t);
  CHECK(tracker.fleet_allowed_fails(failure(500, ErrorKind::kInternalServer)) == 2);
  CHECK(tracker.fleet_allowed_fails(failure(429, ErrorKind::kRateLimit, 1)) == 2);
  // Failures that never cool a deployment down are not counted (LiteLLM
  // checks _is_cooldown_required first).
  CHECK_FALSE(tracker.fleet_allowed_fails(failure(400, ErrorKind::kBadRequest)));
  CHECK_FALSE(tracker.fleet_allowed_fails(failure(0, ErrorKind::kConnectionError)));
  FailureEvent wildcard = failure(500, ErrorKind::kInternalServer);
  wildcard.wildcard_deployment = true;
  CHECK_FALSE(tracker.fleet_allowed_fails(wildcard));
  FailureEvent no_cooldown = failure(500, ErrorKind::kInternalServer);
  no_cooldown.request_cooldown_seconds = 0;
  CHECK_FALSE(tracker.fleet_allowed_fails(no_cooldown));

  RouterSettings off = s;
  off.disable_cooldowns = true;
  CHECK_FALSE(CooldownTracker(off, t).fleet_allowed_fails(failure(500, ErrorKind::kInternalServer)));

  AllowedFailsPolicy policy;
  policy.rate_limit = 5;
  RouterSettings with_policy;
  with_policy.allowed_fails_policy = policy;
  CooldownTracker by_kind(with_policy, t);
  CHECK(by_kind.fleet_allowed_fails(failure(429, ErrorKind::kRateLimit)) == 5);
  CHECK(by_kind.fleet_allowed_fails(failure(500, ErrorKind::kInternalServer)) == 3);  // falls back to allowed_fails
}

TEST_CASE("fleet allowed-fails: the fleet's verdict opens a closed circuit for the rule's cooldown, never a "
          "running one",
          "[cooldown][fleet]") {
  RouterSettings s;
  s.allowed_fails = 2;
  s.allowed_fails_set = true;
  s.cooldown_time_seconds = 20;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  // One failure here: the local count (1) allows it ...
  CHECK_FALSE(tracker.record_failure(st, failure(500, ErrorKind::kInternalServer)));
  CHECK_FALSE(st.cooling_down(t.now()));
  // ... but the fleet counted a third: cooled for cooldown_time.
  auto secs = tracker.apply_fleet_allowed_fails(st, failure(500, ErrorKind::kInternalServer));
  REQUIRE(secs.has_value());
  CHECK(*secs == Approx(20));
  CHECK(st.cooling_down(t.now()));
  CHECK(st.snapshot(t.now()).status == 500);
  CHECK(st.snapshot(t.now()).source.empty());  // this replica decided it (and announces it)
  // Open already: another verdict changes nothing, and neither does one
  // during the half-open phase that follows.
  const TimePoint until = st.cooldown_until();
  t.advance(10);
  CHECK_FALSE(tracker.apply_fleet_allowed_fails(st, failure(500, ErrorKind::kInternalServer)));
  CHECK(st.cooldown_until() == until);  // not extended
  t.advance(10.5);
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);
  CHECK_FALSE(tracker.apply_fleet_allowed_fails(st, failure(500, ErrorKind::kInternalServer)));
  CHECK(st.availability(t.now()) == Availability::kProbeAvailable);

  // The rule not in force: the fleet's count means nothing.
  RouterSettings plain;
  CooldownTracker default_rules(plain, t);
  DeploymentHealthState other;
  CHECK_FALSE(default_rules.apply_fleet_allowed_fails(other, failure(500, ErrorKind::kInternalServer)));
  CHECK_FALSE(other.cooling_down(t.now()));
}

TEST_CASE("fleet allowed-fails: the local count still trips on its own (Redis down)", "[cooldown][fleet]") {
  RouterSettings s;
  s.allowed_fails = 1;
  s.allowed_fails_set = true;
  s.cooldown_time_seconds = 10;
  VirtualClock t;
  CooldownTracker tracker(s, t);
  DeploymentHealthState st;
  CHECK_FALSE(tracker.record_failure(st, failure(503, ErrorKind::kServiceUnavailable)));
  t.advance(3);
  CHECK(tracker.record_failure(st, failure(503, ErrorKind::kServiceUnavailable)) == Approx(10));
}
