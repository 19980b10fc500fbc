// Active health-check keys: general_settings (the LiteLLM proxy's section),
// router_settings (Router arguments) and model_info, read and validated.
#include <catch2/catch.hpp>

#include <string>

#include "llmux/config.hpp"
#include "unit/config/config_test_util.hpp"

namespace llmux {
namespace {

using config_test::env_of;
using config_test::has_warning;
using config_test::parse_ok;

Error parse_error(const std::string& text) {
  auto result = parse_config(text, env_of({}));
  REQUIRE_FALSE(result.ok());
  return result.error();
}

TEST_CASE("health checks are off by default, with LiteLLM's defaults", "[config][health_check]") {
  const RouterConfig c = parse_ok("model_list: []\n");
  const HealthCheckSettings& hc = c.settings.health_checks;
  CHECK_FALSE(hc.background);
  CHECK(hc.interval_seconds == 300);
  CHECK_FALSE(hc.concurrency.has_value());
  CHECK_FALSE(hc.routing);
  CHECK_FALSE(hc.staleness_threshold_seconds.has_value());
  CHECK(hc.staleness_seconds() == 600);  // twice the interval
  CHECK_FALSE(hc.ignore_transient_errors);
  CHECK_FALSE(hc.skip_disabled_on_demand);
  CHECK_FALSE(hc.background_model_groups.has_value());
  CHECK_FALSE(hc.shared);
}

TEST_CASE("general_settings health-check keys are read; the proxy's others warn by name only",
          "[config][health_check]") {
  const RouterConfig c = parse_ok(R"(
general_settings:
  master_key: sk-master-secret-1234
  database_url: postgres://user:hunter2@db/litellm
  background_health_checks: true
  health_check_interval: 30
  health_check_concurrency: 4
  enable_health_check_routing: true
  health_check_staleness_threshold: 90
  health_check_ignore_transient_errors: true
  health_check_skip_disabled_background_models: true
  background_health_check_model_groups: [gpt-4o, embedder]
  use_shared_health_check: true
  health_check_details: false
  health_check_intervall: 10
)");
  const HealthCheckSettings& hc = c.settings.health_checks;
  CHECK(hc.background);
  CHECK(hc.interval_seconds == 30);
  CHECK(hc.concurrency == 4);
  CHECK(hc.routing);
  CHECK(hc.staleness_threshold_seconds == 90);
  CHECK(hc.staleness_seconds() == 90);
  CHECK(hc.ignore_transient_errors);
  CHECK(hc.skip_disabled_on_demand);
  REQUIRE(hc.background_model_groups.has_value());
  CHECK(*hc.background_model_groups == std::vector<std::string>{"gpt-4o", "embedder"});
  CHECK(hc.shared);
  CHECK(has_warning(c, "general_settings.master_key: not a routing setting, ignored"));
  CHECK(has_warning(c, "general_settings.database_url: not a routing setting, ignored"));
  CHECK(has_warning(c, "general_settings.health_check_details: accepted, no effect"));
  CHECK(has_warning(c, "general_settings.health_check_intervall: not a routing setting, ignored (did you mean "
                       "health_check_interval?)"));
  // No value of the proxy's section reaches a warning.
  for (const std::string& w : c.warnings) {
    CHECK(w.find("sk-master-secret-1234") == std::string::npos);
    CHECK(w.find("hunter2") == std::string::npos);
  }
}

TEST_CASE("the staleness threshold defaults to twice the configured interval", "[config][health_check]") {
  const RouterConfig c = parse_ok("general_settings: {background_health_checks: true, health_check_interval: 45}\n");
  CHECK(c.settings.health_checks.staleness_seconds() == 90);
}

TEST_CASE("router_settings holds the Router's health-check arguments and wins over general_settings",
          "[config][health_check]") {
  const RouterConfig c = parse_ok(R"(
general_settings:
  enable_health_check_routing: false
  health_check_staleness_threshold: 100
  health_check_interval: 60
router_settings:
  enable_health_check_routing: true
  health_check_staleness_threshold: 200
  health_check_ignore_transient_errors: true
  background_health_checks: true
)");
  const HealthCheckSettings& hc = c.settings.health_checks;
  CHECK(hc.routing);
  CHECK(hc.staleness_threshold_seconds == 200);
  CHECK(hc.ignore_transient_errors);
  CHECK(hc.background);
  CHECK(hc.interval_seconds == 60);  // only general_settings set it
  // Read, so no "not used by llmux" warning any more.
  CHECK_FALSE(has_warning(c, "router_settings.enable_health_check_routing"));
  CHECK_FALSE(has_warning(c, "router_settings.health_check_staleness_threshold"));
  CHECK_FALSE(has_warning(c, "router_settings.health_check_ignore_transient_errors"));
}

TEST_CASE("health-check values from the environment", "[config][health_check]") {
  const RouterConfig c = parse_ok(
      "general_settings:\n  health_check_interval: os.environ/HC_INTERVAL\n  master_key: os.environ/NOT_SET_AT_ALL\n",
      env_of({{"HC_INTERVAL", "15"}}));
  CHECK(c.settings.health_checks.interval_seconds == 15);
  // The proxy's own keys are not resolved: an unset variable there is no concern of ours.
  CHECK_FALSE(has_warning(c, "general_settings.master_key: environment variable"));
}

TEST_CASE("wrong health-check values are errors naming the key", "[config][health_check]") {
  CHECK(parse_error("general_settings: {health_check_interval: 0}\n").message.starts_with(
      "general_settings.health_check_interval: "));
  CHECK(parse_error("general_settings: {health_check_interval: soon}\n").message.starts_with(
      "general_settings.health_check_interval: "));
  CHECK(parse_error("general_settings: {background_health_checks: maybe}\n").message.starts_with(
      "general_settings.background_health_checks: "));
  CHECK(parse_error("router_settings: {health_check_staleness_threshold: -5}\n").message.starts_with(
      "router_settings.health_check_staleness_threshold: "));
  CHECK(parse_error("general_settings: {health_check_concurrency: 0}\n").message.starts_with(
      "general_settings.health_check_concurrency: "));
  CHECK(parse_error("general_settings: {background_health_check_model_groups: gpt-4o}\n").message.starts_with(
      "general_settings.background_health_check_model_groups: "));
  CHECK(parse_error("model_list:\n  - model_name: g\n    litellm_params: {model: openai/x}\n"
                    "    model_info: {health_check_timeout: 0}\n")
            .message.starts_with("model_list[0].model_info.health_check_timeout: "));
  CHECK(parse_error("model_list:\n  - model_name: g\n    litellm_params: {model: openai/x}\n"
                    "    model_info: {health_check_max_tokens: 0}\n")
            .message.starts_with("model_list[0].model_info.health_check_max_tokens: "));
  CHECK(parse_error("model_list:\n  - model_name: g\n    litellm_params: {model: openai/x}\n"
                    "    model_info: {disable_background_health_check: sometimes}\n")
            .message.starts_with("model_list[0].model_info.disable_background_health_check: "));
}

TEST_CASE("general_settings that is not a map is ignored with a warning", "[config][health_check]") {
  const RouterConfig c = parse_ok("general_settings: [1, 2]\n");
  CHECK(has_warning(c, "general_settings: expected a map, got a list; ignored"));
  CHECK_FALSE(c.settings.health_checks.background);
}

TEST_CASE("model_info health-check keys and mode are read per deployment", "[config][health_check]") {
  const RouterConfig c = parse_ok(R"(
model_list:
  - model_name: embedder
    litellm_params: {model: openai/text-embedding-3-small}
    model_info:
      mode: embedding
      health_check_timeout: 5
      disable_background_health_check: true
  - model_name: "openai/*"
    litellm_params: {model: "openai/*"}
    model_info:
      health_check_model: openai/gpt-4o-mini
      health_check_max_tokens: 5
  - model_name: plain
    litellm_params: {model: openai/gpt-4o}
)");
  REQUIRE(c.model_list.size() == 3);
  const DeploymentConfig& embedder = c.model_list[0];
  CHECK(embedder.mode == "embedding");
  CHECK(embedder.health_check.timeout_seconds == 5);
  CHECK(embedder.health_check.disable_background);
  const DeploymentConfig& wildcard = c.model_list[1];
  CHECK(wildcard.mode.empty());
  CHECK(wildcard.health_check.model == "openai/gpt-4o-mini");
  CHECK(wildcard.health_check.max_tokens == 5);
  const DeploymentConfig& plain = c.model_list[2];
  CHECK(plain.mode.empty());
  CHECK(plain.health_check.model.empty());
  CHECK_FALSE(plain.health_check.timeout_seconds.has_value());
  CHECK_FALSE(plain.health_check.max_tokens.has_value());
  CHECK_FALSE(plain.health_check.disable_background);
  CHECK(c.warnings.empty());
}

}  // namespace
}  // namespace llmux
