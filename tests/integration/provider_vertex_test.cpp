// Vertex AI end to end on loopback: a real Router from YAML, a service-account
// file whose token_uri points at the fake Google token endpoint (which checks
// the JWT's signature with the key's public half), the MaaS
// OpenAI-compatible route at api_base, the Gemini and Claude publisher routes,
// embeddings on :predict (answered by fake_gemini), and the GCE metadata
// server.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>

#include "integration/test_util.hpp"
#include "support/fake_gemini.hpp"
#include "support/fake_google.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

constexpr std::string_view kMaasPath = "/v1/projects/test-proj/locations/us-central1/endpoints/openapi/chat/completions";

// A file removed at the end of the test.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) {
    char tmpl[] = "/tmp/llmux-vertex-XXXXXX";
    const int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    close(fd);
    path = tmpl;
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

std::string chat_completion(std::string_view model, std::string_view text) {
  return fmt::format(R"({{"id":"chatcmpl-v","object":"chat.completion","created":1,"model":"{}",)"
                     R"("choices":[{{"index":0,"message":{{"role":"assistant","content":"{}"}},"finish_reason":"stop"}}],)"
                     R"("usage":{{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}}})",
                     model, text);
}

// The model endpoint: answers only a bearer token the fake issued, on the
// MaaS path, for the model of the request.
void serve_maas(FakeGoogle& google, std::string path = std::string(kMaasPath)) {
  google.set_model_handler([&google, path](const ReceivedRequest& r) {
    if (!google.issued(r.header("authorization"))) return Behavior::error(401, "Request had invalid authentication credentials.");
    if (r.path != path) return Behavior::error(404, "wrong path " + r.path);
    Behavior b;
    if (r.body.find(R"("stream":true)") != std::string::npos) {
      b.stream = true;
      b.events = {
          R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-oss-120b-maas","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]})",
          R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-oss-120b-maas","choices":[{"index":0,"delta":{"content":" from Vertex"},"finish_reason":null}]})",
          R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-oss-120b-maas","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
          R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-oss-120b-maas","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}})",
      };
      return b;
    }
    b.body = chat_completion("openai/gpt-oss-120b-maas", "Hello from Vertex");
    return b;
  });
}

std::string vertex_yaml(const FakeGoogle& google, const std::string& credentials_path) {
  return fmt::format(
      "model_list:\n"
      "  - model_name: gpt-oss-120b\n"
      "    litellm_params:\n"
      "      model: vertex_ai/openai/gpt-oss-120b-maas\n"
      "      vertex_project: test-proj\n"
      "      vertex_location: us-central1\n"
      "      vertex_credentials: {}\n"
      "      api_base: {}\n"
      "    model_info:\n"
      "      id: vertex-maas-1\n"
      "router_settings:\n"
      "  num_retries: 0\n",
      credentials_path, google.base_url());
}

