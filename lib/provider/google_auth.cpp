#include "provider/google_auth.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include <absl/strings/escaping.h>
#include <absl/time/clock.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "json/writer.hpp"

namespace llmux::provider {
namespace {

constexpr int64_t kAssertionLifetimeSeconds = 3600;
constexpr std::string_view kDefaultMetadataHost = "metadata.google.internal";
constexpr std::string_view kAdcFileName = "application_default_credentials.json";

std::string string_member(simdjson::dom::element obj, const char* key) {
  std::string_view v;
  if (obj[key].get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return {};
}

Error auth_error(std::string message) { return Error(ErrorKind::kAuthentication, std::move(message)); }

// A value that may be echoed in a message: a plausible file path, not JSON
// text or a key pasted in the wrong place.
bool printable_path(std::string_view s) {
  return s.size() < 512 && s.find_first_of("{}\"\r\n") == std::string_view::npos && !str_contains(s, "PRIVATE");
}

std::optional<std::string> read_file(const std::string& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

// `value` is the JSON document itself or a path to it.
Result<GoogleCredentials> credentials_from_value(std::string_view value, std::string_view name) {
  const std::string_view trimmed = strip_ascii_whitespace(value);
  if (!trimmed.empty() && trimmed.front() == '{') return parse_google_credentials(trimmed, name);
  const std::string path(trimmed);
  std::string why;
  std::optional<std::string> text = read_file(path, why);
  if (!text) {
    if (!printable_path(path)) {
      return auth_error(fmt::format("{} is neither credentials JSON nor a readable file", name));
    }
    return auth_error(fmt::format("{}: cannot read credentials file '{}': {}", name, path, why));
  }
  return parse_google_credentials(*text, fmt::format("{} file {}", name, path));
}

std::string form_escape(std::string_view s) {
  // libcurl's percent-encoding (a null handle is allowed since 7.82).
  char* escaped = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  if (!escaped) return {};
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

std::string base64url(std::string_view bytes) { return absl::WebSafeBase64Escape(to_absl(bytes)); }

}  // namespace

GoogleEnv process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
}

WallSeconds system_wall_seconds() {
  return [] { return absl::ToUnixSeconds(absl::Now()); };
}

Result<RsaSigningKey> RsaSigningKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return auth_error("out of memory reading the private key");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!key) return auth_error("private_key is not a PEM private key OpenSSL can read");
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return auth_error("private_key is not an RSA key");
  }
  RsaSigningKey out;
  out.key_ = std::shared_ptr<void>(key, [](void* k) { EVP_PKEY_free(static_cast<EVP_PKEY*>(k)); });
  return out;
}

Result<std::string> RsaSigningKey::sign_sha256(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  auto* key = static_cast<EVP_PKEY*>(key_.get());
  size_t size = 0;
  if (!ctx || !key || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return auth_error("RS256 signing failed");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return auth_error("RS256 signing failed");
  }
  signature.resize(size);
  return signature;
}

Result<GoogleCredentials> parse_google_credentials(std::string_view json, std::string_view origin) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return auth_error(fmt::format("{}: not a JSON object", origin));
  }
  GoogleCredentials c;
  c.origin = std::string(origin);
  const std::string type = string_member(doc, "type");
  auto missing = [&](const char* field) {
    return auth_error(fmt::format("{}: {} credentials lack \"{}\"", origin, type, field));
  };
  if (type == "service_account") {
    c.kind = GoogleCredentials::Kind::kServiceAccount;
    c.client_email = string_member(doc, "client_email");
    c.private_key_id = string_member(doc, "private_key_id");
    c.token_uri = string_member(doc, "token_uri");
    c.project_id = string_member(doc, "project_id");
    if (c.token_uri.empty()) c.token_uri = kGoogleTokenUri;
    if (c.client_email.empty()) return missing("client_email");
    const std::string pem = string_member(doc, "private_key");
    if (pem.empty()) return missing("private_key");
    Result<RsaSigningKey> key = RsaSigningKey::from_pem(pem);
    if (!key.ok()) return auth_error(fmt::format("{}: {}", origin, key.error().message));
    c.key = std::move(key).value();
    c.private_key_pem = pem;
    return c;
  }
  if (type == "authorized_user") {
    c.kind = GoogleCredentials::Kind::kAuthorizedUser;
    c.client_id = string_member(doc, "client_id");
    c.client_secret = string_member(doc, "client_secret");
    c.refresh_token = string_member(doc, "refresh_token");
    c.project_id = string_member(doc, "quota_project_id");
    if (c.client_id.empty()) return missing("client_id");
    if (c.client_secret.empty()) return missing("client_secret");
    if (c.refresh_token.empty()) return missing("refresh_token");
    return c;
  }
  if (type.empty()) return auth_error(fmt::format("{}: credentials JSON has no \"type\"", origin));
  return auth_error(fmt::format("{}: credentials type '{}' is not supported (service_account, authorized_user)",
                                origin, type.size() < 64 ? type : type.substr(0, 64)));
}

