// The Vertex AI adapter: which route a model name takes (§4.2), the URL of
// each route per location and api_base rule, and the MaaS request built with
// a Google token fetched on the (simulated) loop.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include <fmt/format.h>

#include "provider/vertex_ai.hpp"
#include "provider_test_util.hpp"
#include "support/fake_google.hpp"
#include "support/simulated_loop.hpp"

using namespace llmux;
using namespace llmux::provider;
using namespace std::chrono_literals;

namespace {

GoogleEnv env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

VertexLocation at(std::string location, std::string api_base = "") {
  return VertexLocation{"proj", std::move(location), std::move(api_base)};
}

// A vertex_ai deployment whose litellm_params are `params_json` members.
DeploymentConfig vertex_deployment(std::string model, std::string params_json, std::string api_base = "") {
  DeploymentConfig d;
  d.id = "vertex-dep";
  d.model_name = "group";
  d.provider = "vertex_ai";
  d.model = "vertex_ai/" + model;
  d.provider_model = model;
  d.api_base = std::move(api_base);
  d.litellm_params_json = "{" + params_json + "}";
  return d;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

std::string sa_json_for(const std::string& token_uri) {
  std::string json = testing::google_test_key_json();
  const std::string from = "https://oauth2.googleapis.com/token";
  json.replace(json.find(from), from.size(), token_uri);
  return json;
}

const VertexAiProvider& fixed_provider() {
  static const VertexAiProvider p(env_of({{"HOME", "/nonexistent"}}), [] { return int64_t{1700000000}; });
  return p;
}

}  // namespace

TEST_CASE("vertex: the route follows the model name", "[vertex][route]") {
  CHECK(vertex_route("openai/gpt-oss-120b-maas") == VertexRoute::kOpenAiCompatible);
  CHECK(vertex_route("openai/gpt-oss-20b-maas") == VertexRoute::kOpenAiCompatible);
  CHECK(vertex_route("meta/llama-3.1-405b-instruct-maas") == VertexRoute::kOpenAiCompatible);
  CHECK(vertex_route("deepseek-ai/deepseek-r1-0528-maas") == VertexRoute::kOpenAiCompatible);
  CHECK(vertex_route("qwen/qwen3-coder-480b-a35b-instruct-maas") == VertexRoute::kOpenAiCompatible);
  CHECK(vertex_route("minimaxai/minimax-m2-maas") == VertexRoute::kOpenAiCompatible);
  CHECK(vertex_route("moonshotai/kimi-k2-thinking-maas") == VertexRoute::kOpenAiCompatible);
  CHECK(vertex_route("zai-org/glm-4.7-maas") == VertexRoute::kOpenAiCompatible);
  CHECK(vertex_route("claude-3-5-sonnet-v2@20241022") == VertexRoute::kClaude);
  CHECK(vertex_route("claude-sonnet-4@20250514") == VertexRoute::kClaude);
  CHECK(vertex_route("gemini-2.5-pro") == VertexRoute::kGemini);
  CHECK(vertex_route("gemini/gemini-2.0-flash") == VertexRoute::kGemini);
  CHECK(vertex_route("1234567890") == VertexRoute::kGeminiEndpoint);
  CHECK(vertex_route("gemini/1234567890") == VertexRoute::kGeminiEndpoint);
  CHECK(vertex_route("mistral-large@2407") == VertexRoute::kUnsupported);
  CHECK(vertex_route("codestral@2405") == VertexRoute::kUnsupported);
  CHECK(vertex_route("jamba-1.5-large@001") == VertexRoute::kUnsupported);
  // Not a partner prefix: an ordinary (Gemini-format) publisher model.
  CHECK(vertex_route("text-bison") == VertexRoute::kGemini);
}

TEST_CASE("vertex: URLs per route and location", "[vertex][url]") {
  const std::string maas = "openai/gpt-oss-120b-maas";
  CHECK(vertex_url(VertexRoute::kOpenAiCompatible, maas, at("us-central1"), false) ==
        "https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/endpoints/openapi/"
        "chat/completions");
  CHECK(vertex_url(VertexRoute::kOpenAiCompatible, maas, at("global"), true) ==
        "https://aiplatform.googleapis.com/v1/projects/proj/locations/global/endpoints/openapi/chat/completions");
  CHECK(vertex_url(VertexRoute::kGemini, "gemini-2.5-pro", at("europe-west4"), false) ==
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/europe-west4/publishers/google/"
        "models/gemini-2.5-pro:generateContent");
  CHECK(vertex_url(VertexRoute::kGemini, "gemini/gemini-2.5-pro", at("global"), true) ==
        "https://aiplatform.googleapis.com/v1/projects/proj/locations/global/publishers/google/models/gemini-2.5-pro:"
        "streamGenerateContent?alt=sse");
  CHECK(vertex_url(VertexRoute::kGeminiEndpoint, "1234", at("us-east5"), false) ==
        "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/endpoints/1234:generateContent");
  CHECK(vertex_url(VertexRoute::kClaude, "claude-sonnet-4@20250514", at("us-east5"), false) ==
        "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/publishers/anthropic/models/"
        "claude-sonnet-4@20250514:rawPredict");
  CHECK(vertex_url(VertexRoute::kClaude, "claude-sonnet-4@20250514", at("us-east5"), true) ==
        "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/publishers/anthropic/models/"
        "claude-sonnet-4@20250514:streamRawPredict");
}

TEST_CASE("vertex: api_base replaces scheme and host, or is the full resource URL", "[vertex][url]") {
  // Scheme + host (and an optional path prefix) replaced; the /v1/projects path kept.
  CHECK(vertex_url(VertexRoute::kOpenAiCompatible, "m", at("us-central1", "http://127.0.0.1:8080/"), false) ==
        "http://127.0.0.1:8080/v1/projects/proj/locations/us-central1/endpoints/openapi/chat/completions");
  CHECK(vertex_url(VertexRoute::kGemini, "gemini-2.5-pro", at("us-central1", "https://proxy.corp/vertex"), true) ==
        "https://proxy.corp/vertex/v1/projects/proj/locations/us-central1/publishers/google/models/gemini-2.5-pro:"
        "streamGenerateContent?alt=sse");
  // A full resource URL (it names /projects/) is used as it is, the route's tail added when absent.
  const std::string endpoint = "http://127.0.0.1:8080/v1/projects/p2/locations/l2/endpoints/openapi";
  CHECK(vertex_url(VertexRoute::kOpenAiCompatible, "m", at("us-central1", endpoint), false) ==
        endpoint + "/chat/completions");
  CHECK(vertex_url(VertexRoute::kOpenAiCompatible, "m", at("us-central1", endpoint + "/chat/completions"), false) ==
        endpoint + "/chat/completions");
  const std::string model = "http://127.0.0.1:8080/v1/projects/p2/locations/l2/publishers/google/models/g";
  CHECK(vertex_url(VertexRoute::kGemini, "other", at("us-central1", model), false) == model + ":generateContent");
  CHECK(vertex_url(VertexRoute::kGemini, "other", at("us-central1", model), true) ==
        model + ":streamGenerateContent?alt=sse");
  CHECK(vertex_url(VertexRoute::kGemini, "other", at("us-central1", model + ":generateContent"), false) ==
        model + ":generateContent");
  CHECK(vertex_url(VertexRoute::kClaude, "c", at("us-central1", model), true) == model + ":streamRawPredict");
}

TEST_CASE("vertex: the MaaS request carries a token fetched once on the loop", "[vertex][auth]") {
  testing::SimulatedLoop loop;
  int fetches = 0;
  loop.route("google.sim/token", [&](const transport::HttpRequest& r) {
    ++fetches;
    const std::string prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
    REQUIRE(r.body.rfind(prefix, 0) == 0);
    return testing::ScriptedResponse::json(200, R"({"access_token":"ya29.sim","expires_in":3600})");
  });
  const DeploymentConfig d = vertex_deployment(
      "openai/gpt-oss-120b-maas",
      R"("vertex_project":"my-proj","vertex_location":"us-central1","vertex_credentials":)" +
          json_string(sa_json_for("http://google.sim/token")));
  const VertexAiProvider& p = fixed_provider();
  auto auth = p.make_auth(d);
  REQUIRE(auth);
  const ProviderTarget target = ProviderTarget::of(d, auth.get());

  int ready = 0;
  for (int i = 0; i < 3; ++i) {
    p.prepare(target, loop, [&](Status s) {
      CHECK(s.ok());
      ++ready;
    });
  }
  loop.run_until_idle();
  CHECK(ready == 3);
  CHECK(fetches == 1);
  CHECK(VertexAiProvider::token_fetches(auth.get()) == 1);
  // The private key, read from the credentials, is handed to the router's scrubber.
  std::vector<std::string> secrets;
  auth->append_secrets(secrets);
  REQUIRE(secrets.size() == 1);
  CHECK(secrets[0].rfind("-----BEGIN RSA PRIVATE KEY-----\n", 0) == 0);
  // The assertion was made with the injected clock: exactly the §4.9 vector.
  const std::string& body = loop.requests().at(0).request.body;
  CHECK(body.find("assertion=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjEifQ.") != std::string::npos);
  CHECK(body.ends_with(".0fzw-bmbqRwB03uAZ5Pwk9ahkCyK3Hnv5I8tOXuhxpzYcl8x1K48Mes2BiUTD3HmDavpzMgSl_lS2kjQkyvgH4qCLqQLpZ_PA5XdNXP_"
                      "3sncE3D29gPjgIVHqL16LSfFt7vhg6oKlNfrh9SQT3UGhatsdSMu2loLM1lh4itR6MuWJQEW7oQd_LdgHOLdJB2A21f5e86XV"
                      "KvAVCH2ZkKxiPX6e1skpTb-GutxhHPIndb_7qin9TitJ7OPJl0A6JeiukKu63-ers58rztHx3sNVn_HohqglaV4h6vOceHqH2t"
                      "Pu7OVGHWAkZ6s5FkdM3wxCxtk42XCzYQggMcEAvHFKw"));

  const auto request = testing::parse(R"({"model":"group","messages":[{"role":"user","content":"hi"}],"stream":true})");
  transport::HttpRequest out;
  REQUIRE(p.build_request(target, request, true, out).ok());
  CHECK(out.url ==
        "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1/endpoints/openapi/"
        "chat/completions");
  CHECK(out.method == "POST");
  CHECK(std::count(out.headers.begin(), out.headers.end(), "Authorization: Bearer ya29.sim") == 1);
  CHECK(std::count_if(out.headers.begin(), out.headers.end(),
                      [](const std::string& h) { return h.rfind("Authorization", 0) == 0; }) == 1);
  CHECK(out.body.find(R"("model":"openai/gpt-oss-120b-maas")") != std::string::npos);
  CHECK(out.body.find(R"("stream":true)") != std::string::npos);
  CHECK(out.stream_body);
}

TEST_CASE("vertex: configuration problems surface at prepare, naming the deployment, never a key", "[vertex][auth]") {
  testing::SimulatedLoop loop;
  const VertexAiProvider& p = fixed_provider();
  auto outcome = [&](const DeploymentConfig& d) {
    auto auth = p.make_auth(d);
    std::optional<Status> got;
    p.prepare(ProviderTarget::of(d, auth.get()), loop, [&](Status s) { got = std::move(s); });
    loop.run_until_idle();
    REQUIRE(got.has_value());
    return *got;
  };

  // No project anywhere: the service account names none, nothing in the environment.
  std::string no_project = sa_json_for("http://google.sim/token");
  no_project.replace(no_project.find("example_project"), 15, "");
  Status s = outcome(vertex_deployment("openai/gpt-oss-120b-maas", R"("vertex_credentials":)" + json_string(no_project)));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kInvalidConfig);
  CHECK_THAT(s.error().message, Catch::StartsWith("deployment vertex-dep: Vertex AI needs a project"));

