// -----------------------------------------------------------------------------
// File: provider/gemini.hpp
// -----------------------------------------------------------------------------
// The Google AI Studio adapter (`gemini/<model>`): generateContent and
// streamGenerateContent?alt=sse, embeddings through batchEmbedContents, the
// mapping of gemini_content.hpp. Vertex AI's Gemini route derives from it and
// replaces the URL, auth and embedding hooks (endpoint_url,
// add_auth_headers, embedding_method, make_auth/prepare).
//
// Config (providers.md §4.1): api_key → env GOOGLE_API_KEY → GEMINI_API_KEY →
// PALM_API_KEY (none: AuthenticationError before any I/O); api_base → env
// GEMINI_API_BASE → https://generativelanguage.googleapis.com/v1beta
// (v1alpha for gemini-3 models). URL: {base}/models/{model}:{method}. The
// key always travels in the x-goog-api-key header, never in the URL (LiteLLM
// puts it in ?key= for the default host, where proxies and logs keep URLs).
// drop_params: the deployment's, else litellm_settings/router_settings'.
//
// Stateless apart from the per-deployment credentials (make_auth resolves
// the environment once, when the deployment joins the pool); thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "provider/gemini_content.hpp"
#include "provider/openai_compatible.hpp"
#include "provider/provider.hpp"

namespace llmux::provider {

class GeminiProvider : public Provider {
 public:
  // `name` outlives the provider (a string literal).
  explicit GeminiProvider(std::string_view name = "gemini") : name_(name), reader_(name, "") {}

  std::string_view name() const override { return name_; }
  std::shared_ptr<DeploymentAuth> make_auth(const DeploymentConfig& deployment) const override;
  Status build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override;
  Error classify_failure(const transport::TransferResult& result) const override;
  Status translate_response(const ProviderTarget& target, const request::ParsedRequest& request,
                            std::string& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ProviderTarget& target,
                                                           const request::ParsedRequest& request) const override;
  Result<ResponseInfo> inspect_response(std::string_view body, request::Endpoint endpoint) const override;
  ChunkInfo inspect_chunk(std::string_view data) const override;

 protected:
  enum class Method { kGenerateContent, kStreamGenerateContent, kBatchEmbedContents, kPredict };
  static std::string_view method_name(Method m);

  // How embeddings are asked for: batchEmbedContents (AI Studio) or predict (Vertex).
  virtual Method embedding_method() const { return Method::kBatchEmbedContents; }
  // The full URL for `method` on the target's model ("?alt=sse" included for a stream).
  virtual Status endpoint_url(const ProviderTarget& target, Method method, std::string& url) const;
  // Appends the auth header lines ("Name: value").
  virtual Status add_auth_headers(const ProviderTarget& target, std::vector<std::string>& headers) const;
  // The mapping options for the target (drop_params, system support, ...).
  virtual gemini::ContentOptions content_options(const ProviderTarget& target) const;

  // The provider model without a "models/" prefix; kInvalidConfig when it
  // could change the URL's path or query.
  static Result<std::string_view> url_model(const ProviderTarget& target);

 private:
  std::string_view name_;
  OpenAiCompatibleProvider reader_;  // reads the translated OpenAI answers
};

}  // namespace llmux::provider
