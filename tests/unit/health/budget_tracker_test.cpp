#include "health/budget_tracker.hpp"

#include <catch2/catch.hpp>

#include "support/virtual_clock.hpp"

using namespace llmux;
using namespace llmux::health;
using llmux::testing::VirtualClock;

namespace {

// provider_budget_config is typed by the config loader (parsed once, at
// load); these tests write it as the JSON a config would carry.
Result<RouterConfig> load(const std::string& json) {
  return parse_config("router_settings:\n  provider_budget_config: " + json + "\n");
}

std::unique_ptr<BudgetTracker> make(std::string json, const TimeSource& t) {
  auto config = load(json);
  if (!config.ok()) FAIL(config.error().message);
  auto r = BudgetTracker::create(config->settings, t);
  if (!r.ok()) FAIL(r.error().message);
  return std::move(r).value();
}

// The error for a bad value, without the " (line 2)" the loader adds.
std::string create_error(std::string json) {
  auto config = load(json);
  REQUIRE_FALSE(config.ok());
  CHECK(config.error().kind == ErrorKind::kInvalidConfig);
  std::string message = config.error().message;
  const std::string line = " (line 2)";
  if (message.size() > line.size() && message.ends_with(line)) message.resize(message.size() - line.size());
  return message;
}

std::string create_error(const RouterSettings& s) {
  VirtualClock t;
  auto r = BudgetTracker::create(s, t);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidConfig);
  return r.error().message;
}

DeploymentConfig deployment(std::string provider, std::string id = "dep-1") {
  DeploymentConfig d;
  d.model_name = "gpt-4o";
  d.provider = std::move(provider);
  d.id = std::move(id);
  return d;
}

}  // namespace

TEST_CASE("provider budgets parse both spellings; no config means no budgets", "[budget]") {
  VirtualClock t;
  auto none = make("", t);
  CHECK_FALSE(none->enabled_for(deployment("openai")));
  CHECK(none->snapshot(t.now()).empty());
  CHECK(make("null", t)->snapshot(t.now()).empty());
  CHECK(make("{}", t)->snapshot(t.now()).empty());

  auto b = make(R"({"openai": {"budget_limit": 0.001, "time_period": "1d"},
                    "azure": {"max_budget": 100, "budget_duration": "1mo"},
                    "anthropic": {"budget_limit": "2.5", "time_period": "10m"},
                    "bedrock": null})",
                t);
  CHECK(b->enabled_for(deployment("openai")));
  CHECK(b->enabled_for(deployment("azure")));
  CHECK(b->enabled_for(deployment("anthropic")));
  CHECK_FALSE(b->enabled_for(deployment("bedrock")));
  CHECK_FALSE(b->enabled_for(deployment("gemini")));
  const auto snap = b->snapshot(t.now());
  REQUIRE(snap.size() == 3);
  CHECK(snap[0].name == "anthropic");
  CHECK(snap[0].limit == Approx(2.5));
  CHECK(snap[0].window_seconds == Approx(600));
  CHECK(snap[1].name == "azure");
  CHECK(snap[1].scope == "provider");
  CHECK(snap[1].limit == Approx(100));
  CHECK(snap[1].window_seconds == Approx(30 * 86400));  // "mo" = 30 days
  CHECK(snap[2].name == "openai");
  CHECK(snap[2].window_seconds == Approx(86400));
  CHECK(snap[2].spend == 0);
  CHECK(snap[2].window_remaining_seconds == 0);  // no window running yet
}

TEST_CASE("a provider entry without a limit is ignored", "[budget]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"time_period": "1d"}, "azure": {"budget_limit": null, "time_period": "1d"}})", t);
  CHECK_FALSE(b->enabled_for(deployment("openai")));
  CHECK_FALSE(b->enabled_for(deployment("azure")));
  CHECK_FALSE(b->over_budget(deployment("openai"), t.now()));
  CHECK(b->snapshot(t.now()).empty());
}

