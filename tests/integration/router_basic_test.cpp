// The path of one call: request in, spliced request on the wire, response and
// metadata out; bad input and lifecycle edges.
#include <atomic>
#include <thread>

#include <simdjson.h>

#include "integration/test_util.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

std::string one_group_config(const FakeProvider& p, const std::string& settings = "") {
  return "model_list:\n" + deployment_yaml("gpt-test", "served-model", p, "", "dep-a") + settings;
}

}  // namespace

TEST_CASE("completion round trip: spliced body on the wire, provider body and metadata back", "[router]") {
  FakeProvider p;
  p.set_default(Behavior::ok("Hi there"));
  auto router = make_router(one_group_config(p));
  auto resp = router->completion(
      R"({"model":"gpt-test","messages":[{"role":"user","content":"Say hello"}],"temperature":0.25,)"
      R"("num_retries":1,"metadata":{"tags":["a"]},"fallbacks":[],"mock_testing_fallbacks":false,"user":"u-1"})");
  REQUIRE(resp.ok());
  CHECK(resp->status == 200);
  CHECK(resp->body.find("Hi there") != std::string::npos);
  CHECK(resp->usage.reported);
  CHECK(resp->usage.total_tokens == resp->usage.prompt_tokens + resp->usage.completion_tokens);
  CHECK(resp->finish_reason == "stop");
  const RouterMetadata& m = resp->metadata;
  CHECK(m.deployment_id == "dep-a");
  CHECK(m.model_group == "gpt-test");
  CHECK(m.requested_model == "gpt-test");
  CHECK(m.api_base == p.base_url());
  CHECK(m.provider == "openai");
  CHECK(m.attempts == 1);
  CHECK(m.retries == 0);
  CHECK(m.fallbacks == 0);
  CHECK(m.latency_ms > 0);

  auto reqs = p.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].path == "/v1/chat/completions");
  CHECK(reqs[0].header("authorization") == "Bearer sk-test-secret-key");
  // Only `model` replaced, router-only keys gone, everything else byte for byte.
  const std::string& body = reqs[0].body;
  CHECK(body.find(R"("model":"served-model")") != std::string::npos);
  CHECK(body.find(R"("temperature":0.25)") != std::string::npos);
  CHECK(body.find(R"("user":"u-1")") != std::string::npos);
  CHECK(body.find(R"("messages":[{"role":"user","content":"Say hello"}])") != std::string::npos);
  for (const char* key : {"num_retries", "metadata", "fallbacks", "mock_testing_fallbacks", "gpt-test"}) {
    INFO(key);
    CHECK(body.find(key) == std::string::npos);
  }
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  auto doc = parser.iterate(padded);
  std::string_view model;
  CHECK(doc["model"].get_string().get(model) == simdjson::SUCCESS);
}

TEST_CASE("connections are reused across calls", "[router]") {
  FakeProvider p;
  auto router = make_router(one_group_config(p));
  for (int i = 0; i < 5; ++i) REQUIRE(router->completion(chat_request("gpt-test")).ok());
  auto reqs = p.requests();
  REQUIRE(reqs.size() == 5);
  for (const auto& r : reqs) CHECK(r.connection_id == reqs[0].connection_id);
  CHECK(p.connections_accepted() == 1);
}

TEST_CASE("embedding round trip", "[router]") {
  FakeProvider p;
  auto router = make_router(one_group_config(p));
  auto resp = router->embedding(R"({"model":"gpt-test","input":["a","b"]})");
  REQUIRE(resp.ok());
  CHECK(resp->body.find("embedding") != std::string::npos);
  auto reqs = p.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].path == "/v1/embeddings");
  CHECK(reqs[0].body.find(R"("model":"served-model")") != std::string::npos);
}

TEST_CASE("mock_response answers without a network call", "[router]") {
  FakeProvider p;
  auto router = make_router(one_group_config(p));
  auto resp = router->completion(chat_request("gpt-test", R"("mock_response":"mocked answer")"));
  REQUIRE(resp.ok());
  CHECK(resp->body.find("mocked answer") != std::string::npos);
  CHECK(p.request_count() == 0);

  auto err = router->completion(chat_request("gpt-test", R"("mock_response":"litellm.RateLimitError","num_retries":0)"));
  REQUIRE_FALSE(err.ok());
  CHECK(err.error().kind == ErrorKind::kRateLimit);
  CHECK(p.request_count() == 0);
}