Result<GoogleCredentials> load_google_credentials(std::string_view configured, const GoogleEnv& env) {
  if (!strip_ascii_whitespace(configured).empty()) return credentials_from_value(configured, "vertex_credentials");
  if (auto v = env("VERTEXAI_CREDENTIALS")) return credentials_from_value(*v, "VERTEXAI_CREDENTIALS");
  if (auto path = env("GOOGLE_APPLICATION_CREDENTIALS")) {
    std::string why;
    std::optional<std::string> text = read_file(*path, why);
    if (!text) {
      return auth_error(fmt::format("GOOGLE_APPLICATION_CREDENTIALS: cannot read credentials file '{}': {}",
                                    printable_path(*path) ? *path : std::string("<path>"), why));
    }
    return parse_google_credentials(*text, fmt::format("GOOGLE_APPLICATION_CREDENTIALS file {}", *path));
  }
  std::string adc;
  if (auto dir = env("CLOUDSDK_CONFIG")) {
    adc = fmt::format("{}/{}", *dir, kAdcFileName);
  } else if (auto home = env("HOME")) {
    adc = fmt::format("{}/.config/gcloud/{}", *home, kAdcFileName);
  }
  if (!adc.empty()) {
    std::string why;
    if (std::optional<std::string> text = read_file(adc, why)) {
      return parse_google_credentials(*text, fmt::format("gcloud ADC file {}", adc));
    }
  }
  GoogleCredentials c;
  c.kind = GoogleCredentials::Kind::kMetadataServer;
  if (auto host = env("GCE_METADATA_HOST")) {
    c.metadata_host = *host;
  } else if (auto root = env("GCE_METADATA_ROOT")) {
    c.metadata_host = *root;
  } else if (auto ip = env("GCE_METADATA_IP")) {
    c.metadata_host = *ip;
  } else {
    c.metadata_host = kDefaultMetadataHost;
  }
  c.origin = fmt::format("the metadata server at {} (no vertex_credentials, VERTEXAI_CREDENTIALS, "
                         "GOOGLE_APPLICATION_CREDENTIALS or gcloud ADC file)",
                         c.metadata_host);
  return c;
}

std::string resolve_google_project(std::string_view configured, const GoogleCredentials& credentials,
                                   const GoogleEnv& env) {
  if (!configured.empty()) return std::string(configured);
  if (auto v = env("VERTEXAI_PROJECT")) return *v;
  if (!credentials.project_id.empty()) return credentials.project_id;
  if (auto v = env("GOOGLE_CLOUD_PROJECT")) return *v;
  if (auto v = env("GCLOUD_PROJECT")) return *v;
  return {};
}

std::string resolve_google_location(std::string_view configured, const GoogleEnv& env) {
  if (!configured.empty()) return std::string(configured);
  if (auto v = env("VERTEXAI_LOCATION")) return *v;
  return "us-central1";
}

