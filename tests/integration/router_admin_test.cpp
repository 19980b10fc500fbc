// Router::pick, model_group_usage and update_settings against the loopback
// fake provider.
#include <chrono>
#include <future>
#include <string>

#include "integration/test_util.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

std::string two_deployments(const FakeProvider& a, const FakeProvider& b, const std::string& tail = "",
                            const std::string& a_params = "", const std::string& b_params = "") {
  return "model_list:\n" + deployment_yaml("grp", "model-a", a, a_params, "dep-a") +
         deployment_yaml("grp", "model-b", b, b_params, "dep-b") + tail;
}

int64_t requests_this_minute(Router& r, const std::string& id) {
  for (const auto& h : r.health()) {
    if (h.id == id) return h.requests_this_minute;
  }
  return -1;
}

bool cooling(Router& r, const std::string& id) {
  for (const auto& h : r.health()) {
    if (h.id == id) return h.state == "cooling_down";
  }
  return false;
}

}  // namespace

TEST_CASE("pick: a deployment of the group, nothing sent, nothing counted, secrets redacted", "[router][pick]") {
  FakeProvider a, b;
  auto router = make_router(two_deployments(a, b));
  for (int i = 0; i < 10; ++i) {
    // No messages: a pick needs only the model.
    auto picked = router->pick(R"({"model":"grp"})");
    REQUIRE(picked.ok());
    CHECK((picked->id == "dep-a" || picked->id == "dep-b"));
    CHECK(picked->model_group == "grp");
    CHECK(json_at(picked->deployment_json, "/model_name") == "grp");
    CHECK(json_at(picked->deployment_json, "/model_info/id") == picked->id);
    CHECK(json_at(picked->deployment_json, "/litellm_params/api_key") == "***");
    CHECK(picked->deployment_json.find("sk-test-secret-key") == std::string::npos);
  }
  CHECK(a.request_count() + b.request_count() == 0);
  CHECK(requests_this_minute(*router, "dep-a") == 0);
  CHECK(requests_this_minute(*router, "dep-b") == 0);
  auto usage = router->model_group_usage("grp");
  REQUIRE(usage.ok());
  CHECK(usage->rpm_used == 0);

  auto secret = router->pick(R"({"model":"grp"})", PickOptions{.include_secrets = true});
  REQUIRE(secret.ok());
  CHECK(json_at(secret->deployment_json, "/litellm_params/api_key") == "sk-test-secret-key");
  CHECK(picked_deployment_json(*secret).find(R"("deployment":{)") != std::string::npos);
}

TEST_CASE("pick: unknown model, malformed request, specific_deployment", "[router][pick]") {
  FakeProvider a, b;
  auto router = make_router(two_deployments(a, b));
  auto unknown = router->pick(R"({"model":"nope","messages":[]})");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kBadRequest);
  auto bad = router->pick(R"({"messages":[]})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidArgument);
  CHECK_FALSE(router->pick("not json").ok());

  auto by_id = router->pick(R"({"model":"dep-b"})", PickOptions{.specific_deployment = true});
  REQUIRE(by_id.ok());
  CHECK(by_id->id == "dep-b");
  auto by_model = router->pick(R"({"model":"openai/model-a"})", PickOptions{.specific_deployment = true});
  REQUIRE(by_model.ok());
  CHECK(by_model->id == "dep-a");
  auto none = router->pick(R"({"model":"grp-x"})", PickOptions{.specific_deployment = true});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == ErrorKind::kBadRequest);
}

