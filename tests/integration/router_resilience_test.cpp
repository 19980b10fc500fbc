// Retries, fallbacks, cooldowns and load spreading against real HTTP.
#include <atomic>
#include <map>
#include <thread>

#include "integration/test_util.hpp"

using namespace llmux;
using namespace llmux::testing;

TEST_CASE("traffic spreads over the deployments of a group by weight", "[router][routing]") {
  FakeProvider a, b;
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", a, "      weight: 1\n", "a") +
                    deployment_yaml("g", "m", b, "      weight: 3\n", "b");
  auto router = make_router(cfg);
  std::map<std::string, int> served;
  for (int i = 0; i < 400; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    served[r->metadata.deployment_id]++;
  }
  CHECK(served["a"] + served["b"] == 400);
  CHECK(a.request_count() == static_cast<size_t>(served["a"]));
  // Expected 100 / 300; a seeded RNG keeps this deterministic, the bound is loose anyway.
  CHECK(served["a"] > 60);
  CHECK(served["a"] < 140);
}

TEST_CASE("a failed attempt is retried at once on another healthy deployment", "[router][retry]") {
  FakeProvider a, b;
  a.set_default(Behavior::error(500, "boom", "server_error"));
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", a, "", "a") + deployment_yaml("g", "m", b, "", "b");
  auto router = make_router(cfg);
  for (int i = 0; i < 10; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "b");
    CHECK(r->metadata.attempts == (r->metadata.retries + 1));
  }
  // Every request that hit `a` was followed by an immediate retry on `b`.
  CHECK(b.request_count() == 10);
}

TEST_CASE("Retry-After of the latest failure is honoured for a single deployment", "[router][retry]") {
  FakeProvider a;
  a.enqueue(Behavior::rate_limited(1));
  a.set_default(Behavior::ok());
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", a));
  auto r = router->completion(chat_request("g"));
  REQUIRE(r.ok());
  CHECK(r->metadata.attempts == 2);
  auto reqs = a.requests();
  REQUIRE(reqs.size() == 2);
  // Lower bound only: at least the advertised second passed between attempts.
  CHECK(seconds_between(reqs[0].received_at, reqs[1].received_at) >= 0.95);
}

