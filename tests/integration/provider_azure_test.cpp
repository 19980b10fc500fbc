// Azure OpenAI end to end: a real Router built from YAML talks to the fake
// provider on loopback at Azure's URLs (providers.md §2.7), with the Entra ID
// token from the fake Entra endpoint.
#include <cstdlib>
#include <string>
#include <thread>

#include "integration/test_util.hpp"
#include "support/fake_entra.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

std::string loopback(const FakeProvider& p) { return fmt::format("http://127.0.0.1:{}", p.port()); }

// An azure/<dep> deployment entry.
std::string azure_yaml(const std::string& group, const std::string& dep, const FakeProvider& p,
                       const std::string& id, const std::string& extra = "      api_key: az-key-123\n") {
  return fmt::format(
      "  - model_name: {}\n    litellm_params:\n      model: azure/{}\n      api_base: {}\n"
      "      api_version: \"2024-10-21\"\n{}    model_info:\n      id: {}\n",
      group, dep, loopback(p), extra, id);
}

// Sets an environment variable for one test case.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

std::string entra_params(const FakeEntra::Expected& e = {}) {
  return fmt::format("      tenant_id: {}\n      client_id: {}\n      client_secret: \"{}\"\n", e.tenant, e.client_id,
                     e.client_secret);
}

std::string body_model(const std::string& body) {
  simdjson::dom::parser parser;
  std::string_view model;
  if (parser.parse(body).at_key("model").get_string().get(model) != simdjson::SUCCESS) return "<none>";
  return std::string(model);
}

}  // namespace

TEST_CASE("azure: the request on the wire", "[azure]") {
  FakeProvider az;
  auto router = make_router("model_list:\n" + azure_yaml("gpt-4o", "gpt4o-prod", az, "az-1"));
  auto r = router->completion(chat_request("gpt-4o"));
  REQUIRE(r.ok());
  CHECK(r->metadata.deployment_id == "az-1");
  auto reqs = az.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].path == "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21");
  CHECK(reqs[0].header("api-key") == "az-key-123");
  CHECK(reqs[0].header("authorization").empty());
  CHECK(body_model(reqs[0].body) == "gpt4o-prod");
  CHECK(r->body.find("Hello from the fake provider.") != std::string::npos);
}

TEST_CASE("azure: the v1 API and AZURE_API_BASE / AZURE_OPENAI_API_KEY from the environment", "[azure]") {
  FakeProvider az;
  ScopedEnv base("AZURE_API_BASE", loopback(az));
  ScopedEnv key("AZURE_OPENAI_API_KEY", "env-key");
  auto router = make_router(
      "model_list:\n"
      "  - model_name: classic\n    litellm_params:\n      model: azure/dep-a\n"
      "  - model_name: v1\n    litellm_params:\n      model: azure/dep-b\n      api_version: v1\n");
  REQUIRE(router->completion(chat_request("classic")).ok());
  REQUIRE(router->completion(chat_request("v1")).ok());
  auto reqs = az.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].path == "/openai/deployments/dep-a/chat/completions?api-version=2025-02-01-preview");
  CHECK(reqs[0].header("api-key") == "env-key");
  CHECK(reqs[1].path == "/openai/v1/chat/completions");
  CHECK(reqs[1].header("authorization") == "Bearer env-key");
  CHECK(body_model(reqs[1].body) == "dep-b");
}