  // Unreadable credentials (the alias key is read too).
  s = outcome(vertex_deployment("gemini-2.5-pro", R"("vertex_ai_credentials":"/no/such/file.json","vertex_project":"p")"));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kAuthentication);
  CHECK_THAT(s.error().message, Catch::StartsWith("deployment vertex-dep: vertex_credentials: cannot read") &&
                                    Catch::Contains("/no/such/file.json"));

  // Malformed credentials given as a mapping in the config: the key is not echoed.
  const std::string bad_key = R"({"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n"})";
  s = outcome(vertex_deployment("openai/gpt-oss-120b-maas", R"("vertex_project":"p","vertex_credentials":)" + bad_key));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kAuthentication);
  CHECK_THAT(s.error().message, Catch::Contains("vertex-dep") && !Catch::Contains("SECRETSECRET"));

  // A failed token exchange: kAuthentication naming the deployment, the endpoint's words kept.
  loop.route("google.sim/token", [](const transport::HttpRequest&) {
    return testing::ScriptedResponse::json(400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})");
  });
  s = outcome(vertex_deployment("openai/gpt-oss-120b-maas",
                                R"("vertex_credentials":)" + json_string(sa_json_for("http://google.sim/token"))));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kAuthentication);
  CHECK(s.error().message ==
        "deployment vertex-dep: Google access token fetch failed: HTTP 400: invalid_grant: Invalid JWT Signature.");
}

