// Every candidate filter rule, on real DeploymentPool entries and an injected
// clock (no HTTP): cooldown and half-open, exclusions, budgets, context window,
// region, rpm/tpm headroom, order tiers, tags, max_parallel_requests, and the
// error an empty result turns into.
#include "router/candidate_filter.hpp"
#include "support/virtual_clock.hpp"

#include <catch2/catch.hpp>

#include "health/cooldown_tracker.hpp"

using namespace llmux;
using namespace llmux::router;
using llmux::testing::VirtualClock;

namespace {

const TimePoint kNow = TimePoint(std::chrono::hours(1000)) + std::chrono::seconds(7);

DeploymentConfig dep(std::string id) {
  DeploymentConfig c;
  c.model_name = "g";
  c.model = "openai/m";
  c.provider = "openai";
  c.provider_model = "m";
  c.api_base = "http://127.0.0.1:1/v1";
  c.id = std::move(id);
  return c;
}


struct Fixture {
  RouterSettings settings;
  std::shared_ptr<const DeploymentPool> pool;
  request::ParsedRequest request;
  std::vector<const PoolEntry*> candidates;
  FilterScratch scratch;
  FilterReport report;
  FilterInput in;

  Fixture(std::vector<DeploymentConfig> deps, std::string body = R"({"model":"g","messages":[{"role":"user","content":"hi"}]})") {
    auto parsed = request::parse_request(body, request::Endpoint::kChatCompletions);
    REQUIRE(parsed.ok());
    request = std::move(parsed).value();
    rebuild(std::move(deps));
  }
  void rebuild(std::vector<DeploymentConfig> deps) {
    auto p = DeploymentPool::build(std::move(deps), settings, pool.get());
    REQUIRE(p.ok());
    pool = std::move(p).value();
  }
  const PoolEntry& entry(const std::string& id) const { return *pool->by_id(id); }
  std::vector<std::string> run() {
    in.now = kNow;
    in.settings = &settings;
    in.request = &request;
    in.group_name = "g";
    const ModelGroup& group = *pool->group("g");
    candidates.assign(group.members.begin(), group.members.end());
    report.clear();
    filter_candidates(in, candidates, report);
    std::vector<std::string> ids;
    for (const PoolEntry* e : candidates) ids.push_back(e->deployment->id());
    if (!in.addressed_by_id) {
      // The router's path over the group's flat arrays: the same candidates,
      // in the same order, with the same report.
      FilterReport group_report;
      const Candidates c = filter_group(in, group, scratch, group_report);
      REQUIRE(c.entries.size() == candidates.size());
      REQUIRE(c.deployments.size() == candidates.size());
      for (size_t i = 0; i < candidates.size(); ++i) {
        CHECK(c.entries[i] == candidates[i]);
        CHECK(c.deployments[i] == candidates[i]->deployment.get());
      }
      // The strategies' columns: candidate for candidate, the deployment's
      // own slot in the group's table.
      REQUIRE(c.columns.table == group.column_table);
      if (c.columns.table != nullptr) {
        for (size_t i = 0; i < candidates.size(); ++i) {
          const Deployment& d = *candidates[i]->deployment;
          CHECK(DeploymentColumns::of(d) == c.columns.table);
          if (c.columns.page != nullptr) {
            CHECK(&c.columns.table->page(d.column_slot()) == c.columns.page);
            CHECK(DeploymentColumns::index(d.column_slot()) == c.columns.base + i);
          } else {
            CHECK(c.columns.slots[i] == d.column_slot());
          }
        }
      }
      CHECK(group_report.considered == report.considered);
      CHECK(group_report.cooling_down == report.cooling_down);
      CHECK(group_report.soonest_recovery_seconds == report.soonest_recovery_seconds);
      CHECK(group_report.failed_health_check == report.failed_health_check);
      CHECK(group_report.excluded == report.excluded);
      CHECK(group_report.over_budget == report.over_budget);
      CHECK(group_report.budget_reason == report.budget_reason);
      CHECK(group_report.context_too_small == report.context_too_small);
      CHECK(group_report.largest_context == report.largest_context);
      CHECK(group_report.wrong_region == report.wrong_region);
      CHECK(group_report.over_rate_limit == report.over_rate_limit);
      CHECK(group_report.not_in_tier == report.not_in_tier);
      CHECK(group_report.tag_mismatch == report.tag_mismatch);
      CHECK(group_report.at_max_parallel == report.at_max_parallel);
    }
    return ids;
  }
  Error error() const { return no_candidates_error(in, report); }
};

using Ids = std::vector<std::string>;

// 429s as the router records them, on a virtual clock at kNow: cool() trips a
// deployment's circuit for `seconds` through the real CooldownTracker.
struct RateLimits {
  VirtualClock time;
  health::CooldownTracker tracker;
  health::FailureEvent ev;

