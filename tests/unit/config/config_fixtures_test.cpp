// Every published LiteLLM config in tests/fixtures/litellm loads, with the
// groups, providers, limits and settings its comments describe.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "llmux/config.hpp"
#include "unit/config/config_test_util.hpp"

namespace llmux {
namespace {

namespace fs = std::filesystem;
using config_test::env_of;
using config_test::has_warning;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string fixture(const std::string& name) {
  const fs::path path = fs::path(LLMUX_FIXTURES_DIR) / name;
  REQUIRE(fs::exists(path));
  return read_file(path);
}

// The secrets a CI machine would have; VERTEX_PROJECT and ANTHROPIC_API_KEY
// are deliberately missing.
const EnvLookup kEnv = env_of({{"AWS_REGION", "us-east-1"}, {"QWEN_API_KEY", "sk-qwen"}});

RouterConfig load(const std::string& name) {
  auto result = parse_config(fixture(name), kEnv);
  if (!result.ok()) FAIL(name << ": " << result.error().message);
  return std::move(result).value();
}

TEST_CASE("every fixture file parses", "[config][fixtures]") {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(LLMUX_FIXTURES_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    INFO(entry.path().filename().string());
    // With no environment at all: missing secrets only warn.
    auto result = parse_config(read_file(entry.path()), env_of({}));
    REQUIRE(result.ok());
    CHECK_FALSE(result->model_list.empty());
    for (const DeploymentConfig& d : result->model_list) {
      CHECK_FALSE(d.model_name.empty());
      CHECK_FALSE(d.provider.empty());
      CHECK_FALSE(d.provider_model.empty());
      CHECK(d.id.size() == 64);
      CHECK(d.litellm_params_json.front() == '{');
    }
  }
  CHECK(count >= 7);
}

TEST_CASE("the in-repo fixtures match the shared ones", "[config][fixtures]") {
  const fs::path shared(LLMUX_SHARED_FIXTURES_DIR);
  if (!fs::exists(shared)) {
    WARN("shared fixtures folder not present; nothing to compare");
    return;
  }
  for (const auto& entry : fs::directory_iterator(shared)) {
    const fs::path copy = fs::path(LLMUX_FIXTURES_DIR) / entry.path().filename();
    INFO(entry.path().filename().string());
    REQUIRE(fs::exists(copy));
    CHECK(read_file(copy) == read_file(entry.path()));
  }
}

TEST_CASE("fixture bedrock-fallbacks: litellm_settings drive retries and fallbacks", "[config][fixtures]") {
  const RouterConfig c = load("bedrock-fallbacks.yaml");
  REQUIRE(c.model_list.size() == 2);
  CHECK(c.model_list[0].model_name == "claude-3-sonnet");
  CHECK(c.model_list[0].provider == "bedrock");
  CHECK(c.model_list[0].provider_model == "invalid");
  CHECK(c.model_list[1].model_name == "claude-3-haiku");
  CHECK(c.model_list[1].provider == "bedrock");
  CHECK(c.model_list[1].provider_model == "anthropic.claude-3-haiku-20240307-v1:0");
  CHECK(c.model_list[1].litellm_params_json ==
        R"({"model":"bedrock/anthropic.claude-3-haiku-20240307-v1:0","aws_region_name":"us-east-1"})");
  // Ids computed by LiteLLM's recipe in Python (PyYAML + hashlib).
  CHECK(c.model_list[0].id == "61a39eb5445bc1646238974cd4617267c1a4ed4dd5e6753016d1d2cd6b59d6c7");
  CHECK(c.model_list[1].id == "4998f4fb4d0bd880d8cd16b4369ce0529efd281aad4e7c0a44051fab3e3e485e");

  const RouterSettings& s = c.settings;
  CHECK(s.enable_pre_call_checks);
  CHECK(s.num_retries == 3);
  CHECK(s.timeout_seconds == 10);
  REQUIRE(s.fallbacks.size() == 1);
  CHECK(s.fallbacks[0].group == "claude-3-sonnet");
  CHECK(s.fallbacks[0].targets == std::vector<std::string>{"claude-3-haiku"});
  CHECK(s.allowed_fails == 3);
  CHECK_FALSE(s.allowed_fails_set);  // 3 is LiteLLM's default: legacy rule stays off
  CHECK(s.cooldown_time_seconds == 30);
  CHECK(s.routing_strategy == "simple-shuffle");
  CHECK(c.warnings.empty());
}

TEST_CASE("fixture bedrock-latency-based: strategy and the singular pre-call key", "[config][fixtures]") {
  const RouterConfig c = load("bedrock-latency-based.yaml");
  REQUIRE(c.model_list.size() == 2);
  CHECK(c.model_list[0].model_name == "claude-3");
  CHECK(c.model_list[1].model_name == "claude-3");
  CHECK(c.model_list[0].provider_model == "anthropic.claude-3-5-sonnet-20240620-v1:0");
  CHECK(c.model_list[0].id == "7b7fdfbdf041c3069114417ba90885d0d8ed2b2f0854595102422126f49d9a87");
  CHECK(c.model_list[1].id == "e21dbb093d8fa6415b6221465a75dc8d6f2077f602c2c571ea66463cd8140798");
  CHECK(c.settings.routing_strategy == "latency-based-routing");
  // LiteLLM ignores the singular spelling too (reference §13 #19).
  CHECK_FALSE(c.settings.enable_pre_call_checks);
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0] ==
        "router_settings.enable_pre_call_check: unknown key, ignored (did you mean enable_pre_call_checks?)");
}

