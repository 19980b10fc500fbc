// Router::model_info / model_group_info (the model map with the deployment's
// values over it, in LiteLLM's precedence) and Router::reset, on a whole
// Router in virtual time.
#include <catch2/catch.hpp>

#include <string>

#include <fmt/format.h>
#include <simdjson.h>

#include "support/sim_router.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

std::string dep(std::string_view group, std::string_view model, std::string_view id, std::string_view params = "",
                std::string_view info = "") {
  return fmt::format(
      "  - model_name: {}\n    litellm_params:\n      model: {}\n      api_base: http://{}.sim/v1\n"
      "      api_key: sk-secret-{}\n{}    model_info:\n      id: {}\n{}",
      group, model, id, id, params, id, info);
}

std::unique_ptr<Router> sim_router(const std::string& config, SimulatedLoop& loop) {
  auto r = make_sim_router(config, loop);
  if (!r.ok()) FAIL("config rejected: " << r.error().to_string());
  return std::move(r).value();
}

ModelInfoQuery by_id(std::string id) {
  ModelInfoQuery q;
  q.deployment_id = std::move(id);
  return q;
}

std::optional<bool> flag(const std::vector<std::pair<std::string, bool>>& flags, std::string_view name) {
  for (const auto& [n, v] : flags) {
    if (n == name) return v;
  }
  return std::nullopt;
}

ScriptedResponse ok() { return ScriptedResponse::json(200, chat_completion_json("ok")); }

const DeploymentHealth& health_of(const std::vector<DeploymentHealth>& all, std::string_view id) {
  for (const auto& h : all) {
    if (h.id == id) return h;
  }
  FAIL("no deployment " << id);
  return all.front();
}

const std::string kConfig =
    "model_list:\n" + dep("g", "openai/gpt-4o", "a") +
    dep("g", "anthropic/claude-haiku-4-5", "b", "      rpm: 5\n      tpm: 1000\n") +
    dep("custom", "openai/gpt-4o", "c", "      input_cost_per_token: 0.5\n",
        "      input_cost_per_token: 0.25\n      output_cost_per_token: 0.75\n      max_input_tokens: 999\n"
        "      supports_vision: false\n      mode: completion\n      access_groups: [team-a]\n") +
    dep("unmapped", "hosted_vllm/my-own-model", "u") +
    dep("azure", "azure/my-deployment", "z", "      api_version: '2024-06-01'\n", "      base_model: azure/gpt-4o-mini\n") +
    dep("openai/*", "openai/*", "w") +
    "router_settings:\n  model_group_alias:\n    everything: g\n";

}  // namespace

TEST_CASE("model info: a deployment without values of its own reads the model map", "[sim][model_info]") {
  SimulatedLoop loop;
  auto router = sim_router(kConfig, loop);
  auto info = router->model_info(by_id("a"));
  REQUIRE(info.ok());
  CHECK(info->mapped);
  CHECK(info->key == "gpt-4o");
  CHECK(info->deployment_id == "a");
  CHECK(info->model_group == "g");
  CHECK(info->max_input_tokens == 128000);
  CHECK(info->max_output_tokens == 16384);
  CHECK(info->input_cost_per_token == Approx(2.5e-6));
  CHECK(info->output_cost_per_token == Approx(1e-5));
  CHECK(info->litellm_provider == "openai");
  CHECK(info->mode == "chat");
  CHECK(flag(info->supports, "supports_vision") == true);
  CHECK(flag(info->supports, "supports_function_calling") == true);
  const std::string json = model_map_info_json(*info);
  CHECK(json.find("sk-secret") == std::string::npos);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
  CHECK(doc["max_input_tokens"].get_int64().value() == 128000);
  CHECK(doc["supports_vision"].get_bool().value());
  CHECK(doc["id"].get_string().value() == "a");
}

TEST_CASE("model info: model_info overrides the map, litellm_params' custom prices override both",
          "[sim][model_info]") {
  SimulatedLoop loop;
  auto router = sim_router(kConfig, loop);
  auto info = router->model_info(by_id("c"));
  REQUIRE(info.ok());
  CHECK(info->max_input_tokens == 999);                  // model_info
  CHECK(info->max_output_tokens == 16384);               // the map
  CHECK(info->input_cost_per_token == Approx(0.5));      // litellm_params over model_info
  CHECK(info->output_cost_per_token == Approx(0.75));    // model_info over the map
  CHECK(info->mode == "completion");
  CHECK(flag(info->supports, "supports_vision") == false);
  // Other model_info keys are kept, as LiteLLM's update() leaves them.
  const std::string json = model_map_info_json(*info);
  CHECK(json.find(R"("access_groups":["team-a"])") != std::string::npos);
}

