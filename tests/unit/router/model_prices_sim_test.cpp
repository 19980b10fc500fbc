// The model map through a whole Router (virtual time, mock_response
// deployments): prices and context windows resolved when deployments join the
// pool, the config's values winning, another map file by config key or
// environment variable, prices registered at run time, and the
// context-window pre-call check on the map's max_input_tokens.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "support/sim_router.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

std::string mock_dep(std::string_view id, std::string_view model, std::string_view extra = "") {
  return fmt::format(
      "  - model_name: g\n    litellm_params:\n      model: {}\n      mock_response: hello\n{}"
      "    model_info:\n      id: {}\n",
      model, extra, id);
}

std::string chat(size_t prompt_bytes = 2) {
  return fmt::format(R"({{"model":"g","messages":[{{"role":"user","content":"{}"}}]}})",
                     std::string(prompt_bytes, 'x'));
}

const DeploymentConfig& by_id(const std::vector<DeploymentConfig>& ds, std::string_view id) {
  for (const auto& d : ds) {
    if (d.id == id) return d;
  }
  FAIL("no deployment " << id);
  return ds.front();
}

struct TempFile {
  std::string path;
  TempFile(std::string name, std::string_view text) : path(std::move(name)) { std::ofstream(path) << text; }
  ~TempFile() { std::remove(path.c_str()); }
};

constexpr std::string_view kTinyMap =
    R"({"tiny-model":{"input_cost_per_token":0.001,"output_cost_per_token":0.002,"max_input_tokens":50,
        "litellm_provider":"openai","mode":"chat"}})";

}  // namespace

TEST_CASE("prices sim: deployments without prices route and bill by the bundled map", "[sim][pricing]") {
  SimulatedLoop loop;
  auto r = make_sim_router("model_list:\n" + mock_dep("oss-vertex", "vertex_ai/openai/gpt-oss-120b-maas") +
                               mock_dep("oss-bedrock", "bedrock/openai.gpt-oss-120b-1:0") +
                               "router_settings:\n  routing_strategy: cost-based-routing\n",
                           loop);
  REQUIRE(r.ok());
  Router& router = **r;
  const auto ds = router.deployments();
  CHECK(by_id(ds, "oss-vertex").input_cost_per_token == Approx(9e-08));
  CHECK(by_id(ds, "oss-bedrock").input_cost_per_token == Approx(1.5e-07));
  CHECK(by_id(ds, "oss-bedrock").max_input_tokens == 128000);
  for (int i = 0; i < 5; ++i) {
    auto resp = router.completion(chat());
    REQUIRE(resp.ok());
    CHECK(resp->metadata.deployment_id == "oss-vertex");
    CHECK(resp->usage.reported);
    CHECK(resp->metadata.response_cost ==
          Approx(resp->usage.prompt_tokens * 9e-08 + resp->usage.completion_tokens * 3.6e-07));
  }
}

TEST_CASE("prices sim: config prices win; registered prices apply to the others at once", "[sim][pricing]") {
  SimulatedLoop loop;
  auto r = make_sim_router("model_list:\n" +
                               mock_dep("configured", "openai/my-model",
                                        "      input_cost_per_token: 0.5\n      output_cost_per_token: 0.5\n") +
                               mock_dep("unpriced", "openai/my-model") +
                               "router_settings:\n  routing_strategy: cost-based-routing\n",
                           loop);
  REQUIRE(r.ok());
  Router& router = **r;
  // Unknown to the map: 5.0 + 5.0 per token pair, so the configured one wins.
  CHECK_FALSE(by_id(router.deployments(), "unpriced").input_cost_per_token);
  REQUIRE(router.completion(chat())->metadata.deployment_id == "configured");

  REQUIRE(router.register_model_prices(
                    R"({"openai/my-model":{"input_cost_per_token":1e-6,"output_cost_per_token":1e-6,
                        "max_input_tokens":8192}})")
              .ok());
  const auto ds = router.deployments();
  CHECK(by_id(ds, "configured").input_cost_per_token == 0.5);  // its own price stays
  CHECK(by_id(ds, "configured").max_input_tokens == 8192);     // the side it left unset is filled
  CHECK(by_id(ds, "unpriced").input_cost_per_token == Approx(1e-6));
  auto resp = router.completion(chat());
  REQUIRE(resp.ok());
  CHECK(resp->metadata.deployment_id == "unpriced");
  CHECK(resp->metadata.response_cost > 0);

  auto bad = router.register_model_prices(R"({"openai/my-model":{"input_cost_per_token":"cheap"}})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "model cost map: openai/my-model.input_cost_per_token: expected a number");
  CHECK(by_id(router.deployments(), "unpriced").input_cost_per_token == Approx(1e-6));
}

