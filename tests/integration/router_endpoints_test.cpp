// Wildcard routes report and send the requested model; client-side
// credentials get a twin deployment of their own; mock hooks as objects and
// errors; the other OpenAI endpoints.
#include <future>
#include <set>

#include "integration/test_util.hpp"
#include "router/client_side_deployments.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

std::string wildcard_config(const FakeProvider& p, const std::string& model_name, const std::string& model,
                            const std::string& extra = "") {
  return fmt::format("model_list:\n  - model_name: \"{}\"\n    litellm_params:\n      model: \"{}\"\n"
                     "      api_base: {}\n      api_key: sk-configured\n{}",
                     model_name, model, p.base_url(), extra);
}

}  // namespace

TEST_CASE("wildcard routes send and report the requested model, never the pattern", "[router][wildcard]") {
  FakeProvider p;
  SECTION("openai/* deployment under a * group") {
    auto router = make_router(wildcard_config(p, "*", "openai/*"));
    auto r = router->completion(chat_request("gpt-4o-mini"));
    REQUIRE(r.ok());
    CHECK(json_at(p.requests().back().body, "/model") == "gpt-4o-mini");
    CHECK(json_at(r->body, "/model") == "gpt-4o-mini");
    CHECK(r->metadata.deployment_model == "gpt-4o-mini");
  }
  SECTION("a bare * deployment strips its provider's prefix, as LiteLLM's get_llm_provider does") {
    auto router = make_router(wildcard_config(p, "*", "*"));
    auto r = router->completion(chat_request("openai/gpt-4o"));
    REQUIRE(r.ok());
    CHECK(json_at(p.requests().back().body, "/model") == "gpt-4o");
    CHECK(json_at(r->body, "/model") == "gpt-4o");
    auto plain = router->completion(chat_request("my-model"));
    REQUIRE(plain.ok());
    CHECK(json_at(p.requests().back().body, "/model") == "my-model");
  }
  SECTION("a fallback into a wildcard group fills it with the requested model") {
    auto router = make_router(
        "model_list:\n"
        "  - model_name: primary\n    litellm_params:\n      model: openai/primary\n"
        "      mock_response: litellm.RateLimitError\n" +
        fmt::format("  - model_name: \"*\"\n    litellm_params:\n      model: \"openai/*\"\n      api_base: {}\n",
                    p.base_url()) +
        "router_settings:\n  fallbacks: [{primary: [\"*\"]}]\n");
    auto r = router->completion(chat_request("primary"));
    REQUIRE(r.ok());
    CHECK(r->metadata.fallbacks == 1);
    CHECK(json_at(p.requests().back().body, "/model") == "primary");
    CHECK(json_at(r->body, "/model") == "primary");
  }
  SECTION("a mock answer of a wildcard deployment names the requested model") {
    auto router = make_router(
        "model_list:\n  - model_name: \"openai/*\"\n    litellm_params:\n      model: \"openai/*\"\n"
        "      mock_response: hi\n");
    auto r = router->completion(chat_request("openai/gpt-4.1"));
    REQUIRE(r.ok());
    CHECK(json_at(r->body, "/model") == "gpt-4.1");
  }
}

