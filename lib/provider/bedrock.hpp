// -----------------------------------------------------------------------------
// File: provider/bedrock.hpp
// -----------------------------------------------------------------------------
// The adapter for AWS Bedrock (`bedrock/<model>`, `bedrock/converse/<model>`,
// `bedrock/invoke/<model>`; reference providers.md §5):
//   - route (§5.2): Converse for `converse/` and for the models LiteLLM sends
//     there (its BEDROCK_CONVERSE_MODELS list, plus model-map entries whose
//     litellm_provider is bedrock_converse); InvokeModel for `invoke/` and the
//     rest, of which only Anthropic models are served (the Messages body of
//     anthropic_messages.hpp without "model", with anthropic_version
//     bedrock-2023-05-31); other invoke families fail with kInvalidConfig
//     naming the deployment, and a model whose family cannot be told fails
//     the call with kBadRequest (so fallbacks still run);
//   - embeddings: InvokeModel for amazon.titan-embed-text-* (one input per
//     request) and cohere.embed-*;
//   - URL (§5.3): aws_bedrock_runtime_endpoint → AWS_BEDROCK_RUNTIME_ENDPOINT
//     → api_base → https://bedrock-runtime.{region}.amazonaws.com, then
//     /model/{id}/{converse|converse-stream|invoke|invoke-with-response-stream}
//     with the id (model_id when given, e.g. a provisioned-throughput ARN)
//     percent-encoded with no safe characters;
//   - auth (§5.4): a Bedrock API key (api_key, else AWS_BEARER_TOKEN_BEDROCK)
//     as a Bearer token without SigV4; else SigV4 (service "bedrock", the
//     deployment's region) signed when the request is built, with the
//     deployment's AWS credentials (its DeploymentAuth).
// Stateless, one instance in the registry; thread-safe. Per-deployment state
// lives in the DeploymentAuth it makes (loop thread).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "provider/openai_compatible.hpp"
#include "provider/provider.hpp"

namespace llmux::provider {

enum class BedrockRoute {
  kConverse,
  kInvokeAnthropic,
  kInvokeEmbedding,    // titan-embed-text / cohere.embed
  kInvokeUnsupported,  // a known InvokeModel family llmux does not map yet
  kInvokeUnknown,      // no family can be told from the name
};

struct BedrockModel {
  BedrockRoute route = BedrockRoute::kConverse;
  std::string id;    // what the URL names: route prefix removed (or model_id)
  std::string base;  // the foundation model: ARN path, throughput suffix and cross-region prefix removed
};

// The route of a provider model ("converse/…", "invoke/…", an id, an ARN).
BedrockModel bedrock_model(std::string_view provider_model);

// Percent-encodes every byte but unreserved characters (Python's
// quote(s, safe="")): ':' → %3A, '/' → %2F.
std::string bedrock_encode_model_id(std::string_view id);

class BedrockProvider final : public Provider {
 public:
  BedrockProvider() : openai_shape_("bedrock", "") {}

  std::string_view name() const override { return "bedrock"; }

  std::shared_ptr<DeploymentAuth> make_auth(const DeploymentConfig& deployment) const override;
  void prepare(const ProviderTarget& target, transport::EventLoop& loop, ReadyCallback ready) const override;
  Status build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override;
  Error classify_failure(const transport::TransferResult& result) const override;
  Status translate_response(const ProviderTarget& target, const request::ParsedRequest& request,
                            std::string& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ProviderTarget& target,
                                                           const request::ParsedRequest& request) const override;
  Result<ResponseInfo> inspect_response(std::string_view body, request::Endpoint endpoint) const override {
    return openai_shape_.inspect_response(body, endpoint);
  }
  ChunkInfo inspect_chunk(std::string_view data) const override { return openai_shape_.inspect_chunk(data); }

 private:
  OpenAiCompatibleProvider openai_shape_;
};

}  // namespace llmux::provider
