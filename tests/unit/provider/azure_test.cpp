// The Azure OpenAI adapter (providers.md §2): URL shapes, auth headers, the
// config and environment chains, the Entra token request, error
// classification (§2.6), and the Entra token's life on a simulated loop.
#include "provider/azure.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>

#include <fmt/format.h>

#include "provider/azure_ai.hpp"
#include "support/simulated_loop.hpp"
#include "unit/provider/provider_test_util.hpp"

using namespace llmux;
using namespace llmux::provider;
using namespace std::chrono_literals;
using llmux::testing::parse;
using llmux::testing::ScriptedResponse;
using llmux::testing::SimulatedLoop;
using transport::HttpRequest;

namespace {

// The environment the settings are resolved against.
std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}
std::string lookup(const char* name) {
  auto it = fake_env().find(name);
  return it == fake_env().end() ? std::string() : it->second;
}

// An azure/<dep> deployment; `params_json` is litellm_params beyond the typed fields.
DeploymentConfig azure(std::string api_base, std::string api_key = "k-123", std::string api_version = "",
                       std::string params_json = "{}") {
  DeploymentConfig d = llmux::testing::deployment("azure", std::move(api_base), std::move(api_key));
  d.id = "az-1";
  d.model = "azure/gpt4o-prod";
  d.provider_model = "gpt4o-prod";
  d.api_version = std::move(api_version);
  d.litellm_params_json = std::move(params_json);
  return d;
}

const char* kChat = R"({"model":"group","messages":[{"role":"user","content":"hi"}]})";

struct Built {
  Status status;
  HttpRequest request;
};

Built build(const DeploymentConfig& d, bool stream = false, std::string_view body = kChat,
            request::Endpoint endpoint = request::Endpoint::kChatCompletions) {
  AzureAuth auth(d, resolve_azure_settings(d, lookup));
  const request::ParsedRequest r = parse(body, endpoint);
  Built b;
  b.status = llmux::testing::provider_named("azure").build_request(ProviderTarget::of(d, &auth), r, stream,
                                                                    b.request);
  return b;
}

std::string header(const HttpRequest& r, std::string_view name) {
  for (const std::string& h : r.headers) {
    if (h.size() > name.size() + 1 && h.compare(0, name.size(), name) == 0 && h[name.size()] == ':') {
      return h.substr(name.size() + 2);
    }
  }
  return "<absent>";
}

}  // namespace

TEST_CASE("azure: registered, with azure_ai") {
  CHECK(find_provider("azure") != nullptr);
  CHECK(find_provider("azure_ai") != nullptr);
  CHECK(find_provider("azure")->name() == "azure");
}

TEST_CASE("azure: classic URL with api-version, api-key header, body model = deployment") {
  fake_env().clear();
  Built b = build(azure("https://res.openai.azure.com/", "k-123", "2024-10-21"));
  REQUIRE(b.status.ok());
  CHECK(b.request.url ==
        "https://res.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21");
  CHECK(header(b.request, "api-key") == "k-123");
  CHECK(header(b.request, "Authorization") == "<absent>");
  CHECK(b.request.body.rfind(R"({"model":"gpt4o-prod",)", 0) == 0);
  CHECK(b.request.method == "POST");

  SECTION("embeddings") {
    Built e = build(azure("https://res.openai.azure.com", "k", "2024-10-21"), false,
                    R"({"model":"group","input":"hello"})", request::Endpoint::kEmbeddings);
    REQUIRE(e.status.ok());
    CHECK(e.request.url ==
          "https://res.openai.azure.com/openai/deployments/gpt4o-prod/embeddings?api-version=2024-10-21");
  }
  SECTION("streaming asks for usage") {
    Built s = build(azure("https://res.openai.azure.com", "k", "2024-10-21"), true);
    REQUIRE(s.status.ok());
    CHECK(s.request.stream_body);
    CHECK(s.request.body.find(R"("stream":true)") != std::string::npos);
    CHECK(s.request.body.find(R"("include_usage":true)") != std::string::npos);
    CHECK(header(s.request, "Accept") == "text/event-stream");
  }
}

