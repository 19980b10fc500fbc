// -----------------------------------------------------------------------------
// File: provider/google_auth.hpp
// -----------------------------------------------------------------------------
// Google Cloud credentials for Vertex AI (providers.md §4.3): where they come
// from (vertex_credentials, then VERTEXAI_CREDENTIALS, then Application
// Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, the gcloud ADC file,
// the GCE metadata server), and how each kind turns into an OAuth2 access
// token request for TokenCache:
//   * service_account: an RS256-signed JWT (OpenSSL) exchanged at the file's
//     token_uri (jwt-bearer grant);
//   * authorized_user: a refresh_token grant at Google's token endpoint;
//   * metadata server: GET .../service-accounts/default/token with
//     Metadata-Flavor: Google (required on the answer too).
// The project and location chains of LiteLLM are here too.
//
// Secrets (private keys, client secrets, refresh tokens) never appear in an
// error message. Everything here is a value or a pure function; a
// GoogleCredentials is immutable once loaded and safe to share between
// threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "llmux/clock.hpp"
#include "llmux/error.hpp"
#include "provider/token_cache.hpp"

namespace llmux::provider {

// google-auth refreshes a token once less than 3 min 45 s of it remain.
inline constexpr Duration kGoogleRefreshMargin = std::chrono::seconds(225);
inline constexpr std::string_view kGoogleTokenUri = "https://oauth2.googleapis.com/token";
inline constexpr std::string_view kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";

// Reads an environment variable (nullopt when unset or empty). Injected so
// tests need not change the process environment.
using GoogleEnv = std::function<std::optional<std::string>(std::string_view name)>;
GoogleEnv process_env();

// Seconds since the Unix epoch. A JWT's iat/exp are wall-clock times, which
// the loop's steady clock cannot give; injected for tests.
using WallSeconds = std::function<int64_t()>;
WallSeconds system_wall_seconds();

// An RSA private key parsed once from PEM (PKCS#1 or PKCS#8). Copies share it.
class RsaSigningKey {
 public:
  static Result<RsaSigningKey> from_pem(std::string_view pem);
  // RSASSA-PKCS1-v1_5 with SHA-256 over `data`: the raw signature bytes.
  Result<std::string> sign_sha256(std::string_view data) const;

 private:
  std::shared_ptr<void> key_;  // EVP_PKEY
};

struct GoogleCredentials {
  enum class Kind { kServiceAccount, kAuthorizedUser, kMetadataServer };
  Kind kind = Kind::kMetadataServer;
  // Where they came from, for messages: "vertex_credentials", "file
  // /path/key.json", "the metadata server at host". Never the content.
  std::string origin;
  std::string project_id;  // service_account project_id; authorized_user quota_project_id
  // service_account
  std::string client_email;
  std::string private_key_id;
  std::string token_uri;
  std::optional<RsaSigningKey> key;
  std::string private_key_pem;  // secret: kept only so errors can be scrubbed of it
  // authorized_user (both secret)
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;
  // metadata server: host[:port]
  std::string metadata_host;
};

// Reads a credentials JSON document (a service-account key file or a gcloud
// ADC file). `origin` names it in errors. kAuthentication when it is not
// JSON, has an unsupported type, lacks a field, or its key cannot be read.
Result<GoogleCredentials> parse_google_credentials(std::string_view json, std::string_view origin);

// The credentials chain: `configured` (vertex_credentials: the JSON text, or
// a file path; empty when not set), else env VERTEXAI_CREDENTIALS (same
// forms), else GOOGLE_APPLICATION_CREDENTIALS (a path), else the gcloud ADC
// file ($CLOUDSDK_CONFIG or ~/.config/gcloud, application_default_
// credentials.json) when it exists, else the metadata server at
// GCE_METADATA_HOST (legacy GCE_METADATA_ROOT), else GCE_METADATA_IP, else
// metadata.google.internal.
Result<GoogleCredentials> load_google_credentials(std::string_view configured, const GoogleEnv& env);

// The project: `configured` (vertex_project) → VERTEXAI_PROJECT → the
// credentials' project → GOOGLE_CLOUD_PROJECT → GCLOUD_PROJECT; empty when
// none (the metadata server's project is fetched later by the caller).
std::string resolve_google_project(std::string_view configured, const GoogleCredentials& credentials,
                                   const GoogleEnv& env);

// The location: `configured` (vertex_location) → VERTEXAI_LOCATION → us-central1.
std::string resolve_google_location(std::string_view configured, const GoogleEnv& env);

// The signed service-account assertion: header {"alg":"RS256","typ":"JWT",
// "kid":private_key_id}, claims iss, scope (cloud-platform), aud (Google's
// token endpoint, whatever token_uri says), iat, exp = iat + 3600; compact
// JSON, base64url without padding.
Result<std::string> make_service_account_jwt(const GoogleCredentials& credentials, int64_t issued_at);

// How TokenCache asks for and reads this kind's access token.
TokenSource google_token_source(std::shared_ptr<const GoogleCredentials> credentials, WallSeconds wall);

// How to fetch the project id from the metadata server (the "token" read is
// the project id; it does not expire).
TokenSource metadata_project_source(std::string metadata_host);

}  // namespace llmux::provider