TEST_CASE("bad provider budget configs name the offending key", "[budget]") {
  // Broken flow text is the loader's YAML/JSON error (there is no JSON text
  // left for the tracker to parse).
  CHECK_FALSE(load("{not json").ok());
  CHECK(create_error("[1, 2]").find("router_settings.provider_budget_config: expected a map") == 0);
  CHECK(create_error(R"({"openai": 5})") ==
        "router_settings.provider_budget_config.openai: expected a map with budget_limit and time_period, got 5");
  CHECK(create_error(R"({"openai": {"budget_limit": "lots", "time_period": "1d"}})") ==
        "router_settings.provider_budget_config.openai.budget_limit: expected a number >= 0, got 'lots'");
  CHECK(create_error(R"({"openai": {"max_budget": -1}})") ==
        "router_settings.provider_budget_config.openai.max_budget: expected a number >= 0, got -1");
  CHECK(create_error(R"({"openai": {"budget_limit": 1, "time_period": "1y"}})") ==
        "router_settings.provider_budget_config.openai.time_period: '1y' is not a duration like 30s, 10m, 1h, 1d, "
        "1w or 1mo");
  CHECK(create_error(R"({"azure": {"budget_limit": 1, "budget_duration": 30}})") ==
        "router_settings.provider_budget_config.azure.budget_duration: expected a duration like 30s, 10m, 1h, 1d, "
        "1w or 1mo, got 30");
}

TEST_CASE("provider budgets built by hand are checked; the typed period is what counts", "[budget]") {
  RouterSettings s;
  s.provider_budget_config["openai"].budget_limit = -1;
  CHECK(create_error(s) == "router_settings.provider_budget_config.openai.budget_limit: expected a number >= 0, got -1");
  s.provider_budget_config["openai"].budget_limit = 2;
  s.provider_budget_config["openai"].time_period_seconds = 0;
  CHECK(create_error(s) == "router_settings.provider_budget_config.openai.time_period: expected a duration > 0, got 0 s");
  s.provider_budget_config["openai"].time_period_seconds = 60;
  s.provider_budget_config["openai"].time_period = "ignored: the seconds are typed";
  VirtualClock t;
  auto r = BudgetTracker::create(s, t);
  REQUIRE(r.ok());
  const auto snap = (*r)->snapshot(t.now());
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].limit == 2);
  CHECK(snap[0].window_seconds == Approx(60));
}

TEST_CASE("provider spend: threshold is spend >= limit, LiteLLM's text", "[budget]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 0.001, "time_period": "1h"}})", t);
  const DeploymentConfig d = deployment("openai");
  CHECK_FALSE(b->over_budget(d, t.now()));
  b->record_spend(d, 0.0006, t.now());
  CHECK_FALSE(b->over_budget(d, t.now()));
  b->record_spend(d, 0.0006, t.now());
  const auto reason = b->over_budget(d, t.now());
  REQUIRE(reason);
  CHECK(*reason == "Exceeded budget for provider openai: 0.0012 >= 0.001");
  // Another deployment of the same provider is over too; another provider is not.
  CHECK(b->over_budget(deployment("openai", "dep-2"), t.now()));
  CHECK_FALSE(b->over_budget(deployment("azure"), t.now()));

  // Exactly at the limit counts as over.
  auto exact = make(R"({"openai": {"budget_limit": 2, "time_period": "1h"}})", t);
  exact->record_spend(d, 1.5, t.now());
  CHECK_FALSE(exact->over_budget(d, t.now()));
  exact->record_spend(d, 0.5, t.now());
  CHECK(exact->over_budget(d, t.now()));

  // A limit of 0 excludes the provider from the start (spend 0 >= 0).
  auto zero = make(R"({"openai": {"budget_limit": 0, "time_period": "1h"}})", t);
  CHECK(zero->over_budget(d, t.now()) == std::optional<std::string>("Exceeded budget for provider openai: 0 >= 0"));
}