TEST_CASE("pick: honours cooldowns, and all cooling down is no deployment available", "[router][pick]") {
  FakeProvider a, b;
  a.set_default(Behavior::rate_limited());
  auto router = make_router(two_deployments(a, b, "router_settings:\n  num_retries: 2\n  cooldown_time: 600\n"));
  for (int i = 0; i < 20 && !cooling(*router, "dep-a"); ++i) REQUIRE(router->completion(chat_request("grp")).ok());
  REQUIRE(cooling(*router, "dep-a"));
  for (int i = 0; i < 20; ++i) {
    auto picked = router->pick(R"({"model":"grp"})");
    REQUIRE(picked.ok());
    CHECK(picked->id == "dep-b");
  }
  // Picks do not count: only the calls above did.
  const int64_t before = requests_this_minute(*router, "dep-b");
  REQUIRE(router->pick(R"({"model":"grp"})").ok());
  CHECK(requests_this_minute(*router, "dep-b") == before);

  FakeProvider only;
  only.set_default(Behavior::rate_limited());
  auto single = make_router("model_list:\n" + deployment_yaml("solo", "m", only, "      cooldown_time: 600\n", "s1") +
                            deployment_yaml("solo", "m2", only, "      cooldown_time: 600\n", "s2") +
                            "router_settings:\n  num_retries: 3\n");
  for (int i = 0; i < 5; ++i) (void)single->completion(chat_request("solo"));
  REQUIRE(cooling(*single, "s1"));
  REQUIRE(cooling(*single, "s2"));
  auto picked = single->pick(R"({"model":"solo"})");
  REQUIRE_FALSE(picked.ok());
  CHECK(picked.error().kind == ErrorKind::kNoDeploymentsAvailable);
}

TEST_CASE("pick: tags, rpm headroom and order tiers filter as for a call", "[router][pick]") {
  FakeProvider a, b;
  auto tagged = make_router(two_deployments(a, b, "router_settings:\n  enable_tag_filtering: true\n",
                                            "      tags: [\"fast\"]\n", "      tags: [\"slow\"]\n"));
  for (int i = 0; i < 10; ++i) {
    auto picked = tagged->pick(R"({"model":"grp","metadata":{"tags":["slow"]}})");
    REQUIRE(picked.ok());
    CHECK(picked->id == "dep-b");
  }
  auto tiers = make_router(
      two_deployments(a, b, "router_settings:\n  enable_pre_call_checks: true\n", "      order: 2\n", "      order: 1\n"));
  for (int i = 0; i < 10; ++i) {
    auto picked = tiers->pick(R"({"model":"grp","messages":[{"role":"user","content":"hi"}]})");
    REQUIRE(picked.ok());
    CHECK(picked->id == "dep-b");
  }
  auto limited = make_router(two_deployments(a, b, "router_settings:\n  enable_pre_call_checks: true\n",
                                             "      rpm: 1\n      weight: 1000\n", "      rpm: 100\n      weight: 1\n"));
  // Use up dep-a's one request a minute (calls until it served one; its weight makes that the first).
  for (int i = 0; i < 30 && requests_this_minute(*limited, "dep-a") < 1; ++i) {
    REQUIRE(limited->completion(chat_request("grp")).ok());
  }
  REQUIRE(requests_this_minute(*limited, "dep-a") == 1);
  for (int i = 0; i < 10; ++i) {
    auto picked = limited->pick(R"({"model":"grp"})");
    REQUIRE(picked.ok());
    CHECK(picked->id == "dep-b");
  }
}