TEST_CASE("vertex: the metadata server gives the token, and the project when none is configured", "[vertex][auth]") {
  testing::SimulatedLoop loop;
  loop.route("meta.sim/computeMetadata/v1/project/project-id", [](const transport::HttpRequest& r) {
    CHECK(std::count(r.headers.begin(), r.headers.end(), "Metadata-Flavor: Google") == 1);
    auto a = testing::ScriptedResponse::json(200, "meta-proj");
    a.headers.emplace_back("metadata-flavor", "Google");
    return a;
  });
  loop.route("meta.sim/computeMetadata/v1/instance/service-accounts/default/token", [](const transport::HttpRequest&) {
    auto a = testing::ScriptedResponse::json(200, R"({"access_token":"ya29.meta","expires_in":3599})");
    a.headers.emplace_back("metadata-flavor", "Google");
    return a;
  });
  const VertexAiProvider p(env_of({{"GCE_METADATA_HOST", "meta.sim"}, {"HOME", "/nonexistent"}}),
                           system_wall_seconds());
  const DeploymentConfig d = vertex_deployment("openai/gpt-oss-20b-maas", R"("vertex_location":"global")");
  auto auth = p.make_auth(d);
  const ProviderTarget target = ProviderTarget::of(d, auth.get());
  std::optional<Status> got;
  p.prepare(target, loop, [&](Status s) { got = std::move(s); });
  loop.run_until_idle();
  REQUIRE(got.has_value());
  REQUIRE(got->ok());
  transport::HttpRequest out;
  REQUIRE(p.build_request(target, testing::parse(R"({"model":"group","messages":[]})"), false, out).ok());
  CHECK(out.url ==
        "https://aiplatform.googleapis.com/v1/projects/meta-proj/locations/global/endpoints/openapi/chat/completions");
  CHECK(std::count(out.headers.begin(), out.headers.end(), "Authorization: Bearer ya29.meta") == 1);
}