TEST_CASE("provider windows: the first spend starts it, a later spend after it restarts it", "[budget]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 10, "time_period": "60s"}})", t);
  const DeploymentConfig d = deployment("openai");
  t.advance(1000);  // nothing happens until the first spend
  b->record_spend(d, 6, t.now());
  t.advance(30);
  b->record_spend(d, 4, t.now());
  CHECK(b->over_budget(d, t.now()));
  auto snap = b->snapshot(t.now());
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].spend == Approx(10));
  CHECK(snap[0].window_remaining_seconds == Approx(30));
  t.advance(30);  // now - start == duration: still the same window
  CHECK(b->over_budget(d, t.now()));
  t.advance(0.5);  // past it: reads see 0
  CHECK_FALSE(b->over_budget(d, t.now()));
  snap = b->snapshot(t.now());
  CHECK(snap[0].spend == 0);
  CHECK(snap[0].window_remaining_seconds == 0);
  // The next spend resets the spend to its own cost and restarts the window.
  t.advance(100);
  b->record_spend(d, 3, t.now());
  snap = b->snapshot(t.now());
  CHECK(snap[0].spend == Approx(3));
  CHECK(snap[0].window_remaining_seconds == Approx(60));
  t.advance(59);
  b->record_spend(d, 7, t.now());
  CHECK(b->over_budget(d, t.now()));
}

TEST_CASE("a provider budget without a period never resets", "[budget]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 1}})", t);
  const DeploymentConfig d = deployment("openai");
  b->record_spend(d, 1, t.now());
  t.advance(365.0 * 86400);
  CHECK(b->over_budget(d, t.now()));
  const auto snap = b->snapshot(t.now());
  CHECK(snap[0].window_seconds == 0);
  CHECK(snap[0].spend == Approx(1));
}

TEST_CASE("deployment budgets: max_budget + budget_duration, keyed by id", "[budget]") {
  VirtualClock t;
  auto b = make("", t);
  DeploymentConfig d = deployment("openai", "abc123");
  d.model_name = "gpt-4o";
  d.max_budget = 5;
  d.budget_duration = "1d";
  CHECK(b->enabled_for(d));
  CHECK_FALSE(b->over_budget(d, t.now()));
  b->record_spend(d, 5.2, t.now());
  const auto reason = b->over_budget(d, t.now());
  REQUIRE(reason);
  CHECK(*reason == "Exceeded budget for deployment gpt-4o (abc123): 5.2 >= 5");
  // Same group, different deployment: its own budget.
  DeploymentConfig other = d;
  other.id = "def456";
  CHECK_FALSE(b->over_budget(other, t.now()));
  // No budget, no tracking.
  DeploymentConfig plain = deployment("openai", "plain");
  CHECK_FALSE(b->enabled_for(plain));
  b->record_spend(plain, 1000, t.now());
  CHECK_FALSE(b->over_budget(plain, t.now()));

  auto snap = b->snapshot(t.now());
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].scope == "deployment");
  CHECK(snap[0].name == "abc123");
  CHECK(snap[0].spend == Approx(5.2));
  CHECK(snap[0].limit == Approx(5));
  CHECK(snap[0].window_seconds == Approx(86400));
  CHECK(snap[0].window_remaining_seconds == Approx(86400));

  t.advance(86400.5);
  CHECK_FALSE(b->over_budget(d, t.now()));
  CHECK(b->snapshot(t.now())[0].spend == 0);
}

TEST_CASE("a deployment budget without budget_duration is a lifetime budget", "[budget]") {
  VirtualClock t;
  auto b = make("", t);
  DeploymentConfig d = deployment("openai");
  d.max_budget = 1;
  b->record_spend(d, 0.6, t.now());
  t.advance(100.0 * 86400);
  b->record_spend(d, 0.6, t.now());
  CHECK(b->over_budget(d, t.now()));
  CHECK(b->snapshot(t.now())[0].window_seconds == 0);
}