TEST_CASE("non-retryable errors are not retried and keep the provider's message", "[router][retry]") {
  FakeProvider a, b;
  a.set_default(Behavior::error(400, "temperature must be between 0 and 2", "invalid_request_error"));
  b.set_default(Behavior::error(400, "temperature must be between 0 and 2", "invalid_request_error"));
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", a) + deployment_yaml("g", "m", b);
  auto router = make_router(cfg);
  auto r = router->completion(chat_request("g", R"("temperature":7)"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kBadRequest);
  CHECK(r.error().status == 400);
  CHECK(r.error().message.find("temperature must be between 0 and 2") != std::string::npos);
  CHECK(a.request_count() + b.request_count() == 1);
  CHECK(r.error().metadata.attempts == 1);
}

TEST_CASE("num_retries bounds the attempts in a group", "[router][retry]") {
  FakeProvider a, b;
  a.set_default(Behavior::error(503, "overloaded", "server_error"));
  b.set_default(Behavior::error(503, "overloaded", "server_error"));
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", a) + deployment_yaml("g", "m", b) +
                    "router_settings:\n  num_retries: 3\n  allowed_fails: 100\n";
  auto router = make_router(cfg);
  auto r = router->completion(chat_request("g"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kServiceUnavailable);
  CHECK(r.error().message.find("overloaded") != std::string::npos);
  CHECK(a.request_count() + b.request_count() == 4);
  CHECK(r.error().metadata.attempts == 4);

  auto once = router->completion(chat_request("g", R"("num_retries":0)"));
  REQUIRE_FALSE(once.ok());
  CHECK(a.request_count() + b.request_count() == 5);
}

TEST_CASE("generic fallbacks take over when the primary group is exhausted", "[router][fallback]") {
  FakeProvider primary, backup;
  primary.set_default(Behavior::error(500, "primary down", "server_error"));
  backup.set_default(Behavior::ok("from backup"));
  std::string cfg = "model_list:\n" + deployment_yaml("big", "big-model", primary, "", "p1") +
                    deployment_yaml("small", "small-model", backup, "", "s1") +
                    "router_settings:\n  num_retries: 1\n  retry_after: 0\n  fallbacks:\n    - big: [small]\n";
  auto router = make_router(cfg);
  auto r = router->completion(chat_request("big"));
  REQUIRE(r.ok());
  CHECK(r->body.find("from backup") != std::string::npos);
  CHECK(r->metadata.model_group == "small");
  CHECK(r->metadata.requested_model == "big");
  CHECK(r->metadata.deployment_id == "s1");
  CHECK(r->metadata.fallbacks == 1);
  CHECK(r->metadata.attempts == 3);
  CHECK(primary.request_count() == 2);  // first attempt + 1 retry
  CHECK(backup.requests().at(0).body.find(R"("model":"small-model")") != std::string::npos);
}

TEST_CASE("when every fallback fails the error names the primary cause and each fallback", "[router][fallback]") {
  FakeProvider primary, backup;
  primary.set_default(Behavior::error(500, "primary down", "server_error"));
  backup.set_default(Behavior::error(502, "backup gateway broke", "server_error"));
  std::string cfg = "model_list:\n" + deployment_yaml("big", "m", primary) + deployment_yaml("small", "m", backup) +
                    "router_settings:\n  num_retries: 0\n  fallbacks:\n    - big: [small]\n";
  auto router = make_router(cfg);
  auto r = router->completion(chat_request("big"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInternalServer);
  CHECK(r.error().message.find("primary down") != std::string::npos);
  CHECK(r.error().message.find("small") != std::string::npos);
  CHECK(r.error().message.find("backup gateway broke") != std::string::npos);
}

TEST_CASE("per-request fallbacks and disable_fallbacks", "[router][fallback]") {
  FakeProvider primary, backup;
  primary.set_default(Behavior::error(500, "primary down", "server_error"));
  std::string cfg = "model_list:\n" + deployment_yaml("big", "m", primary) + deployment_yaml("small", "m", backup) +
                    "router_settings:\n  num_retries: 0\n  fallbacks:\n    - big: [small]\n";
  auto router = make_router(cfg);
  auto off = router->completion(chat_request("big", R"("disable_fallbacks":true)"));
  REQUIRE_FALSE(off.ok());
  CHECK(backup.request_count() == 0);
  auto client = router->completion(chat_request("big", R"("fallbacks":["small"])"));
  REQUIRE(client.ok());
  CHECK(client->metadata.model_group == "small");
}

TEST_CASE("context-window errors skip retries and use context_window_fallbacks", "[router][fallback]") {
  FakeProvider small_ctx, big_ctx;
  small_ctx.set_default(Behavior::context_window_exceeded());
  big_ctx.set_default(Behavior::ok("long context ok"));
  std::string cfg = "model_list:\n" + deployment_yaml("short", "m", small_ctx) + deployment_yaml("long", "m", big_ctx) +
                    "router_settings:\n  num_retries: 3\n  context_window_fallbacks:\n    - short: [long]\n";
  auto router = make_router(cfg);
  auto r = router->completion(chat_request("short"));
  REQUIRE(r.ok());
  CHECK(r->metadata.model_group == "long");
  CHECK(small_ctx.request_count() == 1);

  // Without a context-window fallback the error surfaces, typed, not retried.
  auto plain = make_router("model_list:\n" + deployment_yaml("short", "m", small_ctx));
  auto e = plain->completion(chat_request("short"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::kContextWindowExceeded);
  CHECK(small_ctx.request_count() == 2);
}

TEST_CASE("content-policy errors use content_policy_fallbacks", "[router][fallback]") {
  FakeProvider strict, lenient;
  strict.set_default(Behavior::content_policy_violation());
  std::string cfg = "model_list:\n" + deployment_yaml("strict", "m", strict) + deployment_yaml("lenient", "m", lenient) +
                    "router_settings:\n  content_policy_fallbacks:\n    - strict: [lenient]\n";
  auto router = make_router(cfg);
  auto r = router->completion(chat_request("strict"));
  REQUIRE(r.ok());
  CHECK(r->metadata.model_group == "lenient");
  CHECK(strict.request_count() == 1);
}

// Issue 9 §7c: routing around a safety refusal is what content_policy_fallbacks
// are for; outage fallbacks (generic, default) do not answer it instead.
TEST_CASE("content-policy errors without content_policy_fallbacks end after one attempt", "[router][fallback]") {
  FakeProvider strict, other;
  strict.set_default(Behavior::content_policy_violation());
  std::string cfg = "model_list:\n" + deployment_yaml("strict", "m", strict) + deployment_yaml("other", "m", other) +
                    "router_settings:\n  num_retries: 2\n  fallbacks:\n    - strict: [other]\n"
                    "  default_fallbacks: [other]\n";
  auto router = make_router(cfg);
  auto r = router->completion(chat_request("strict"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kContentPolicyViolation);
  CHECK(r.error().message.find("safety system") != std::string::npos);
  CHECK(strict.request_count() == 1);
  CHECK(other.request_count() == 0);
  // Client-side fallbacks in the request are outage fallbacks too.
  auto client = router->completion(chat_request("strict", R"("fallbacks":["other"])"));
  REQUIRE_FALSE(client.ok());
  CHECK(client.error().kind == ErrorKind::kContentPolicyViolation);
  CHECK(other.request_count() == 0);
}

TEST_CASE("mock_testing_fallbacks goes straight to the fallback group", "[router][fallback]") {
  FakeProvider primary, backup;
  std::string cfg = "model_list:\n" + deployment_yaml("big", "m", primary) + deployment_yaml("small", "m", backup) +
                    "router_settings:\n  fallbacks:\n    - big: [small]\n";
  auto router = make_router(cfg);
  auto r = router->completion(chat_request("big", R"("mock_testing_fallbacks":true)"));
  REQUIRE(r.ok());
  CHECK(r->metadata.model_group == "small");
  CHECK(primary.request_count() == 0);
}

TEST_CASE("a 429 cools the deployment down in a multi-deployment group", "[router][cooldown]") {
  FakeProvider a, b;
  a.set_default(Behavior::rate_limited(30));
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", a, "", "a") + deployment_yaml("g", "m", b, "", "b");
  auto router = make_router(cfg);
  // Route until `a` has been tried once; it must then be skipped.
  for (int i = 0; i < 20 && a.request_count() == 0; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  REQUIRE(a.request_count() == 1);
  auto health = router->health("g");
  REQUIRE(health.size() == 2);
  const auto& ha = health[0].id == "a" ? health[0] : health[1];
  const auto& hb = health[0].id == "a" ? health[1] : health[0];
  CHECK_FALSE(ha.healthy);
  CHECK(ha.status == 429);
  CHECK(ha.cooldown_remaining_seconds > 20);  // Retry-After: 30 sets the length
  CHECK(ha.cooldown_remaining_seconds <= 30);
  CHECK(ha.reason.find("429") != std::string::npos);
  CHECK(hb.healthy);
  for (int i = 0; i < 20; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "b");
  }
  CHECK(a.request_count() == 1);
}

TEST_CASE("all deployments cooling down: NoDeploymentsAvailable with the time to recovery", "[router][cooldown]") {
  FakeProvider a;
  a.set_default(Behavior::error(401, "Incorrect API key provided: sk-te*****key", "invalid_request_error", "invalid_api_key"));
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", a) + "router_settings:\n  cooldown_time: 40\n");
  auto first = router->completion(chat_request("g"));
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().kind == ErrorKind::kAuthentication);
  auto second = router->completion(chat_request("g"));
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().kind == ErrorKind::kNoDeploymentsAvailable);
  REQUIRE(second.error().retry_after_seconds.has_value());
  CHECK(*second.error().retry_after_seconds > 30);
  CHECK(second.error().message.find("Try again in") != std::string::npos);
  CHECK(a.request_count() == 1);
}

TEST_CASE("add_deployment and remove_deployment change routing at runtime", "[router]") {
  FakeProvider a, b;
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", a, "", "a"));
  DeploymentConfig d;
  d.model_name = "g";
  d.model = "openai/m";
  d.provider = "openai";
  d.provider_model = "m";
  d.api_base = b.base_url();
  d.id = "b";
  REQUIRE(router->add_deployment(d).ok());
  CHECK_FALSE(router->add_deployment(d).ok());  // duplicate id
  CHECK(router->deployments().size() == 2);
  REQUIRE(router->remove_deployment("a").ok());
  CHECK_FALSE(router->remove_deployment("a").ok());
  for (int i = 0; i < 5; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(b.request_count() == 5);
  CHECK(a.request_count() == 0);
  DeploymentConfig bad = d;
  bad.id = "c";
  bad.provider = "sagemaker";
  auto st = router->add_deployment(bad);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("sagemaker") != std::string::npos);
}

TEST_CASE("a deployment replaced at runtime sends its new key and headers on the same transport", "[router]") {
  // The transport keeps easy handles configured per request profile: calls
  // after the replacement must carry the new key and extra headers, never
  // the old ones, and the old deployment's calls before it theirs.
  FakeProvider p;
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p, "", "a"));
  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  DeploymentConfig d;
  d.model_name = "g";
  d.model = "openai/m";
  d.provider = "openai";
  d.provider_model = "m";
  d.api_base = p.base_url();
  d.api_key = "sk-second-key";
  d.extra_headers = {{"X-Tenant", "blue"}};
  d.id = "a2";
  REQUIRE(router->remove_deployment("a").ok());
  REQUIRE(router->add_deployment(d).ok());
  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  REQUIRE(router->remove_deployment("a2").ok());
  d.id = "a3";
  d.api_key = "sk-third-key";
  d.extra_headers = {{"X-Region", "eu"}};
  REQUIRE(router->add_deployment(d).ok());
  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  // The first id again, with another key: the header lines prepared for the
  // deployment that had it (OpenAI-compatible adapters build them once per
  // deployment) are not reused.
  REQUIRE(router->remove_deployment("a3").ok());
  d.id = "a";
  d.api_key = "sk-fourth-key";
  REQUIRE(router->add_deployment(d).ok());
  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  const auto requests = p.requests();
  REQUIRE(requests.size() == 12);
  for (size_t i = 0; i < requests.size(); ++i) {
    INFO("request " << i);
    const char* key = i < 3   ? "Bearer sk-test-secret-key"
                      : i < 6 ? "Bearer sk-second-key"
                      : i < 9 ? "Bearer sk-third-key"
                              : "Bearer sk-fourth-key";
    CHECK(requests[i].header("authorization") == key);
    CHECK(requests[i].header("x-tenant") == (i >= 3 && i < 6 ? "blue" : ""));
    CHECK(requests[i].header("x-region") == (i >= 6 ? "eu" : ""));
    CHECK(requests[i].header("content-type") == "application/json");
    CHECK(requests[i].body.find("\"model\":\"m\"") != std::string::npos);
  }
  // One connection throughout: a new profile does not cost a new connection.
  CHECK(requests.front().connection_id == requests.back().connection_id);
}

TEST_CASE("a provider that misbehaves gets a typed error and the call fails over", "[router][retry]") {
  FakeProvider garbage, closer, good;
  Behavior not_json = Behavior::ok();
  not_json.body = "<html>502 from a proxy in front of the model</html>";
  garbage.set_default(not_json);
  Behavior close_after_headers = Behavior::ok();
  close_after_headers.action = Behavior::Action::kCloseAfterHeaders;
  closer.set_default(close_after_headers);
  good.set_default(Behavior::ok("sane answer"));

  // Alone, each misbehaviour is a typed error, never a success.
  auto only_garbage = make_router("model_list:\n" + deployment_yaml("g", "m", garbage) + "router_settings:\n  num_retries: 0\n");
  auto e1 = only_garbage->completion(chat_request("g"));
  REQUIRE_FALSE(e1.ok());
  CHECK(e1.error().kind == ErrorKind::kApiError);
  auto only_closer = make_router("model_list:\n" + deployment_yaml("g", "m", closer) + "router_settings:\n  num_retries: 0\n");
  auto e2 = only_closer->completion(chat_request("g"));
  REQUIRE_FALSE(e2.ok());
  CHECK(e2.error().kind == ErrorKind::kConnectionError);

  // In a group with a healthy deployment, every call is served by it.
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", garbage, "", "garbage") +
                    deployment_yaml("g", "m", closer, "", "closer") + deployment_yaml("g", "m", good, "", "good");
  auto router = make_router(cfg);
  for (int i = 0; i < 12; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "good");
    CHECK(r->body.find("sane answer") != std::string::npos);
  }
}