TEST_CASE("model_group_usage: counts real calls; responses carry x-ratelimit-* headers", "[router][usage]") {
  FakeProvider a, b;
  auto router = make_router(two_deployments(a, b, "", "      rpm: 100\n      tpm: 10000\n", "      rpm: 50\n"));
  int64_t tokens = 0;
  Response last;
  for (int i = 0; i < 3; ++i) {
    auto r = router->completion(chat_request("grp"));
    REQUIRE(r.ok());
    tokens += r->usage.total_tokens;
    last = std::move(r).value();
  }
  auto usage = router->model_group_usage("grp");
  REQUIRE(usage.ok());
  CHECK(usage->model_group == "grp");
  CHECK(usage->rpm_used == 3);
  CHECK(usage->tpm_used == tokens);
  REQUIRE(usage->rpm_limit);
  CHECK(*usage->rpm_limit == 150);
  REQUIRE(usage->tpm_limit);
  CHECK(*usage->tpm_limit == 10000);
  const std::string js = model_group_usage_json(*usage);
  CHECK(json_at(js, "/rpm") == "3");
  CHECK(json_at(js, "/headers/x-ratelimit-remaining-requests") == "147");
  CHECK(json_at(js, "/headers/x-ratelimit-limit-requests") == "150");

  auto header = [&](const std::string& name) -> std::string {
    for (const auto& [k, v] : litellm_headers(last.metadata)) {
      if (k == name) return v;
    }
    return "<absent>";
  };
  CHECK(header("x-ratelimit-remaining-requests") == "147");
  CHECK(header("x-ratelimit-limit-requests") == "150");
  CHECK(header("x-ratelimit-limit-tokens") == "10000");
  CHECK(header("x-ratelimit-remaining-tokens") == std::to_string(10000 - tokens));
  CHECK(json_at(response_json(last), "/_llmux/headers/x-ratelimit-remaining-requests") == "147");

  auto missing = router->model_group_usage("nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kNotFound);

  // A group without limits: usage counted, no headers.
  FakeProvider c;
  auto plain = make_router("model_list:\n" + deployment_yaml("free", "m", c, "", "f1"));
  auto r = plain->completion(chat_request("free"));
  REQUIRE(r.ok());
  CHECK(r->metadata.rate_limit_headers.empty());
  auto u = plain->model_group_usage("free");
  REQUIRE(u.ok());
  CHECK(u->rpm_used == 1);
  CHECK_FALSE(u->rpm_limit);
  CHECK(json_at(model_group_usage_json(*u), "/rpm_limit") == "null");
}

TEST_CASE("update_settings: the next call uses the new num_retries", "[router][settings]") {
  FakeProvider p;
  p.set_default(Behavior::error(500, "boom", "server_error"));
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p, "", "d1") +
                            "router_settings:\n  num_retries: 0\n");
  CHECK_FALSE(router->completion(chat_request("g")).ok());
  CHECK(p.request_count() == 1);
  REQUIRE(router->update_settings(R"({"num_retries": 2})").ok());
  CHECK(router->settings().num_retries == 2);
  CHECK_FALSE(router->completion(chat_request("g")).ok());
  CHECK(p.request_count() == 4);
}

TEST_CASE("update_settings: validation is typed, names the key, applies nothing", "[router][settings]") {
  FakeProvider p;
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p, "", "d1"));
  const RouterSettings before = router->settings();

  auto unknown = router->update_settings(R"({"num_retries": 5, "redis_host": "x"})");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(unknown.error().message, Catch::Contains("redis_host"));

  auto wrong = router->update_settings(R"({"num_retries": 5, "cooldown_time": "soon"})");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(wrong.error().message, Catch::Contains("cooldown_time"));

  auto strategy = router->update_settings(R"({"num_retries": 5, "routing_strategy": "fastest"})");
  REQUIRE_FALSE(strategy.ok());
  CHECK_THAT(strategy.error().message, Catch::Contains("routing_strategy"));

  CHECK_FALSE(router->update_settings("[1]").ok());
  CHECK_FALSE(router->update_settings("{").ok());
  CHECK(router->settings().num_retries == before.num_retries);
  CHECK(router->settings().cooldown_time_seconds == before.cooldown_time_seconds);
  CHECK(router->settings().routing_strategy == before.routing_strategy);
}

