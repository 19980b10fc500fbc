#include "provider/azure.hpp"

#include <cstdlib>
#include <utility>

#include <absl/time/clock.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "provider/error_classifier.hpp"

namespace llmux::provider {
namespace {

using namespace std::chrono_literals;

// Refreshed this long before expiry so no call goes out with a token about
// to lapse (LiteLLM caches for the full expires_in; azure-identity refreshes
// ahead too). TokenCache uses half the lifetime for tokens shorter than 10 min.
constexpr Duration kEntraRefreshMargin = 5min;

std::string real_getenv(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// A string member of litellm_params ("" when absent or not a string).
std::string param(simdjson::dom::object params, std::string_view key) {
  std::string_view v;
  if (params.at_key(key).get_string().get(v) == simdjson::SUCCESS) return std::string(strip_ascii_whitespace(v));
  return {};
}

std::string_view without_trailing_slashes(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// libcurl's percent-encoding of one form or URL component.
std::string escaped(std::string_view s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  if (e == nullptr) return {};
  std::string out(e);
  curl_free(e);
  return out;
}

void append_form(std::string& body, std::string_view key, std::string_view value) {
  if (!body.empty()) body.push_back('&');
  body.append(key);
  body.push_back('=');
  body.append(escaped(value));
}

bool is_v1_version(std::string_view v) { return v == "v1" || v == "latest" || v == "preview"; }

}  // namespace

std::string azure_url(const AzureSettings& s, std::string_view deployment, bool embeddings) {
  const std::string_view path = embeddings ? "/embeddings" : "/chat/completions";
  const std::string_view base = s.api_base;
  std::string url(base);
  if (s.v1_api) {
    // Deployment in the body only; no api-version.
    if (!ends_with(base, "/openai/v1")) url.append("/openai/v1");
    url.append(path);
    return url;
  }
  // An api_base already naming the deployment is the SDK's base_url as is.
  if (!str_contains(base, "/openai/deployments")) {
    url.append("/openai/deployments/");
    url.append(escaped(deployment));
  }
  if (!ends_with(base, path)) url.append(path);
  url.append("?api-version=");
  url.append(escaped(s.api_version));
  return url;
}

AzureSettings resolve_azure_settings(const DeploymentConfig& d, EnvLookup getenv) {
  if (getenv == nullptr) getenv = real_getenv;
  simdjson::dom::parser parser;
  simdjson::dom::object params;
  const std::string_view json = d.litellm_params_json;
  if (parser.parse(json.data(), json.size()).get(params) != simdjson::SUCCESS) {
    // Built in code (typed fields only): an empty object keeps lookups uniform.
    if (parser.parse("{}", 2).get(params) != simdjson::SUCCESS) return AzureSettings{};
  }
  auto first = [](std::initializer_list<std::string> values) {
    for (const std::string& v : values) {
      if (!v.empty()) return v;
    }
    return std::string();
  };

  AzureSettings s;
  s.api_base = std::string(without_trailing_slashes(first({d.api_base, getenv("AZURE_API_BASE")})));
  s.api_version = first({d.api_version, param(params, "api_version"), getenv("AZURE_API_VERSION"),
                         std::string(kAzureDefaultApiVersion)});
  s.v1_api = is_v1_version(s.api_version);
  s.scope = first({param(params, "azure_scope"), getenv("AZURE_SCOPE"), std::string(kAzureDefaultScope)});
  s.authority = std::string(
      without_trailing_slashes(first({getenv("AZURE_AUTHORITY_HOST"), std::string(kAzureDefaultAuthority)})));

  const std::string configured_key = d.api_key;
  s.api_key = first({configured_key, getenv("AZURE_OPENAI_API_KEY"), getenv("AZURE_API_KEY")});
  // Token credentials from the environment only count when no api_key is
  // configured (LiteLLM's "if not api_key" before it builds a token provider).
  const bool env_tokens = configured_key.empty();
  auto pick = [&](std::string_view key, const char* env) {
    std::string v = param(params, key);
    if (v.empty() && env_tokens) v = getenv(env);
    return v;
  };
  s.tenant_id = pick("tenant_id", "AZURE_TENANT_ID");
  s.client_id = pick("client_id", "AZURE_CLIENT_ID");
  s.client_secret = pick("client_secret", "AZURE_CLIENT_SECRET");
  s.username = pick("azure_username", "AZURE_USERNAME");
  s.password = pick("azure_password", "AZURE_PASSWORD");
  s.ad_token = pick("azure_ad_token", "AZURE_AD_TOKEN");

  // LiteLLM's order: client credentials, then ROPC, then a static token;
  // any of them wins over api-key (the OpenAI SDK's precedence).
  if (!s.tenant_id.empty() && !s.client_id.empty() && !s.client_secret.empty()) {
    s.auth = AzureSettings::Auth::kClientCredentials;
  } else if (!s.username.empty() && !s.password.empty() && !s.client_id.empty()) {
    s.auth = AzureSettings::Auth::kPassword;
  } else if (!s.ad_token.empty()) {
    s.auth = AzureSettings::Auth::kStaticToken;
  } else if (!s.api_key.empty()) {
    s.auth = AzureSettings::Auth::kApiKey;
  }

  if (s.api_base.empty()) {
    s.config_error = Error(ErrorKind::kInvalidConfig,
                           fmt::format("deployment {} (azure/{}): api_base is required (litellm_params.api_base or "
                                       "AZURE_API_BASE)",
                                       d.id, d.provider_model));
  } else if (s.auth == AzureSettings::Auth::kStaticToken && s.ad_token.rfind("oidc/", 0) == 0) {
    s.config_error = Error(ErrorKind::kInvalidConfig,
                           fmt::format("deployment {} (azure/{}): azure_ad_token 'oidc/...' (federated OIDC token) is "
                                       "not supported yet; use tenant_id/client_id/client_secret or a static token",
                                       d.id, d.provider_model));
  } else if (has_line_break(s.api_base) || has_line_break(s.api_version) || has_line_break(s.api_key) ||
             has_line_break(s.ad_token)) {
    s.config_error = Error(ErrorKind::kInvalidConfig,
                           fmt::format("deployment {}: api_base, api_version, api_key or azure_ad_token contains a "
                                       "line break",
                                       d.id));
  }
  return s;
}

Status build_entra_token_request(const AzureSettings& s, transport::HttpRequest& out) {
  const bool password = s.auth == AzureSettings::Auth::kPassword;
  const std::string tenant = s.tenant_id.empty() && password ? std::string("organizations") : s.tenant_id;
  if (tenant.empty() || s.client_id.empty()) {
    return Error(ErrorKind::kInvalidConfig, "Entra ID needs tenant_id and client_id");
  }
  out.url = fmt::format("{}/{}/oauth2/v2.0/token", s.authority, escaped(tenant));
  out.method = "POST";
  out.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  out.body.clear();
  append_form(out.body, "client_id", s.client_id);
  if (password) {
    append_form(out.body, "grant_type", "password");
    append_form(out.body, "username", s.username);
    append_form(out.body, "password", s.password);
    if (!s.client_secret.empty()) append_form(out.body, "client_secret", s.client_secret);
  } else {
    append_form(out.body, "client_secret", s.client_secret);
    append_form(out.body, "grant_type", "client_credentials");
  }
  append_form(out.body, "scope", s.scope);
  out.stream_body = false;
  return Status::Ok();
}

Error classify_azure_http_error(int status, std::string_view body) {
  // LiteLLM searches str() of the SDK's error: "Error code: <status> - <body>".
  const std::string text = fmt::format("Error code: {} - {}", status, body.substr(0, 16 * 1024));
  const std::string lower = ascii_lower(text);
  Error e(ErrorKind::kApiError, fmt::format("AzureException - {}", extract_error_message(body, status)));
  e.provider_status = status;
  e.llm_provider = "azure";
  auto make = [&](ErrorKind kind, int litellm_status) {
    e.kind = kind;
    e.status = litellm_status;
    return e;
  };
  if (str_contains(text, "Request timed out") || str_contains(text, "Timed out generating response") ||
      str_contains(text, "The read operation timed out")) {
    return make(ErrorKind::kTimeout, 408);
  }
  if (str_contains(text, "Internal server error")) return make(ErrorKind::kInternalServer, 500);
  if (str_contains(lower, "this model's maximum context length is")) {
    return make(ErrorKind::kContextWindowExceeded, 400);
  }
  if (str_contains(text, "DeploymentNotFound")) return make(ErrorKind::kNotFound, 404);

  // Content policy: the error object's codes, then LiteLLM's texts.
  bool policy = false;
  simdjson::dom::parser parser;
  simdjson::dom::object error;
  if (parser.parse(body.data(), body.size()).at_key("error").get(error) == simdjson::SUCCESS) {
    std::string_view code;
    if (error.at_key("code").get_string().get(code) == simdjson::SUCCESS && code == "content_policy_violation") {
      policy = true;
    }
    for (std::string_view inner : {"innererror", "inner_error"}) {
      if (error.at_key(inner).at_key("code").get_string().get(code) == simdjson::SUCCESS &&
          code == "ResponsibleAIPolicyViolation") {
        policy = true;
      }
    }
  }
  static constexpr std::string_view kPolicyTexts[] = {
      "content_policy_violation",
      "responsibleaipolicyviolation",
      "the response was filtered due to the prompt triggering azure openai's content management",
      "your task failed as a result of our safety system",
      "the model produced invalid content",
      "content_filter_policy",
      "your request was rejected as a result of our safety system",
  };
  for (std::string_view t : kPolicyTexts) policy = policy || str_contains(lower, t);
  if (policy) return make(ErrorKind::kContentPolicyViolation, 400);

  if (str_contains(text, "invalid_request_error")) return make(ErrorKind::kBadRequest, 400);
  if (str_contains(text, "Connection error")) return make(ErrorKind::kConnectionError, 500);
  switch (status) {
    case 400: return make(ErrorKind::kBadRequest, 400);
    case 401: return make(ErrorKind::kAuthentication, 401);
    case 408: return make(ErrorKind::kTimeout, 408);
    case 422: return make(ErrorKind::kBadRequest, 400);
    case 429: return make(ErrorKind::kRateLimit, 429);
    case 502: return make(ErrorKind::kBadGateway, 502);
    case 503: return make(ErrorKind::kServiceUnavailable, 503);
    case 504: return make(ErrorKind::kTimeout, 504);
    // llmux: LiteLLM says APIError(status) for these (providers.md §7 item 5);
    // the taxonomy has the kinds, and the status stays the same.
    case 403: return make(ErrorKind::kPermissionDenied, 403);
    case 404: return make(ErrorKind::kNotFound, 404);
    case 500: return make(ErrorKind::kInternalServer, 500);
    default: return make(ErrorKind::kApiError, status > 0 ? status : 500);
  }
}

void AzureAuth::append_secrets(std::vector<std::string>& out) const {
  for (const std::string* s : {&settings_.api_key, &settings_.ad_token, &settings_.client_secret, &settings_.password}) {
    if (!s->empty()) out.push_back(*s);
  }
}

AzureAuth::AzureAuth(const DeploymentConfig& deployment, AzureSettings settings)
    : settings_(std::move(settings)), splice_config_(deployment) {
  splice_config_.api_base = settings_.api_base;
  splice_config_.api_key.clear();
  if (settings_.config_error) return;
  chat_url_ = azure_url(settings_, deployment.provider_model, false);
  embeddings_url_ = azure_url(settings_, deployment.provider_model, true);
  if (settings_.auth == AzureSettings::Auth::kClientCredentials || settings_.auth == AzureSettings::Auth::kPassword) {
    const AzureSettings* s = &settings_;  // lives as long as the cache (both members)
    cache_ = std::make_unique<TokenCache>(
        deployment.id, "Entra ID token", kEntraRefreshMargin,
        TokenSource{
            .build_request = [s](transport::HttpRequest& out) { return build_entra_token_request(*s, out); },
            .read_response = read_oauth_token_response,
        });
  }
}

std::shared_ptr<DeploymentAuth> AzureProvider::make_auth(const DeploymentConfig& deployment) const {
  return std::make_shared<AzureAuth>(deployment, resolve_azure_settings(deployment, nullptr));
}

void AzureProvider::prepare(const ProviderTarget& target, transport::EventLoop& loop, ReadyCallback ready) const {
  auto* auth = static_cast<AzureAuth*>(target.auth);
  if (auth == nullptr || auth->token_cache() == nullptr) {
    ready(Status::Ok());  // key or static token; a config error surfaces in build_request
    return;
  }
  auth->token_cache()->prepare(loop, std::move(ready));
}

Status AzureProvider::build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                                    transport::HttpRequest& out) const {
  std::shared_ptr<DeploymentAuth> own;
  ProviderTarget t = target;
  if (t.auth == nullptr) t.auth = (own = make_auth(target.config)).get();  // no pool: resolved now
  const auto& auth = *static_cast<AzureAuth*>(t.auth);
  if (auth.settings().config_error) return *auth.settings().config_error;
  Status built = OpenAiCompatibleProvider::build_request(
      ProviderTarget{auth.splice_config(), t.model, t.auth}, request, stream, out);
  if (!built.ok()) return built;
  return to_azure(t, request.endpoint == request::Endpoint::kEmbeddings, out);
}

Status AzureProvider::build_continuation_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                                 std::string_view delivered_text,
                                                 transport::HttpRequest& out) const {
  std::shared_ptr<DeploymentAuth> own;
  ProviderTarget t = target;
  if (t.auth == nullptr) t.auth = (own = make_auth(target.config)).get();
  const auto& auth = *static_cast<AzureAuth*>(t.auth);
  if (auth.settings().config_error) return *auth.settings().config_error;
  Status built = OpenAiCompatibleProvider::build_continuation_request(
      ProviderTarget{auth.splice_config(), t.model, t.auth}, request, delivered_text, out);
  if (!built.ok()) return built;
  return to_azure(t, false, out);
}

Status AzureProvider::to_azure(const ProviderTarget& target, bool embeddings, transport::HttpRequest& out) const {
  auto* auth = static_cast<AzureAuth*>(target.auth);
  const AzureSettings& s = auth->settings();
  if (target.model == target.config.provider_model) {
    out.url.assign(embeddings ? auth->embeddings_url() : auth->chat_url());  // made once
  } else {
    out.url = azure_url(s, target.model, embeddings);  // a wildcard's model
  }

  // The token (Entra or static) wins over api-key; the v1 API takes the key as
  // a Bearer token.
  std::string_view token;
  if (TokenCache* cache = auth->token_cache()) {
    token = cache->token();
  } else if (s.auth == AzureSettings::Auth::kStaticToken) {
    token = s.ad_token;
  }
  if (token.empty() && auth->token_cache() != nullptr) {
    return Error(ErrorKind::kAuthentication,
                 fmt::format("deployment {}: no Entra ID token (prepare was not called)", target.config.id));
  }
  if (has_line_break(token)) {
    return Error(ErrorKind::kAuthentication,
                 fmt::format("deployment {}: the Entra ID token contains a line break", target.config.id));
  }
  if (!token.empty()) {
    out.headers.push_back(fmt::format("Authorization: Bearer {}", token));
  } else if (!s.api_key.empty()) {
    out.headers.push_back(s.v1_api ? fmt::format("Authorization: Bearer {}", s.api_key)
                                   : fmt::format("api-key: {}", s.api_key));
  } else {
    // The OpenAI SDK's "Missing credentials" → LiteLLM's AuthenticationError.
    Error e(ErrorKind::kAuthentication,
            fmt::format("AzureException - deployment {}: missing credentials: set api_key (or AZURE_OPENAI_API_KEY / "
                        "AZURE_API_KEY), azure_ad_token, or tenant_id/client_id/client_secret",
                        target.config.id));
    e.status = 401;
    e.llm_provider = "azure";
    return e;
  }
  return Status::Ok();
}

Error AzureProvider::classify_failure(const transport::TransferResult& result) const {
  if (result.error != transport::TransferError::kNone || result.status == 0 ||
      (result.status >= 200 && result.status < 300)) {
    return provider::classify_failure(result, "azure", absl::Now());
  }
  Error e = classify_azure_http_error(result.status, result.body);
  // Wall time only to read a Retry-After given as an HTTP date.
  e.retry_after_seconds = parse_retry_after(result.headers, absl::Now());
  return e;
}

Result<ResponseInfo> AzureProvider::inspect_response(std::string_view body, request::Endpoint endpoint) const {
  Result<ResponseInfo> r = OpenAiCompatibleProvider::inspect_response(body, endpoint);
  if (r.ok()) return r;
  // An error object in a 2xx body: Azure's rules, with the object's code (a
  // body that is not JSON keeps the base's error).
  simdjson::dom::parser parser;
  simdjson::dom::element error;
  if (parser.parse(body.data(), body.size()).at_key("error").get(error) != simdjson::SUCCESS) return r;
  const int code = r.error().provider_status;
  Error e = classify_azure_http_error(code != 0 ? code : 500, body);
  e.provider_status = code;
  return e;
}

ChunkInfo AzureProvider::inspect_chunk(std::string_view data) const {
  ChunkInfo info = OpenAiCompatibleProvider::inspect_chunk(data);
  if (info.kind == ChunkInfo::Kind::kError && info.error) {
    const int code = info.error->provider_status;
    Error e = classify_azure_http_error(code != 0 ? code : 500, strip_ascii_whitespace(data));
    e.provider_status = code;
    info.error = std::move(e);
  }
  return info;
}

}  // namespace llmux::provider
