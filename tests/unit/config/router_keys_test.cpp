// The router keys a config and a request share (common/router_keys.hpp): for
// equivalent input the config loader (yaml-cpp value tree) and the request
// parser (simdjson on-demand) produce the same FallbackRule lists and tag
// lists, and for the same mistake the same path and message, only framed
// differently ("router_settings.<path>: <message> (line N)" vs "'<key>' must
// be ... (<path>: <message>)").
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "common/router_keys.hpp"
#include "config/config_value.hpp"
#include "config/value_node.hpp"
#include "request/request.hpp"
#include "llmux/config.hpp"

namespace llmux {
namespace {

// `value` (JSON, which is also YAML flow text) as router_settings.<key> of a config.
Result<RouterConfig> in_config(std::string_view key, std::string_view value) {
  return parse_config(std::string("router_settings:\n  ") + std::string(key) + ": " + std::string(value) + "\n");
}

// `value` as the request key `key`.
Result<request::ParsedRequest> in_request(std::string_view key, std::string_view value) {
  return request::parse_request(
      std::string(R"({"model":"m","messages":[],")") + std::string(key) + "\":" + std::string(value) + "}",
      request::Endpoint::kChatCompletions);
}

const std::vector<FallbackRule>& config_rules(const RouterConfig& c, std::string_view key) {
  if (key == "fallbacks") return c.settings.fallbacks;
  if (key == "context_window_fallbacks") return c.settings.context_window_fallbacks;
  return c.settings.content_policy_fallbacks;
}

const std::optional<std::vector<FallbackRule>>& request_rules(const request::ParsedRequest& r, std::string_view key) {
  if (key == "fallbacks") return r.router.fallbacks;
  if (key == "context_window_fallbacks") return r.router.context_window_fallbacks;
  return r.router.content_policy_fallbacks;
}

bool same(const std::vector<FallbackRule>& a, const std::vector<FallbackRule>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].group != b[i].group || a[i].targets != b[i].targets) return false;
  }
  return true;
}

// "router_settings.<detail> (line 2)" → "<detail>".
std::string config_detail(std::string message) {
  const std::string prefix = "router_settings.";
  REQUIRE(message.starts_with(prefix));
  message.erase(0, prefix.size());
  const size_t line = message.rfind(" (line ");
  if (line != std::string::npos) message.resize(line);
  return message;
}

constexpr std::string_view kFallbackKeys[] = {"fallbacks", "context_window_fallbacks", "content_policy_fallbacks"};

}  // namespace

TEST_CASE("fallback rules: config and request accept the same rules into the same FallbackRule lists",
          "[router_keys]") {
  const std::string_view accepted[] = {
      R"([])",
      R"([{"gpt-4o": ["gpt-4o-mini", "claude"]}])",
      R"([{"a": ["b"]}, {"c": []}, {"*": ["d", "e"]}])",
      R"([{"model": ["x"]}])",  // "model" is a group name in a rule
  };
  for (std::string_view key : kFallbackKeys) {
    for (std::string_view value : accepted) {
      INFO(key << ": " << value);
      auto c = in_config(key, value);
      auto r = in_request(key, value);
      REQUIRE(c.ok());
      REQUIRE(r.ok());
      REQUIRE(request_rules(*r, key).has_value());
      CHECK(same(config_rules(*c, key), *request_rules(*r, key)));
      CHECK_FALSE(r->router.client_fallbacks);
    }
  }
  auto c = in_config("fallbacks", R"([{"gpt-4o": ["gpt-4o-mini", "claude"]}])");
  REQUIRE(c.ok());
  REQUIRE(c->settings.fallbacks.size() == 1);
  CHECK(c->settings.fallbacks[0].group == "gpt-4o");
  CHECK(c->settings.fallbacks[0].targets == std::vector<std::string>{"gpt-4o-mini", "claude"});
}

TEST_CASE("fallback rules: the same mistake gets the same path and message in config and request",
          "[router_keys]") {
  struct Mistake {
    std::string_view value;
    std::string_view detail;  // with `key` as the first path segment
  };
  const Mistake mistakes[] = {
      {R"({"a": ["b"]})", "{key}: expected a list of {{model_group: [fallback groups]}} maps, got a map"},
      {R"([{"a": 5}])", "{key}[0].a: expected a list of model group names, got 5"},
      {R"([{"a": ["b"], "c": ["d"]}])",
       "{key}[0]: expected a map with exactly one key (model group -> list of fallback groups), got a map with 2 keys"},
      {R"([{}])", "{key}[0]: expected a map with exactly one key (model group -> list of fallback groups), got a map "
                  "with 0 keys"},
      {R"([{"a": ["b"]}, {"c": ["d", {"x": 1}]}])", "{key}[1].c[1]: expected a string, got a map"},
      {R"([{"a": ["b"]}, ["c"]])",
       "{key}[1]: expected a map with exactly one key (model group -> list of fallback groups), got a list"},
      {R"([{"a": ["b"]}, true])",
       "{key}[1]: expected a map with exactly one key (model group -> list of fallback groups), got true"},
  };
  // "fallbacks" in a request may also be client-side, so its top-level
  // messages name that form too; the *_fallbacks keys match the config exactly.
  for (std::string_view key : {kFallbackKeys[1], kFallbackKeys[2]}) {
    for (const Mistake& m : mistakes) {
      const std::string detail = fmt::format(fmt::runtime(std::string(m.detail)), fmt::arg("key", key));
      INFO(key << ": " << m.value);
      auto c = in_config(key, m.value);
      auto r = in_request(key, m.value);
      REQUIRE_FALSE(c.ok());
      REQUIRE_FALSE(r.ok());
      CHECK(c.error().kind == ErrorKind::kInvalidConfig);
      CHECK(r.error().kind == ErrorKind::kInvalidArgument);
      CHECK(config_detail(c.error().message) == detail);
      CHECK_THAT(r.error().message, Catch::StartsWith("'" + std::string(key) + "' must be a list of"));
      CHECK_THAT(r.error().message, Catch::EndsWith(" (" + detail + ")"));
    }
  }
  // Below the top level, "fallbacks" reads the same in both.
  for (const Mistake& m : {mistakes[1], mistakes[2], mistakes[4]}) {
    const std::string detail = fmt::format(fmt::runtime(std::string(m.detail)), fmt::arg("key", "fallbacks"));
    auto c = in_config("fallbacks", m.value);
    auto r = in_request("fallbacks", m.value);
    REQUIRE_FALSE(c.ok());
    REQUIRE_FALSE(r.ok());
    CHECK(config_detail(c.error().message) == detail);
    CHECK_THAT(r.error().message, Catch::EndsWith(" (" + detail + ")"));
  }
}