TEST_CASE("client-side credentials get their own deployment identity and counters", "[router][client_side]") {
  FakeProvider p;
  FakeProvider other;
  auto router = make_router("model_list:\n" + deployment_yaml("gpt-test", "served-model", p, "", "dep-a"));

  auto a = router->completion(chat_request("gpt-test", R"("api_key":"sk-client-one")"));
  REQUIRE(a.ok());
  auto b = router->completion(chat_request("gpt-test", R"("api_key":"sk-client-two")"));
  REQUIRE(b.ok());
  auto a2 = router->completion(chat_request("gpt-test", R"("api_key":"sk-client-one")"));
  REQUIRE(a2.ok());
  auto reqs = p.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].header("authorization") == "Bearer sk-client-one");
  CHECK(reqs[1].header("authorization") == "Bearer sk-client-two");
  // Router-only: the key is a credential, never part of the body.
  CHECK(reqs[0].body.find("sk-client-one") == std::string::npos);

  CHECK(a->metadata.deployment_id != "dep-a");
  CHECK(b->metadata.deployment_id != "dep-a");
  CHECK(a->metadata.deployment_id != b->metadata.deployment_id);
  CHECK(a->metadata.deployment_id == a2->metadata.deployment_id);  // stable
  CHECK(a->metadata.deployment_id.size() == 64);
  CHECK(a->metadata.deployment_id.find("sk-") == std::string::npos);

  // The configured deployment is untouched, and twins are not listed.
  auto h = router->health();
  REQUIRE(h.size() == 1);
  CHECK(h[0].id == "dep-a");
  CHECK(h[0].requests_this_minute == 0);
  CHECK(h[0].tokens_this_minute == 0);
  CHECK(router->deployments().size() == 1);
  const std::string metrics = router->metrics_prometheus();
  CHECK(metrics.find("sk-client") == std::string::npos);
  // Twins are counted under one label, never one series per key.
  CHECK(metrics.find(a->metadata.deployment_id) == std::string::npos);
  CHECK(metrics.find("client_side_credentials") != std::string::npos);

  SECTION("api_base (and base_url) send the call elsewhere") {
    auto c = router->completion(chat_request("gpt-test", fmt::format(R"("api_base":"{}")", other.base_url())));
    REQUIRE(c.ok());
    REQUIRE(other.requests().size() == 1);
    CHECK(other.requests()[0].header("authorization") == "Bearer sk-test-secret-key");
    CHECK(c->metadata.api_base == other.base_url());
    auto d = router->completion(chat_request("gpt-test", fmt::format(R"("base_url":"{}")", other.base_url())));
    REQUIRE(d.ok());
    CHECK(d->metadata.deployment_id == c->metadata.deployment_id);
    CHECK(p.requests().size() == 3);
  }
  SECTION("a failing client key cools down its twin, not the configured deployment; no secret in the error") {
    p.set_handler([](const ReceivedRequest& r) {
      if (r.header("authorization") == "Bearer sk-bad-key") {
        return Behavior::error(401, "Incorrect API key provided: sk-bad-key", "invalid_request_error", "invalid_api_key");
      }
      return Behavior::ok("fine");
    });
    auto bad = router->completion(chat_request("gpt-test", R"("api_key":"sk-bad-key","num_retries":0)"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == ErrorKind::kAuthentication);
    CHECK(bad.error().to_string().find("sk-bad-key") == std::string::npos);
    CHECK(bad.error().metadata.deployment_id != "dep-a");
    auto h2 = router->health();
    REQUIRE(h2.size() == 1);
    CHECK(h2[0].healthy);
    auto good = router->completion(chat_request("gpt-test"));
    REQUIRE(good.ok());
    CHECK(good->metadata.deployment_id == "dep-a");
  }
}