TEST_CASE("bad request JSON gives a typed error through the callback, exactly once", "[router]") {
  FakeProvider p;
  auto router = make_router(one_group_config(p));
  for (const char* bad : {"", "{", "[1,2]", R"({"messages":[]})", R"({"model":7,"messages":[]})", "{\"model\":\"\xff\"}"}) {
    INFO(bad);
    auto r = router->completion(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
    CHECK_FALSE(r.error().message.empty());
  }
  std::atomic<int> calls{0};
  router->completion_async("not json", [&](Result<Response> r) {
    CHECK_FALSE(r.ok());
    calls++;
  });
  router.reset();  // drains
  CHECK(calls == 1);
  CHECK(p.request_count() == 0);
}

TEST_CASE("unknown model is a BadRequest naming the model", "[router]") {
  FakeProvider p;
  auto router = make_router(one_group_config(p));
  auto r = router->completion(chat_request("no-such-model"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kBadRequest);
  CHECK(r.error().message.find("no-such-model") != std::string::npos);
}

TEST_CASE("model group resolution: alias, wildcard, litellm_params.model, deployment id", "[router]") {
  FakeProvider p;
  std::string cfg = "model_list:\n" + deployment_yaml("gpt-test", "served-model", p, "", "dep-a") +
                    fmt::format("  - model_name: \"vendor/*\"\n    litellm_params:\n      model: openai/*\n"
                                "      api_base: {}\n",
                                p.base_url()) +
                    "router_settings:\n  model_group_alias:\n    friendly: gpt-test\n";
  auto router = make_router(cfg);

  auto a = router->completion(chat_request("friendly"));
  REQUIRE(a.ok());
  CHECK(a->metadata.deployment_id == "dep-a");

  auto w = router->completion(chat_request("vendor/llama-70b"));
  REQUIRE(w.ok());
  CHECK(p.requests().back().body.find(R"("model":"llama-70b")") != std::string::npos);

  auto lp = router->completion(chat_request("openai/served-model"));
  REQUIRE(lp.ok());
  CHECK(lp->metadata.deployment_id == "dep-a");

  auto id = router->completion(chat_request("dep-a"));
  REQUIRE(id.ok());
  CHECK(id->metadata.deployment_id == "dep-a");
}

TEST_CASE("API keys never appear in errors", "[router]") {
  FakeProvider p;
  p.set_default(Behavior::error(401, "Incorrect API key provided: sk-test-secret-key", "invalid_request_error",
                                "invalid_api_key"));
  auto router = make_router(one_group_config(p));
  auto r = router->completion(chat_request("gpt-test"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kAuthentication);
  CHECK(r.error().status == 401);
  // The provider echoed the key in its message: the router must not pass it on.
  CHECK(r.error().to_string().find("sk-test-secret-key") == std::string::npos);
}

TEST_CASE("blocking call from inside a callback is refused instead of deadlocking", "[router]") {
  FakeProvider p;
  auto router = make_router(one_group_config(p));
  std::atomic<bool> refused{false};
  auto r = router->completion_async(chat_request("gpt-test"), [&](Result<Response>) {
    auto inner = router->completion(chat_request("gpt-test"));
    refused = !inner.ok() && inner.error().kind == ErrorKind::kInvalidArgument;
  });
  (void)r;
  auto second = router->completion(chat_request("gpt-test"));  // the callback ran before this one finished
  REQUIRE(second.ok());
  router.reset();
  CHECK(refused);
}

TEST_CASE("destroying the router cancels calls in flight, each callback exactly once", "[router]") {
  FakeProvider p;
  p.set_default(Behavior::hang());
  auto router = make_router(one_group_config(p));
  std::atomic<int> cancelled{0}, other{0};
  for (int i = 0; i < 20; ++i) {
    router->completion_async(chat_request("gpt-test"), [&](Result<Response> r) {
      if (!r.ok() && r.error().kind == ErrorKind::kCancelled) {
        cancelled++;
      } else {
        other++;
      }
    });
  }
  while (p.request_count() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  router.reset();
  CHECK(cancelled == 20);
  CHECK(other == 0);
}

TEST_CASE("cancel() ends a call in flight with kCancelled", "[router]") {
  FakeProvider p;
  p.set_default(Behavior::hang());
  auto router = make_router(one_group_config(p));
  std::atomic<int> done{0};
  std::optional<Error> err;
  const uint64_t id = router->completion_async(chat_request("gpt-test"), [&](Result<Response> r) {
    if (!r.ok()) err = r.error();
    done++;
  });
  while (p.request_count() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(router->cancel(id));
  for (int i = 0; i < 400 && done == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(done == 1);
  REQUIRE(err.has_value());
  CHECK(err->kind == ErrorKind::kCancelled);
  CHECK_FALSE(router->cancel(id));  // already finished
  CHECK_FALSE(router->cancel(999999));
}