TEST_CASE("azure: api_base forms and api_version forms") {
  fake_env().clear();
  SECTION("default api_version") {
    Built b = build(azure("https://res.openai.azure.com"));
    CHECK(b.request.url.find("?api-version=2025-02-01-preview") != std::string::npos);
  }
  SECTION("AZURE_API_VERSION") {
    fake_env()["AZURE_API_VERSION"] = "2024-06-01";
    Built b = build(azure("https://res.openai.azure.com"));
    CHECK(b.request.url.find("?api-version=2024-06-01") != std::string::npos);
    // litellm_params wins over the environment.
    Built c = build(azure("https://res.openai.azure.com", "k", "2024-02-01"));
    CHECK(c.request.url.find("?api-version=2024-02-01") != std::string::npos);
  }
  SECTION("api_base already naming the deployment is used as is") {
    Built b = build(azure("https://res.openai.azure.com/openai/deployments/other-dep/", "k", "2024-10-21"));
    CHECK(b.request.url ==
          "https://res.openai.azure.com/openai/deployments/other-dep/chat/completions?api-version=2024-10-21");
  }
  for (const char* v1 : {"v1", "latest", "preview"}) {
    SECTION(std::string("the v1 API: ") + v1) {
      Built b = build(azure("https://res.openai.azure.com", "k-1", v1));
      REQUIRE(b.status.ok());
      CHECK(b.request.url == "https://res.openai.azure.com/openai/v1/chat/completions");
      CHECK(header(b.request, "Authorization") == "Bearer k-1");
      CHECK(header(b.request, "api-key") == "<absent>");
      CHECK(b.request.body.rfind(R"({"model":"gpt4o-prod",)", 0) == 0);
    }
  }
  SECTION("a wildcard group's model is the deployment of the URL and the body") {
    const DeploymentConfig d = azure("https://res.openai.azure.com", "k", "2024-10-21");
    AzureAuth auth(d, resolve_azure_settings(d, lookup));
    HttpRequest out;
    REQUIRE(llmux::testing::provider_named("azure")
                .build_request(ProviderTarget{d, "gpt-4.1-mini", &auth}, parse(kChat), false, out)
                .ok());
    CHECK(out.url == "https://res.openai.azure.com/openai/deployments/gpt-4.1-mini/chat/completions?api-version=2024-10-21");
    CHECK(out.body.rfind(R"({"model":"gpt-4.1-mini",)", 0) == 0);
  }
  SECTION("v1 api_base already ending in /openai/v1") {
    Built b = build(azure("https://res.openai.azure.com/openai/v1/", "k-1", "v1"));
    CHECK(b.request.url == "https://res.openai.azure.com/openai/v1/chat/completions");
  }
  SECTION("AZURE_API_BASE") {
    fake_env()["AZURE_API_BASE"] = "https://env.openai.azure.com/";
    Built b = build(azure("", "k", "2024-10-21"));
    REQUIRE(b.status.ok());
    CHECK(b.request.url.rfind("https://env.openai.azure.com/openai/deployments/gpt4o-prod/", 0) == 0);
  }
  SECTION("no api_base anywhere: a config error naming the deployment") {
    Built b = build(azure("", "k"));
    REQUIRE_FALSE(b.status.ok());
    CHECK(b.status.error().kind == ErrorKind::kInvalidConfig);
    CHECK(b.status.error().message.find("az-1") != std::string::npos);
    CHECK(b.status.error().message.find("gpt4o-prod") != std::string::npos);
    CHECK(b.status.error().message.find("AZURE_API_BASE") != std::string::npos);
  }
}

