// router_settings / litellm_settings / model_list semantics: defaults,
// precedence, warnings, os.environ resolution, JSON input.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "llmux/config.hpp"
#include "unit/config/config_test_util.hpp"

namespace llmux {
namespace {

using config_test::env_of;
using config_test::has_warning;
using config_test::parse_ok;

TEST_CASE("defaults are LiteLLM's", "[config][settings]") {
  const RouterConfig c = parse_ok("model_list: []\n");
  const RouterSettings& s = c.settings;
  CHECK(c.model_list.empty());
  CHECK(c.warnings.empty());
  CHECK(s.routing_strategy == "simple-shuffle");
  CHECK(s.routing_strategy_args_json == "{}");
  CHECK(s.num_retries == 2);
  CHECK(s.timeout_seconds == 6000);
  CHECK_FALSE(s.stream_timeout_seconds.has_value());
  CHECK(s.retry_after_seconds == 0);
  CHECK(s.cooldown_time_seconds == 5);
  CHECK(s.allowed_fails == 3);
  CHECK_FALSE(s.allowed_fails_set);
  CHECK_FALSE(s.allowed_fails_policy.has_value());
  CHECK_FALSE(s.retry_policy.has_value());
  CHECK(s.model_group_retry_policy.empty());
  CHECK(s.max_fallbacks == 5);
  CHECK(s.fallbacks.empty());
  CHECK(s.context_window_fallbacks.empty());
  CHECK(s.content_policy_fallbacks.empty());
  CHECK_FALSE(s.disable_cooldowns);
  CHECK_FALSE(s.enable_pre_call_checks);
  CHECK_FALSE(s.enable_tag_filtering);
  CHECK(s.tag_filtering_match_any);
  CHECK_FALSE(s.default_max_parallel_requests.has_value());
  CHECK(s.model_group_alias.empty());
  CHECK_FALSE(s.drop_params);
  CHECK(s.provider_budget_config.empty());
  CHECK(s.redis_host.empty());
  CHECK(s.redis_url.empty());
  CHECK(s.redis_port == 0);
  CHECK(s.connect_timeout_seconds == 10);
  CHECK(s.first_token_timeout_seconds == 30);
  CHECK(s.total_timeout_seconds == 6000);
  CHECK(s.stream_idle_timeout_seconds == 60);
  // An empty JSON object and a config without model_list are fine too.
  CHECK(parse_ok("{}").model_list.empty());
  CHECK(parse_ok("router_settings: {num_retries: 1}\n").model_list.empty());
}

TEST_CASE("every router_settings key is read", "[config][settings]") {
  const RouterConfig c = parse_ok(R"(
router_settings:
  routing_strategy: power-of-two-choices
  routing_strategy_args: {ttl: 60, lowest_latency_buffer: 0.5, name: "a\"b", flag: true, none: null, list: [1, "x"]}
  num_retries: 4
  max_fallbacks: 2
  timeout: 12.5
  stream_timeout: 7
  retry_after: 1
  allowed_fails: 4
  allowed_fails_policy: {RateLimitErrorAllowedFails: 10, TimeoutErrorAllowedFails: 2}
  cooldown_time: 0
  disable_cooldowns: true
  retry_policy:
    BadRequestErrorRetries: 0
    AuthenticationErrorRetries: 1
    TimeoutErrorRetries: 2
    RateLimitErrorRetries: 3
    ContentPolicyViolationErrorRetries: 4
    InternalServerErrorRetries: 5
  model_group_retry_policy:
    gpt-4: {RateLimitErrorRetries: 9}
  fallbacks: [{"a": ["b", "c"]}]
  default_fallbacks: [d]
  context_window_fallbacks:
    - a: [big-a]
  content_policy_fallbacks:
    - a:
      - safe-a
  enable_pre_call_checks: true
  enable_tag_filtering: yes
  tag_filtering_match_any: false
  provider_budget_config:
    openai: {budget_limit: 100, time_period: 1d}
    azure: {max_budget: 0.5, budget_duration: 30m}
  model_group_alias:
    gpt4: gpt-4
    secret: {model: gpt-4, hidden: true}
  default_max_parallel_requests: 8
  drop_params: true
  redis_host: localhost
  redis_port: 6379
  redis_password: pw
  redis_url: redis://localhost:6379/0
  connect_timeout: 2
  first_token_timeout: 3.5
  stream_idle_timeout: 20
  total_timeout: 120
)");
  const RouterSettings& s = c.settings;
  CHECK(c.warnings.empty());
  CHECK(s.routing_strategy == "power-of-two-choices");
  CHECK(s.routing_strategy_args_json ==
        R"({"ttl":60,"lowest_latency_buffer":0.5,"name":"a\"b","flag":true,"none":null,"list":[1,"x"]})");
  CHECK(s.num_retries == 4);
  CHECK(s.max_fallbacks == 2);
  CHECK(s.timeout_seconds == 12.5);
  CHECK(s.stream_timeout_seconds == 7);
  CHECK(s.retry_after_seconds == 1);
  CHECK(s.allowed_fails == 4);
  CHECK(s.allowed_fails_set);
  REQUIRE(s.allowed_fails_policy.has_value());
  CHECK(s.allowed_fails_policy->rate_limit == 10);
  CHECK(s.allowed_fails_policy->timeout == 2);
  CHECK_FALSE(s.allowed_fails_policy->authentication.has_value());
  CHECK(s.cooldown_time_seconds == 5);  // `cooldown_time or DEFAULT`
  CHECK(s.disable_cooldowns);
  REQUIRE(s.retry_policy.has_value());
  CHECK(s.retry_policy->bad_request == 0);
  CHECK(s.retry_policy->authentication == 1);
  CHECK(s.retry_policy->timeout == 2);
  CHECK(s.retry_policy->rate_limit == 3);
  CHECK(s.retry_policy->content_policy_violation == 4);
  CHECK(s.retry_policy->internal_server == 5);
  REQUIRE(s.model_group_retry_policy.count("gpt-4") == 1);
  CHECK(s.model_group_retry_policy.at("gpt-4").rate_limit == 9);
  CHECK_FALSE(s.model_group_retry_policy.at("gpt-4").timeout.has_value());
  REQUIRE(s.fallbacks.size() == 2);
  CHECK(s.fallbacks[0].group == "a");
  CHECK(s.fallbacks[0].targets == std::vector<std::string>{"b", "c"});
  CHECK(s.fallbacks[1].group == "*");  // default_fallbacks, appended last
  CHECK(s.fallbacks[1].targets == std::vector<std::string>{"d"});
  REQUIRE(s.context_window_fallbacks.size() == 1);
  CHECK(s.context_window_fallbacks[0].targets == std::vector<std::string>{"big-a"});
  REQUIRE(s.content_policy_fallbacks.size() == 1);
  CHECK(s.content_policy_fallbacks[0].targets == std::vector<std::string>{"safe-a"});
  CHECK(s.enable_pre_call_checks);
  CHECK(s.enable_tag_filtering);
  CHECK_FALSE(s.tag_filtering_match_any);
  REQUIRE(s.provider_budget_config.size() == 2);
  CHECK(s.provider_budget_config.at("openai").budget_limit == 100);
  CHECK(s.provider_budget_config.at("openai").time_period == "1d");
  CHECK(s.provider_budget_config.at("openai").time_period_seconds == 86400);
  CHECK(s.provider_budget_config.at("azure").budget_limit == 0.5);  // max_budget
  CHECK(s.provider_budget_config.at("azure").time_period == "30m");  // budget_duration
  CHECK(s.provider_budget_config.at("azure").time_period_seconds == 1800);
  REQUIRE(s.model_group_alias.size() == 2);
  CHECK(s.model_group_alias.at("gpt4").target == "gpt-4");
  CHECK_FALSE(s.model_group_alias.at("gpt4").hidden);
  CHECK(s.model_group_alias.at("secret").target == "gpt-4");
  CHECK(s.model_group_alias.at("secret").hidden);
  CHECK(s.default_max_parallel_requests == 8);
  CHECK(s.drop_params);
  CHECK(s.redis_host == "localhost");
  CHECK(s.redis_port == 6379);
  CHECK(s.redis_password == "pw");
  CHECK(s.redis_url == "redis://localhost:6379/0");
  CHECK(s.connect_timeout_seconds == 2);
  CHECK(s.first_token_timeout_seconds == 3.5);
  CHECK(s.stream_idle_timeout_seconds == 20);
  CHECK(s.total_timeout_seconds == 120);
}

TEST_CASE("fallback list spellings are equivalent", "[config][settings]") {
  const char* spellings[] = {
      "router_settings:\n  fallbacks: [{\"groupA\": [\"groupB\", \"groupC\"]}]\n",
      "router_settings:\n  fallbacks:\n    - groupA: [groupB, groupC]\n",
      "router_settings:\n  fallbacks:\n    - groupA:\n        - groupB\n        - groupC\n",
      "router_settings:\n  fallbacks:\n  - groupA:\n    - groupB\n    - groupC\n",
      R"({"router_settings": {"fallbacks": [{"groupA": ["groupB", "groupC"]}]}})",
  };
  for (const char* text : spellings) {
    INFO(text);
    const RouterConfig c = parse_ok(text);
    REQUIRE(c.settings.fallbacks.size() == 1);
    CHECK(c.settings.fallbacks[0].group == "groupA");
    CHECK(c.settings.fallbacks[0].targets == std::vector<std::string>{"groupB", "groupC"});
  }
}

TEST_CASE("router_settings wins over litellm_settings", "[config][settings]") {
  const RouterConfig both = parse_ok(R"(
litellm_settings:
  num_retries: 4
  request_timeout: 99
  fallbacks: [{x: [y]}]
  default_fallbacks: [lit-default]
  cooldown_time: 11
  max_fallbacks: 7
  allowed_fails: 9
  drop_params: true
  retry_policy: {TimeoutErrorRetries: 1}
  context_window_fallbacks: [{x: [big-x]}]
  content_policy_fallbacks: [{x: [safe-x]}]
router_settings:
  num_retries: 1
  timeout: 5
  fallbacks: [{a: [b]}]
  cooldown_time: 2
)");
  const RouterSettings& s = both.settings;
  CHECK(s.num_retries == 1);
  CHECK(s.timeout_seconds == 5);
  CHECK(s.cooldown_time_seconds == 2);
  REQUIRE(s.fallbacks.size() == 2);
  CHECK(s.fallbacks[0].group == "a");
  CHECK(s.fallbacks[1].group == "*");
  CHECK(s.fallbacks[1].targets == std::vector<std::string>{"lit-default"});
  // Keys only litellm_settings sets still apply.
  CHECK(s.max_fallbacks == 7);
  CHECK(s.allowed_fails == 9);
  CHECK(s.allowed_fails_set);
  CHECK(s.drop_params);
  REQUIRE(s.retry_policy.has_value());
  CHECK(s.retry_policy->timeout == 1);
  REQUIRE(s.context_window_fallbacks.size() == 1);
  CHECK(s.context_window_fallbacks[0].targets == std::vector<std::string>{"big-x"});
  REQUIRE(s.content_policy_fallbacks.size() == 1);
  CHECK(both.warnings.empty());

  // The order of the sections in the file does not matter.
  const RouterConfig reversed = parse_ok("router_settings: {num_retries: 1}\nlitellm_settings: {num_retries: 4}\n");
  CHECK(reversed.settings.num_retries == 1);
  const RouterConfig only_litellm = parse_ok("litellm_settings: {num_retries: 4, request_timeout: 99}\n");
  CHECK(only_litellm.settings.num_retries == 4);
  CHECK(only_litellm.settings.timeout_seconds == 99);
}

TEST_CASE("allowed_fails switches the legacy rule only when it differs from 3", "[config][settings]") {
  CHECK_FALSE(parse_ok("router_settings: {allowed_fails: 3}\n").settings.allowed_fails_set);
  CHECK(parse_ok("router_settings: {allowed_fails: 1}\n").settings.allowed_fails_set);
  CHECK(parse_ok("router_settings: {allowed_fails: 0}\n").settings.allowed_fails_set);
  CHECK_FALSE(parse_ok("litellm_settings: {allowed_fails: 3}\n").settings.allowed_fails_set);
}

TEST_CASE("null values keep the defaults", "[config][settings]") {
  const RouterConfig c = parse_ok("router_settings:\n  num_retries:\n  timeout: ~\n  fallbacks: null\n");
  CHECK(c.settings.num_retries == 2);
  CHECK(c.settings.timeout_seconds == 6000);
  CHECK(c.settings.fallbacks.empty());
  CHECK(c.warnings.empty());
}

TEST_CASE("ignored and unknown keys warn once each, naming the key", "[config][warnings]") {
  const RouterConfig c = parse_ok(R"(
general_settings:
  master_key: sk-1234
guardrails: []
mcp_servers: {}
credential_list: []
model_lsit: []
model_list:
  - model_name: g
    litellm_params:
      model: openai/x
      api_bse: http://typo
      aws_region_name: us-east-1
      max_retries: 0
    description: a comment
router_settings:
  enable_pre_call_check: true
  routing_stratgy: least-busy
  cache_responses: true
  alerting_config: {webhook_url: x}
  totally_new_thing: 1
  retry_policy: {RateLimitErrorRetry: 1}
  model_group_alias: {a: {model: g, hiden: true}}
litellm_settings:
  set_verbose: true
  callbacks: [prometheus]
  num_retry: 3
)");
  const std::vector<std::string> expected = {
      "guardrails: ignored (not a routing setting)",
      "mcp_servers: ignored (not a routing setting)",
      "credential_list: ignored (not a routing setting)",
      "model_lsit: unknown key, ignored (did you mean model_list?)",
      "general_settings.master_key: not a routing setting, ignored",
      "litellm_settings.set_verbose: not a routing setting, ignored",
      "litellm_settings.callbacks: not a routing setting, ignored",
      "litellm_settings.num_retry: not a routing setting, ignored (did you mean num_retries?)",
      "router_settings.enable_pre_call_check: unknown key, ignored (did you mean enable_pre_call_checks?)",
      "router_settings.routing_stratgy: unknown key, ignored (did you mean routing_strategy?)",
      "router_settings.cache_responses: not used by llmux, ignored",
      "router_settings.alerting_config: not used by llmux, ignored",
      "router_settings.totally_new_thing: unknown key, ignored",
      "router_settings.retry_policy.RateLimitErrorRetry: unknown key, ignored (did you mean RateLimitErrorRetries?)",
      "router_settings.model_group_alias.a.hiden: unknown key, ignored (did you mean hidden?)",
      "model_list[0].description: unknown key, ignored",
      "model_list[0].litellm_params.api_bse: kept as a provider parameter (did you mean api_base?)",
  };
  CHECK(c.warnings == expected);
  // Unknown keys do not change behaviour.
  CHECK(c.settings.routing_strategy == "simple-shuffle");
  CHECK_FALSE(c.settings.enable_pre_call_checks);
  CHECK(c.settings.num_retries == 2);
  REQUIRE(c.model_list.size() == 1);
  CHECK(c.model_list[0].api_base.empty());
  CHECK(c.model_list[0].litellm_params_json ==
        R"({"model":"openai/x","api_bse":"http://typo","aws_region_name":"us-east-1","max_retries":0})");
}

TEST_CASE("duplicate keys and duplicate ids warn", "[config][warnings]") {
  const RouterConfig c = parse_ok(R"(
router_settings:
  num_retries: 1
  num_retries: 4
model_list:
  - model_name: g
    litellm_params: {model: openai/x}
  - model_name: g
    litellm_params: {model: openai/x}
)");
  CHECK(c.settings.num_retries == 4);  // the last one, as PyYAML
  CHECK(has_warning(c, "line 4: duplicate key 'num_retries', the last value is used"));
  REQUIRE(c.model_list.size() == 2);
  CHECK(c.model_list[0].id == c.model_list[1].id);
  CHECK(has_warning(c, "model_list[1]: same deployment id as model_list[0]"));
}

TEST_CASE("deployment fields", "[config][deployment]") {
  const RouterConfig c = parse_ok(R"(
model_list:
  - model_name: gpt-4o
    rpm: 50
    litellm_params:
      model: azure/gpt-4o-prod
      base_url: https://example.openai.azure.com
      api_key: sk-abc
      api_version: "2024-06-01"
      organization: org-1
      weight: 3
      rpm: 100
      tpm: 100000
      order: 1
      max_parallel_requests: 10
      num_retries: "1"
      request_timeout: 30
      stream_timeout: 15
      cooldown_time: 0
      region_name: eu
      tags: [paid, fast]
      mock_response: hello
      input_cost_per_token: 0.000005
      max_budget: 100
      budget_duration: 1mo
      extra_headers: {X-Team: ml, X-Retry: 3}
      custom_llm_provider: azure
    model_info:
      id: 42
      max_input_tokens: 128000
      input_cost_per_token: 1
      output_cost_per_token: 0.00001
      tpm: 5
      mode: chat
  - model_name: bare
    litellm_params:
      model: gpt-4o-mini
      timeout: 20
      request_timeout: 99
      api_base: https://a
      base_url: https://b
    model_info:
      rpm: 7
)");
  REQUIRE(c.model_list.size() == 2);
  const DeploymentConfig& d = c.model_list[0];
  CHECK(d.model_name == "gpt-4o");
  CHECK(d.model == "azure/gpt-4o-prod");
  CHECK(d.provider == "azure");
  CHECK(d.provider_model == "gpt-4o-prod");
  CHECK(d.id == "42");
  CHECK(d.api_base == "https://example.openai.azure.com");
  CHECK(d.api_key == "sk-abc");
  CHECK(d.api_version == "2024-06-01");
  CHECK(d.organization == "org-1");
  CHECK(d.weight == 3);
  CHECK(d.rpm == 50);       // top level wins
  CHECK(d.tpm == 100000);   // litellm_params before model_info
  CHECK(d.order == 1);
  CHECK(d.max_parallel_requests == 10);
  CHECK(d.num_retries == 1);
  CHECK(d.timeout_seconds == 30);
  CHECK(d.stream_timeout_seconds == 15);
  CHECK(d.cooldown_time_seconds == 0);  // 0 = never cool down this one
  CHECK(d.region_name == "eu");
  CHECK(d.tags == std::vector<std::string>{"paid", "fast"});
  CHECK(d.mock_response == "hello");
  CHECK(d.input_cost_per_token == Approx(0.000005));  // litellm_params before model_info
  CHECK(d.output_cost_per_token == Approx(0.00001));  // only model_info has it
  CHECK(d.max_budget == 100);
  CHECK(d.budget_duration == "1mo");
  CHECK(d.max_input_tokens == 128000);
  CHECK(d.extra_headers == std::vector<std::pair<std::string, std::string>>{{"X-Team", "ml"}, {"X-Retry", "3"}});
  CHECK(d.model_info_json ==
        R"({"id":42,"max_input_tokens":128000,"input_cost_per_token":1,"output_cost_per_token":1e-05,"tpm":5,)"
        R"("mode":"chat"})");

  const DeploymentConfig& bare = c.model_list[1];
  CHECK(bare.provider == "openai");  // no known prefix: LiteLLM treats it as OpenAI
  CHECK(bare.provider_model == "gpt-4o-mini");
  CHECK(bare.timeout_seconds == 20);  // timeout before request_timeout
  CHECK(bare.api_base == "https://a");
  CHECK(bare.rpm == 7);  // model_info as the last resort
  CHECK_FALSE(bare.tpm.has_value());
  CHECK_FALSE(bare.mock_response.has_value());
  CHECK(bare.model_info_json == R"({"rpm":7})");
  CHECK(bare.id.size() == 64);
}

TEST_CASE("os.environ references resolve through the injected lookup", "[config][env]") {
  const std::string text = R"(
model_list:
  - model_name: g
    litellm_params:
      model: openai/x
      api_key: os.environ/MY_KEY
      api_base: os.environ/MY_BASE
      rpm: os.environ/MY_RPM
      extra_headers: {Authorization: os.environ/MY_HEADER}
router_settings:
  redis_password: os.environ/REDIS_PW
  redis_port: os.environ/REDIS_PORT
  num_retries: os.environ/RETRIES
  enable_pre_call_checks: os.environ/PRECALL
)";
  const RouterConfig c = parse_ok(text, env_of({{"MY_KEY", "sk-secret"},
                                               {"MY_BASE", "http://127.0.0.1:9000/v1"},
                                               {"MY_RPM", "120"},
                                               {"MY_HEADER", "Bearer t"},
                                               {"REDIS_PW", "hunter2"},
                                               {"REDIS_PORT", "6380"},
                                               {"RETRIES", "7"},
                                               {"PRECALL", "true"}}));
  CHECK(c.warnings.empty());
  REQUIRE(c.model_list.size() == 1);
  const DeploymentConfig& d = c.model_list[0];
  CHECK(d.api_key == "sk-secret");
  CHECK(d.api_base == "http://127.0.0.1:9000/v1");
  CHECK(d.rpm == 120);
  CHECK(d.extra_headers == std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer t"}});
  // Secrets are resolved in the params kept for providers.
  CHECK(d.litellm_params_json.find("sk-secret") != std::string::npos);
  CHECK(d.litellm_params_json.find("os.environ") == std::string::npos);
  CHECK(c.settings.redis_password == "hunter2");
  CHECK(c.settings.redis_port == 6380);
  CHECK(c.settings.num_retries == 7);
  CHECK(c.settings.enable_pre_call_checks);

  SECTION("a missing variable is an empty value plus a warning naming path and variable") {
    const RouterConfig m = parse_ok(text, env_of({{"MY_RPM", "5"}}));
    CHECK(m.model_list[0].api_key.empty());
    CHECK(m.model_list[0].api_base.empty());
    CHECK(m.model_list[0].extra_headers.empty());
    CHECK(m.settings.num_retries == 2);  // None → default
    CHECK(m.settings.redis_password.empty());
    CHECK(has_warning(m, "model_list[0].litellm_params.api_key: environment variable MY_KEY is not set; using an "
                         "empty value"));
    CHECK(has_warning(m, "model_list[0].litellm_params.extra_headers.Authorization: environment variable MY_HEADER"));
    CHECK(has_warning(m, "router_settings.redis_password: environment variable REDIS_PW is not set"));
    CHECK(m.model_list[0].litellm_params_json.find(R"("api_key":null)") != std::string::npos);
  }
  SECTION("a resolved value of the wrong type is an error naming the path") {
    auto r = parse_config(text, env_of({{"MY_RPM", "lots"}}));
    REQUIRE_FALSE(r.ok());
    // The value itself is not quoted: it may be a secret.
    CHECK(r.error().message.rfind("model_list[0].litellm_params.rpm: expected a number >= 0, got the value of "
                                  "environment variable MY_RPM",
                                  0) == 0);
    CHECK(r.error().message.find("lots") == std::string::npos);
  }
}

TEST_CASE("os.environ falls back to the process environment", "[config][env]") {
  ::setenv("LLMUX_CONFIG_TEST_KEY", "from-process", 1);
  auto r = parse_config("model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/x\n"
                        "      api_key: os.environ/LLMUX_CONFIG_TEST_KEY\n");
  ::unsetenv("LLMUX_CONFIG_TEST_KEY");
  REQUIRE(r.ok());
  CHECK(r->model_list[0].api_key == "from-process");
}

TEST_CASE("environment_variables in the config feed os.environ references", "[config][env]") {
  const RouterConfig c = parse_ok(R"(
environment_variables:
  GPU_BASE: http://gpu:8000/v1
model_list:
  - model_name: g
    litellm_params:
      model: hosted_vllm/qwen
      api_base: os.environ/GPU_BASE
)");
  CHECK(c.warnings.empty());
  CHECK(c.model_list[0].api_base == "http://gpu:8000/v1");
  CHECK(c.model_list[0].provider == "hosted_vllm");
}

TEST_CASE("a JSON config equals the same YAML config", "[config][json]") {
  const std::string yaml = R"(
model_list:
  - model_name: qwen3-14b
    litellm_params:
      model: openai/qwen3-14b
      api_base: https://a.example.com/v1
      api_key: os.environ/QWEN_API_KEY
      rpm: 100
      weight: 0.5
      tags: [a, b]
    model_info: {max_input_tokens: 32768}
  - model_name: qwen3-7b
    litellm_params:
      model: openai/qwen3-7b
      input_cost_per_token: 1.5e-07
router_settings:
  routing_strategy: least-busy
  fallbacks:
    - qwen3-14b: [qwen3-7b]
  num_retries: 1
  timeout: 30
  enable_pre_call_checks: true
  routing_strategy_args: {ttl: 10}
litellm_settings:
  drop_params: true
)";
  const std::string json = R"({
	"model_list": [
		{"model_name": "qwen3-14b",
		 "litellm_params": {"model": "openai/qwen3-14b", "api_base": "https://a.example.com/v1",
		                    "api_key": "os.environ/QWEN_API_KEY", "rpm": 100, "weight": 0.5, "tags": ["a", "b"]},
		 "model_info": {"max_input_tokens": 32768}},
		{"model_name": "qwen3-7b", "litellm_params": {"model": "openai/qwen3-7b", "input_cost_per_token": 1.5e-07}}
	],
	"router_settings": {"routing_strategy": "least-busy", "fallbacks": [{"qwen3-14b": ["qwen3-7b"]}],
	                    "num_retries": 1, "timeout": 30, "enable_pre_call_checks": true,
	                    "routing_strategy_args": {"ttl": 10}},
	"litellm_settings": {"drop_params": true}
})";
  const EnvLookup env = env_of({{"QWEN_API_KEY", "sk-qwen"}});
  const RouterConfig a = parse_ok(yaml, env);
  const RouterConfig b = parse_ok(json, env);
  REQUIRE(a.model_list.size() == b.model_list.size());
  for (size_t i = 0; i < a.model_list.size(); ++i) {
    const DeploymentConfig& x = a.model_list[i];
    const DeploymentConfig& y = b.model_list[i];
    CHECK(x.model_name == y.model_name);
    CHECK(x.provider == y.provider);
    CHECK(x.provider_model == y.provider_model);
    CHECK(x.id == y.id);
    CHECK(x.api_base == y.api_base);
    CHECK(x.api_key == y.api_key);
    CHECK(x.rpm == y.rpm);
    CHECK(x.weight == y.weight);
    CHECK(x.tags == y.tags);
    CHECK(x.input_cost_per_token == y.input_cost_per_token);
    CHECK(x.max_input_tokens == y.max_input_tokens);
    CHECK(x.litellm_params_json == y.litellm_params_json);
    CHECK(x.model_info_json == y.model_info_json);
  }
  CHECK(a.model_list[0].api_key == "sk-qwen");
  CHECK(a.model_list[0].max_input_tokens == 32768);
  CHECK(a.settings.routing_strategy == b.settings.routing_strategy);
  CHECK(a.settings.num_retries == b.settings.num_retries);
  CHECK(a.settings.timeout_seconds == b.settings.timeout_seconds);
  CHECK(a.settings.enable_pre_call_checks == b.settings.enable_pre_call_checks);
  CHECK(a.settings.drop_params == b.settings.drop_params);
  CHECK(a.settings.routing_strategy_args_json == b.settings.routing_strategy_args_json);
  REQUIRE(b.settings.fallbacks.size() == 1);
  CHECK(b.settings.fallbacks[0].group == "qwen3-14b");
  CHECK(b.settings.fallbacks[0].targets == a.settings.fallbacks[0].targets);
  CHECK(a.warnings == b.warnings);
}