namespace {

// A prepared Vertex target for `model` (token "t" from the simulated endpoint).
struct Prepared {
  testing::SimulatedLoop loop;
  DeploymentConfig d;
  std::shared_ptr<DeploymentAuth> auth;
  explicit Prepared(std::string model) {
    loop.route("google.sim/token", [](const transport::HttpRequest&) {
      return testing::ScriptedResponse::json(200, R"({"access_token":"t","expires_in":3600})");
    });
    d = vertex_deployment(std::move(model), R"("vertex_location":"us-east5","vertex_credentials":)" +
                                                json_string(sa_json_for("http://google.sim/token")));
    auth = fixed_provider().make_auth(d);
    bool ok = false;
    fixed_provider().prepare(target(), loop, [&](Status s) { ok = s.ok(); });
    loop.run_until_idle();
    REQUIRE(ok);
  }
  ProviderTarget target() const { return ProviderTarget::of(d, auth.get()); }
};

bool has_header(const transport::HttpRequest& r, std::string_view line) {
  return std::count(r.headers.begin(), r.headers.end(), std::string(line)) == 1;
}

}  // namespace

TEST_CASE("vertex: the Gemini route sends generateContent with the bearer token", "[vertex][gemini]") {
  Prepared p("gemini-2.5-pro");
  const VertexAiProvider& vertex = fixed_provider();
  const auto request = testing::parse(
      R"({"model":"group","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"max_tokens":20})");
  transport::HttpRequest out;
  REQUIRE(vertex.build_request(p.target(), request, false, out).ok());
  CHECK(out.url ==
        "https://us-east5-aiplatform.googleapis.com/v1/projects/example_project/locations/us-east5/publishers/google/"
        "models/gemini-2.5-pro:generateContent");
  CHECK(has_header(out, "Authorization: Bearer t"));
  CHECK(has_header(out, "Content-Type: application/json"));
  CHECK(out.body.find(R"("contents":[{"role":"user","parts":[{"text":"hi"}]}])") != std::string::npos);
  CHECK(out.body.find("Be brief.") != std::string::npos);
  CHECK(out.body.find(R"("model")") == std::string::npos);
  CHECK_FALSE(out.stream_body);

  REQUIRE(vertex.build_request(p.target(), request, true, out).ok());
  CHECK(out.url.ends_with("/models/gemini-2.5-pro:streamGenerateContent?alt=sse"));
  CHECK(has_header(out, "Accept: text/event-stream"));
  CHECK(out.stream_body);
  CHECK(vertex.make_stream_translator(p.target(), request) != nullptr);

  std::string body =
      R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hello."}]},"finishReason":"STOP","index":0}],)"
      R"("usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6},"responseId":"r1"})";
  REQUIRE(vertex.translate_response(p.target(), request, body).ok());
  auto info = vertex.inspect_response(body, request::Endpoint::kChatCompletions);
  REQUIRE(info.ok());
  CHECK(info->finish_reason == "stop");
  CHECK(info->usage.prompt_tokens == 4);
  CHECK(info->usage.completion_tokens == 2);
  CHECK(body.find(R"("content":"Hello.")") != std::string::npos);
}