  RateLimits(const RouterSettings& settings, int group_size) : tracker(settings, time) {
    time.advance_to(kNow);
    ev.kind = ErrorKind::kRateLimit;
    ev.status = 429;
    ev.group_size = group_size;
  }
  // The cooldown started (seconds); none when the circuit did not trip.
  std::optional<double> cool(const PoolEntry& e, double seconds) {
    ev.deployment_cooldown_seconds = seconds;
    return tracker.record_failure(*e.health, ev);
  }
};

}  // namespace

TEST_CASE("cooldown: open circuits are dropped, half-open ones stay; the error says when the first recovers",
          "[filter]") {
  Fixture f({dep("a"), dep("b")});
  RateLimits limits(f.settings, 2);
  VirtualClock& time = limits.time;
  REQUIRE(limits.cool(f.entry("a"), 30));
  CHECK(f.run() == Ids{"b"});
  CHECK(f.report.cooling_down == 1);

  REQUIRE(limits.cool(f.entry("b"), 12));
  CHECK(f.run().empty());
  CHECK_FALSE(f.report.only_busy(0));
  Error e = f.error();
  CHECK(e.kind == ErrorKind::kNoDeploymentsAvailable);
  REQUIRE(e.retry_after_seconds);
  CHECK(*e.retry_after_seconds == Approx(12));
  CHECK(e.message.find("Try again in 12.0 seconds") != std::string::npos);
  CHECK(e.message.find("2 cooling down") != std::string::npos);

  // After b's cooldown it is half-open: a candidate (the router then claims its probe).
  time.advance_to(kNow + std::chrono::seconds(13));
  f.in.now = time.now();
  auto members = f.pool->group("g")->members;
  f.candidates.assign(members.begin(), members.end());
  f.report.clear();
  FilterInput in = f.in;
  in.now = time.now();
  in.settings = &f.settings;
  in.request = &f.request;
  filter_candidates(in, f.candidates, f.report);
  REQUIRE(f.candidates.size() == 1);
  CHECK(f.candidates[0]->deployment->id() == "b");
  CHECK(is_probe_candidate(*f.candidates[0], time.now()));
  REQUIRE(limits.tracker.begin_probe(*f.entry("b").health, time.now()));
  // With the probe in flight nobody else gets it.
  f.candidates.assign(members.begin(), members.end());
  f.report.clear();
  filter_candidates(in, f.candidates, f.report);
  CHECK(f.candidates.empty());
}