TEST_CASE("model info: unmapped, Azure base_model, wildcard and map-only lookups", "[sim][model_info]") {
  SimulatedLoop loop;
  auto router = sim_router(kConfig, loop);
  auto unmapped = router->model_info(by_id("u"));
  REQUIRE(unmapped.ok());
  CHECK_FALSE(unmapped->mapped);
  CHECK(unmapped->key == "hosted_vllm/my-own-model");
  CHECK_FALSE(unmapped->max_input_tokens.has_value());
  CHECK(unmapped->input_cost_per_token == 0);
  CHECK(unmapped->mode.empty());

  auto azure = router->model_info(by_id("z"));
  REQUIRE(azure.ok());
  CHECK(azure->mapped);
  CHECK(azure->input_cost_per_token == Approx(1.5e-7));
  CHECK(azure->max_input_tokens == 128000);

  ModelInfoQuery wild = by_id("w");
  wild.received_model_name = "openai/gpt-4o";
  auto w = router->model_info(wild);
  REQUIRE(w.ok());
  CHECK(w->key == "gpt-4o");
  CHECK(w->max_input_tokens == 128000);

  ModelInfoQuery model;
  model.model = "gpt-4o";
  auto bare = router->model_info(model);
  REQUIRE(bare.ok());
  CHECK(bare->input_cost_per_token == Approx(2.5e-6));
  model.model = "anthropic/claude-haiku-4-5";
  auto prefixed = router->model_info(model);
  REQUIRE(prefixed.ok());
  CHECK(prefixed->max_input_tokens == 200000);
  CHECK(prefixed->litellm_provider == "anthropic");
}