TEST_CASE("vertex: the Claude route sends Messages to rawPredict without model, with anthropic_version",
          "[vertex][claude]") {
  Prepared p("claude-sonnet-4@20250514");
  const VertexAiProvider& vertex = fixed_provider();
  const auto request = testing::parse(R"({"model":"group","messages":[{"role":"user","content":"hi"}],"max_tokens":30})");
  transport::HttpRequest out;
  REQUIRE(vertex.build_request(p.target(), request, false, out).ok());
  CHECK(out.url ==
        "https://us-east5-aiplatform.googleapis.com/v1/projects/example_project/locations/us-east5/publishers/"
        "anthropic/models/claude-sonnet-4@20250514:rawPredict");
  CHECK(has_header(out, "Authorization: Bearer t"));
  CHECK(out.body.find(R"("anthropic_version":"vertex-2023-10-16")") != std::string::npos);
  CHECK(out.body.find(R"("model")") == std::string::npos);
  CHECK(out.body.find(R"("max_tokens":30)") != std::string::npos);
  for (const auto& h : out.headers) {
    CHECK(h.rfind("x-api-key", 0) != 0);
    CHECK(h.rfind("anthropic-version", 0) != 0);
  }

  REQUIRE(vertex.build_request(p.target(), request, true, out).ok());
  CHECK(out.url.ends_with("/models/claude-sonnet-4@20250514:streamRawPredict"));
  CHECK(out.body.find(R"("stream":true)") != std::string::npos);
  CHECK(vertex.make_stream_translator(p.target(), request) != nullptr);

  // A cut stream continues by assistant prefill.
  REQUIRE(vertex.build_continuation_request(p.target(), request, "Hello the", out).ok());
  CHECK(out.url.ends_with(":streamRawPredict"));
  CHECK(out.body.find(R"({"role":"assistant","content":)") != std::string::npos);
  CHECK(out.body.find("Hello the") != std::string::npos);

  std::string body =
      R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4","content":[{"type":"text","text":"Hi!"}],)"
      R"("stop_reason":"end_turn","usage":{"input_tokens":7,"output_tokens":3}})";
  REQUIRE(vertex.translate_response(p.target(), request, body).ok());
  auto info = vertex.inspect_response(body, request::Endpoint::kChatCompletions);
  REQUIRE(info.ok());
  CHECK(info->finish_reason == "stop");
  CHECK(info->usage.prompt_tokens == 7);
  CHECK(body.find(R"("content":"Hi!")") != std::string::npos);
}

TEST_CASE("vertex: errors of every route are classified as Google's; the MaaS stream is OpenAI's", "[vertex]") {
  const VertexAiProvider& vertex = fixed_provider();
  transport::TransferResult r;
  r.status = 429;
  r.body = R"({"error":{"code":429,"message":"Resource exhausted. Please try again later.","status":"RESOURCE_EXHAUSTED"}})";
  Error e = vertex.classify_failure(r);
  CHECK(e.kind == ErrorKind::kRateLimit);
  CHECK_THAT(e.message, Catch::Contains("Resource exhausted"));
  r.status = 400;
  r.body = R"({"error":{"code":400,"message":"The input token count exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}})";
  CHECK(vertex.classify_failure(r).kind == ErrorKind::kContextWindowExceeded);

  Prepared p("openai/gpt-oss-120b-maas");
  CHECK(vertex.make_stream_translator(p.target(), testing::parse(R"({"model":"g","messages":[]})")) == nullptr);
}