TEST_CASE("JSON the YAML parser rejects still loads (surrogate-pair escapes)", "[config][json]") {
  const RouterConfig c =
      parse_ok(R"({"model_list": [{"model_name": "smile \ud83d\ude00", "litellm_params": {"model": "openai/x"}}]})");
  REQUIRE(c.model_list.size() == 1);
  CHECK(c.model_list[0].model_name == "smile \xF0\x9F\x98\x80");
}

TEST_CASE("YAML anchors and merge keys", "[config][yaml]") {
  const RouterConfig c = parse_ok(R"(
x-defaults: &defaults
  api_key: sk-shared
  rpm: 10
model_list:
  - model_name: a
    litellm_params:
      <<: *defaults
      model: openai/a
      rpm: 20
  - model_name: b
    litellm_params:
      model: openai/b
      <<: *defaults
)");
  REQUIRE(c.model_list.size() == 2);
  CHECK(c.model_list[0].api_key == "sk-shared");
  CHECK(c.model_list[0].rpm == 20);  // explicit keys win over merged ones
  CHECK(c.model_list[1].api_key == "sk-shared");
  CHECK(c.model_list[1].rpm == 10);
  // PyYAML order: merged keys first, explicit values replace them in place.
  CHECK(c.model_list[0].litellm_params_json == R"({"api_key":"sk-shared","rpm":20,"model":"openai/a"})");
  CHECK(has_warning(c, "x-defaults: ignored (not a routing setting)"));
}

TEST_CASE("parse_deployment reads one entry, YAML or JSON", "[config][deployment]") {
  const EnvLookup env = env_of({{"K", "sk-k"}});
  auto y = parse_deployment("model_name: g\nlitellm_params:\n  model: groq/llama3-8b\n  api_key: os.environ/K\n", env);
  auto j = parse_deployment(R"({"model_name": "g", "litellm_params": {"model": "groq/llama3-8b",
                                 "api_key": "os.environ/K"}})",
                            env);
  REQUIRE(y.ok());
  REQUIRE(j.ok());
  CHECK(y->provider == "groq");
  CHECK(y->provider_model == "llama3-8b");
  CHECK(y->api_key == "sk-k");
  CHECK(y->id == j->id);
  CHECK(y->litellm_params_json == j->litellm_params_json);
}

}  // namespace
}  // namespace llmux