TEST_CASE("azure: api key and token chains") {
  fake_env().clear();
  const std::string base = "https://res.openai.azure.com";
  SECTION("AZURE_OPENAI_API_KEY, then AZURE_API_KEY") {
    fake_env()["AZURE_API_KEY"] = "k-second";
    CHECK(header(build(azure(base, "")).request, "api-key") == "k-second");
    fake_env()["AZURE_OPENAI_API_KEY"] = "k-first";
    CHECK(header(build(azure(base, "")).request, "api-key") == "k-first");
    CHECK(header(build(azure(base, "k-config")).request, "api-key") == "k-config");
  }
  SECTION("a static AD token wins over api-key") {
    Built b = build(azure(base, "k-config", "", R"({"azure_ad_token":"ad-tok"})"));
    CHECK(header(b.request, "Authorization") == "Bearer ad-tok");
    CHECK(header(b.request, "api-key") == "<absent>");
  }
  SECTION("AZURE_AD_TOKEN only when no api_key is configured") {
    fake_env()["AZURE_AD_TOKEN"] = "env-tok";
    CHECK(header(build(azure(base, "")).request, "Authorization") == "Bearer env-tok");
    CHECK(header(build(azure(base, "k-config")).request, "api-key") == "k-config");
  }
  SECTION("no credentials at all: an AuthenticationError naming the deployment") {
    Built b = build(azure(base, ""));
    REQUIRE_FALSE(b.status.ok());
    CHECK(b.status.error().kind == ErrorKind::kAuthentication);
    CHECK(b.status.error().message.find("az-1") != std::string::npos);
  }
  SECTION("an oidc/ token is not supported yet") {
    Built b = build(azure(base, "", "", R"({"azure_ad_token":"oidc/github/api://AzureADTokenExchange"})"));
    REQUIRE_FALSE(b.status.ok());
    CHECK(b.status.error().kind == ErrorKind::kInvalidConfig);
    CHECK(b.status.error().message.find("not supported yet") != std::string::npos);
  }
  SECTION("a key with a line break is refused, never echoed") {
    Built b = build(azure(base, "k-evil\r\nX-Injected: 1"));
    REQUIRE_FALSE(b.status.ok());
    CHECK(b.status.error().message.find("k-evil") == std::string::npos);
  }
}

TEST_CASE("azure: Entra settings and the token request") {
  fake_env().clear();
  const std::string creds = R"({"tenant_id":"t-1","client_id":"c-1","client_secret":"s&e=c r+t/"})";
  AzureSettings s = resolve_azure_settings(azure("https://r.openai.azure.com", "", "", creds), lookup);
  CHECK(s.auth == AzureSettings::Auth::kClientCredentials);
  CHECK(s.scope == "https://cognitiveservices.azure.com/.default");
  CHECK(s.authority == "https://login.microsoftonline.com");
  HttpRequest r;
  REQUIRE(build_entra_token_request(s, r).ok());
  CHECK(r.method == "POST");
  CHECK(r.url == "https://login.microsoftonline.com/t-1/oauth2/v2.0/token");
  CHECK(std::find(r.headers.begin(), r.headers.end(), "Content-Type: application/x-www-form-urlencoded") !=
        r.headers.end());
  CHECK(r.body ==
        "client_id=c-1&client_secret=s%26e%3Dc%20r%2Bt%2F&grant_type=client_credentials"
        "&scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default");

  SECTION("an Entra flow wins over a configured api_key") {
    AzureSettings k = resolve_azure_settings(azure("https://r.openai.azure.com", "k-config", "", creds), lookup);
    CHECK(k.auth == AzureSettings::Auth::kClientCredentials);
  }
  SECTION("environment: AZURE_TENANT_ID/CLIENT_ID/CLIENT_SECRET, AZURE_SCOPE, AZURE_AUTHORITY_HOST") {
    fake_env() = {{"AZURE_TENANT_ID", "t-env"}, {"AZURE_CLIENT_ID", "c-env"}, {"AZURE_CLIENT_SECRET", "s-env"},
                  {"AZURE_SCOPE", "api://x/.default"}, {"AZURE_AUTHORITY_HOST", "http://127.0.0.1:9/"}};
    AzureSettings e = resolve_azure_settings(azure("https://r.openai.azure.com", ""), lookup);
    CHECK(e.auth == AzureSettings::Auth::kClientCredentials);
    REQUIRE(build_entra_token_request(e, r).ok());
    CHECK(r.url == "http://127.0.0.1:9/t-env/oauth2/v2.0/token");
    CHECK(r.body == "client_id=c-env&client_secret=s-env&grant_type=client_credentials&scope=api%3A%2F%2Fx%2F.default");
    // ... but not over a configured api_key (LiteLLM's "if not api_key").
    CHECK(resolve_azure_settings(azure("https://r.openai.azure.com", "k"), lookup).auth ==
          AzureSettings::Auth::kApiKey);
    // azure_scope in litellm_params wins over AZURE_SCOPE.
    CHECK(resolve_azure_settings(azure("https://r", "", "", R"({"azure_scope":"s://p"})"), lookup).scope == "s://p");
  }
  SECTION("ROPC: username/password with client_id") {
    AzureSettings p = resolve_azure_settings(
        azure("https://r", "", "", R"({"client_id":"c-1","azure_username":"u@x","azure_password":"p w"})"), lookup);
    CHECK(p.auth == AzureSettings::Auth::kPassword);
    REQUIRE(build_entra_token_request(p, r).ok());
    CHECK(r.url == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
    CHECK(r.body ==
          "client_id=c-1&grant_type=password&username=u%40x&password=p%20w"
          "&scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default");
  }
}

TEST_CASE("azure: errors classified as LiteLLM's azure branch (providers.md §2.6)") {
  struct Case {
    int status;
    std::string body;
    ErrorKind kind;
    int litellm_status;
  };
  const Case cases[] = {
      {400, R"({"error":{"message":"Request timed out.","code":"x"}})", ErrorKind::kTimeout, 408},
      {400, R"({"error":{"message":"Timed out generating response"}})", ErrorKind::kTimeout, 408},
      {400, R"({"error":{"message":"The read operation timed out"}})", ErrorKind::kTimeout, 408},
      {400, R"({"error":{"message":"Internal server error"}})", ErrorKind::kInternalServer, 500},
      {400,
       R"({"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}})",
       ErrorKind::kContextWindowExceeded, 400},
      {404,
       R"({"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}})",
       ErrorKind::kNotFound, 404},
      {400, R"({"error":{"code":"content_policy_violation","message":"blocked"}})",
       ErrorKind::kContentPolicyViolation, 400},
      {400,
       R"({"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}})",
       ErrorKind::kContentPolicyViolation, 400},
      {400, R"({"error":{"code":"x","message":"m","inner_error":{"code":"ResponsibleAIPolicyViolation"}}})",
       ErrorKind::kContentPolicyViolation, 400},
      {400, R"({"error":{"message":"Your task failed as a result of our safety system."}})",
       ErrorKind::kContentPolicyViolation, 400},
      {400, R"({"error":{"message":"The model produced invalid content."}})", ErrorKind::kContentPolicyViolation,
       400},
      {400, R"({"error":{"message":"violates content_filter_policy"}})", ErrorKind::kContentPolicyViolation, 400},
      {400, R"({"error":{"message":"Your request was rejected as a result of our safety system."}})",
       ErrorKind::kContentPolicyViolation, 400},
      {409, R"({"error":{"message":"bad","type":"invalid_request_error"}})", ErrorKind::kBadRequest, 400},
      {400, R"({"error":{"message":"plain"}})", ErrorKind::kBadRequest, 400},
      {401, R"({"error":{"code":"401","message":"Access denied due to invalid subscription key."}})",
       ErrorKind::kAuthentication, 401},
      {403, R"({"error":{"code":"AuthorizationFailed","message":"no"}})", ErrorKind::kPermissionDenied, 403},
      {404, R"({"error":{"code":"NotFound","message":"Resource not found"}})", ErrorKind::kNotFound, 404},
      {408, "", ErrorKind::kTimeout, 408},
      {422, "{}", ErrorKind::kBadRequest, 400},
      {429, R"({"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit."}})",
       ErrorKind::kRateLimit, 429},
      {500, R"({"error":{"message":"The server had an error while processing your request."}})",
       ErrorKind::kInternalServer, 500},
      {502, "<html>bad gateway</html>", ErrorKind::kBadGateway, 502},
      {503, "{}", ErrorKind::kServiceUnavailable, 503},
      {504, "{}", ErrorKind::kTimeout, 504},
      {409, R"({"error":{"message":"conflict"}})", ErrorKind::kApiError, 409},
  };
  for (const Case& c : cases) {
    INFO(c.status << " " << c.body);
    Error e = classify_azure_http_error(c.status, c.body);
    CHECK(e.kind == c.kind);
    CHECK(e.status == c.litellm_status);
    CHECK(e.provider_status == c.status);
    CHECK(e.llm_provider == "azure");
    CHECK(e.message.rfind("AzureException - ", 0) == 0);
  }
  // The provider's own message is kept.
  CHECK(classify_azure_http_error(404, R"({"error":{"code":"DeploymentNotFound","message":"no such dep"}})").message ==
        "AzureException - no such dep");
}