TEST_CASE("vertex: partner models on other formats are not served yet", "[vertex][route]") {
  const VertexAiProvider& vertex = fixed_provider();
  Prepared mistral("mistral-large@2407");
  transport::HttpRequest out;
  Status s = vertex.build_request(mistral.target(), testing::parse(R"({"model":"group","messages":[]})"), false, out);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kInvalidConfig);
  CHECK_THAT(s.error().message, Catch::Contains("vertex_ai/mistral-large@2407"));
}

TEST_CASE("vertex: the embeddings URL is the publisher model's :predict, under the api_base rule",
          "[vertex][embeddings][url]") {
  CHECK(vertex_predict_url("text-embedding-005", at("us-central1")) ==
        "https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/publishers/google/"
        "models/text-embedding-005:predict");
  CHECK(vertex_predict_url("gemini-embedding-001", at("global")) ==
        "https://aiplatform.googleapis.com/v1/projects/proj/locations/global/publishers/google/models/"
        "gemini-embedding-001:predict");
  // vertex_ai/gemini/<id> names <id>, as on the chat route.
  CHECK(vertex_predict_url("gemini/text-embedding-004", at("europe-west4")) ==
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/europe-west4/publishers/google/"
        "models/text-embedding-004:predict");
  CHECK(vertex_predict_url("text-embedding-005", at("us-central1", "http://127.0.0.1:9/")) ==
        "http://127.0.0.1:9/v1/projects/proj/locations/us-central1/publishers/google/models/text-embedding-005:predict");
  const std::string full = "http://127.0.0.1:9/v1/projects/p2/locations/l2/publishers/google/models/e";
  CHECK(vertex_predict_url("other", at("us-central1", full)) == full + ":predict");
  CHECK(vertex_predict_url("other", at("us-central1", full + ":predict")) == full + ":predict");
}

TEST_CASE("vertex: embeddings POST the predict body with the bearer token and come back as an OpenAI list",
          "[vertex][embeddings]") {
  const VertexAiProvider& vertex = fixed_provider();
  for (const char* model : {"text-embedding-004", "text-embedding-005", "text-multilingual-embedding-002",
                            "gemini-embedding-001"}) {
    INFO(model);
    Prepared p(model);
    const auto request = testing::parse(
        R"({"model":"group","input":["good morning","from llmux"],"dimensions":256,"task_type":"RETRIEVAL_QUERY"})",
        request::Endpoint::kEmbeddings);
    transport::HttpRequest out;
    REQUIRE(vertex.build_request(p.target(), request, false, out).ok());
    CHECK(out.url == fmt::format("https://us-east5-aiplatform.googleapis.com/v1/projects/example_project/locations/"
                                 "us-east5/publishers/google/models/{}:predict",
                                 model));
    CHECK(out.method == "POST");
    CHECK(has_header(out, "Authorization: Bearer t"));
    CHECK(has_header(out, "Content-Type: application/json"));
    CHECK(has_header(out, "Accept: application/json"));
    CHECK_FALSE(out.stream_body);
    CHECK(out.body ==
          R"({"instances":[{"content":"good morning","task_type":"RETRIEVAL_QUERY"},)"
          R"({"content":"from llmux","task_type":"RETRIEVAL_QUERY"}],"parameters":{"outputDimensionality":256}})");

    std::string body =
        R"({"predictions":[{"embeddings":{"statistics":{"truncated":false,"token_count":2},"values":[0.1,-0.2]}},)"
        R"({"embeddings":{"statistics":{"truncated":false,"token_count":3},"values":[0.3,0.4]}}],)"
        R"("metadata":{"billableCharacterCount":20}})";
    REQUIRE(vertex.translate_response(p.target(), request, body).ok());
    CHECK(body == fmt::format(R"({{"object":"list","data":[{{"object":"embedding","index":0,"embedding":[0.1,-0.2]}},)"
                              R"({{"object":"embedding","index":1,"embedding":[0.3,0.4]}}],"model":"{}",)"
                              R"("usage":{{"prompt_tokens":5,"total_tokens":5}}}})",
                              model));
    auto info = vertex.inspect_response(body, request::Endpoint::kEmbeddings);
    REQUIRE(info.ok());
    CHECK(info->usage.prompt_tokens == 5);
  }
}