TEST_CASE("fixture bedrock-load-balancing: one group, two deployments, all defaults", "[config][fixtures]") {
  const RouterConfig c = load("bedrock-load-balancing.yaml");
  REQUIRE(c.model_list.size() == 2);
  CHECK(c.model_list[0].model_name == c.model_list[1].model_name);
  CHECK(c.model_list[0].id != c.model_list[1].id);
  for (const auto& d : c.model_list) {
    CHECK(d.provider == "bedrock");
    CHECK_FALSE(d.rpm.has_value());
    CHECK_FALSE(d.tpm.has_value());
    CHECK(d.api_base.empty());
  }
  CHECK(c.settings.routing_strategy == "simple-shuffle");
  CHECK(c.settings.num_retries == 2);
  CHECK(c.settings.fallbacks.empty());
  CHECK(c.warnings.empty());
}

TEST_CASE("fixture bedrock-rate-limit-aware: top-level rpm/tpm and usage-based-routing-v2", "[config][fixtures]") {
  const RouterConfig c = load("bedrock-rate-limit-aware.yaml");
  REQUIRE(c.model_list.size() == 2);
  const DeploymentConfig& sonnet = c.model_list[0];
  const DeploymentConfig& haiku = c.model_list[1];
  CHECK(sonnet.model_name == "claude-3-sonnet");
  CHECK(sonnet.rpm == 10);
  CHECK(sonnet.tpm == 2000);
  CHECK(haiku.model_name == "claude-3-haiku");
  CHECK(haiku.rpm == 1);
  CHECK(haiku.tpm == 10000);
  CHECK(sonnet.id == "7b7d4a8959ea9155c38de97cfacd27b52033843058ddf27b878d2a13e09e6ae1");
  CHECK(c.settings.routing_strategy == "usage-based-routing-v2");
  CHECK_FALSE(c.settings.enable_pre_call_checks);
  CHECK(has_warning(c, "router_settings.enable_pre_call_check: unknown key"));
}

TEST_CASE("fixture cloud-cost-based: providers, prices, cooldown settings", "[config][fixtures]") {
  const RouterConfig c = load("cloud-cost-based.yaml");
  REQUIRE(c.model_list.size() == 4);
  std::map<std::string, int> per_group;
  for (const auto& d : c.model_list) per_group[d.model_name]++;
  CHECK(per_group == std::map<std::string, int>{{"gpt-oss-120b", 2}, {"gpt-oss-20b", 2}});

  const DeploymentConfig& vertex = c.model_list[0];
  CHECK(vertex.provider == "vertex_ai");
  CHECK(vertex.provider_model == "openai/gpt-oss-120b-maas");
  CHECK(vertex.input_cost_per_token == Approx(0.00000009).epsilon(1e-12));
  CHECK(vertex.output_cost_per_token == Approx(0.00000036).epsilon(1e-12));
  // VERTEX_PROJECT is unset: null in the params, "None" in the id (as LiteLLM).
  CHECK(vertex.litellm_params_json ==
        R"({"model":"vertex_ai/openai/gpt-oss-120b-maas","vertex_project":null,"vertex_location":"us-central1",)"
        R"("input_cost_per_token":9e-08,"output_cost_per_token":3.6e-07})");
  CHECK(vertex.id == "b9e4e6dc53788298f7aabcd5a9628c6e3d39cf04ce7654b3d10a4d4906e683bc");
  CHECK(has_warning(c, "model_list[0].litellm_params.vertex_project: environment variable VERTEX_PROJECT is not set"));

  const DeploymentConfig& bedrock = c.model_list[1];
  CHECK(bedrock.provider == "bedrock");
  CHECK(bedrock.provider_model == "openai.gpt-oss-120b-1:0");
  CHECK(bedrock.input_cost_per_token == Approx(0.00000015).epsilon(1e-12));
  CHECK(bedrock.output_cost_per_token == Approx(0.0000006).epsilon(1e-12));
  CHECK(bedrock.id == "d6eebd1429353e269fd4ce91ab5418a74883b421a428fc1bff791c2f6d3a9e00");
  CHECK(c.model_list[2].id == "9c77a0347efe3c10eb1f0d38f777a3dc7986bdc8b28b783e8e70650d6ae34f1f");
  CHECK(c.model_list[3].id == "b5fe5184e68dd3fd083ac48bfed60626ec97c212173f76189583ea4ccaaba630");
  // The 20b model is cheaper on input at both clouds, and cheaper on output at vertex.
  CHECK(*c.model_list[2].output_cost_per_token < *c.model_list[3].output_cost_per_token);

  const RouterSettings& s = c.settings;
  CHECK(s.routing_strategy == "cost-based-routing");
  CHECK(s.num_retries == 3);
  CHECK(s.retry_after_seconds == 5);
  CHECK(s.allowed_fails == 2);
  CHECK(s.allowed_fails_set);  // "after 2 failures that provider cools down"
  CHECK(s.cooldown_time_seconds == 60);
}

