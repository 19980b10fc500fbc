// -----------------------------------------------------------------------------
// File: provider/azure_ai.hpp
// -----------------------------------------------------------------------------
// Azure AI Foundry / AI Studio serverless models (`azure_ai/<model>`), which
// LiteLLM serves as OpenAI-compatible (AzureAIStudioConfig extends
// OpenAIConfig): api_base → AZURE_AI_API_BASE (required), api_key →
// AZURE_AI_API_KEY; URL {api_base}/chat/completions, or
// {api_base}/models/chat/completions for *.services.ai.azure.com hosts
// (embeddings alike), with ?api-version= only when api_version is set; auth
// header api-key for *.services.ai.azure.com and *.openai.azure.com hosts,
// else Authorization: Bearer. Errors are classified as for OpenAI-compatible
// targets. LiteLLM's re-routing of OpenAI model names to `azure` and its
// list-content flattening are not done (the body is spliced as written).
//
// Thread safety: the adapter is immutable; AzureAiAuth is read-only after
// construction.
#pragma once

#include <memory>
#include <string>

#include "provider/openai_compatible.hpp"

namespace llmux::provider {

// One deployment's resolved azure_ai settings.
class AzureAiAuth final : public DeploymentAuth {
 public:
  explicit AzureAiAuth(const DeploymentConfig& deployment);
  const DeploymentConfig& splice_config() const { return splice_config_; }
  const std::string& api_key() const { return api_key_; }
  bool api_key_header() const { return api_key_header_; }  // "api-key" rather than Bearer
  bool models_path() const { return models_path_; }        // /models/chat/completions
  void append_secrets(std::vector<std::string>& out) const override {
    if (!api_key_.empty()) out.push_back(api_key_);  // may come from AZURE_AI_API_KEY
  }

 private:
  DeploymentConfig splice_config_;  // api_base resolved, api_key cleared
  std::string api_key_;
  bool api_key_header_ = false;
  bool models_path_ = false;
};

class AzureAiProvider final : public OpenAiCompatibleProvider {
 public:
  AzureAiProvider() : OpenAiCompatibleProvider("azure_ai", "") {}
  // Chat completions and embeddings only (its own URL scheme).
  bool supports_endpoint(request::Endpoint endpoint) const override { return Provider::supports_endpoint(endpoint); }
  std::shared_ptr<DeploymentAuth> make_auth(const DeploymentConfig& deployment) const override;
  Status build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override;
};

}  // namespace llmux::provider
