#include "health/budget_tracker.hpp"

#include <catch2/catch.hpp>

#include "support/virtual_clock.hpp"

using namespace llmux;
using namespace llmux::health;
using llmux::testing::VirtualClock;

namespace {

std::unique_ptr<BudgetTracker> make(std::string json, const TimeSource& t) {
  RouterSettings s;
  s.provider_budget_config_json = std::move(json);
  auto r = BudgetTracker::create(s, t);
  if (!r.ok()) FAIL(r.error().message);
  return std::move(r).value();
}

std::string create_error(std::string json) {
  RouterSettings s;
  s.provider_budget_config_json = std::move(json);
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
  CHECK(create_error("{not json") .find("router_settings.provider_budget_config: not valid JSON") == 0);
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