TEST_CASE("fixture onprem-gpu-load-balancing: two GPU servers and a fallback group", "[config][fixtures]") {
  const RouterConfig c = load("onprem-gpu-load-balancing.yaml");
  REQUIRE(c.model_list.size() == 3);
  CHECK(c.model_list[0].model_name == "qwen3-14b");
  CHECK(c.model_list[1].model_name == "qwen3-14b");
  CHECK(c.model_list[2].model_name == "qwen3-7b");
  CHECK(c.model_list[0].api_base == "https://qwen3-14b-llm-hosting.apps.maas00.example.com/v1");
  CHECK(c.model_list[1].api_base == "https://qwen3-14b-llm-hosting.apps.smc00.example.com/v1");
  for (const auto& d : c.model_list) {
    CHECK(d.provider == "openai");
    CHECK(d.api_key == "sk-qwen");
  }
  CHECK(c.model_list[0].provider_model == "qwen3-14b");
  CHECK(c.model_list[2].provider_model == "qwen3-7b");
  CHECK(c.model_list[0].id == "62b2e255f8e46c7076b22f3865a734845205069ed2dd306891db76592e9f822a");
  CHECK(c.model_list[1].id == "050b9387ad7ca4e6eeaf446206ff42d8642f0e6dcad85cf53548133b98a9314a");
  CHECK(c.model_list[2].id == "b1326854c852d26ac8395f60fc2a38cbc1036ea7d4cd5281bc6e7b2b92076915");
  REQUIRE(c.settings.fallbacks.size() == 1);
  CHECK(c.settings.fallbacks[0].group == "qwen3-14b");
  CHECK(c.settings.fallbacks[0].targets == std::vector<std::string>{"qwen3-7b"});
  CHECK(c.warnings.empty());
}

TEST_CASE("fixture vllm-with-hosted-fallback: fallbacks, context-window fallbacks, drop_params",
          "[config][fixtures]") {
  const RouterConfig c = load("vllm-with-hosted-fallback.yaml");
  REQUIRE(c.model_list.size() == 2);
  const DeploymentConfig& vllm = c.model_list[0];
  CHECK(vllm.model_name == "production-llm");
  CHECK(vllm.provider == "openai");
  CHECK(vllm.provider_model == "Meta-Llama-3.1-8B-Instruct");
  CHECK(vllm.api_base == "http://your-vllm:8000/v1");
  CHECK(vllm.api_key == "dummy");
  CHECK(vllm.id == "e386ca0f81ee4de663c60705524a5cd749985aee89f792663b4a5168bd8fc38b");
  const DeploymentConfig& hosted = c.model_list[1];
  CHECK(hosted.model_name == "production-llm-fallback");
  CHECK(hosted.provider == "anthropic");
  CHECK(hosted.provider_model == "claude-3-5-sonnet-20241022");
  CHECK(hosted.api_key.empty());  // ANTHROPIC_API_KEY unset
  CHECK(hosted.id == "597b3bc9479d1395a058bdbb1cce9029ca86ad34434d68ff27ea8944d91497bd");

  const RouterSettings& s = c.settings;
  REQUIRE(s.fallbacks.size() == 1);
  CHECK(s.fallbacks[0].group == "production-llm");
  CHECK(s.fallbacks[0].targets == std::vector<std::string>{"production-llm-fallback"});
  REQUIRE(s.context_window_fallbacks.size() == 1);
  CHECK(s.context_window_fallbacks[0].group == "production-llm");
  CHECK(s.context_window_fallbacks[0].targets == std::vector<std::string>{"production-llm-fallback"});
  CHECK(s.content_policy_fallbacks.empty());
  CHECK(s.num_retries == 2);
  CHECK(s.timeout_seconds == 30);
  CHECK(s.drop_params);
  CHECK(has_warning(c, "litellm_settings.set_verbose: not a routing setting, ignored"));
  CHECK(has_warning(c, "model_list[1].litellm_params.api_key: environment variable ANTHROPIC_API_KEY is not set"));
  CHECK(c.warnings.size() == 2);
}

}  // namespace
}  // namespace llmux