std::vector<ReceivedRequest> model_requests(FakeGoogle& google) {
  std::vector<ReceivedRequest> out;
  for (auto& r : google.server().requests()) {
    if (r.path.find("/endpoints/") != std::string::npos) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

TEST_CASE("vertex: MaaS calls carry a Google token fetched once for many calls", "[vertex]") {
  FakeGoogle google;
  serve_maas(google);
  TempFile key(google.service_account_json());
  auto router = make_router(vertex_yaml(google, key.path));

  for (int i = 0; i < 5; ++i) {
    auto r = router->completion(chat_request("gpt-oss-120b"));
    REQUIRE(r.ok());
    CHECK(r->body.find("Hello from Vertex") != std::string::npos);
    CHECK(r->metadata.deployment_id == "vertex-maas-1");
  }
  CHECK(google.token_fetches() == 1);
  CHECK(google.rejections().empty());
  const auto calls = model_requests(google);
  REQUIRE(calls.size() == 5);
  for (const auto& c : calls) {
    CHECK(c.method == "POST");
    CHECK(c.path == kMaasPath);
    CHECK(c.header("authorization") == "Bearer fake-token-1");
    CHECK(c.body.find(R"("model":"openai/gpt-oss-120b-maas")") != std::string::npos);
  }
}

TEST_CASE("vertex: many concurrent calls share one token fetch", "[vertex]") {
  FakeGoogle google;
  serve_maas(google);
  TempFile key(google.service_account_json());
  auto router = make_router(vertex_yaml(google, key.path));
  std::atomic<int> ok{0}, done{0};
  for (int i = 0; i < 20; ++i) {
    router->completion_async(chat_request("gpt-oss-120b"), [&](Result<Response> r) {
      if (r.ok()) ++ok;
      ++done;
    });
  }
  for (int i = 0; i < 2000 && done < 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(done == 20);
  CHECK(ok == 20);
  CHECK(google.token_fetches() == 1);
}

TEST_CASE("vertex: a short-lived token is refreshed before it expires; a failed refresh names the deployment",
          "[vertex]") {
  FakeGoogle google;
  serve_maas(google);
  google.set_expires_in(1);  // refreshed at half its life
  TempFile key(google.service_account_json());
  auto router = make_router(vertex_yaml(google, key.path));

  REQUIRE(router->completion(chat_request("gpt-oss-120b")).ok());
  CHECK(google.token_fetches() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  REQUIRE(router->completion(chat_request("gpt-oss-120b")).ok());
  CHECK(google.token_fetches() == 2);
  CHECK(model_requests(google).back().header("authorization") == "Bearer fake-token-2");

  google.set_token_failure(400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})");
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  auto failed = router->completion(chat_request("gpt-oss-120b"));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kAuthentication);
  CHECK(error_kind_name(failed.error().kind) == "AuthenticationError");
  CHECK_THAT(failed.error().message, Catch::Contains("vertex-maas-1") && Catch::Contains("Google access token") &&
                                         Catch::Contains("Invalid JWT Signature."));
  CHECK_THAT(failed.error().message, !Catch::Contains("PRIVATE"));
  CHECK(failed.error().metadata.deployment_id == "vertex-maas-1");
  CHECK(model_requests(google).size() == 2);  // no call went out without a token
}

TEST_CASE("vertex: streaming through the MaaS route", "[vertex][stream]") {
  FakeGoogle google;
  serve_maas(google);
  TempFile key(google.service_account_json());
  auto router = make_router(vertex_yaml(google, key.path));
  Collected c = run_stream(*router, chat_request("gpt-oss-120b", R"("stream":true)"));
  REQUIRE(c.done.has_value());
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hello from Vertex");
  CHECK((*c.done)->usage.completion_tokens == 3);
  const auto calls = model_requests(google);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].path == kMaasPath);
  CHECK(calls[0].header("accept") == "text/event-stream");
  CHECK(calls[0].body.find(R"("stream":true)") != std::string::npos);
  CHECK(google.token_fetches() == 1);
}

