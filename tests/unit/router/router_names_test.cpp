// One source of truth for names (issue 9 item 4): the config keeps a strategy
// name as written and Router::create asks the strategy registry, so a
// strategy a program registers can be named in any config text (YAML, or the
// JSON the Python, Go and Rust bindings send); an unknown name is the same
// error the loader gave, listing every registered name. Providers: the
// provider registry decides what is supported, with the same error as before.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>

#include "config/provider_names.hpp"
#include "llmux/router.hpp"
#include "llmux/strategy.hpp"
#include "provider/provider.hpp"

using namespace llmux;

namespace {

constexpr std::string_view kBuiltIns =
    "simple-shuffle, least-busy, usage-based-routing, usage-based-routing-v2, latency-based-routing, "
    "cost-based-routing, provider-budget-routing, power-of-two-choices";

std::atomic<int> g_picks{0};
std::string g_args;  // the args the factory saw (written once per router creation)

// Always the last candidate, so a test can tell it routed.
class PickLast final : public Strategy {
 public:
  std::string_view name() const override { return "pick-last"; }
  size_t pick(const PickContext&, std::span<const Deployment* const> c, Random&) override {
    ++g_picks;
    return c.size() - 1;
  }
};

void register_pick_last() {
  register_strategy("pick-last", [](std::string_view args) -> Result<std::unique_ptr<Strategy>> {
    g_args = std::string(args);
    return std::unique_ptr<Strategy>(new PickLast());
  });
}

RouterOptions quiet() {
  RouterOptions opts;
  opts.log = [](std::string_view) {};
  return opts;
}

std::string with_router_settings(std::string_view body) {
  return std::string("model_list: []\nrouter_settings:\n") + std::string(body) + "\n";
}

// Two deployments of group "g" answered by mock_response (no network).
constexpr std::string_view kTwoMockDeployments =
    "model_list:\n"
    "  - model_name: g\n"
    "    litellm_params: {model: openai/a, mock_response: from a}\n"
    "    model_info: {id: dep-a}\n"
    "  - model_name: g\n"
    "    litellm_params: {model: openai/b, mock_response: from b}\n"
    "    model_info: {id: dep-b}\n";

std::string served_by(Router& router) {
  auto r = router.completion(R"({"model":"g","messages":[{"role":"user","content":"hi"}]})");
  REQUIRE(r.ok());
  return r->metadata.deployment_id;
}

}  // namespace

TEST_CASE("an unknown routing_strategy is the loader's error, from Router::create, with the line", "[names]") {
  // The loader keeps the name as written; only the router can know the registry.
  auto config = parse_config(with_router_settings("  routing_strategy: fastest"));
  REQUIRE(config.ok());
  CHECK(config->settings.routing_strategy == "fastest");
  CHECK(config->routing_strategy_line == 3);

  auto r = Router::from_config(with_router_settings("  routing_strategy: fastest"), quiet());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidConfig);
  CHECK_THAT(r.error().message,
             Catch::StartsWith("router_settings.routing_strategy: 'fastest' is not one of " + std::string(kBuiltIns)));
  CHECK_THAT(r.error().message, Catch::EndsWith(" (line 3)"));

  // A RouterConfig built by hand has no line; same words.
  RouterConfig by_hand;
  by_hand.settings.routing_strategy = "fastest";
  auto h = Router::create(by_hand, quiet());
  REQUIRE_FALSE(h.ok());
  CHECK_THAT(h.error().message,
             Catch::StartsWith("router_settings.routing_strategy: 'fastest' is not one of " + std::string(kBuiltIns)));
  CHECK_THAT(h.error().message, !Catch::Contains("(line"));
  // The name is checked before the deployments, as when the loader did it.
  by_hand.model_list.push_back(DeploymentConfig{});
  by_hand.model_list.back().provider = "bedrock";
  CHECK_THAT(Router::create(by_hand, quiet()).error().message, Catch::Contains("'fastest' is not one of"));
}

TEST_CASE("a strategy registered from C++ can be named in YAML and JSON config text", "[names]") {
  register_pick_last();
  const std::string yaml = std::string(kTwoMockDeployments) +
                           "router_settings:\n  routing_strategy: pick-last\n  routing_strategy_args: {depth: 2}\n";
  auto router = Router::from_config(yaml, quiet());
  REQUIRE(router.ok());
  CHECK((*router)->settings().routing_strategy == "pick-last");
  CHECK(g_args == R"({"depth":2})");  // the factory gets the args as JSON, unchanged
  const int before = g_picks.load();
  for (int i = 0; i < 5; ++i) CHECK(served_by(**router) == "dep-b");
  CHECK(g_picks.load() - before == 5);

  // The bindings (Python's Router(routing_strategy=...), Go, Rust) send JSON
  // text through llmux_router_new: the name passes through as written.
  const std::string json = R"({"model_list": [
      {"model_name": "g", "litellm_params": {"model": "openai/a", "mock_response": "from a"}, "model_info": {"id": "dep-a"}},
      {"model_name": "g", "litellm_params": {"model": "openai/b", "mock_response": "from b"}, "model_info": {"id": "dep-b"}}],
    "router_settings": {"routing_strategy": "pick-last"}})";
  auto from_json = Router::from_config(json, quiet());
  REQUIRE(from_json.ok());
  CHECK(served_by(**from_json) == "dep-b");

  // The unknown-name error now lists it too, after the built-ins.
  auto bad = Router::from_config(with_router_settings("  routing_strategy: pick-frst"), quiet());
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::StartsWith("router_settings.routing_strategy: 'pick-frst' is not one of " +
                                                    std::string(kBuiltIns) + ", "));
  CHECK_THAT(bad.error().message, Catch::Contains(", pick-last"));
  // strategy_names() stays sorted.
  const auto names = strategy_names();
  CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("an unsupported provider is the provider registry's error, unchanged", "[names]") {
  auto r = Router::from_config("model_list:\n  - model_name: claude\n    litellm_params: {model: sagemaker/claude-3}\n",
                               quiet());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidConfig);
  CHECK(r.error().message == "model_list[0] (model_name 'claude', model 'sagemaker/claude-3'): provider 'sagemaker' is not "
                             "supported yet (supported: " +
                                 std::string(provider::supported_provider_list()) + ")");
  CHECK_THAT(r.error().message, Catch::Contains("supported: openai, "));
}

TEST_CASE("every provider the registry serves is a name the config splits off a model", "[names]") {
  // The config splits `litellm_params.model` by LiteLLM's provider names (so
  // ids and errors match LiteLLM, even for providers llmux cannot call); what
  // is supported is the provider registry's answer alone. A registered
  // provider outside LiteLLM's names could never be selected by a prefix.
  const std::string list(provider::supported_provider_list());
  size_t start = 0;
  int count = 0;
  while (start < list.size()) {
    size_t end = list.find(", ", start);
    if (end == std::string::npos) end = list.size();
    const std::string name = list.substr(start, end - start);
    INFO(name);
    CHECK(config::is_known_provider(name));
    CHECK(provider::find_provider(name) != nullptr);
    CHECK(config::resolve_provider_model(name + "/m", "").provider == name);
    ++count;
    start = end + 2;
  }
  CHECK(count >= 20);
}