TEST_CASE("twin ids: stable, distinct per credentials, bounded registry", "[router][client_side]") {
  using router::ClientSideDeployments;
  const std::optional<std::string> none;
  const std::string a = ClientSideDeployments::twin_id("dep", std::string("k1"), none);
  CHECK(a == ClientSideDeployments::twin_id("dep", std::string("k1"), none));
  CHECK(a != ClientSideDeployments::twin_id("dep", std::string("k2"), none));
  CHECK(a != ClientSideDeployments::twin_id("dep2", std::string("k1"), none));
  CHECK(ClientSideDeployments::twin_id("dep", none, std::string("k1")) != a);
  CHECK(ClientSideDeployments::twin_id("dep", std::string(""), none) != ClientSideDeployments::twin_id("dep", none, none));

  // Over capacity, the least recently used twin is forgotten.
  FakeProvider p;
  auto cfg = parse_config("model_list:\n" + deployment_yaml("g", "m", p, "", "dep-a"));
  REQUIRE(cfg.ok());
  auto pool = router::DeploymentPool::build(cfg->model_list, cfg->settings, nullptr);
  REQUIRE(pool.ok());
  const router::PoolEntry& base = *(*pool)->entries().front();
  ClientSideDeployments twins(2);
  request::RouterRequestOptions o1, o2, o3;
  o1.api_key = "k1";
  o2.api_key = "k2";
  o3.api_key = "k3";
  auto t1 = twins.twin(base, o1, cfg->settings);
  REQUIRE(t1.ok());
  CHECK((*t1)->deployment->config().api_key == "k1");
  CHECK((*t1)->deployment->config().api_base == base.deployment->config().api_base);
  REQUIRE(twins.twin(base, o2, cfg->settings).ok());
  REQUIRE(twins.twin(base, o1, cfg->settings).ok());  // k1 used again: k2 is now the oldest
  REQUIRE(twins.twin(base, o3, cfg->settings).ok());
  CHECK(twins.size() == 2);
  auto again = twins.twin(base, o1, cfg->settings);
  REQUIRE(again.ok());
  CHECK(again->get() == t1->get());  // kept
  // t1 is still usable after its neighbours were evicted.
  CHECK((*t1)->deployment->id() == ClientSideDeployments::twin_id("dep-a", std::string("k1"), std::nullopt));
}

TEST_CASE("mock_response as an object is answered as the body", "[router][mock]") {
  auto router = make_router(
      "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/m\n"
      "      mock_response: {id: dep-body, object: chat.completion, model: from-config, choices: [{index: 0, "
      "message: {role: assistant, content: configured}, finish_reason: stop}]}\n");
  auto r = router->completion(chat_request("g"));
  REQUIRE(r.ok());
  CHECK(json_at(r->body, "/choices/0/message/content") == "configured");
  CHECK(json_at(r->body, "/id") == "dep-body");

  auto per_request = router->completion(chat_request(
      "g", R"("mock_response":{"id":"req-body","object":"chat.completion","model":"x","choices":[{"index":0,)"
           R"("message":{"role":"assistant","content":"from the request"},"finish_reason":"stop"}],)"
           R"("usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}})"));
  REQUIRE(per_request.ok());
  CHECK(json_at(per_request->body, "/choices/0/message/content") == "from the request");
  CHECK(per_request->usage.completion_tokens == 3);

  auto streamed = run_stream(*router, chat_request("g", R"("stream":true)"));
  CHECK(streamed.text == "configured");
}