TEST_CASE("prices sim: the context-window pre-call check uses the map's max_input_tokens", "[sim][pricing]") {
  TempFile map("model_prices_sim_test_map.json", kTinyMap);
  SimulatedLoop loop;
  auto r = make_sim_router("model_list:\n" + mock_dep("tiny", "openai/tiny-model") +
                               "router_settings:\n  enable_pre_call_checks: true\n"
                               "litellm_settings:\n  model_cost_map_path: " + map.path + "\n",
                           loop);
  REQUIRE(r.ok());
  Router& router = **r;
  CHECK(by_id(router.deployments(), "tiny").max_input_tokens == 50);
  CHECK(router.completion(chat(10)).ok());
  auto over = router.completion(chat(400));  // ~100 tokens by llmux's estimate
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::kContextWindowExceeded);
  CHECK_THAT(over.error().message, Catch::Contains("Max Input Tokens=50"));
  // The file replaced the bundled map: gpt-4o is unknown to this router.
  REQUIRE(router.add_deployment(parse_deployment(R"({"model_name":"h","litellm_params":{"model":"gpt-4o",
      "mock_response":"hi"},"model_info":{"id":"four"}})").value()).ok());
  CHECK_FALSE(by_id(router.deployments(), "four").input_cost_per_token);
}

TEST_CASE("prices sim: LLMUX_MODEL_COST_MAP names the map; a bad one fails Router creation", "[sim][pricing]") {
  TempFile map("model_prices_sim_test_env.json", kTinyMap);
  TempFile broken("model_prices_sim_test_broken.json", R"({"tiny-model":{"max_input_tokens":-3}})");
  const std::string config = "model_list:\n" + mock_dep("tiny", "openai/tiny-model");
  SimulatedLoop loop;
  ::setenv("LLMUX_MODEL_COST_MAP", map.path.c_str(), 1);
  auto r = make_sim_router(config, loop);
  ::setenv("LLMUX_MODEL_COST_MAP", broken.path.c_str(), 1);
  auto bad_env = make_sim_router(config, loop);
  ::unsetenv("LLMUX_MODEL_COST_MAP");
  REQUIRE(r.ok());
  CHECK(by_id((*r)->deployments(), "tiny").input_cost_per_token == 0.001);
  REQUIRE_FALSE(bad_env.ok());
  CHECK(bad_env.error().kind == ErrorKind::kInvalidConfig);
  CHECK(bad_env.error().message ==
        "LLMUX_MODEL_COST_MAP: 'model_prices_sim_test_broken.json': model cost map: "
        "tiny-model.max_input_tokens: expected a whole number of tokens");

  auto bad_key = make_sim_router(config + "litellm_settings:\n  model_cost_map_path: /nonexistent/map.json\n", loop);
  REQUIRE_FALSE(bad_key.ok());
  CHECK(bad_key.error().kind == ErrorKind::kInvalidConfig);
  CHECK(bad_key.error().message ==
        "litellm_settings.model_cost_map_path: '/nonexistent/map.json' cannot be read: No such file or directory");
}