TEST_CASE("cooldown: the soonest recovery over many cooling members, and a probe in flight makes it 0", "[filter]") {
  // filter_group has a pass of its own when only circuits can remove members;
  // a context window on one member sends it through the full rules instead.
  const bool other_rules = GENERATE(false, true);
  std::vector<DeploymentConfig> deps = {dep("a"), dep("b"), dep("c"), dep("d"), dep("e")};
  if (other_rules) {
    deps[4].max_input_tokens = 100000;
  }
  Fixture f(deps);
  f.settings.enable_pre_call_checks = other_rules;
  RateLimits limits(f.settings, 5);
  VirtualClock& time = limits.time;
  health::CooldownTracker& tracker = limits.tracker;
  for (const auto& [id, seconds] : {std::pair{"a", 30.0}, {"c", 12.5}, {"d", 20.0}}) {
    REQUIRE(limits.cool(f.entry(id), seconds));
  }
  CHECK(f.run() == Ids{"b", "e"});
  CHECK(f.report.cooling_down == 3);
  CHECK(f.report.soonest_recovery_seconds == Approx(12.5));

  // c is half-open after its 12.5 s, then probing: excluded, recovering as
  // soon as the probe answers (0), whatever the others still have left.
  time.advance_to(kNow + std::chrono::seconds(13));
  REQUIRE(tracker.begin_probe(*f.entry("c").health, time.now()));
  f.in.now = time.now();
  FilterReport report;
  const Candidates c = filter_group(f.in, *f.pool->group("g"), f.scratch, report);
  REQUIRE(c.size() == 2);
  CHECK(c.entries[0]->deployment->id() == "b");
  CHECK(c.entries[1]->deployment->id() == "e");
  CHECK(report.cooling_down == 3);
  CHECK(report.soonest_recovery_seconds == 0);

  // The probe ends without a verdict: d (7 s left) is the soonest again.
  tracker.end_probe_without_verdict(*f.entry("c").health);
  REQUIRE(limits.cool(f.entry("b"), 20));  // 20 s from now
  report.clear();
  const Candidates c2 = filter_group(f.in, *f.pool->group("g"), f.scratch, report);
  REQUIRE(c2.size() == 2);  // c half-open with its probe free, and e
  CHECK(c2.entries[0]->deployment->id() == "c");
  CHECK(report.cooling_down == 3);
  CHECK(report.soonest_recovery_seconds == Approx(7));
}

TEST_CASE("a deployment addressed by id skips every filter but max_parallel", "[filter]") {
  auto d = dep("a");
  d.max_parallel_requests = 1;
  d.region_name = "us";
  Fixture f({d}, R"({"model":"a","messages":[],"allowed_model_region":"eu"})");
  f.in.addressed_by_id = true;
  CHECK(f.run() == Ids{"a"});
  f.entry("a").deployment->add_in_flight(1);
  CHECK(f.run().empty());
  CHECK(f.report.only_busy(0));
  f.entry("a").deployment->add_in_flight(-1);
}

TEST_CASE("exclusions and the avoided deployment", "[filter]") {
  Fixture f({dep("a"), dep("b"), dep("c")});
  std::vector<const PoolEntry*> excluded = {&f.entry("a")};
  f.in.excluded = excluded;
  f.in.avoid = &f.entry("b");
  CHECK(f.run() == Ids{"c"});
  CHECK(f.report.excluded == 1);
  // The avoided deployment stays when it is the only one left.
  excluded.push_back(&f.entry("c"));
  f.in.excluded = excluded;
  CHECK(f.run() == Ids{"b"});
  excluded.push_back(&f.entry("b"));
  f.in.excluded = excluded;
  CHECK(f.run().empty());
  Error e = f.error();
  CHECK(e.kind == ErrorKind::kTimeout);
}

TEST_CASE("context window: only with enable_pre_call_checks; unknown sizes are kept", "[filter]") {
  auto small = dep("small");
  small.max_input_tokens = 10;
  auto big = dep("big");
  big.max_input_tokens = 100000;
  auto unknown = dep("unknown");
  const std::string long_prompt(400, 'x');  // ~100 estimated tokens
  Fixture f({small, big, unknown}, R"({"model":"g","messages":[{"role":"user","content":")" + long_prompt + R"("}]})");
  CHECK(f.run().size() == 3);  // off by default (LiteLLM)
  f.settings.enable_pre_call_checks = true;
  CHECK(f.run() == Ids{"big", "unknown"});
  CHECK(f.report.context_too_small == 1);

  f.rebuild({small});
  CHECK(f.run().empty());
  Error e = f.error();
  CHECK(e.kind == ErrorKind::kContextWindowExceeded);
  CHECK(e.message.find("Context Window exceeded") != std::string::npos);
  CHECK(e.message.find("Max Input Tokens=10") != std::string::npos);
}