TEST_CASE("azure: a missing api_base is a config error naming the deployment", "[azure]") {
  unsetenv("AZURE_API_BASE");
  auto router = make_router(
      "model_list:\n  - model_name: g\n    litellm_params:\n      model: azure/dep-x\n      api_key: k\n"
      "    model_info:\n      id: az-nobase\n");
  auto r = router->completion(chat_request("g"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidConfig);
  CHECK(r.error().message.find("az-nobase") != std::string::npos);
  CHECK(r.error().message.find("AZURE_API_BASE") != std::string::npos);
}

TEST_CASE("azure: Entra ID client credentials, one token for many calls", "[azure][entra]") {
  FakeEntra entra;
  FakeProvider az;
  ScopedEnv authority("AZURE_AUTHORITY_HOST", entra.authority());
  auto router = make_router("model_list:\n" + azure_yaml("g", "dep", az, "az-entra", entra_params()));
  std::vector<std::string> requests(8, chat_request("g"));
  for (auto& r : run_concurrently(*router, requests)) REQUIRE(r.ok());
  for (int i = 0; i < 4; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(entra.fetches() == 1);
  CHECK(entra.problems().empty());
  auto reqs = az.requests();
  REQUIRE(reqs.size() == 12);
  for (const auto& r : reqs) {
    CHECK(r.header("authorization") == "Bearer entra-token-1");
    CHECK(r.header("api-key").empty());
  }
}

TEST_CASE("azure: the Entra token is refreshed before it expires", "[azure][entra]") {
  FakeEntra entra;
  FakeProvider az;
  entra.set_expires_in("\"1\"");  // a string, as Entra sometimes sends; refreshed at half life
  ScopedEnv authority("AZURE_AUTHORITY_HOST", entra.authority());
  auto router = make_router("model_list:\n" + azure_yaml("g", "dep", az, "az-entra", entra_params()));
  REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(entra.fetches() == 1);
  // Lower bound only: past half the lifetime, the next call refreshes first.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(entra.fetches() == 2);
  auto reqs = az.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].header("authorization") == "Bearer entra-token-1");
  CHECK(reqs[1].header("authorization") == "Bearer entra-token-2");
}

TEST_CASE("azure: a failed Entra fetch is an AuthenticationError naming the deployment, no secret", "[azure][entra]") {
  FakeEntra entra;
  FakeProvider az;
  ScopedEnv authority("AZURE_AUTHORITY_HOST", entra.authority());
  FakeEntra::Expected wrong;
  wrong.client_secret = "wrong-secret-value";
  auto router = make_router("model_list:\n" + azure_yaml("g", "dep", az, "az-entra", entra_params(wrong)) +
                            "router_settings:\n  num_retries: 0\n");
  auto r = router->completion(chat_request("g"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kAuthentication);
  CHECK(r.error().message.find("az-entra") != std::string::npos);
  CHECK(r.error().message.find("AADSTS7000215") != std::string::npos);
  CHECK(r.error().message.find("wrong-secret-value") == std::string::npos);
  CHECK(r.error().metadata.deployment_id == "az-entra");
  CHECK(az.request_count() == 0);
}

TEST_CASE("azure: 429 with Retry-After cools the deployment down and fails over", "[azure]") {
  FakeProvider busy, idle;
  busy.set_default(Behavior::rate_limited(30));
  auto router = make_router("model_list:\n" + azure_yaml("g", "dep", busy, "az-busy") +
                            azure_yaml("g", "dep", idle, "az-idle"));
  for (int i = 0; i < 20 && busy.request_count() == 0; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "az-idle");
  }
  REQUIRE(busy.request_count() == 1);
  for (const auto& h : router->health("g")) {
    if (h.id != "az-busy") continue;
    CHECK_FALSE(h.healthy);
    CHECK(h.status == 429);
    CHECK(h.cooldown_remaining_seconds > 20);
  }
  for (int i = 0; i < 5; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(busy.request_count() == 1);
}

TEST_CASE("azure: a content-filter 400 is a ContentPolicyViolation and uses content_policy_fallbacks", "[azure]") {
  FakeProvider strict, lenient;
  Behavior filtered;
  filtered.status = 400;
  filtered.body =
      R"({"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.","type":null,"param":"prompt","code":"content_filter","status":400,)"
      R"("innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}})";
  strict.set_default(filtered);
  lenient.set_default(Behavior::ok("allowed answer"));
  auto router = make_router("model_list:\n" + azure_yaml("strict", "dep", strict, "az-s") +
                            azure_yaml("lenient", "dep", lenient, "az-l") +
                            "router_settings:\n  content_policy_fallbacks:\n    - strict: [lenient]\n");
  auto r = router->completion(chat_request("strict"));
  REQUIRE(r.ok());
  CHECK(r->metadata.model_group == "lenient");
  REQUIRE(r->metadata.attempt_log.size() == 2);
  CHECK(r->metadata.attempt_log[0].error_type == "ContentPolicyViolationError");
  CHECK(strict.request_count() == 1);

  auto direct = make_router("model_list:\n" + azure_yaml("strict", "dep", strict, "az-s"));
  auto e = direct->completion(chat_request("strict"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::kContentPolicyViolation);
  CHECK(e.error().message.find("content management policy") != std::string::npos);
}