TEST_CASE("an error event inside a 200 stream before content fails over", "[router][stream]") {
  FakeProvider bad, good;
  Behavior err = Behavior::streaming("unused", 2);
  err.events = {R"({"error":{"message":"model overloaded","type":"server_error","code":503}})"};
  bad.set_default(err);
  good.set_default(Behavior::streaming("fine", 1));
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", bad, "", "bad") + deployment_yaml("g", "m", good, "", "good");
  auto router = make_router(cfg);
  for (int i = 0; i < 4; ++i) {
    auto c = run_stream(*router, chat_request("g"));
    REQUIRE(c.done->ok());
    CHECK(c.done->value().metadata.deployment_id == "good");
    CHECK(c.text == "fine");
    for (const auto& chunk : c.chunks) CHECK(chunk.find("overloaded") == std::string::npos);
  }
}

TEST_CASE("a 200 answer with finish_reason content_filter moves to the content-policy fallback when one exists",
          "[router][fallback]") {
  FakeProvider strict, lenient;
  Behavior filtered = Behavior::ok();
  filtered.body =
      R"({"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":)"
      R"({"role":"assistant","content":""},"finish_reason":"content_filter"}],)"
      R"("usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}})";
  strict.set_default(filtered);
  lenient.set_default(Behavior::ok("allowed answer"));
  {
    auto router = make_router("model_list:\n" + deployment_yaml("strict", "m", strict, "", "s") +
                              deployment_yaml("lenient", "m", lenient, "", "l") +
                              "router_settings:\n  content_policy_fallbacks:\n    - strict: [lenient]\n");
    auto r = router->completion(chat_request("strict"));
    REQUIRE(r.ok());
    CHECK(r->metadata.model_group == "lenient");
    CHECK(r->body.find("allowed answer") != std::string::npos);
    CHECK(strict.request_count() == 1);  // not retried: the deployment answered
    REQUIRE(r->metadata.attempt_log.size() == 2);
    CHECK(r->metadata.attempt_log[0].error_type == "ContentPolicyViolationError");
    // The deployment was not cooled down for answering.
    for (const auto& h : router->health("strict")) CHECK(h.healthy);
  }
  {
    // Without a content-policy fallback the filtered answer is returned as it is (LiteLLM).
    auto router = make_router("model_list:\n" + deployment_yaml("strict", "m", strict, "", "s"));
    auto r = router->completion(chat_request("strict"));
    REQUIRE(r.ok());
    CHECK(r->finish_reason == "content_filter");
  }
}
