// supports_assistant_prefill: model_info, else litellm_params, else unset.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "llmux/config.hpp"
#include "unit/config/config_test_util.hpp"

namespace llmux {
namespace {

using config_test::env_of;

// One deployment with `params` (indented lines under litellm_params) and
// `info` (lines under model_info; none when empty).
std::string one_deployment(std::string_view params, std::string_view info = {}) {
  std::string text = "model_list:\n  - model_name: g\n    litellm_params:\n      model: hosted_vllm/x\n";
  text.append(params);
  if (!info.empty()) {
    text.append("    model_info:\n");
    text.append(info);
  }
  return text;
}

std::optional<bool> prefill_of(const std::string& text) {
  auto result = parse_config(text, env_of({{"PREFILL", "false"}}));
  if (!result.ok()) FAIL(result.error().message);
  REQUIRE(result->model_list.size() == 1);
  return result->model_list[0].supports_assistant_prefill;
}

}  // namespace

TEST_CASE("supports_assistant_prefill is read from model_info, else litellm_params", "[config]") {
  CHECK_FALSE(prefill_of(one_deployment("")).has_value());
  CHECK(prefill_of(one_deployment("      supports_assistant_prefill: true\n")) == std::optional<bool>(true));
  CHECK(prefill_of(one_deployment("      supports_assistant_prefill: false\n")) == std::optional<bool>(false));
  CHECK(prefill_of(one_deployment("", "      supports_assistant_prefill: true\n")) == std::optional<bool>(true));
  // model_info wins, either way round.
  CHECK(prefill_of(one_deployment("      supports_assistant_prefill: true\n",
                                  "      supports_assistant_prefill: false\n")) == std::optional<bool>(false));
  CHECK(prefill_of(one_deployment("      supports_assistant_prefill: false\n",
                                  "      supports_assistant_prefill: true\n")) == std::optional<bool>(true));
  // null in model_info leaves litellm_params' value.
  CHECK(prefill_of(one_deployment("      supports_assistant_prefill: true\n",
                                  "      supports_assistant_prefill: null\n")) == std::optional<bool>(true));
  // PyYAML's booleans and os.environ strings.
  CHECK(prefill_of(one_deployment("      supports_assistant_prefill: yes\n")) == std::optional<bool>(true));
  CHECK(prefill_of(one_deployment("      supports_assistant_prefill: os.environ/PREFILL\n")) ==
        std::optional<bool>(false));
}

TEST_CASE("supports_assistant_prefill in JSON configs", "[config]") {
  auto result = parse_config(
      R"({"model_list":[{"model_name":"g","litellm_params":{"model":"deepseek/deepseek-chat"},)"
      R"("model_info":{"supports_assistant_prefill":true}}]})",
      env_of({}));
  REQUIRE(result.ok());
  CHECK(result->model_list[0].supports_assistant_prefill == std::optional<bool>(true));
}

TEST_CASE("supports_assistant_prefill: a wrong value names its path", "[config][errors]") {
  auto bad_params = parse_config(one_deployment("      supports_assistant_prefill: maybe\n"), env_of({}));
  REQUIRE_FALSE(bad_params.ok());
  CHECK(bad_params.error().kind == ErrorKind::kInvalidConfig);
  CHECK_THAT(bad_params.error().message,
             Catch::StartsWith("model_list[0].litellm_params.supports_assistant_prefill: expected true or false"));
  auto bad_info = parse_config(one_deployment("", "      supports_assistant_prefill: [1]\n"), env_of({}));
  REQUIRE_FALSE(bad_info.ok());
  CHECK_THAT(bad_info.error().message,
             Catch::StartsWith("model_list[0].model_info.supports_assistant_prefill: expected true or false"));
}

TEST_CASE("supports_assistant_prefill is a known litellm_params key (no typo warning)", "[config]") {
  auto result = parse_config(one_deployment("      supports_assistant_prefill: true\n"), env_of({}));
  REQUIRE(result.ok());
  for (const std::string& w : result->warnings) {
    INFO(w);
    CHECK(w.find("supports_assistant_prefill") == std::string::npos);
  }
  // A misspelling is kept as a provider parameter with a hint.
  auto typo = parse_config(one_deployment("      supports_assistant_prefil: true\n"), env_of({}));
  REQUIRE(typo.ok());
  CHECK_FALSE(typo->model_list[0].supports_assistant_prefill.has_value());
  CHECK(config_test::has_warning(*typo, "model_list[0].litellm_params.supports_assistant_prefil: kept as a provider "
                                        "parameter (did you mean supports_assistant_prefill?)"));
}

}  // namespace llmux
