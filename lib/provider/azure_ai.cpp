#include "provider/azure_ai.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "common/strings.hpp"

namespace llmux::provider {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// The host of an absolute URL, lower-cased ("" when there is none).
std::string host_of(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (const size_t at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  url = url.substr(0, url.find(':'));
  return ascii_lower(url);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

AzureAiAuth::AzureAiAuth(const DeploymentConfig& deployment) : splice_config_(deployment) {
  std::string base = deployment.api_base.empty() ? env("AZURE_AI_API_BASE") : deployment.api_base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  api_key_ = deployment.api_key.empty() ? env("AZURE_AI_API_KEY") : deployment.api_key;
  const std::string host = host_of(base);
  models_path_ = str_contains(base, "services.ai.azure.com");
  api_key_header_ = ends_with(host, ".services.ai.azure.com") || ends_with(host, ".openai.azure.com");
  splice_config_.api_base = std::move(base);
  splice_config_.api_key.clear();
}

std::shared_ptr<DeploymentAuth> AzureAiProvider::make_auth(const DeploymentConfig& deployment) const {
  return std::make_shared<AzureAiAuth>(deployment);
}

Status AzureAiProvider::build_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                      bool stream, transport::HttpRequest& out) const {
  std::shared_ptr<DeploymentAuth> own;
  const AzureAiAuth* auth = static_cast<const AzureAiAuth*>(target.auth);
  if (auth == nullptr) {
    own = make_auth(target.config);
    auth = static_cast<const AzureAiAuth*>(own.get());
  }
  const DeploymentConfig& d = auth->splice_config();
  if (d.api_base.empty()) {
    return Error(ErrorKind::kInvalidConfig,
                 fmt::format("deployment {} (azure_ai/{}): api_base is required (litellm_params.api_base or "
                             "AZURE_AI_API_BASE)",
                             d.id, d.provider_model));
  }
  if (auth->api_key().find_first_of("\r\n") != std::string::npos) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: api_key contains a line break", d.id));
  }
  Status built = OpenAiCompatibleProvider::build_request(ProviderTarget{d, target.model, target.auth}, request,
                                                         stream, out);
  if (!built.ok()) return built;
  const bool embeddings = request.endpoint == request::Endpoint::kEmbeddings;
  const std::string_view path = embeddings ? "/embeddings" : "/chat/completions";
  // A query in api_base (?api-version=...) stays after the path.
  std::string_view base = d.api_base;
  std::string_view query;
  if (const size_t q = base.find('?'); q != std::string_view::npos) {
    query = base.substr(q);
    base = base.substr(0, q);
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  }
  out.url.assign(base);
  if (auth->models_path() && !str_contains(base, "/models")) out.url.append("/models");
  if (!ends_with(base, path)) out.url.append(path);
  out.url.append(query);
  if (!d.api_version.empty() && !str_contains(query, "api-version=")) {
    out.url.append(query.empty() ? "?" : "&");
    out.url.append("api-version=");
    out.url.append(d.api_version);
  }
  if (!auth->api_key().empty()) {
    out.headers.push_back(auth->api_key_header() ? fmt::format("api-key: {}", auth->api_key())
                                                 : fmt::format("Authorization: Bearer {}", auth->api_key()));
  }
  return Status::Ok();
}

}  // namespace llmux::provider