TEST_CASE("vertex: without credentials the metadata server gives the token and the project", "[vertex][metadata]") {
  FakeGoogle google;
  google.set_project_id("meta-proj");
  serve_maas(google, "/v1/projects/meta-proj/locations/us-central1/endpoints/openapi/chat/completions");
  // The process environment is the ADC chain: point it at the fake.
  for (const char* name : {"VERTEXAI_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG",
                           "VERTEXAI_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "VERTEXAI_LOCATION"}) {
    unsetenv(name);
  }
  setenv("HOME", "/nonexistent-llmux-home", 1);
  setenv("GCE_METADATA_HOST", google.host().c_str(), 1);
  auto router = make_router(fmt::format("model_list:\n"
                                        "  - model_name: gpt-oss-120b\n"
                                        "    litellm_params:\n"
                                        "      model: vertex_ai/openai/gpt-oss-120b-maas\n"
                                        "      api_base: {}\n"
                                        "    model_info:\n"
                                        "      id: vertex-meta\n"
                                        "router_settings:\n"
                                        "  num_retries: 0\n",
                                        google.base_url()));
  unsetenv("GCE_METADATA_HOST");
  for (int i = 0; i < 3; ++i) {
    auto r = router->completion(chat_request("gpt-oss-120b"));
    REQUIRE(r.ok());
  }
  CHECK(google.metadata_fetches() == 1);
  CHECK(google.project_fetches() == 1);
  CHECK(google.token_fetches() == 0);
  CHECK(google.rejections().empty());
  CHECK(model_requests(google).size() == 3);
}

TEST_CASE("vertex: the cloud-cost-based fixture's Vertex deployments send the MaaS request", "[vertex][fixtures]") {
  std::ifstream in(std::string(LLMUX_SHARED_FIXTURES_DIR) + "/cloud-cost-based.yaml");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string fixture = ss.str();

  FakeGoogle google;
  TempFile key(google.service_account_json());
  // The fixture as it is, minus its Bedrock deployments (next issue), with
  // the endpoints pointed at the fakes through ordinary configuration.
  std::string yaml;
  const std::string entry = "  - model_name:";
  size_t pos = 0;
  while (pos < fixture.size()) {
    size_t next = fixture.find(entry, pos + 1);
    const size_t settings = fixture.find("router_settings:", pos + 1);
    if (next == std::string::npos || (settings != std::string::npos && settings < next)) next = settings;
    if (next == std::string::npos) next = fixture.size();
    std::string chunk = fixture.substr(pos, next - pos);
    if (chunk.find("bedrock/") == std::string::npos) {
      const std::string loc = "      vertex_location: us-central1\n";
      const size_t at = chunk.find(loc);
      if (at != std::string::npos) {
        chunk.insert(at + loc.size(),
                     fmt::format("      vertex_credentials: {}\n      api_base: {}\n", key.path, google.base_url()));
      }
      yaml += chunk;
    }
    pos = next;
  }
  REQUIRE(yaml.find("bedrock") == std::string::npos);
  REQUIRE(yaml.find("vertex_credentials") != std::string::npos);

  setenv("VERTEX_PROJECT", "fixture-proj", 1);
  auto router = make_router(yaml);
  unsetenv("VERTEX_PROJECT");
  google.set_model_handler([&google](const ReceivedRequest& r) {
    if (!google.issued(r.header("authorization"))) return Behavior::error(401, "unauthenticated");
    Behavior b;
    b.body = chat_completion("served", "ok");
    return b;
  });
  REQUIRE(router->completion(chat_request("gpt-oss-120b")).ok());
  REQUIRE(router->completion(chat_request("gpt-oss-20b")).ok());
  const auto calls = model_requests(google);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].path == "/v1/projects/fixture-proj/locations/us-central1/endpoints/openapi/chat/completions");
  CHECK(calls[0].body.find(R"("model":"openai/gpt-oss-120b-maas")") != std::string::npos);
  CHECK(calls[1].body.find(R"("model":"openai/gpt-oss-20b-maas")") != std::string::npos);
  CHECK(calls[0].header("authorization") == "Bearer fake-token-1");
  CHECK(calls[1].header("authorization") == "Bearer fake-token-2");
  CHECK(google.token_fetches() == 2);  // each deployment has its own token
  CHECK(google.rejections().empty());
}