TEST_CASE("provider budget is checked before the deployment budget", "[budget]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 1, "time_period": "1h"}})", t);
  DeploymentConfig d = deployment("openai", "x");
  d.max_budget = 1;
  d.budget_duration = "1h";
  b->record_spend(d, 2, t.now());
  const auto reason = b->over_budget(d, t.now());
  REQUIRE(reason);
  CHECK(reason->rfind("Exceeded budget for provider openai:", 0) == 0);
  const auto snap = b->snapshot(t.now());
  REQUIRE(snap.size() == 2);
  CHECK(snap[0].scope == "provider");
  CHECK(snap[1].scope == "deployment");
  CHECK(snap[0].spend == Approx(2));
  CHECK(snap[1].spend == Approx(2));
}

TEST_CASE("negative and non-finite costs are ignored", "[budget]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 1, "time_period": "1h"}})", t);
  const DeploymentConfig d = deployment("openai");
  b->record_spend(d, -5, t.now());
  b->record_spend(d, std::numeric_limits<double>::quiet_NaN(), t.now());
  b->record_spend(d, std::numeric_limits<double>::infinity(), t.now());
  CHECK_FALSE(b->over_budget(d, t.now()));
  CHECK(b->snapshot(t.now())[0].spend == 0);
}

// ---- spend shared with a fleet (the router pushes to Redis and reports back) --------

namespace {

using SharedBudget = BudgetTracker::SharedBudget;

// What Redis would answer to a push: the push's amount on top of `others`.
void answer(BudgetTracker& b, const BudgetTracker::SpendPush& p, double total, TimePoint start) {
  b.on_fleet_total(p.budget, p.ticket, total, start);
  b.on_push_applied(p);
}

double provider_spend(BudgetTracker& b, TimePoint now) {
  for (const auto& e : b.snapshot(now)) {
    if (e.scope == "provider") return e.spend;
  }
  return -1;
}

}  // namespace

TEST_CASE("shared budgets: the fleet's total decides; each spend is pushed once", "[budget][fleet]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 1.0, "time_period": "1d"}})", t);
  b->share_with_fleet();
  REQUIRE(b->shared());
  const std::vector<SharedBudget> shared = b->provider_shared_budgets();
  REQUIRE(shared.size() == 1);
  CHECK(shared[0].name == "openai");
  CHECK(shared[0].duration == "1d");
  CHECK(shared[0].window_seconds == 86400);
  CHECK(shared[0].limit == Approx(1.0));

  const DeploymentConfig d = deployment("openai");
  b->record_spend(d, 0.3, t.now());
  CHECK(provider_spend(*b, t.now()) == Approx(0.3));  // not pushed yet: still counted
  auto pushes = b->take_pushes(t.now());
  REQUIRE(pushes.size() == 1);
  CHECK(pushes[0].budget.name == "openai");
  CHECK(pushes[0].amount == Approx(0.3));
  CHECK(b->take_pushes(t.now()).empty());             // taken once
  CHECK(provider_spend(*b, t.now()) == Approx(0.3));  // in flight: still counted

  // Redis answers with the fleet's total: 0.6 spent by other replicas + ours.
  answer(*b, pushes[0], 0.9, t.now());
  CHECK(provider_spend(*b, t.now()) == Approx(0.9));
  CHECK_FALSE(b->over_budget(d, t.now()));
  // A periodic read says the others spent more meanwhile.
  b->on_fleet_total(shared[0], b->next_ticket(), 1.0, t.now());
  REQUIRE(b->over_budget(d, t.now()));
  CHECK(*b->over_budget(d, t.now()) == "Exceeded budget for provider openai: 1 >= 1");

  // The window Redis runs ends a day after its start: nothing spent after it.
  t.advance(86400.5);
  CHECK_FALSE(b->over_budget(d, t.now()));
  CHECK(provider_spend(*b, t.now()) == Approx(0));
}