TEST_CASE("fallbacks: only a request's \"fallbacks\" takes the client-side form, unmixed", "[router_keys]") {
  auto r = in_request("fallbacks", R"(["a", {"model": "b", "messages": [{"role": "user", "content": "x"}]}])");
  REQUIRE(r.ok());
  REQUIRE(r->router.client_fallbacks);
  CHECK(*r->router.client_fallbacks == std::vector<std::string>{"a", "b"});
  auto c = in_config("fallbacks", R"(["a"])");
  REQUIRE_FALSE(c.ok());
  CHECK(config_detail(c.error().message) ==
        "fallbacks[0]: expected a map with exactly one key (model group -> list of fallback groups), got 'a'");
  auto mixed = in_request("fallbacks", R"(["a", {"b": ["c"]}])");
  REQUIRE_FALSE(mixed.ok());
  CHECK_THAT(mixed.error().message,
             Catch::EndsWith("(fallbacks[1]: model group names and {model_group: [fallback groups]} maps do not mix "
                             "in one list)"));
}

TEST_CASE("tags: litellm_params.tags and metadata.tags follow the same list rules", "[router_keys]") {
  auto deployment_tags = [](std::string_view value) {
    return parse_deployment(std::string("{model_name: g, litellm_params: {model: openai/x, tags: ") +
                            std::string(value) + "}}");
  };
  auto request_tags = [](std::string_view value) {
    return request::parse_request(std::string(R"({"model":"m","messages":[],"metadata":{"tags":)") + std::string(value) +
                                   "}}",
                               request::Endpoint::kChatCompletions);
  };
  for (std::string_view ok : {R"([])", R"(["paid"])", R"(["paid", "eu", "paid"])"}) {
    INFO(ok);
    auto d = deployment_tags(ok);
    auto r = request_tags(ok);
    REQUIRE(d.ok());
    REQUIRE(r.ok());
    CHECK(d->tags == r->router.tags);
  }
  struct Mistake {
    std::string_view value;
    std::string_view detail;  // after "...tags"
  };
  for (const Mistake& m : {Mistake{R"("paid")", ": expected a list of strings, got 'paid'"},
                           Mistake{R"({"a": 1})", ": expected a list of strings, got a map"},
                           Mistake{R"(["a", ["b"]])", "[1]: expected a string, got a list"},
                           Mistake{R"(["a", null])", "[1]: expected a string, got null"}}) {
    INFO(m.value);
    auto d = deployment_tags(m.value);
    auto r = request_tags(m.value);
    REQUIRE_FALSE(d.ok());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(d.error().message, Catch::StartsWith("litellm_params.tags" + std::string(m.detail)));
    CHECK(r.error().message ==
          "'metadata.tags' must be a list of strings (metadata.tags" + std::string(m.detail) + ")");
  }
}

TEST_CASE("retry and allowed-fails policies: one key table, one reader", "[router_keys]") {
  auto c = parse_config(
      "router_settings:\n  retry_policy: {RateLimitErrorRetries: 3, TimeoutErrorRetries: null, Bogus: 1}\n"
      "  allowed_fails_policy: {TimeoutErrorAllowedFails: 2.0}\n");
  REQUIRE(c.ok());
  REQUIRE(c->settings.retry_policy);
  CHECK(c->settings.retry_policy->rate_limit == 3);
  CHECK_FALSE(c->settings.retry_policy->timeout);
  REQUIRE(c->settings.allowed_fails_policy);
  CHECK(c->settings.allowed_fails_policy->timeout == 2);
  REQUIRE(c->warnings.size() == 1);
  CHECK(c->warnings[0] == "router_settings.retry_policy.Bogus: unknown key, ignored");

  // The reader itself, on a value tree (a request front end would feed its own nodes).
  auto tree = config::load_yaml("{RateLimitErrorRetries: 1.5}");
  REQUIRE(tree.ok());
  config::ValueNode node(*tree);
  RetryPolicy policy;
  std::vector<std::string> unknown;
  auto problem = router_keys::read_policy(node, "retry_policy", router_keys::kRetryPolicyFields,
                                          [&](const std::string& path, std::string_view) { unknown.push_back(path); },
                                          policy);
  REQUIRE(problem);
  CHECK(problem->path == "retry_policy.RateLimitErrorRetries");
  CHECK(problem->message == "expected an integer >= 0, got 1.5");
  CHECK(unknown.empty());
}

}  // namespace llmux