namespace {

std::string publisher_yaml(const FakeGoogle& google, const std::string& credentials_path, const std::string& model) {
  return fmt::format(
      "model_list:\n"
      "  - model_name: g\n"
      "    litellm_params:\n"
      "      model: vertex_ai/{}\n"
      "      vertex_project: test-proj\n"
      "      vertex_location: us-east5\n"
      "      vertex_credentials: {}\n"
      "      api_base: {}\n"
      "    model_info:\n"
      "      id: vertex-pub-1\n"
      "router_settings:\n"
      "  num_retries: 0\n",
      model, credentials_path, google.base_url());
}

Behavior raw_stream(std::vector<std::string> events) {
  Behavior b;
  b.stream = true;
  b.raw_events = true;
  b.send_done = false;
  b.events = std::move(events);
  return b;
}

std::vector<ReceivedRequest> publisher_requests(FakeGoogle& google) {
  std::vector<ReceivedRequest> out;
  for (auto& r : google.server().requests()) {
    if (r.path.find("/publishers/") != std::string::npos) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

TEST_CASE("vertex: the Gemini route on the wire, plain and streaming", "[vertex][gemini]") {
  FakeGoogle google;
  const std::string base = "/v1/projects/test-proj/locations/us-east5/publishers/google/models/gemini-2.5-flash";
  google.set_model_handler([&google, base](const ReceivedRequest& r) {
    if (!google.issued(r.header("authorization"))) return Behavior::error(401, "unauthenticated");
    if (r.path == base + ":streamGenerateContent?alt=sse") {
      return raw_stream({
          "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hello\"}]},\"index\":0}]}\r\n\r\n",
          "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" from Gemini\"}]},"
          "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":3,"
          "\"totalTokenCount\":7}}\r\n\r\n",
      });
    }
    if (r.path != base + ":generateContent") return Behavior::error(404, "wrong path " + r.path);
    Behavior b;
    b.body = R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hello from Gemini"}]},"finishReason":"STOP",)"
             R"("index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"totalTokenCount":7}})";
    return b;
  });
  TempFile key(google.service_account_json());
  auto router = make_router(publisher_yaml(google, key.path, "gemini-2.5-flash"));

  auto r = router->completion(chat_request("g"));
  REQUIRE(r.ok());
  CHECK(r->body.find(R"("content":"Hello from Gemini")") != std::string::npos);
  CHECK(r->usage.completion_tokens == 3);
  Collected c = run_stream(*router, chat_request("g", R"("stream":true)"));
  REQUIRE(c.done.has_value());
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hello from Gemini");
  const auto calls = publisher_requests(google);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].body.find(R"("contents":)") != std::string::npos);
  CHECK(calls[0].header("authorization") == "Bearer fake-token-1");
  CHECK(google.token_fetches() == 1);
}

TEST_CASE("vertex: the Claude route on the wire, plain and streaming", "[vertex][claude]") {
  FakeGoogle google;
  const std::string base = "/v1/projects/test-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514";
  google.set_model_handler([&google, base](const ReceivedRequest& r) {
    if (!google.issued(r.header("authorization"))) return Behavior::error(401, "unauthenticated");
    if (r.path == base + ":streamRawPredict") {
      return raw_stream({
          "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
          "\"role\":\"assistant\",\"model\":\"claude-sonnet-4\",\"content\":[],\"usage\":{\"input_tokens\":6,"
          "\"output_tokens\":1}}}\n\n",
          "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
          "{\"type\":\"text\",\"text\":\"\"}}\n\n",
          "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
          "\"text_delta\",\"text\":\"Hello from Claude\"}}\n\n",
          "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
          "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
          "\"usage\":{\"output_tokens\":4}}\n\n",
          "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
      });
    }
    if (r.path != base + ":rawPredict") return Behavior::error(404, "wrong path " + r.path);
    Behavior b;
    b.body = R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4","content":)"
             R"([{"type":"text","text":"Hello from Claude"}],"stop_reason":"end_turn","usage":{"input_tokens":6,"output_tokens":4}})";
    return b;
  });
  TempFile key(google.service_account_json());
  auto router = make_router(publisher_yaml(google, key.path, "claude-sonnet-4@20250514"));

  auto r = router->completion(chat_request("g"));
  REQUIRE(r.ok());
  CHECK(r->body.find(R"("content":"Hello from Claude")") != std::string::npos);
  CHECK(r->usage.prompt_tokens == 6);
  CHECK(r->usage.completion_tokens == 4);
  Collected c = run_stream(*router, chat_request("g", R"("stream":true)"));
  REQUIRE(c.done.has_value());
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hello from Claude");
  CHECK((*c.done)->usage.completion_tokens == 4);
  const auto calls = publisher_requests(google);
  REQUIRE(calls.size() == 2);
  for (const auto& call : calls) {
    CHECK(call.body.find(R"("anthropic_version":"vertex-2023-10-16")") != std::string::npos);
    CHECK(call.body.find(R"("model")") == std::string::npos);
    CHECK(call.header("x-api-key") == "");
  }
  CHECK(google.token_fetches() == 1);
}