TEST_CASE("update_settings: aliases, fallbacks, strategy, and a settings_json round trip", "[router][settings]") {
  FakeProvider p, q;
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p, "", "d1") +
                            deployment_yaml("h", "m", q, "", "d2") +
                            "router_settings:\n  default_fallbacks: [h]\n");
  // Unknown: the default fallback group serves it (LiteLLM's rule).
  auto before = router->pick(R"({"model":"nick"})");
  REQUIRE(before.ok());
  CHECK(before->id == "d2");
  REQUIRE(router
              ->update_settings(R"({"model_group_alias": {"nick": "g"}, "routing_strategy": "least-busy",)"
                                R"( "fallbacks": [{"g": ["h"]}], "timeout": 30, "stream_timeout": 5})")
              .ok());
  auto picked = router->pick(R"({"model":"nick"})");
  REQUIRE(picked.ok());
  CHECK(picked->id == "d1");
  const RouterSettings s = router->settings();
  CHECK(s.routing_strategy == "least-busy");
  CHECK(s.timeout_seconds == 30);
  REQUIRE(s.stream_timeout_seconds);
  CHECK(*s.stream_timeout_seconds == 5);
  // fallbacks replaced; default_fallbacks (the "*" rule) kept.
  REQUIRE(s.fallbacks.size() == 2);
  const std::string js = settings_json(s);
  CHECK(json_at(js, "/fallbacks") == R"([{"g":["h"]}])");
  CHECK(json_at(js, "/default_fallbacks") == R"(["h"])");
  CHECK(json_at(js, "/model_group_alias/nick") == "g");
  CHECK(json_at(js, "/routing_strategy") == "least-busy");
  REQUIRE(router->completion(chat_request("nick")).ok());
  // What settings_json reports is accepted back unchanged.
  REQUIRE(router->update_settings(js).ok());
  CHECK(settings_json(router->settings()) == js);
  // null restores the default.
  REQUIRE(router->update_settings(R"({"stream_timeout": null, "default_fallbacks": null})").ok());
  CHECK_FALSE(router->settings().stream_timeout_seconds);
  CHECK(json_at(settings_json(router->settings()), "/default_fallbacks") == "null");
}

TEST_CASE("update_settings: a call in flight keeps the settings it started with", "[router][settings]") {
  FakeProvider p;
  Behavior slow_failure = Behavior::error(500, "boom", "server_error");
  // The failure comes after the update below in practice; the outcome must
  // not depend on that order either way.
  slow_failure.delay = std::chrono::milliseconds(200);
  p.set_default(slow_failure);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p, "", "d1") +
                            "router_settings:\n  num_retries: 0\n");
  std::promise<Result<Response>> done;
  auto outcome = done.get_future();
  router->completion_async(chat_request("g"), [&](Result<Response> r) { done.set_value(std::move(r)); });
  REQUIRE(router->update_settings(R"({"num_retries": 3})").ok());
  Result<Response> first = outcome.get();
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().metadata.attempts == 1);
  // The next call has the new retries.
  auto second = router->completion(chat_request("g"));
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().metadata.attempts == 4);
}

TEST_CASE("pick: a wildcard route shows the model the request resolved to", "[router][pick]") {
  FakeProvider p;
  auto router = make_router(fmt::format("model_list:\n  - model_name: \"openai/*\"\n    litellm_params:\n"
                                        "      model: \"openai/*\"\n      api_base: {}\n      api_key: sk-test-secret-key\n",
                                        p.base_url()));
  for (bool secrets : {false, true}) {
    auto picked = router->pick(R"({"model":"openai/gpt-x"})", PickOptions{.include_secrets = secrets});
    REQUIRE(picked.ok());
    CHECK(json_at(picked->deployment_json, "/litellm_params/model") == "openai/gpt-x");
    CHECK(json_at(picked->deployment_json, "/litellm_params/api_key") == (secrets ? "sk-test-secret-key" : "***"));
  }
}

TEST_CASE("pick: specific_deployment routes among the deployments of one litellm_params.model", "[router][pick]") {
  FakeProvider a, b;
  // Two deployments of the same litellm model on different bases, and one of another.
  auto router = make_router("model_list:\n" + deployment_yaml("g1", "same", a, "", "s-1") +
                            deployment_yaml("g2", "same", b, "", "s-2") + deployment_yaml("g1", "other", a, "", "o-1"));
  bool seen[2] = {false, false};
  for (int i = 0; i < 40; ++i) {
    auto picked = router->pick(R"({"model":"openai/same"})", PickOptions{.specific_deployment = true});
    REQUIRE(picked.ok());
    REQUIRE((picked->id == "s-1" || picked->id == "s-2"));
    seen[picked->id == "s-2"] = true;
  }
  CHECK((seen[0] && seen[1]));
  auto by_id = router->pick(R"({"model":"o-1"})", PickOptions{.specific_deployment = true});
  REQUIRE(by_id.ok());
  CHECK(by_id->id == "o-1");
}