TEST_CASE("azure: finish_reason content_filter moves to the content-policy fallback", "[azure]") {
  FakeProvider strict, lenient;
  Behavior filtered;
  filtered.body =
      R"({"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}],)"
      R"("choices":[{"index":0,"finish_reason":"content_filter","message":{"role":"assistant","content":null},)"
      R"("content_filter_results":{"violence":{"filtered":true,"severity":"medium"}}}],)"
      R"("usage":{"prompt_tokens":9,"completion_tokens":0,"total_tokens":9}})";
  strict.set_default(filtered);
  lenient.set_default(Behavior::ok("allowed answer"));
  auto router = make_router("model_list:\n" + azure_yaml("strict", "dep", strict, "az-s") +
                            azure_yaml("lenient", "dep", lenient, "az-l") +
                            "router_settings:\n  content_policy_fallbacks:\n    - strict: [lenient]\n");
  auto r = router->completion(chat_request("strict"));
  REQUIRE(r.ok());
  CHECK(r->metadata.model_group == "lenient");
  CHECK(r->body.find("allowed answer") != std::string::npos);
  for (const auto& h : router->health("strict")) CHECK(h.healthy);
}

TEST_CASE("azure: a stream with a leading prompt_filter_results chunk", "[azure][stream]") {
  FakeProvider az;
  Behavior b;
  b.stream = true;
  b.events = {
      R"({"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]})",
      R"({"choices":[{"content_filter_results":{},"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":1,"id":"c","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk"})",
      R"({"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Hello"},"finish_reason":null,"index":0}],"created":1,"id":"c","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk"})",
      R"({"choices":[{"content_filter_results":{},"delta":{"content":" Azure"},"finish_reason":null,"index":0}],"created":1,"id":"c","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk"})",
      R"({"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0}],"created":1,"id":"c","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk"})",
      R"({"choices":[],"created":1,"id":"c","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10}})",
  };
  az.set_default(b);
  auto router = make_router("model_list:\n" + azure_yaml("g", "dep", az, "az-1"));
  Collected c = run_stream(*router, chat_request("g", R"("stream":true)"));
  REQUIRE(c.done);
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hello Azure");
  CHECK((*c.done)->finish_reason == "stop");
  CHECK((*c.done)->usage.prompt_tokens == 8);
  CHECK((*c.done)->usage.completion_tokens == 2);
  auto reqs = az.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].path == "/openai/deployments/dep/chat/completions?api-version=2024-10-21");
  CHECK(reqs[0].body.find(R"("stream":true)") != std::string::npos);
}

TEST_CASE("azure: 404 DeploymentNotFound is a NotFoundError and is not retried", "[azure]") {
  Behavior missing;
  missing.status = 404;
  missing.body =
      R"({"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}})";
  check_error_classes("g", [](const FakeProvider& az) { return azure_yaml("g", "nope", az, "az-1"); },
                      {{.label = "404 DeploymentNotFound",
                        .serve = [&](FakeProvider& az) { az.set_default(missing); },
                        .kind = ErrorKind::kNotFound,
                        .status = 404,
                        .message_has = "The API deployment for this resource does not exist",
                        .message_lacks = "az-key-123",
                        .requests = 1,
                        .num_retries = 2}});
}

TEST_CASE("azure: a 403 is a PermissionDeniedError (LiteLLM: APIError(403))", "[azure]") {
  check_error_classes(
      "g", [](const FakeProvider& az) { return azure_yaml("g", "dep", az, "az-1"); },
      {{.label = "403",
        .serve =
            [](FakeProvider& az) {
              az.set_default(
                  Behavior::error(403, "Public access is disabled. Please configure private endpoint.", "", "403"));
            },
        .kind = ErrorKind::kPermissionDenied,
        .status = 403}});
}

TEST_CASE("azure: embeddings", "[azure]") {
  FakeProvider az;
  auto router = make_router("model_list:\n" + azure_yaml("emb", "text-embedding-3-small", az, "az-e"));
  auto r = router->embedding(R"({"model":"emb","input":["hello","world"]})");
  REQUIRE(r.ok());
  auto reqs = az.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].path == "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21");
  CHECK(reqs[0].header("api-key") == "az-key-123");
  CHECK(body_model(reqs[0].body) == "text-embedding-3-small");
  CHECK(r->body.find("\"embedding\"") != std::string::npos);
}