TEST_CASE("llmux_mock_error fails like a provider answering that status", "[router][mock]") {
  SECTION("a 429 on one deployment is retried on the other, which serves; the failing one cools down") {
    auto router = make_router(
        "model_list:\n"
        "  - model_name: g\n    litellm_params:\n      model: openai/a\n"
        "      llmux_mock_error: {status_code: 429, message: slow down, type: rate_limit_error}\n"
        "    model_info:\n      id: dep-bad\n"
        "  - model_name: g\n    litellm_params:\n      model: openai/b\n      mock_response: served\n"
        "    model_info:\n      id: dep-good\n");
    bool saw_bad = false;
    for (int i = 0; i < 4; ++i) {
      auto r = router->completion(chat_request("g", R"("num_retries":2)"));
      REQUIRE(r.ok());
      CHECK(r->metadata.deployment_id == "dep-good");
      saw_bad = saw_bad || r->metadata.attempts > 1;
    }
    CHECK(saw_bad);
    bool bad_cooling = false;
    for (const auto& h : router->health("g")) {
      if (h.id == "dep-bad") bad_cooling = !h.healthy && h.status == 429;
    }
    CHECK(bad_cooling);
  }
  SECTION("per request: the status's class, no retry of a 400, fallbacks after a 500") {
    auto router = make_router(
        "model_list:\n"
        "  - model_name: g\n    litellm_params:\n      model: openai/a\n      mock_response: fine\n"
        "  - model_name: backup\n    litellm_params:\n      model: openai/b\n      mock_response: from backup\n");
    auto rl = router->completion(
        chat_request("g", R"("num_retries":0,"llmux_mock_error":{"status_code":429,"message":"mock 429"})"));
    REQUIRE_FALSE(rl.ok());
    CHECK(rl.error().kind == ErrorKind::kRateLimit);
    CHECK(rl.error().status == 429);
    CHECK(rl.error().message.find("mock 429") != std::string::npos);

    auto bad = router->completion(
        chat_request("g", R"("num_retries":3,"llmux_mock_error":{"status_code":400,"message":"bad input"})"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == ErrorKind::kBadRequest);
    CHECK(bad.error().metadata.attempts == 1);

    auto fb = router->completion(chat_request(
        "g", R"("num_retries":0,"fallbacks":["backup"],"llmux_mock_error":{"status_code":500,"message":"boom"})"));
    // The per-request hook applies to the fallback's attempts too, as LiteLLM's mock_response does.
    REQUIRE_FALSE(fb.ok());
    CHECK(fb.error().metadata.fallbacks == 1);
    CHECK(fb.error().kind == ErrorKind::kInternalServer);
  }
  SECTION("a malformed hook is a bad request") {
    auto router = make_router("model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/a\n"
                              "      mock_response: fine\n");
    auto r = router->completion(chat_request("g", R"("llmux_mock_error":"429")"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  }
}

namespace {

// Answers each endpoint's path with a body of its shape; 429 for models starting "fail".
Behavior endpoint_answer(const ReceivedRequest& r) {
  const std::string model = json_at(r.body, "/model");
  if (model.rfind("fail", 0) == 0) return Behavior::error(429, "Rate limit reached", "rate_limit_error", "");
  Behavior b;
  if (r.path == "/v1/completions") {
    b.body = R"({"id":"cmpl-1","object":"text_completion","model":")" + model +
             R"(","choices":[{"index":0,"text":"done","finish_reason":"length"}],)"
             R"("usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}})";
  } else if (r.path == "/v1/moderations") {
    b.body = R"({"id":"modr-1","model":")" + model + R"(","results":[{"flagged":true,"categories":{}}]})";
  } else if (r.path == "/v1/responses") {
    b.body = R"({"id":"resp-1","object":"response","status":"completed","model":")" + model +
             R"(","output":[],"usage":{"input_tokens":7,"output_tokens":2,"total_tokens":9}})";
  } else {
    b.status = 404;
    b.body = R"({"error":{"message":"no such path","type":"invalid_request_error"}})";
  }
  return b;
}

}  // namespace