TEST_CASE("azure: classify_failure reads Retry-After; transport failures as for OpenAI") {
  const Provider& p = llmux::testing::provider_named("azure");
  transport::TransferResult r;
  r.status = 429;
  r.body = R"({"error":{"code":"429","message":"Rate limit is exceeded. Try again in 7 seconds."}})";
  r.headers = {{"retry-after", "7"}};
  Error e = p.classify_failure(r);
  CHECK(e.kind == ErrorKind::kRateLimit);
  REQUIRE(e.retry_after_seconds);
  CHECK(*e.retry_after_seconds == 7.0);
  transport::TransferResult t;
  t.error = transport::TransferError::kConnectFailed;
  CHECK(p.classify_failure(t).kind == ErrorKind::kConnectionError);
}

TEST_CASE("azure: content_filter answers and prompt_filter_results chunks read as OpenAI's") {
  const Provider& p = llmux::testing::provider_named("azure");
  auto info = p.inspect_response(
      R"({"id":"c","object":"chat.completion","model":"gpt-4o","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}],)"
      R"("choices":[{"index":0,"finish_reason":"content_filter","message":{"role":"assistant","content":null},"content_filter_results":{"hate":{"filtered":true}}}],)"
      R"("usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5}})",
      request::Endpoint::kChatCompletions);
  REQUIRE(info.ok());
  CHECK(info->finish_reason == "content_filter");
  CHECK(info->usage.prompt_tokens == 5);

  ChunkInfo first = p.inspect_chunk(
      R"({"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]})");
  CHECK(first.kind == ChunkInfo::Kind::kChunk);
  CHECK_FALSE(first.has_choices);
  CHECK_FALSE(first.has_content);

  // An error object inside the stream is classified by Azure's rules.
  ChunkInfo err = p.inspect_chunk(
      R"({"error":{"code":"content_filter","message":"x","innererror":{"code":"ResponsibleAIPolicyViolation"}}})");
  REQUIRE(err.kind == ChunkInfo::Kind::kError);
  REQUIRE(err.error);
  CHECK(err.error->kind == ErrorKind::kContentPolicyViolation);

  auto in_body = p.inspect_response(R"({"error":{"code":"DeploymentNotFound","message":"gone"}})",
                                    request::Endpoint::kChatCompletions);
  REQUIRE_FALSE(in_body.ok());
  CHECK(in_body.error().kind == ErrorKind::kNotFound);
  auto not_json = p.inspect_response("<html>", request::Endpoint::kChatCompletions);
  REQUIRE_FALSE(not_json.ok());
  CHECK(not_json.error().kind == ErrorKind::kApiError);
}