TEST_CASE("model info: unknown deployments, groups and models are typed errors", "[sim][model_info]") {
  SimulatedLoop loop;
  auto router = sim_router(kConfig, loop);
  auto missing = router->model_info(by_id("nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kNotFound);
  ModelInfoQuery model;
  model.model = "openai/no-such-model-anywhere";
  auto unmapped = router->model_info(model);
  REQUIRE_FALSE(unmapped.ok());
  CHECK(unmapped.error().kind == ErrorKind::kNotFound);
  auto empty = router->model_info(ModelInfoQuery{});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().kind == ErrorKind::kInvalidArgument);
  auto group = router->model_group_info("nope");
  REQUIRE_FALSE(group.ok());
  CHECK(group.error().kind == ErrorKind::kNotFound);
  CHECK_FALSE(parse_model_info_query(R"({"model_group":"g","model":"x"})").ok());
  CHECK_FALSE(parse_model_info_query(R"({"colour":"blue"})").ok());
  CHECK_FALSE(parse_model_info_query("[]").ok());
  auto q = parse_model_info_query(R"({"deployment_id":"a","received_model_name":"g"})");
  REQUIRE(q.ok());
  CHECK(q->deployment_id == "a");
}

TEST_CASE("model group info: providers, largest limits and prices, any supports_*, summed tpm/rpm",
          "[sim][model_info]") {
  SimulatedLoop loop;
  auto router = sim_router(kConfig, loop);
  auto g = router->model_group_info("g");
  REQUIRE(g.ok());
  CHECK(g->model_group == "g");
  CHECK(g->providers == std::vector<std::string>{"openai", "anthropic"});
  CHECK(g->max_input_tokens == 200000);
  CHECK(g->max_output_tokens == 64000);
  CHECK(*g->input_cost_per_token == Approx(2.5e-6));
  CHECK(*g->output_cost_per_token == Approx(1e-5));
  CHECK(g->mode == "chat");
  CHECK(g->tpm == 1000);
  CHECK(g->rpm == 5);
  CHECK(flag(g->supports, "supports_reasoning") == true);  // claude only
  CHECK(flag(g->supports, "supports_vision") == true);
  CHECK(flag(g->supports, "supports_url_context") == false);  // always present
  CHECK(g->deployment_ids == std::vector<std::string>{"a", "b"});
  // Through an alias: the alias's name, the target's deployments.
  auto alias = router->model_group_info("everything");
  REQUIRE(alias.ok());
  CHECK(alias->model_group == "everything");
  CHECK(alias->deployment_ids == std::vector<std::string>{"a", "b"});
  const std::string json = model_group_info_json(*g);
  CHECK(json.find(R"("providers":["openai","anthropic"])") != std::string::npos);
  // A name only the wildcard group serves.
  auto wild = router->model_group_info("openai/gpt-4o");
  REQUIRE(wild.ok());
  CHECK(wild->model_group == "openai/gpt-4o");
  CHECK(wild->deployment_ids == std::vector<std::string>{"w"});
  CHECK(wild->max_input_tokens == 128000);
  auto unmapped = router->model_group_info("unmapped");
  REQUIRE(unmapped.ok());
  CHECK_FALSE(unmapped->max_input_tokens.has_value());
  CHECK(*unmapped->input_cost_per_token == 0);
  CHECK_FALSE(unmapped->tpm.has_value());
}

TEST_CASE("model info: prices registered at run time show at once", "[sim][model_info]") {
  SimulatedLoop loop;
  auto router = sim_router(kConfig, loop);
  REQUIRE(router->register_model_prices(R"({"hosted_vllm/my-own-model":{"input_cost_per_token":0.001,)"
                                        R"("max_input_tokens":4096,"litellm_provider":"hosted_vllm"}})")
              .ok());
  auto info = router->model_info(by_id("u"));
  REQUIRE(info.ok());
  CHECK(info->mapped);
  CHECK(info->input_cost_per_token == Approx(0.001));
  CHECK(info->max_input_tokens == 4096);
}

TEST_CASE("reset: a deployment cooled down is routed to again at once", "[sim][reset]") {
  SimulatedLoop loop;
  bool a_fails = true;
  loop.route("a.sim", [&](const transport::HttpRequest&) {
    return a_fails ? ScriptedResponse::json(429, R"({"error":{"message":"slow down","type":"rate_limit"}})") : ok();
  });
  loop.route("b.sim", [](const transport::HttpRequest&) { return ok(); });
  auto router = sim_router("model_list:\n" + dep("g", "openai/m", "a") + dep("g", "openai/m", "b") +
                               "router_settings:\n  cooldown_time: 600\n  num_retries: 1\n",
                           loop);
  for (int i = 0; i < 20 && loop.request_count("a.sim") == 0; ++i) REQUIRE(router->completion(R"({"model":"g","messages":[{"role":"user","content":"hi"}]})").ok());
  REQUIRE(loop.request_count("a.sim") == 1);
  REQUIRE(health_of(router->health("g"), "a").state == "cooling_down");
  CHECK(health_of(router->health("g"), "b").requests_this_minute > 0);

  router->reset();
  const auto after = router->health("g");
  CHECK(health_of(after, "a").state == "healthy");
  CHECK(health_of(after, "a").reason.empty());
  CHECK(health_of(after, "b").requests_this_minute == 0);
  // No time has passed: only the reset lets a1 be picked again.
  a_fails = false;
  for (int i = 0; i < 40 && loop.request_count("a.sim") == 1; ++i) {
    REQUIRE(router->completion(R"({"model":"g","messages":[{"role":"user","content":"hi"}]})").ok());
  }
  CHECK(loop.request_count("a.sim") == 2);
}

TEST_CASE("reset: latency-based routing forgets its latency samples", "[sim][reset]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) {
    return ScriptedResponse::json(200, chat_completion_json("slow"), std::chrono::seconds(2));
  });
  loop.route("b.sim", [](const transport::HttpRequest&) {
    return ScriptedResponse::json(200, chat_completion_json("fast"), std::chrono::milliseconds(100));
  });
  auto router = sim_router("model_list:\n" + dep("g", "openai/m", "a") + dep("g", "openai/m", "b") +
                               "router_settings:\n  routing_strategy: latency-based-routing\n",
                           loop);
  const std::string request = R"({"model":"g","messages":[{"role":"user","content":"hi"}]})";
  for (int i = 0; i < 4; ++i) REQUIRE(router->completion(request).ok());
  const size_t slow = loop.request_count("a.sim");
  REQUIRE(slow >= 1);  // tried while unobserved
  for (int i = 0; i < 10; ++i) REQUIRE(router->completion(request).ok());
  REQUIRE(loop.request_count("a.sim") == slow);  // known to be slow: never picked

  router->reset();
  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(request).ok());
  CHECK(loop.request_count("a.sim") > slow);  // unobserved again: tried again
}