TEST_CASE("text completions, moderations and responses pass through to OpenAI-compatible deployments",
          "[router][endpoints]") {
  FakeProvider p;
  p.set_handler(endpoint_answer);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "served", p, "", "dep-a") +
                            deployment_yaml("failing", "fail-model", p, "", "dep-fail"));

  auto text = router->call(Endpoint::kTextCompletions, R"({"model":"g","prompt":"Once upon","max_tokens":1})");
  REQUIRE(text.ok());
  CHECK(p.requests().back().path == "/v1/completions");
  CHECK(json_at(p.requests().back().body, "/model") == "served");
  CHECK(json_at(p.requests().back().body, "/prompt") == "Once upon");
  CHECK(json_at(text->body, "/choices/0/text") == "done");
  CHECK(text->finish_reason == "length");
  CHECK(text->usage.total_tokens == 5);
  CHECK(text->metadata.deployment_id == "dep-a");

  auto mod = router->call(Endpoint::kModerations, R"({"model":"g","input":"some text"})");
  REQUIRE(mod.ok());
  CHECK(p.requests().back().path == "/v1/moderations");
  CHECK(json_at(mod->body, "/results/0/flagged") == "true");

  auto resp = router->call(Endpoint::kResponses, R"({"model":"g","input":"hi","stream":true})");
  REQUIRE(resp.ok());
  CHECK(p.requests().back().path == "/v1/responses");
  CHECK(json_at(p.requests().back().body, "/stream") == "<absent>");
  CHECK(resp->usage.prompt_tokens == 7);
  CHECK(resp->usage.completion_tokens == 2);

  auto chat = router->call(Endpoint::kChatCompletions, chat_request("g"));
  CHECK_FALSE(chat.ok());  // the handler has no chat path: a 404 from the provider
  CHECK(p.requests().back().path == "/v1/chat/completions");

  SECTION("retries and fallbacks as for completions") {
    const size_t before = p.requests().size();
    auto fb = router->call(Endpoint::kTextCompletions,
                           R"({"model":"failing","prompt":"x","num_retries":1,"fallbacks":["g"]})");
    REQUIRE(fb.ok());
    CHECK(fb->metadata.fallbacks == 1);
    CHECK(fb->metadata.deployment_id == "dep-a");
    CHECK(p.requests().size() - before == 3);  // the failing one twice, then the fallback
  }
  SECTION("asynchronously") {
    std::promise<Result<Response>> done;
    router->call_async(Endpoint::kModerations, R"({"model":"g","input":["a","b"]})",
                       [&](Result<Response> r) { done.set_value(std::move(r)); });
    auto r = done.get_future().get();
    REQUIRE(r.ok());
    CHECK(json_at(r->body, "/id") == "modr-1");
  }
  SECTION("bad requests name the missing member") {
    auto no_prompt = router->call(Endpoint::kTextCompletions, R"({"model":"g"})");
    REQUIRE_FALSE(no_prompt.ok());
    CHECK(no_prompt.error().message.find("'prompt' is required") != std::string::npos);
    auto no_input = router->call(Endpoint::kResponses, R"({"model":"g"})");
    REQUIRE_FALSE(no_input.ok());
    CHECK(no_input.error().message.find("'input' is required") != std::string::npos);
  }
}

TEST_CASE("other endpoints: mock answers, and a typed error from families that lack them", "[router][endpoints]") {
  auto router = make_router(
      "model_list:\n"
      "  - model_name: m\n    litellm_params:\n      model: openai/x\n      mock_response: mocked words\n"
      "  - model_name: claude\n    litellm_params:\n      model: anthropic/claude-3\n      api_key: sk-ant\n"
      "      api_base: http://127.0.0.1:9\n");
  auto text = router->call(Endpoint::kTextCompletions, R"({"model":"m","prompt":"p"})");
  REQUIRE(text.ok());
  CHECK(json_at(text->body, "/object") == "text_completion");
  CHECK(json_at(text->body, "/choices/0/text") == "mocked words");
  auto mod = router->call(Endpoint::kModerations, R"({"model":"m","input":"p"})");
  REQUIRE(mod.ok());
  CHECK(json_at(mod->body, "/results/0/flagged") == "false");
  auto resp = router->call(Endpoint::kResponses, R"({"model":"m","input":"p"})");
  REQUIRE(resp.ok());
  CHECK(json_at(resp->body, "/output/0/content/0/text") == "mocked words");
  CHECK(resp->usage.completion_tokens == 2);

  auto unsupported = router->call(Endpoint::kModerations, R"({"model":"claude","input":"p"})");
  REQUIRE_FALSE(unsupported.ok());
  CHECK(unsupported.error().kind == ErrorKind::kBadRequest);
  CHECK(unsupported.error().message.find("moderations endpoint is not supported by provider 'anthropic'") !=
        std::string::npos);
  CHECK(unsupported.error().message.find("sk-ant") == std::string::npos);
  bool healthy = true;
  for (const auto& h : router->health("claude")) healthy = healthy && h.healthy;
  CHECK(healthy);
  CHECK(endpoint_name(Endpoint::kResponses) == "responses");
}