TEST_CASE("azure: the Entra token is fetched once, refreshed 5 minutes ahead, and a failure names the deployment") {
  fake_env().clear();
  DeploymentConfig d = azure("http://azure.sim", "", "2024-10-21",
                             R"({"tenant_id":"t-1","client_id":"c-1","client_secret":"top-secret"})");
  // The real environment: the authority is the default one, routed in the sim.
  auto auth = std::static_pointer_cast<AzureAuth>(llmux::testing::provider_named("azure").make_auth(d));
  REQUIRE(auth);
  REQUIRE(auth->token_cache() != nullptr);
  const Provider& p = llmux::testing::provider_named("azure");
  const ProviderTarget target = ProviderTarget::of(d, auth.get());

  SimulatedLoop loop;
  int issued = 0;
  bool up = true;
  loop.route("login.microsoftonline.com/t-1/oauth2/v2.0/token", [&](const HttpRequest& r) {
    CHECK(r.body.find("client_secret=top-secret") != std::string::npos);
    if (!up) {
      return ScriptedResponse::json(
          401, R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."})");
    }
    return ScriptedResponse::json(200, fmt::format(R"({{"access_token":"tok-{}","expires_in":"3599"}})", ++issued),
                                  100ms);
  });

  int ready = 0;
  for (int i = 0; i < 3; ++i) {
    loop.post([&] { p.prepare(target, loop, [&](Status s) { CHECK(s.ok()); ++ready; }); });
  }
  loop.run_until([&] { return ready == 3; });
  CHECK(issued == 1);
  Built b;
  const request::ParsedRequest r = parse(kChat);
  REQUIRE(p.build_request(target, r, false, b.request).ok());
  CHECK(header(b.request, "Authorization") == "Bearer tok-1");
  CHECK(header(b.request, "api-key") == "<absent>");

  auto prepare_once = [&] {
    std::optional<Status> got;
    loop.post([&] { p.prepare(target, loop, [&](Status s) { got = s; }); });
    loop.run_until([&] { return got.has_value(); });
    REQUIRE(got);
    return *got;
  };
  loop.advance(3599.0 - 301.0);  // more than 5 min left: no fetch
  CHECK(prepare_once().ok());
  CHECK(issued == 1);
  loop.advance(2.0);  // less than 5 min left: refreshed before the call
  CHECK(prepare_once().ok());
  CHECK(issued == 2);
  REQUIRE(p.build_request(target, r, false, b.request).ok());
  CHECK(header(b.request, "Authorization") == "Bearer tok-2");

  up = false;
  loop.advance(3600.0);
  Status failed = prepare_once();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kAuthentication);
  CHECK(failed.error().message.find("az-1") != std::string::npos);
  CHECK(failed.error().message.find("AADSTS7000215") != std::string::npos);
  CHECK(failed.error().message.find("top-secret") == std::string::npos);
}