namespace {

constexpr std::string_view kPublisherPrefix = "/v1/projects/test-proj/locations/us-central1/publishers/google";

// Vertex's publisher models as fake_gemini serves them, behind the tokens
// this FakeGoogle issued; `script` decides calls as in gemini_handler.
void serve_publisher(FakeGoogle& google, GeminiScript script = {}) {
  GeminiFakeOptions options;
  options.path_prefix = std::string(kPublisherPrefix);
  options.auth_header.clear();  // checked here against every token issued
  auto gemini = gemini_handler(options, std::move(script));
  google.set_model_handler([&google, gemini](const ReceivedRequest& r) {
    if (!google.issued(r.header("authorization"))) {
      return gemini_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    }
    return gemini(r);
  });
}

std::string embedding_yaml(const FakeGoogle& google, const std::string& credentials_path, const std::string& model,
                           const std::string& extra = "") {
  return fmt::format(
      "  - model_name: emb\n"
      "    litellm_params:\n"
      "      model: vertex_ai/{}\n"
      "      vertex_project: test-proj\n"
      "      vertex_location: us-central1\n"
      "      vertex_credentials: {}\n"
      "      api_base: {}\n"
      "{}"
      "    model_info:\n"
      "      id: vertex-emb\n",
      model, credentials_path, google.base_url(), extra);
}

std::string minified_at(const std::string& json, const char* pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(json).at_pointer(pointer).get(e)) return "<absent>";
  return simdjson::minify(e);
}

}  // namespace

TEST_CASE("vertex: embeddings on :predict, the token fetched once, an OpenAI list with usage back",
          "[vertex][embeddings]") {
  for (const std::string model : {"text-embedding-005", "gemini-embedding-001"}) {
    INFO(model);
    FakeGoogle google;
    serve_publisher(google);
    TempFile key(google.service_account_json());
    auto router = make_router("model_list:\n" + embedding_yaml(google, key.path, model) +
                              "router_settings:\n  num_retries: 0\n");
    for (int i = 0; i < 2; ++i) {
      auto r = router->embedding(
          R"({"model":"emb","input":["good morning","from the llmux router"],"dimensions":4,"task_type":"RETRIEVAL_DOCUMENT"})");
      REQUIRE(r.ok());
      CHECK(r->metadata.deployment_id == "vertex-emb");
      CHECK(minified_at(r->body, "/object") == R"("list")");
      CHECK(minified_at(r->body, "/model") == "\"" + model + "\"");
      CHECK(minified_at(r->body, "/data/0") == R"({"object":"embedding","index":0,"embedding":[0.25,0.25,0.25,0.25]})");
      CHECK(minified_at(r->body, "/data/1") == R"({"object":"embedding","index":1,"embedding":[0.5,0.5,0.5,0.5]})");
      CHECK(minified_at(r->body, "/data/2") == "<absent>");
      // token_count: 2 + 4 words.
      CHECK(minified_at(r->body, "/usage") == R"({"prompt_tokens":6,"total_tokens":6})");
      CHECK(r->usage.prompt_tokens == 6);
    }
    const auto calls = publisher_requests(google);
    REQUIRE(calls.size() == 2);
    for (const auto& c : calls) {
      CHECK(c.method == "POST");
      CHECK(c.path == std::string(kPublisherPrefix) + "/models/" + model + ":predict");
      CHECK(c.header("authorization") == "Bearer " + google.last_token());
      CHECK(c.header("content-type") == "application/json");
      CHECK(c.body == R"({"instances":[{"content":"good morning","task_type":"RETRIEVAL_DOCUMENT"},)"
                      R"({"content":"from the llmux router","task_type":"RETRIEVAL_DOCUMENT"}],)"
                      R"("parameters":{"outputDimensionality":4}})");
    }
    CHECK(google.token_fetches() == 1);  // one for the deployment, not one per call
    CHECK(google.rejections().empty());
  }
}

