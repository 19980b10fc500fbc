// Every wrong value is an error naming its key path (DESIGN.md §3.1).
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "llmux/config.hpp"
#include "unit/config/config_test_util.hpp"

namespace llmux {
namespace {

using config_test::env_of;

struct BadConfig {
  const char* name;
  std::string text;
  // The message must start with this (the key path and, usually, the complaint).
  std::string prefix;
};

// A valid deployment list with `params` spliced into the first entry's
// litellm_params (one extra line, already indented).
std::string with_params(std::string_view params) {
  return std::string("model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/x\n") +
         std::string(params) + "\n";
}

std::string with_router_settings(std::string_view body) {
  return std::string("model_list: []\nrouter_settings:\n") + std::string(body) + "\n";
}

const BadConfig kBadConfigs[] = {
    // --- router_settings ------------------------------------------------------------
    // An unknown routing_strategy is checked by Router::create against the
    // strategy registry: tests/unit/router/router_names_test.cpp.
    {"strategy not a string", with_router_settings("  routing_strategy: [a]"),
     "router_settings.routing_strategy: expected a string, got a list"},
    {"num_retries word", with_router_settings("  num_retries: three"),
     "router_settings.num_retries: expected an integer >= 0, got 'three'"},
    {"num_retries negative", with_router_settings("  num_retries: -1"),
     "router_settings.num_retries: expected an integer >= 0, got -1"},
    {"num_retries fraction", with_router_settings("  num_retries: 2.5"), "router_settings.num_retries: "},
    {"timeout zero", with_router_settings("  timeout: 0"), "router_settings.timeout: expected a number > 0, got 0"},
    {"timeout negative", with_router_settings("  timeout: -5"), "router_settings.timeout: "},
    {"stream_timeout word", with_router_settings("  stream_timeout: soon"), "router_settings.stream_timeout: "},
    {"retry_after negative", with_router_settings("  retry_after: -2"), "router_settings.retry_after: "},
    {"cooldown negative", with_router_settings("  cooldown_time: -1"),
     "router_settings.cooldown_time: expected a number >= 0, got -1"},
    {"allowed_fails list", with_router_settings("  allowed_fails: [1]"), "router_settings.allowed_fails: "},
    {"max_fallbacks negative", with_router_settings("  max_fallbacks: -1"), "router_settings.max_fallbacks: "},
    {"bool as sentence", with_router_settings("  enable_pre_call_checks: \"yes please\""),
     "router_settings.enable_pre_call_checks: expected true or false, got 'yes please'"},
    {"bool as number", with_router_settings("  disable_cooldowns: 3"), "router_settings.disable_cooldowns: "},
    {"tag filtering bool", with_router_settings("  enable_tag_filtering: sometimes"),
     "router_settings.enable_tag_filtering: "},
    {"fallbacks as a map", with_router_settings("  fallbacks: {a: [b]}"),
     "router_settings.fallbacks: expected a list of {model_group: [fallback groups]} maps"},
    {"fallbacks item a string", with_router_settings("  fallbacks: [a]"),
     "router_settings.fallbacks[0]: expected a map with exactly one key"},
    {"fallbacks item two keys", with_router_settings("  fallbacks:\n    - a: [b]\n    - c: [d]\n      e: [f]"),
     "router_settings.fallbacks[1]: expected a map with exactly one key (model group -> list of fallback groups), "
     "got a map with 2 keys"},
    {"fallbacks target a number", with_router_settings("  fallbacks:\n    - a: 5"),
     "router_settings.fallbacks[0].a: expected a list of model group names, got 5"},
    {"fallbacks target a map", with_router_settings("  fallbacks:\n    - a:\n        - {x: 1}"),
     "router_settings.fallbacks[0].a[0]: expected a string"},
    {"context window fallbacks", with_router_settings("  context_window_fallbacks: [[a]]"),
     "router_settings.context_window_fallbacks[0]: "},
    {"content policy fallbacks", with_router_settings("  content_policy_fallbacks: [{a: 1}]"),
     "router_settings.content_policy_fallbacks[0].a: "},
    {"default_fallbacks string", with_router_settings("  default_fallbacks: b"),
     "router_settings.default_fallbacks: expected a list of model group names"},
    {"retry_policy not a map", with_router_settings("  retry_policy: 3"),
     "router_settings.retry_policy: expected a map, got 3"},
    {"retry_policy negative", with_router_settings("  retry_policy: {RateLimitErrorRetries: -1}"),
     "router_settings.retry_policy.RateLimitErrorRetries: expected an integer >= 0"},
    {"allowed_fails_policy word", with_router_settings("  allowed_fails_policy: {TimeoutErrorAllowedFails: x}"),
     "router_settings.allowed_fails_policy.TimeoutErrorAllowedFails: "},
    {"model_group_retry_policy", with_router_settings("  model_group_retry_policy:\n    g: {TimeoutErrorRetries: x}"),
     "router_settings.model_group_retry_policy.g.TimeoutErrorRetries: "},
    {"alias to a list", with_router_settings("  model_group_alias: {a: [x]}"),
     "router_settings.model_group_alias.a: expected a model group name or {model: group, hidden: bool}"},
    {"alias without model", with_router_settings("  model_group_alias: {a: {hidden: true}}"),
     "router_settings.model_group_alias.a.model: required"},
    {"alias hidden word", with_router_settings("  model_group_alias: {a: {model: g, hidden: maybe}}"),
     "router_settings.model_group_alias.a.hidden: "},
    {"strategy args a list", with_router_settings("  routing_strategy_args: [1]"),
     "router_settings.routing_strategy_args: expected a map"},
    {"budget entry a number", with_router_settings("  provider_budget_config: {openai: 5}"),
     "router_settings.provider_budget_config.openai: "},
    {"budget period",
     with_router_settings("  provider_budget_config: {openai: {budget_limit: 10, time_period: 1 day}}"),
     "router_settings.provider_budget_config.openai.time_period: '1 day' is not a duration"},
    {"budget limit", with_router_settings("  provider_budget_config: {openai: {budget_limit: -3, time_period: 1d}}"),
     "router_settings.provider_budget_config.openai.budget_limit: "},
    {"redis port", with_router_settings("  redis_port: 70000"),
     "router_settings.redis_port: expected an integer between 1 and 65535, got 70000"},
    {"redis host list", with_router_settings("  redis_host: [a]"), "router_settings.redis_host: "},
    {"default max parallel", with_router_settings("  default_max_parallel_requests: 0"),
     "router_settings.default_max_parallel_requests: "},
    {"connect timeout", with_router_settings("  connect_timeout: 0"), "router_settings.connect_timeout: "},
    {"first token timeout", with_router_settings("  first_token_timeout: -1"),
     "router_settings.first_token_timeout: "},
    {"stream idle timeout", with_router_settings("  stream_idle_timeout: abc"),
     "router_settings.stream_idle_timeout: "},
    {"router_settings a list", "router_settings: [1]\n", "router_settings: expected a map"},
    // --- litellm_settings -------------------------------------------------------------
    {"litellm num_retries", "litellm_settings:\n  num_retries: x\n", "litellm_settings.num_retries: "},
    {"litellm request_timeout", "litellm_settings:\n  request_timeout: 0\n", "litellm_settings.request_timeout: "},
    {"litellm fallbacks", "litellm_settings:\n  fallbacks: [x]\n", "litellm_settings.fallbacks[0]: "},
    {"litellm drop_params", "litellm_settings:\n  drop_params: perhaps\n", "litellm_settings.drop_params: "},
    {"litellm_settings a string", "litellm_settings: x\n", "litellm_settings: expected a map"},
    // --- model_list ------------------------------------------------------------------------
    {"model_list a map", "model_list: {a: 1}\n", "model_list: expected a list of deployments"},
    {"deployment a number", "model_list: [5]\n", "model_list[0]: expected a map with model_name and litellm_params"},
    {"missing model_name", "model_list:\n  - litellm_params: {model: openai/x}\n",
     "model_list[0].model_name: required"},
    {"empty model_name", "model_list:\n  - model_name: ''\n    litellm_params: {model: openai/x}\n",
     "model_list[0].model_name: must not be empty"},
    {"missing litellm_params", "model_list:\n  - model_name: g\n", "model_list[0].litellm_params: required"},
    {"misspelled litellm_params", "model_list:\n  - model_name: g\n    litelm_params: {model: x}\n",
     "model_list[0].litellm_params: required (found 'litelm_params': a typo?)"},
    {"litellm_params a list", "model_list:\n  - model_name: g\n    litellm_params: [model]\n",
     "model_list[0].litellm_params: expected a map"},
    {"missing model (third entry)",
     "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a}\n"
     "  - model_name: b\n    litellm_params: {model: openai/b}\n"
     "  - model_name: c\n    litellm_params: {api_base: http://x}\n",
     "model_list[2].litellm_params.model: required"},
    {"model a list", "model_list:\n  - model_name: g\n    litellm_params: {model: [x]}\n",
     "model_list[0].litellm_params.model: expected a string, got a list"},
    {"rpm negative", with_params("      rpm: -1"), "model_list[0].litellm_params.rpm: expected a number >= 0, got -1"},
    {"tpm word", with_params("      tpm: lots"), "model_list[0].litellm_params.tpm: "},
    {"weight negative", with_params("      weight: -0.5"), "model_list[0].litellm_params.weight: "},
    {"order fraction", with_params("      order: 1.5"), "model_list[0].litellm_params.order: "},
    {"max_parallel zero", with_params("      max_parallel_requests: 0"),
     "model_list[0].litellm_params.max_parallel_requests: "},
    {"deployment num_retries", with_params("      num_retries: -1"), "model_list[0].litellm_params.num_retries: "},
    {"deployment timeout", with_params("      timeout: 0"), "model_list[0].litellm_params.timeout: "},
    {"deployment request_timeout", with_params("      request_timeout: x"),
     "model_list[0].litellm_params.request_timeout: "},
    {"deployment stream_timeout", with_params("      stream_timeout: x"),
     "model_list[0].litellm_params.stream_timeout: "},
    {"deployment cooldown", with_params("      cooldown_time: -1"), "model_list[0].litellm_params.cooldown_time: "},
    {"tags a string", with_params("      tags: a"), "model_list[0].litellm_params.tags: expected a list of strings"},
    {"tag a list", with_params("      tags: [[a]]"), "model_list[0].litellm_params.tags[0]: expected a string"},
    {"mock_response a list", with_params("      mock_response: [x]"), "model_list[0].litellm_params.mock_response: "},
    {"input cost negative", with_params("      input_cost_per_token: -1"),
     "model_list[0].litellm_params.input_cost_per_token: "},
    {"output cost word", with_params("      output_cost_per_token: cheap"),
     "model_list[0].litellm_params.output_cost_per_token: "},
    {"max_budget word", with_params("      max_budget: x"), "model_list[0].litellm_params.max_budget: "},
    {"budget_duration", with_params("      budget_duration: 1 day"),
     "model_list[0].litellm_params.budget_duration: '1 day' is not a duration"},
    {"extra_headers a list", with_params("      extra_headers: [a]"),
     "model_list[0].litellm_params.extra_headers: expected a map"},
    {"extra header a list", with_params("      extra_headers: {X-A: [1]}"),
     "model_list[0].litellm_params.extra_headers.X-A: expected a string"},
    {"api_base a map", with_params("      api_base: {a: 1}"), "model_list[0].litellm_params.api_base: "},
    {"organization list item a map", with_params("      organization: [a, {b: 1}]"),
     "model_list[0].litellm_params.organization: expected a string"},
    {"max_input_tokens negative", with_params("    model_info: {max_input_tokens: -1}"),
     "model_list[0].model_info.max_input_tokens: "},
    {"model_info a number", with_params("    model_info: 5"), "model_list[0].model_info: expected a map"},
    {"model_info id float", with_params("    model_info: {id: 1.5}"),
     "model_list[0].model_info.id: expected a string or an integer"},
    {"model_info cost", with_params("    model_info: {input_cost_per_token: x}"),
     "model_list[0].model_info.input_cost_per_token: "},
    {"top-level rpm", with_params("    rpm: -5"), "model_list[0].rpm: "},
    {"top-level tpm", with_params("    tpm: x"), "model_list[0].tpm: "},
    // --- the document ---------------------------------------------------------------------
    {"empty", "", "config: empty document"},
    {"only a comment", "# nothing here\n", "config: empty document"},
    {"a list at the top", "- a\n- b\n", "config: expected a map with model_list"},
    {"malformed YAML", "model_list:\n  - model_name: [a, b\nrouter_settings: {}\n", "invalid YAML/JSON at line "},
    {"malformed JSON", "{\"model_list\": [ {\"model_name\": \"a\" ]}", "invalid YAML/JSON at line 1, column 37: "},
    {"JSON missing comma", "{\n  \"model_list\": []\n  \"router_settings\": {}\n}",
     "invalid YAML/JSON at line 3, column "},
};

TEST_CASE("every bad value is an error naming its path", "[config][errors]") {
  STATIC_REQUIRE(sizeof(kBadConfigs) / sizeof(kBadConfigs[0]) >= 25);
  for (const BadConfig& bad : kBadConfigs) {
    INFO(bad.name << "\n" << bad.text);
    auto result = parse_config(bad.text, env_of({}));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::kInvalidConfig);
    INFO("message: " << result.error().message);
    CHECK(result.error().message.substr(0, bad.prefix.size()) == bad.prefix);
  }
}

TEST_CASE("a NUL character is refused, not read as UTF-32 (found by fuzzing)", "[config][errors]") {
  using namespace std::string_view_literals;
  auto result = parse_config("model_list: []\nrouter_settings: {}\n\0"sv, env_of({}));
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message == "invalid YAML/JSON at line 3: NUL character");
  auto utf32 = parse_config("\0\0\0host\x07"sv, env_of({}));
  REQUIRE_FALSE(utf32.ok());
  CHECK(utf32.error().message == "invalid YAML/JSON at line 1: NUL character");
}

