// -----------------------------------------------------------------------------
// File: provider/azure.hpp
// -----------------------------------------------------------------------------
// Azure OpenAI (`azure/<deployment>`, providers.md §2): OpenAI's wire format
// (the body is spliced as for any OpenAI-compatible target, with the
// deployment name as "model") at Azure's URLs, with Azure's auth and error
// classification.
//
// URLs: {api_base}/openai/deployments/{dep}/chat/completions?api-version={v}
// (embeddings: .../embeddings?...); an api_base that already contains
// /openai/deployments is used as it is (the endpoint path and the api-version
// query are added); api_version v1 / latest / preview selects the "v1" API,
// {api_base}/openai/v1/chat/completions, no api-version query.
//
// Config (litellm_params, then environment, read once when the deployment
// joins the pool): api_base → AZURE_API_BASE (required); api_version →
// AZURE_API_VERSION → 2025-02-01-preview; api_key → AZURE_OPENAI_API_KEY →
// AZURE_API_KEY (header api-key; Bearer on the v1 API); azure_ad_token →
// AZURE_AD_TOKEN (static Bearer); Entra ID client credentials tenant_id /
// client_id / client_secret (→ AZURE_TENANT_ID / AZURE_CLIENT_ID /
// AZURE_CLIENT_SECRET), or ROPC azure_username / azure_password (→
// AZURE_USERNAME / AZURE_PASSWORD, with client_id), scope azure_scope →
// AZURE_SCOPE → https://cognitiveservices.azure.com/.default, authority
// AZURE_AUTHORITY_HOST → https://login.microsoftonline.com. The Entra token
// is fetched on the router's loop (TokenCache) and refreshed 5 minutes
// before it expires (LiteLLM: no margin).
//
// Precedence: a token (Entra flow or static AD token) wins over api-key, as
// in the OpenAI SDK. Token credentials found only in the environment are
// used when no api_key is configured (LiteLLM's condition), so a stray
// AZURE_CLIENT_SECRET does not switch a key deployment to Entra. OIDC
// federated tokens (azure_ad_token: oidc/...) are not supported yet: the
// deployment fails with kInvalidConfig saying so.
//
// Thread safety: the adapter is immutable; AzureAuth is used on the loop.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "provider/openai_compatible.hpp"
#include "provider/token_cache.hpp"

namespace llmux::provider {

inline constexpr std::string_view kAzureDefaultApiVersion = "2025-02-01-preview";
inline constexpr std::string_view kAzureDefaultScope = "https://cognitiveservices.azure.com/.default";
inline constexpr std::string_view kAzureDefaultAuthority = "https://login.microsoftonline.com";

// One deployment's Azure settings, resolved from litellm_params and the
// environment.
struct AzureSettings {
  enum class Auth { kNone, kApiKey, kStaticToken, kClientCredentials, kPassword };
  std::string api_base;  // without trailing '/'
  std::string api_version;
  bool v1_api = false;   // api_version v1 / latest / preview
  Auth auth = Auth::kNone;
  std::string api_key;
  std::string ad_token;  // static Bearer token
  std::string tenant_id, client_id, client_secret, username, password;
  std::string scope;
  std::string authority;  // without trailing '/'
  // Set when the deployment cannot be served (missing api_base, OIDC token):
  // every attempt fails with it.
  std::optional<Error> config_error;
};

// Reads `deployment`'s settings; `getenv` is the environment (tests pass
// their own).
using EnvLookup = std::string (*)(const char* name);
AzureSettings resolve_azure_settings(const DeploymentConfig& deployment, EnvLookup getenv);

// The endpoint URL of `deployment` (chat completions or embeddings).
std::string azure_url(const AzureSettings& settings, std::string_view deployment, bool embeddings);

// The Entra ID token request of a client-credentials or ROPC deployment:
// POST {authority}/{tenant}/oauth2/v2.0/token, form-encoded (libcurl's
// escaping). "organizations" is the ROPC tenant when none is set.
Status build_entra_token_request(const AzureSettings& settings, transport::HttpRequest& out);

// Azure's error classification (providers.md §2.6), with 403 →
// kPermissionDenied, 404 → kNotFound, 500 → kInternalServer where LiteLLM
// says APIError(status) (§7 item 5).
Error classify_azure_http_error(int status, std::string_view body);

// Per-deployment state: the resolved settings and, for Entra flows, the
// token cache. Loop thread only.
class AzureAuth final : public DeploymentAuth {
 public:
  AzureAuth(const DeploymentConfig& deployment, AzureSettings settings);
  AzureAuth(const AzureAuth&) = delete;  // the token source points at settings_
  AzureAuth& operator=(const AzureAuth&) = delete;
  const AzureSettings& settings() const { return settings_; }
  // The deployment as the OpenAI splice sees it: api_base resolved, no
  // api_key (Azure's auth header is written by the adapter).
  const DeploymentConfig& splice_config() const { return splice_config_; }
  TokenCache* token_cache() { return cache_.get(); }
  // The configured deployment's URLs.
  const std::string& chat_url() const { return chat_url_; }
  const std::string& embeddings_url() const { return embeddings_url_; }
  // The key, token, secret and password, wherever they were read from.
  void append_secrets(std::vector<std::string>& out) const override;

 private:
  AzureSettings settings_;
  DeploymentConfig splice_config_;
  std::string chat_url_, embeddings_url_;
  std::unique_ptr<TokenCache> cache_;
};

class AzureProvider final : public OpenAiCompatibleProvider {
 public:
  AzureProvider() : OpenAiCompatibleProvider("azure", "") {}
  // Chat completions and embeddings only (its own URL scheme).
  bool supports_endpoint(request::Endpoint endpoint) const override { return Provider::supports_endpoint(endpoint); }

  std::shared_ptr<DeploymentAuth> make_auth(const DeploymentConfig& deployment) const override;
  void prepare(const ProviderTarget& target, transport::EventLoop& loop, ReadyCallback ready) const override;
  Status build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override;
  Status build_continuation_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                    std::string_view delivered_text, transport::HttpRequest& out) const override;
  Error classify_failure(const transport::TransferResult& result) const override;
  Result<ResponseInfo> inspect_response(std::string_view body, request::Endpoint endpoint) const override;
  ChunkInfo inspect_chunk(std::string_view data) const override;

 private:
  // Rewrites what the OpenAI splice built into Azure's URL and auth header.
  Status to_azure(const ProviderTarget& target, bool embeddings, transport::HttpRequest& out) const;
};

}  // namespace llmux::provider