TEST_CASE("shared budgets: a read never hides spend Redis has not counted (no read-before-push race)",
          "[budget][fleet]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 1.0, "time_period": "1d"}})", t);
  b->share_with_fleet();
  const SharedBudget budget = b->provider_shared_budgets().at(0);
  const DeploymentConfig d = deployment("openai");
  b->on_fleet_total(budget, b->next_ticket(), 0.5, t.now());
  b->record_spend(d, 0.25, t.now());
  auto pushes = b->take_pushes(t.now());
  REQUIRE(pushes.size() == 1);
  // A read queued before the push is answered before it (one connection, in
  // order) and does not include it: the push still counts on top.
  b->on_fleet_total(budget, pushes[0].ticket - 1, 0.5, t.now());
  CHECK(provider_spend(*b, t.now()) == Approx(0.75));
  answer(*b, pushes[0], 0.75, t.now());
  CHECK(provider_spend(*b, t.now()) == Approx(0.75));
  // Older news than what the push told is ignored.
  b->on_fleet_total(budget, pushes[0].ticket - 1, 0.5, t.now());
  CHECK(provider_spend(*b, t.now()) == Approx(0.75));
}

TEST_CASE("shared budgets: spend Redis did not take is kept and pushed again, once", "[budget][fleet]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 1.0, "time_period": "1h"}})", t);
  b->share_with_fleet();
  const DeploymentConfig d = deployment("openai");
  b->record_spend(d, 0.1, t.now());
  auto first = b->take_pushes(t.now());
  REQUIRE(first.size() == 1);
  b->on_push_not_applied(first[0]);  // Redis unreachable
  CHECK(provider_spend(*b, t.now()) == Approx(0.1));
  t.advance(60);
  b->record_spend(d, 0.2, t.now());  // more while it is down
  CHECK(provider_spend(*b, t.now()) == Approx(0.3));
  auto again = b->take_pushes(t.now());
  REQUIRE(again.size() == 1);
  CHECK(again[0].amount == Approx(0.3));        // both, in one push
  CHECK(again[0].since == first[0].since);      // the oldest spend's time
  CHECK(again[0].ticket > first[0].ticket);
  answer(*b, again[0], 0.3, t.now());
  CHECK(b->take_pushes(t.now()).empty());
  CHECK(provider_spend(*b, t.now()) == Approx(0.3));
}

TEST_CASE("shared budgets: a push whose answer was lost counts until a later read, and is never re-sent",
          "[budget][fleet]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 1.0, "time_period": "1d"}})", t);
  b->share_with_fleet();
  const SharedBudget budget = b->provider_shared_budgets().at(0);
  const DeploymentConfig d = deployment("openai");
  b->on_fleet_total(budget, b->next_ticket(), 0.5, t.now());
  const uint64_t read_before = b->next_ticket();  // a read queued before the loss
  b->record_spend(d, 0.2, t.now());
  auto pushes = b->take_pushes(t.now());
  REQUIRE(pushes.size() == 1);
  b->on_push_unknown(pushes[0]);  // timed out: maybe applied
  CHECK(b->take_pushes(t.now()).empty());
  CHECK(provider_spend(*b, t.now()) == Approx(0.7));
  // A read queued before the loss does not settle it ...
  b->on_fleet_total(budget, read_before, 0.5, t.now());
  CHECK(provider_spend(*b, t.now()) == Approx(0.7));
  // ... one queued after it does: Redis's total has it if it was applied.
  b->on_fleet_total(budget, b->next_ticket(), 0.7, t.now());
  CHECK(provider_spend(*b, t.now()) == Approx(0.7));
  b->on_fleet_total(budget, b->next_ticket(), 0.7, t.now());
  CHECK(provider_spend(*b, t.now()) == Approx(0.7));
}