TEST_CASE("value errors carry the source line", "[config][errors]") {
  auto result = parse_config("model_list: []\nrouter_settings:\n  num_retries: many\n", env_of({}));
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message == "router_settings.num_retries: expected an integer >= 0, got 'many' (line 3)");
}

TEST_CASE("long values are shortened in messages", "[config][errors]") {
  const std::string long_value(300, 'x');
  auto result = parse_config("router_settings:\n  num_retries: " + long_value + "\n", env_of({}));
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message.rfind("router_settings.num_retries: expected an integer >= 0, got 'xxxx", 0) == 0);
  CHECK(result.error().message.find(std::string(80, 'x') + "...'") != std::string::npos);
  CHECK(result.error().message.size() < 200);
}

TEST_CASE("malformed YAML reports yaml-cpp's line and column", "[config][errors]") {
  auto result = parse_config("router_settings:\n  fallbacks: [a, b\n", env_of({}));
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kInvalidConfig);
  CHECK(result.error().message.rfind("invalid YAML/JSON at line 3, column 1: ", 0) == 0);
}

TEST_CASE("parse_deployment validates like a model_list entry", "[config][errors]") {
  SECTION("missing model") {
    auto r = parse_deployment("model_name: g\nlitellm_params: {api_base: http://x}\n", env_of({}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidConfig);
    CHECK(r.error().message.rfind("litellm_params.model: required", 0) == 0);
  }
  SECTION("not a map") {
    auto r = parse_deployment("[1, 2]", env_of({}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.rfind("deployment: expected a map with model_name and litellm_params", 0) == 0);
  }
  SECTION("empty") {
    auto r = parse_deployment("  \n", env_of({}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.rfind("deployment: empty document", 0) == 0);
  }
  SECTION("bad value") {
    auto r = parse_deployment(R"({"model_name": "g", "litellm_params": {"model": "openai/x", "rpm": "fast"}})",
                              env_of({}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.rfind("litellm_params.rpm: expected a number >= 0, got 'fast'", 0) == 0);
  }
  SECTION("malformed") {
    auto r = parse_deployment("model_name: [", env_of({}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.rfind("invalid YAML/JSON at line", 0) == 0);
  }
}

}  // namespace
}  // namespace llmux