TEST_CASE("region: allowed_model_region must equal region_name", "[filter]") {
  auto eu = dep("eu");
  eu.region_name = "eu";
  auto us = dep("us");
  us.region_name = "us";
  Fixture f({eu, us, dep("none")}, R"({"model":"g","messages":[],"allowed_model_region":"eu"})");
  CHECK(f.run() == Ids{"eu"});
  f.rebuild({us});
  CHECK(f.run().empty());
  CHECK(f.error().message.find("region 'eu'") != std::string::npos);
}

TEST_CASE("rpm/tpm headroom: exactly rpm requests per minute, tpm counts the estimated prompt", "[filter]") {
  auto a = dep("a");
  a.rpm = 2;
  auto b = dep("b");
  b.tpm = 100;
  Fixture f({a, b});
  CHECK(f.run().size() == 2);  // not enforced unless asked
  f.in.enforce_rate_limits = true;
  CHECK(f.run() == Ids{"a", "b"});
  f.entry("a").deployment->count_request(kNow);
  CHECK(f.run() == Ids{"a", "b"});  // 1 of 2 used: one more fits
  f.entry("a").deployment->count_request(kNow);
  CHECK(f.run() == Ids{"b"});  // 2 of 2: full
  f.entry("b").deployment->count_tokens(kNow, 95);
  CHECK(f.run().empty());  // 95 + this prompt's estimate > 100
  Error e = f.error();
  CHECK(e.kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(e.message.find("rpm/tpm") != std::string::npos);
  REQUIRE(e.retry_after_seconds);
  CHECK(*e.retry_after_seconds == Approx(53));  // kNow is 7 s into its minute
  // The next minute starts afresh.
  f.in.now = kNow + std::chrono::seconds(60);
  f.candidates.assign(f.pool->group("g")->members.begin(), f.pool->group("g")->members.end());
  f.report.clear();
  FilterInput in = f.in;
  filter_candidates(in, f.candidates, f.report);
  CHECK(f.candidates.size() == 2);
}

TEST_CASE("order: the lowest tier among the candidates left; deployments without an order drop out", "[filter]") {
  auto a = dep("a");
  a.order = 1;
  auto b = dep("b");
  b.order = 2;
  auto c = dep("c");
  c.order = 2;
  Fixture f({a, b, c, dep("none")});
  CHECK(f.run() == Ids{"a"});
  std::vector<const PoolEntry*> excluded = {&f.entry("a")};
  f.in.excluded = excluded;
  CHECK(f.run() == Ids{"b", "c"});
}

TEST_CASE("tags: match any / all, the default tag, and the error", "[filter]") {
  auto paid = dep("paid");
  paid.tags = {"paid", "eu"};
  auto free = dep("free");
  free.tags = {"free"};
  auto fallback = dep("fallback");
  fallback.tags = {"default"};
  auto untagged = dep("untagged");
  Fixture f({paid, free, fallback, untagged}, R"({"model":"g","messages":[],"metadata":{"tags":["paid","us"]}})");
  CHECK(f.run().size() == 4);  // off unless enable_tag_filtering
  f.settings.enable_tag_filtering = true;
  CHECK(f.run() == Ids{"paid"});  // match any
  f.settings.tag_filtering_match_any = false;
  CHECK(f.run() == Ids{"fallback"});  // paid lacks "us": only the default-tagged one is left
  f.rebuild({paid, free});
  CHECK(f.run().empty());
  Error e = f.error();
  CHECK(e.message.find("Not allowed to access model due to tags configuration") != std::string::npos);
  CHECK(e.message.find("'paid'") != std::string::npos);

  Fixture g({paid, fallback, untagged});  // no tags in the request
  g.settings.enable_tag_filtering = true;
  CHECK(g.run() == Ids{"fallback"});
  Fixture h({paid, untagged});
  h.settings.enable_tag_filtering = true;
  CHECK(h.run().size() == 2);  // no default-tagged deployment: everything
}

TEST_CASE("max_parallel_requests: full deployments drop out; only-busy means wait", "[filter]") {
  auto a = dep("a");
  a.max_parallel_requests = 1;
  auto b = dep("b");
  b.rpm = 2;  // LiteLLM derives a cap from rpm when max_parallel_requests is unset
  Fixture f({a, b});
  CHECK(f.entry("a").max_parallel == 1);
  CHECK(f.entry("b").max_parallel == 2);
  f.entry("a").deployment->add_in_flight(1);
  CHECK(f.run() == Ids{"b"});
  f.entry("b").deployment->add_in_flight(2);
  CHECK(f.run().empty());
  CHECK(f.report.only_busy(0));
  f.entry("a").deployment->add_in_flight(-1);
  f.entry("b").deployment->add_in_flight(-2);
  CHECK(max_parallel_requests_for(dep("x"), f.settings) == -1);
  f.settings.default_max_parallel_requests = 7;
  CHECK(max_parallel_requests_for(dep("x"), f.settings) == 7);
  auto t = dep("t");
  t.tpm = 100000;
  CHECK(max_parallel_requests_for(t, f.settings) == 600);
}

TEST_CASE("mixed reasons are all counted in the message", "[filter]") {
  auto a = dep("a");
  a.rpm = 0;
  a.region_name = "eu";
  auto b = dep("b");
  b.region_name = "us";
  Fixture f({a, b});
  f.in.enforce_rate_limits = true;
  CHECK(f.run() == Ids{"b"});  // rpm 0 is a real limit
  Fixture g({a, b}, R"({"model":"g","messages":[],"allowed_model_region":"eu"})");
  g.in.enforce_rate_limits = true;
  CHECK(g.run().empty());
  Error e = g.error();
  CHECK(e.kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(e.message.find("1 in another region") != std::string::npos);
  CHECK(e.message.find("1 over rpm/tpm limit") != std::string::npos);
}

TEST_CASE("budgets: a deployment or provider over its budget drops out; all over is BudgetExceeded", "[filter]") {
  auto a = dep("a");
  a.max_budget = 1.0;
  a.budget_duration = "1d";
  auto other = dep("other");
  other.provider = "hosted_vllm";
  Fixture f({a, other});
  f.settings.provider_budget_config["hosted_vllm"] = ProviderBudgetConfig{0.5, "1h", 3600};
  VirtualClock time;
  time.advance_to(kNow);
  auto tracker = health::BudgetTracker::create(f.settings, time);
  REQUIRE(tracker.ok());
  f.in.budgets = tracker->get();
  CHECK(f.run() == Ids{"a", "other"});
  (*tracker)->record_spend(f.entry("a").deployment->config(), 1.0, kNow);
  CHECK(f.run() == Ids{"other"});
  CHECK(f.report.over_budget == 1);
  (*tracker)->record_spend(f.entry("other").deployment->config(), 0.7, kNow);
  CHECK(f.run().empty());
  Error e = f.error();
  CHECK(e.kind == ErrorKind::kBudgetExceeded);
  CHECK(e.message.find("crossed budget") != std::string::npos);
  CHECK(e.message.find("Exceeded budget for") != std::string::npos);
}

namespace {

HealthCheckResult check_of(std::string id, bool healthy, double checked_at, int status = 503) {
  HealthCheckResult r;
  r.deployment_id = std::move(id);
  r.model_group = "g";
  r.mode = "chat";
  r.healthy = healthy;
  r.checked_at = checked_at;
  if (!healthy) {
    r.status = status;
    r.error_type = status == 429 ? "RateLimitError" : "ServiceUnavailableError";
    r.reason = "down";
  }
  return r;
}

}  // namespace

TEST_CASE("failed health check: dropped only with enable_health_check_routing, counted, and until when",
          "[filter][health_check]") {
  Fixture f({dep("a"), dep("b"), dep("c")});
  const Duration staleness = std::chrono::seconds(60);
  REQUIRE(f.entry("a").check->record(check_of("a", false, 100), kNow - std::chrono::seconds(10), staleness, true));
  f.entry("a").check->set_next_check_at(kNow + std::chrono::seconds(20));
  CHECK(f.run() == Ids{"a", "b", "c"});  // routing off: the check says nothing
  f.settings.health_checks.routing = true;
  CHECK(f.run() == Ids{"b", "c"});
  CHECK(f.report.failed_health_check == 1);
  // Addressed by id: no filter applies.
  f.in.addressed_by_id = true;
  CHECK(f.run() == Ids{"a", "b", "c"});
  f.in.addressed_by_id = false;

  // b cooling down, c failing too: the message counts both reasons; the
  // soonest recovery is a's next check (20 s) or c's failure going stale.
  RateLimits limits(f.settings, 3);
  REQUIRE(limits.cool(f.entry("b"), 30));
  REQUIRE(f.entry("c").check->record(check_of("c", false, 100), kNow - std::chrono::seconds(50), staleness, true));
  CHECK(f.run().empty());
  CHECK(f.report.failed_health_check == 2);
  CHECK(f.report.cooling_down == 1);
  Error e = f.error();
  CHECK(e.kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(e.message.find("1 cooling down, 2 failed their latest health check") != std::string::npos);
  REQUIRE(e.retry_after_seconds);
  CHECK(*e.retry_after_seconds == Approx(10));  // c's failure is stale in 10 s

  // A passing check lifts the verdict at once.
  REQUIRE(f.entry("c").check->record(check_of("c", true, 101), kNow, staleness, true));
  CHECK(f.run() == Ids{"c"});
}

TEST_CASE("health check state: newer wins, a result that does not count keeps the verdict", "[filter][health_check]") {
  HealthCheckState s;
  const Duration staleness = std::chrono::seconds(60);
  CHECK_FALSE(s.failed_at(kNow));
  CHECK_FALSE(s.latest().has_value());
  REQUIRE(s.record(check_of("a", false, 100), kNow, staleness, true));
  CHECK(s.failed_at(kNow));
  CHECK(s.failed_at(kNow + std::chrono::seconds(59)));
  CHECK_FALSE(s.failed_at(kNow + std::chrono::seconds(60)));  // stale
  CHECK(s.failed_until() == kNow + staleness);
  // The same result again, or an older one: no change.
  CHECK_FALSE(s.record(check_of("a", false, 100), kNow, staleness, true));
  CHECK_FALSE(s.record(check_of("a", true, 99), kNow, staleness, true));
  CHECK(s.failed_at(kNow));
  // A newer one that does not count (an ignored 429): the report shows it, routing keeps the failure.
  REQUIRE(s.record(check_of("a", false, 101, 429), kNow, staleness, false));
  CHECK(s.latest()->result.status == 429);
  CHECK(s.failed_at(kNow));
  // An older result that counts still beats an even older verdict.
  REQUIRE(s.record(check_of("a", true, 100.5), kNow, staleness, true));
  CHECK(s.latest()->result.status == 429);  // the latest is still the newest
  CHECK_FALSE(s.failed_at(kNow));
  CHECK(is_transient_failure(check_of("a", false, 1, 429)));
  CHECK(is_transient_failure(check_of("a", false, 1, 408)));
  CHECK_FALSE(is_transient_failure(check_of("a", false, 1, 503)));
  CHECK_FALSE(is_transient_failure(check_of("a", true, 1)));
}

TEST_CASE("the group's trip counter follows its circuits; at 0 the filter hands out the group's own arrays",
          "[filter]") {
  Fixture f({dep("a"), dep("b"), dep("c")});
  VirtualClock time;
  time.advance_to(kNow);
  health::CooldownTracker tracker(f.settings, time);
  const ModelGroup* g = f.pool->group("g");
  REQUIRE(g->trips != nullptr);
  REQUIRE(g->deployments.size() == 3);
  REQUIRE(g->health.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(g->deployments[i] == g->members[i]->deployment.get());
    CHECK(g->health[i] == g->members[i]->health.get());
  }
  CHECK(g->trips->value() == 0);

  f.in.now = kNow;
  f.in.settings = &f.settings;
  f.in.request = &f.request;
  FilterReport report;
  Candidates c = filter_group(f.in, *g, f.scratch, report);
  CHECK(c.entries.data() == g->members.data());  // nobody removable: no copy
  CHECK(c.deployments.data() == g->deployments.data());
  CHECK(c.size() == 3);

  health::FailureEvent ev;
  ev.kind = ErrorKind::kRateLimit;
  ev.status = 429;
  ev.group_size = 3;
  ev.deployment_cooldown_seconds = 30;
  REQUIRE(tracker.record_failure(*f.entry("a").health, ev));
  CHECK(g->trips->value() == 1);
  // A failure while open changes nothing; another deployment counts.
  (void)tracker.record_failure(*f.entry("a").health, ev);
  CHECK(g->trips->value() == 1);
  REQUIRE(tracker.record_failure(*f.entry("b").health, ev));
  CHECK(g->trips->value() == 2);
  CHECK(f.run() == Ids{"c"});

  // A rebuilt snapshot keeps the counter with the health states it shares
  // (the old snapshot, and `g` with it, goes).
  const auto counter = g->trips;
  f.rebuild({dep("a"), dep("b"), dep("c"), dep("d")});
  const ModelGroup* g2 = f.pool->group("g");
  CHECK(g2->trips == counter);
  CHECK(g2->trips->value() == 2);
  CHECK(f.run() == Ids{"c", "d"});

  // Half-open then a successful probe: closed again.
  time.advance_to(kNow + std::chrono::seconds(31));
  REQUIRE(tracker.begin_probe(*f.entry("b").health, time.now()));
  tracker.record_success(*f.entry("b").health);
  CHECK(g2->trips->value() == 1);
  // Recovery announced by the fleet, and reset, close circuits too.
  REQUIRE(tracker.apply_remote_cooldown(*f.entry("c").health, kNow + std::chrono::seconds(600), "remote", 429, 569,
                                        "replica-2"));
  CHECK(g2->trips->value() == 2);
  REQUIRE(tracker.apply_remote_recovery(*f.entry("c").health));
  CHECK(g2->trips->value() == 1);
  health::CooldownTracker::reset(*f.entry("a").health);
  CHECK(g2->trips->value() == 0);

  // A tripped deployment that leaves the pool stops counting once its state goes.
  REQUIRE(tracker.record_failure(*f.entry("d").health, ev));
  CHECK(g2->trips->value() == 1);
  const auto trips = g2->trips;
  f.rebuild({dep("a"), dep("b"), dep("c")});
  CHECK(f.pool->group("g")->trips == trips);
  CHECK(trips->value() == 0);
  f.in.now = time.now();
  c = filter_group(f.in, *f.pool->group("g"), f.scratch, report);
  CHECK(c.entries.data() == f.pool->group("g")->members.data());
}

TEST_CASE("a group assembled outside the pool (members of several groups) reads every circuit", "[filter]") {
  Fixture f({dep("a"), dep("b")});
  RateLimits limits(f.settings, 2);
  REQUIRE(limits.cool(f.entry("a"), 30));
  ModelGroup adhoc;
  adhoc.name = "g";
  adhoc.members = f.pool->group("g")->members;
  adhoc.index_members(nullptr);
  CHECK(adhoc.trips == nullptr);
  f.in.now = kNow;
  f.in.settings = &f.settings;
  f.in.request = &f.request;
  FilterReport report;
  const Candidates c = filter_group(f.in, adhoc, f.scratch, report);
  REQUIRE(c.size() == 1);
  CHECK(c.entries[0]->deployment->id() == "b");
  CHECK(c.deployments[0] == c.entries[0]->deployment.get());
  CHECK(report.cooling_down == 1);
}