TEST_CASE("vertex: embedding parameters — input_type, title, auto_truncate, and the deployment's litellm_params",
          "[vertex][embeddings]") {
  const VertexAiProvider& vertex = fixed_provider();
  Prepared p("text-embedding-005");
  transport::HttpRequest out;
  // A single string; LiteLLM's input_type is task_type; title per instance; auto_truncate.
  REQUIRE(vertex
              .build_request(p.target(),
                             testing::parse(R"({"model":"group","input":"doc","input_type":"RETRIEVAL_DOCUMENT",)"
                                            R"("title":"T","auto_truncate":false})",
                                            request::Endpoint::kEmbeddings),
                             false, out)
              .ok());
  CHECK(out.body ==
        R"({"instances":[{"content":"doc","task_type":"RETRIEVAL_DOCUMENT","title":"T"}],"parameters":{"autoTruncate":false}})");
  // No parameters: none sent.
  REQUIRE(vertex.build_request(p.target(), testing::parse(R"({"model":"group","input":"x"})", request::Endpoint::kEmbeddings),
                               false, out)
              .ok());
  CHECK(out.body == R"({"instances":[{"content":"x"}]})");

  // The deployment's litellm_params fill what the request leaves out; the request wins.
  Prepared d("gemini-embedding-001");
  d.d.litellm_params_json.insert(d.d.litellm_params_json.size() - 1,
                                 R"(,"task_type":"CLUSTERING","dimensions":768,"auto_truncate":true)");
  REQUIRE(vertex.build_request(d.target(), testing::parse(R"({"model":"group","input":"x"})", request::Endpoint::kEmbeddings),
                               false, out)
              .ok());
  CHECK(out.body ==
        R"({"instances":[{"content":"x","task_type":"CLUSTERING"}],"parameters":{"outputDimensionality":768,"autoTruncate":true}})");
  REQUIRE(vertex.build_request(d.target(),
                               testing::parse(R"({"model":"group","input":"x","dimensions":8,"task_type":"CLASSIFICATION"})",
                                              request::Endpoint::kEmbeddings),
                               false, out)
              .ok());
  CHECK(out.body ==
        R"({"instances":[{"content":"x","task_type":"CLASSIFICATION"}],"parameters":{"outputDimensionality":8,"autoTruncate":true}})");

  // Malformed values and token-array input are BadRequest, nothing sent.
  for (const char* bad : {R"({"model":"group","input":"x","dimensions":"big"})",
                          R"({"model":"group","input":"x","task_type":3})",
                          R"({"model":"group","input":[[1,2,3]]})"}) {
    INFO(bad);
    Status s = vertex.build_request(p.target(), testing::parse(bad, request::Endpoint::kEmbeddings), false, out);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kBadRequest);
  }
}

TEST_CASE("vertex: embeddings from partner models and tuned endpoints are a clear error naming the model",
          "[vertex][embeddings]") {
  const VertexAiProvider& vertex = fixed_provider();
  const auto request = testing::parse(R"({"model":"group","input":"x"})", request::Endpoint::kEmbeddings);
  for (const char* model : {"openai/gpt-oss-120b-maas", "claude-sonnet-4@20250514", "mistral-large@2407", "1234567"}) {
    INFO(model);
    Prepared p(model);
    transport::HttpRequest out;
    Status s = vertex.build_request(p.target(), request, false, out);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(s.error().message, Catch::StartsWith(fmt::format("deployment vertex-dep: vertex_ai/{}: embeddings are "
                                                                "served for Google's publisher models only",
                                                                model)));
  }
}

TEST_CASE("vertex: a predict error is classified as Google's", "[vertex][embeddings]") {
  const VertexAiProvider& vertex = fixed_provider();
  Prepared p("text-embedding-005");
  // An error object in a 200 answer is not an embedding list.
  std::string body = R"({"error":{"code":400,"message":"Invalid instance.","status":"INVALID_ARGUMENT"}})";
  Status s = vertex.translate_response(p.target(), testing::parse(R"({"model":"group","input":"x"})",
                                                                  request::Endpoint::kEmbeddings),
                                       body);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kBadRequest);
  transport::TransferResult r;
  r.status = 429;
  r.body = R"({"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model","status":"RESOURCE_EXHAUSTED"}})";
  CHECK(vertex.classify_failure(r).kind == ErrorKind::kRateLimit);
}