TEST_CASE("azure_ai: OpenAI-compatible at the AI Foundry URL, api-key on Azure hosts") {
  fake_env().clear();
  const Provider& p = llmux::testing::provider_named("azure_ai");
  const request::ParsedRequest r = parse(kChat);
  auto built = [&](std::string base, std::string version = "") {
    DeploymentConfig d = llmux::testing::deployment("azure_ai", std::move(base), "k-ai");
    d.api_version = std::move(version);
    HttpRequest out;
    Status s = p.build_request(ProviderTarget::of(d), r, false, out);
    if (!s.ok()) FAIL(s.error().message);
    return out;
  };
  HttpRequest a = built("https://my.services.ai.azure.com/", "2024-05-01-preview");
  CHECK(a.url == "https://my.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview");
  CHECK(header(a, "api-key") == "k-ai");
  HttpRequest b = built("https://Mistral-large-x.eastus2.inference.ai.azure.com/v1/");
  CHECK(b.url == "https://Mistral-large-x.eastus2.inference.ai.azure.com/v1/chat/completions");
  CHECK(header(b, "Authorization") == "Bearer k-ai");
  CHECK(b.body.rfind(R"({"model":"served-model",)", 0) == 0);
  HttpRequest c = built("https://my.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview");
  CHECK(c.url == "https://my.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview");
}