TEST_CASE("shared budgets: unpushed spend older than a window is dropped; windows come from Redis",
          "[budget][fleet]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 1.0, "time_period": "10m"}})", t);
  b->share_with_fleet();
  const SharedBudget budget = b->provider_shared_budgets().at(0);
  const DeploymentConfig d = deployment("openai");
  b->record_spend(d, 0.4, t.now());  // Redis down for good
  t.advance(601);
  CHECK(provider_spend(*b, t.now()) == Approx(0));
  CHECK(b->take_pushes(t.now()).empty());
  b->record_spend(d, 0.1, t.now());
  CHECK(provider_spend(*b, t.now()) == Approx(0.1));

  // A window another replica started 9 minutes ago ends in one.
  const TimePoint started = t.now() - std::chrono::minutes(9);
  b->on_fleet_total(budget, b->next_ticket(), 0.95, started);
  CHECK(b->over_budget(d, t.now()));  // 0.95 + 0.1 unpushed
  auto windows = b->fleet_windows(t.now());
  REQUIRE(windows.size() == 1);
  CHECK(windows[0].total == Approx(0.95));
  CHECK(windows[0].start == started);
  const auto snap = b->snapshot(t.now());
  CHECK(snap.at(0).window_remaining_seconds == Approx(60));
  t.advance(61);
  CHECK(b->fleet_windows(t.now()).empty());
  CHECK(provider_spend(*b, t.now()) == Approx(0.1));
  // No window running in Redis (it expired, or Redis lost it).
  b->on_fleet_total(budget, b->next_ticket(), 0, std::nullopt);
  CHECK(b->fleet_windows(t.now()).empty());
}

TEST_CASE("shared budgets: deployment budgets by id and duration; lifetime budgets stay local", "[budget][fleet]") {
  VirtualClock t;
  auto b = make("", t);
  b->share_with_fleet();
  DeploymentConfig d = deployment("openai", "dep-a");
  d.max_budget = 5;
  d.budget_duration = "1h";
  const std::optional<SharedBudget> shared = BudgetTracker::deployment_shared_budget(d);
  REQUIRE(shared.has_value());
  CHECK(shared->scope == SharedBudget::Scope::kDeployment);
  CHECK(shared->name == "dep-a");
  CHECK(shared->duration == "1h");
  CHECK(shared->window_seconds == 3600);
  // Known from a read before this replica spent anything.
  b->on_fleet_total(*shared, b->next_ticket(), 5.5, t.now());
  REQUIRE(b->over_budget(d, t.now()));
  CHECK(*b->over_budget(d, t.now()) == "Exceeded budget for deployment gpt-4o (dep-a): 5.5 >= 5");

  DeploymentConfig lifetime = deployment("openai", "dep-l");
  lifetime.max_budget = 1;
  CHECK_FALSE(BudgetTracker::deployment_shared_budget(lifetime));
  b->record_spend(lifetime, 1.5, t.now());
  CHECK(b->take_pushes(t.now()).empty());  // nothing to share
  CHECK(b->over_budget(lifetime, t.now()));

  auto p = make(R"({"openai": {"budget_limit": 1.0}})", t);  // no period: local
  p->share_with_fleet();
  CHECK(p->provider_shared_budgets().empty());
  p->record_spend(deployment("openai"), 0.5, t.now());
  CHECK(p->take_pushes(t.now()).empty());
  CHECK(provider_spend(*p, t.now()) == Approx(0.5));
}

TEST_CASE("budgets not shared: take_pushes gives nothing and spend is local", "[budget][fleet]") {
  VirtualClock t;
  auto b = make(R"({"openai": {"budget_limit": 1.0, "time_period": "1d"}})", t);
  b->record_spend(deployment("openai"), 0.5, t.now());
  CHECK(b->take_pushes(t.now()).empty());
  CHECK(b->fleet_windows(t.now()).empty());
  CHECK(provider_spend(*b, t.now()) == Approx(0.5));
}
