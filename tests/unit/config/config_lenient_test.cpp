// Values LiteLLM accepts that a strict reading would refuse: organization
// lists, a fallback target written without its list, max_input_tokens: 0.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "llmux/config.hpp"
#include "unit/config/config_test_util.hpp"

namespace llmux {
namespace {

using config_test::env_of;
using config_test::parse_ok;

TEST_CASE("an organization list is one deployment per organization", "[config][deployment]") {
  const RouterConfig c = parse_ok(R"(
model_list:
  - model_name: g
    litellm_params: {model: openai/x, api_key: k, organization: [org-a, os.environ/ORG_B]}
  - model_name: g
    litellm_params: {model: openai/x, api_key: k, organization: org-a}
  - model_name: h
    litellm_params: {model: openai/y, organization: [org-c]}
    model_info: {id: fixed}
)",
                                  env_of({{"ORG_B", "org-b"}}));
  REQUIRE(c.model_list.size() == 4);
  CHECK(c.model_list[0].organization == "org-a");
  CHECK(c.model_list[1].organization == "org-b");
  CHECK(c.model_list[0].model_name == "g");
  CHECK(c.model_list[1].model_name == "g");
  // Each copy is an ordinary entry: its id is that of the same entry written with one organization.
  CHECK(c.model_list[0].id != c.model_list[1].id);
  CHECK(c.model_list[0].id == c.model_list[2].id);
  CHECK(c.model_list[0].litellm_params_json.find("\"organization\":\"org-a\"") != std::string::npos);
  CHECK(c.model_list[3].id == "fixed");
  CHECK(c.model_list[3].organization == "org-c");
}

TEST_CASE("a standalone deployment still refuses an organization list", "[config][deployment]") {
  auto result = parse_deployment("model_name: g\nlitellm_params: {model: openai/x, organization: [a, b]}\n");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message.find("litellm_params.organization: a list of organizations") != std::string::npos);
}

TEST_CASE("a fallback target may be written without its list", "[config][settings]") {
  const RouterConfig c = parse_ok(R"(
router_settings:
  fallbacks: [{a: b}, {c: [d, e]}]
  context_window_fallbacks: [{a: big}]
  content_policy_fallbacks: [{a: safe}]
)");
  REQUIRE(c.settings.fallbacks.size() == 2);
  CHECK(c.settings.fallbacks[0].group == "a");
  CHECK(c.settings.fallbacks[0].targets == std::vector<std::string>{"b"});
  CHECK(c.settings.fallbacks[1].targets == std::vector<std::string>{"d", "e"});
  REQUIRE(c.settings.context_window_fallbacks.size() == 1);
  CHECK(c.settings.context_window_fallbacks[0].targets == std::vector<std::string>{"big"});
  REQUIRE(c.settings.content_policy_fallbacks.size() == 1);
  CHECK(c.settings.content_policy_fallbacks[0].targets == std::vector<std::string>{"safe"});
  CHECK(c.warnings.empty());
}

TEST_CASE("max_input_tokens and max_output_tokens 0 mean not set", "[config][deployment]") {
  const RouterConfig c = parse_ok(R"(
model_list:
  - model_name: g
    litellm_params: {model: openai/x}
    model_info: {max_input_tokens: 0, max_output_tokens: 0}
  - model_name: g
    litellm_params: {model: openai/y}
    model_info: {max_input_tokens: 4096, max_output_tokens: 512}
)");
  REQUIRE(c.model_list.size() == 2);
  CHECK_FALSE(c.model_list[0].max_input_tokens.has_value());
  CHECK_FALSE(c.model_list[0].max_output_tokens.has_value());
  CHECK(c.model_list[1].max_input_tokens == 4096);
  CHECK(c.model_list[1].max_output_tokens == 512);
  CHECK(c.warnings.empty());
}

}  // namespace
}  // namespace llmux