TEST_CASE("vertex: embeddings take the deployment's task_type; a Google error keeps its class and words",
          "[vertex][embeddings]") {
  FakeGoogle google;
  serve_publisher(google, [](const GeminiCall& call) -> std::optional<Behavior> {
    if (call.request->body.find("\"bad\"") != std::string::npos) {
      return gemini_error(400, "INVALID_ARGUMENT", "Unable to embed the instance.");
    }
    return std::nullopt;
  });
  TempFile key(google.service_account_json());
  auto router = make_router("model_list:\n" +
                            embedding_yaml(google, key.path, "text-multilingual-embedding-002",
                                           "      task_type: SEMANTIC_SIMILARITY\n") +
                            "router_settings:\n  num_retries: 0\n");
  auto r = router->embedding(R"({"model":"emb","input":"hola mundo"})");
  REQUIRE(r.ok());
  CHECK(minified_at(r->body, "/data/0/embedding") == "[0.25,0.25,0.25]");
  CHECK(r->usage.prompt_tokens == 2);
  auto failed = router->embedding(R"({"model":"emb","input":"bad"})");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kBadRequest);
  CHECK_THAT(failed.error().message, Catch::Contains("Unable to embed the instance."));
  const auto calls = publisher_requests(google);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].path ==
        std::string(kPublisherPrefix) + "/models/text-multilingual-embedding-002:predict");
  CHECK(calls[0].body == R"({"instances":[{"content":"hola mundo","task_type":"SEMANTIC_SIMILARITY"}]})");
}

TEST_CASE("vertex: a chat model asked for embeddings is a clear error and nothing is sent", "[vertex][embeddings]") {
  FakeGoogle google;
  serve_maas(google);
  TempFile key(google.service_account_json());
  auto router = make_router(vertex_yaml(google, key.path));
  auto r = router->embedding(R"({"model":"gpt-oss-120b","input":"x"})");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("vertex_ai/openai/gpt-oss-120b-maas") &&
                                    Catch::Contains("embeddings are served for Google's publisher models only"));
  CHECK(model_requests(google).empty());
}

TEST_CASE("vertex: a mixed embedding group fails over from a Vertex 429 to the OpenAI-compatible deployment",
          "[vertex][embeddings][fallback]") {
  FakeGoogle google;
  serve_publisher(google, [](const GeminiCall& call) -> std::optional<Behavior> {
    if (call.method == "predict") {
      return gemini_error(429, "RESOURCE_EXHAUSTED",
                          "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.");
    }
    return std::nullopt;
  });
  FakeProvider openai;
  TempFile key(google.service_account_json());
  // Vertex first (order 1); the OpenAI-compatible deployment behind it.
  auto router = make_router("model_list:\n" +
                            embedding_yaml(google, key.path, "text-embedding-005", "      order: 1\n") +
                            deployment_yaml("emb", "text-embedding-3-small", openai, "      order: 2\n", "openai-emb") +
                            "router_settings:\n  num_retries: 1\n");
  auto r = router->embedding(R"({"model":"emb","input":["a","b"]})");
  REQUIRE(r.ok());
  CHECK(r->metadata.deployment_id == "openai-emb");
  CHECK(r->metadata.retries == 1);
  CHECK(minified_at(r->body, "/object") == R"("list")");
  REQUIRE(publisher_requests(google).size() == 1);
  CHECK(publisher_requests(google)[0].path == std::string(kPublisherPrefix) + "/models/text-embedding-005:predict");
  REQUIRE(openai.request_count() == 1);
  CHECK(openai.requests().at(0).path == "/v1/embeddings");
  CHECK(openai.requests().at(0).body.find(R"("model":"text-embedding-3-small")") != std::string::npos);
  bool vertex_cooling = false;
  for (const auto& h : router->health("emb")) {
    if (h.id == "vertex-emb") vertex_cooling = h.state == "cooling_down" && h.status == 429;
  }
  CHECK(vertex_cooling);
  // Cooling down: the next call goes straight to the other deployment.
  auto again = router->embedding(R"({"model":"emb","input":"c"})");
  REQUIRE(again.ok());
  CHECK(again->metadata.deployment_id == "openai-emb");
  CHECK(again->metadata.retries == 0);
  CHECK(publisher_requests(google).size() == 1);
}
