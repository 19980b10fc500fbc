// Every real-world fixture builds a Router, or fails naming the deployment and
// the provider that is not supported yet — never a crash.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "llmux/router.hpp"

using namespace llmux;

namespace {
std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/" + name);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::unique_ptr<Router>> load(const std::string& name) {
  RouterOptions opts;
  opts.log = [](std::string_view) {};
  return Router::from_config(read_fixture(name), opts);
}
}  // namespace

TEST_CASE("the OpenAI-compatible fixture builds a router with its groups and fallbacks", "[fixtures]") {
  auto r = load("onprem-gpu-load-balancing.yaml");
  REQUIRE(r.ok());
  auto deployments = (*r)->deployments();
  CHECK(deployments.size() == 3);
  for (const auto& d : deployments) CHECK(d.api_key.empty());  // never handed out
  CHECK((*r)->health("qwen3-14b").size() == 2);
  REQUIRE((*r)->settings().fallbacks.size() == 1);
  CHECK((*r)->settings().fallbacks[0].targets == std::vector<std::string>{"qwen3-7b"});
}

TEST_CASE("the vLLM fixture with its hosted Anthropic fallback builds a router", "[fixtures]") {
  // ANTHROPIC_API_KEY may be unset: a missing key fails the call that needs
  // it (an AuthenticationError naming the deployment), not the router.
  auto r = load("vllm-with-hosted-fallback.yaml");
  REQUIRE(r.ok());
  CHECK((*r)->health("production-llm").size() == 1);
  CHECK((*r)->health("production-llm-fallback").size() == 1);
  bool found = false;
  for (const auto& d : (*r)->deployments()) {
    if (d.model_name != "production-llm-fallback") continue;
    found = true;
    CHECK(d.provider == "anthropic");
    CHECK(d.provider_model == "claude-3-5-sonnet-20241022");
    CHECK(d.drop_params == std::optional<bool>(true));  // litellm_settings.drop_params
  }
  CHECK(found);
  CHECK((*r)->settings().context_window_fallbacks.size() == 1);
}

TEST_CASE("the Bedrock fixtures and the two-cloud cost fixture build a router", "[fixtures]") {
  // No AWS credentials are needed to build: a deployment without them fails
  // the call that needs them (an AuthenticationError naming it).
  struct Case {
    const char* file;
    const char* group;
    size_t deployments;
  };
  const Case cases[] = {
      {"bedrock-fallbacks.yaml", "claude-3-sonnet", 1},
      {"bedrock-latency-based.yaml", "claude-3", 2},
      {"bedrock-load-balancing.yaml", "claude-3", 2},
      {"bedrock-rate-limit-aware.yaml", "claude-3-sonnet", 1},
      {"cloud-cost-based.yaml", "gpt-oss-120b", 2},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    auto r = load(c.file);
    REQUIRE(r.ok());
    if (c.deployments > 0) CHECK((*r)->health(c.group).size() == c.deployments);
    size_t bedrock = 0;
    for (const auto& d : (*r)->deployments()) bedrock += d.provider == "bedrock" ? 1 : 0;
    CHECK(bedrock > 0);
  }
}

TEST_CASE("malformed configs are typed errors naming the path", "[fixtures]") {
  RouterOptions opts;
  opts.log = [](std::string_view) {};
  auto bad_strategy = Router::from_config(
      "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, api_base: 'http://127.0.0.1:9/v1'}\n"
      "router_settings:\n  routing_strategy: fastest\n",
      opts);
  REQUIRE_FALSE(bad_strategy.ok());
  CHECK_THAT(bad_strategy.error().message, Catch::Contains("router_settings.routing_strategy"));
  auto not_yaml = Router::from_config("model_list: [\n", opts);
  REQUIRE_FALSE(not_yaml.ok());
  CHECK(not_yaml.error().kind == ErrorKind::kInvalidConfig);
}