Result<std::string> make_service_account_jwt(const GoogleCredentials& credentials, int64_t issued_at) {
  if (credentials.kind != GoogleCredentials::Kind::kServiceAccount || !credentials.key) {
    return auth_error("a JWT needs service-account credentials");
  }
  std::string header;
  json::Writer(header).begin_object().key("alg").string("RS256").key("typ").string("JWT")
      .key("kid").string(credentials.private_key_id).end_object();
  std::string claims;
  json::Writer(claims).begin_object().key("iss").string(credentials.client_email)
      .key("scope").string(kCloudPlatformScope)
      .key("aud").string(kGoogleTokenUri)  // constant, even when token_uri is overridden
      .key("iat").number(issued_at)
      .key("exp").number(issued_at + kAssertionLifetimeSeconds)
      .end_object();
  std::string jwt = base64url(header);
  jwt.push_back('.');
  jwt += base64url(claims);
  Result<std::string> signature = credentials.key->sign_sha256(jwt);
  if (!signature.ok()) return signature.error();
  jwt.push_back('.');
  jwt += base64url(*signature);
  return jwt;
}

TokenSource google_token_source(std::shared_ptr<const GoogleCredentials> credentials, WallSeconds wall) {
  TokenSource source;
  switch (credentials->kind) {
    case GoogleCredentials::Kind::kServiceAccount:
      source.build_request = [credentials, wall = std::move(wall)](transport::HttpRequest& out) -> Status {
        Result<std::string> jwt = make_service_account_jwt(*credentials, wall());
        if (!jwt.ok()) return jwt.error();
        out.url = credentials->token_uri;
        out.method = "POST";
        out.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
        out.body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + *jwt;
        return Status::Ok();
      };
      source.read_response = read_oauth_token_response;
      break;
    case GoogleCredentials::Kind::kAuthorizedUser:
      // google-auth ignores any token_uri in an authorized_user file.
      source.build_request = [credentials](transport::HttpRequest& out) -> Status {
        out.url = kGoogleTokenUri;
        out.method = "POST";
        out.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
        out.body = fmt::format("grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
                               form_escape(credentials->client_id), form_escape(credentials->client_secret),
                               form_escape(credentials->refresh_token));
        return Status::Ok();
      };
      source.read_response = read_oauth_token_response;
      break;
    case GoogleCredentials::Kind::kMetadataServer:
      source.build_request = [host = credentials->metadata_host](transport::HttpRequest& out) -> Status {
        out.url = fmt::format("http://{}/computeMetadata/v1/instance/service-accounts/default/token", host);
        out.method = "GET";
        out.headers = {"Metadata-Flavor: Google"};
        out.body.clear();
        return Status::Ok();
      };
      source.read_response = [](const transport::TransferResult& result) -> Result<AccessToken> {
        // Only a real metadata server says so: anything else on that address
        // (a captive portal, a proxy) is not trusted for a token.
        if (result.error == transport::TransferError::kNone && result.status == 200) {
          bool google = false;
          for (const auto& [name, value] : result.headers) {
            if (name == "metadata-flavor" && strip_ascii_whitespace(value) == "Google") google = true;
          }
          if (!google) return auth_error("the answer lacks the header Metadata-Flavor: Google");
        }
        return read_oauth_token_response(result);
      };
      break;
  }
  return source;
}

TokenSource metadata_project_source(std::string metadata_host) {
  TokenSource source;
  source.build_request = [host = std::move(metadata_host)](transport::HttpRequest& out) -> Status {
    out.url = fmt::format("http://{}/computeMetadata/v1/project/project-id", host);
    out.method = "GET";
    out.headers = {"Metadata-Flavor: Google"};
    out.body.clear();
    return Status::Ok();
  };
  source.read_response = [](const transport::TransferResult& result) -> Result<AccessToken> {
    if (result.error != transport::TransferError::kNone) {
      return auth_error(fmt::format("no answer ({}: {})", transport::transfer_error_name(result.error),
                                    result.error_message));
    }
    if (result.status != 200) return auth_error(fmt::format("HTTP {}", result.status));
    const std::string_view project = strip_ascii_whitespace(result.body);
    if (project.empty() || !printable_path(project)) return auth_error("no project id in the answer");
    // The project never changes: keep it for as long as the process lives.
    return AccessToken{std::string(project), std::chrono::hours(24 * 365 * 100)};
  };
  return source;
}

}  // namespace llmux::provider
