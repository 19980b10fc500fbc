// -----------------------------------------------------------------------------
// File: provider/anthropic.hpp
// -----------------------------------------------------------------------------
// The adapter for Anthropic's Messages API (`anthropic/<model>`): where and
// how a request goes (POST {api_base}/v1/messages, x-api-key or an OAuth
// bearer token, anthropic-version), with the wire format itself in
// anthropic_messages.hpp. Config keys as LiteLLM's (providers.md §3.1):
// api_key → env ANTHROPIC_API_KEY; api_base → env ANTHROPIC_API_BASE → env
// ANTHROPIC_BASE_URL → https://api.anthropic.com. Answers and stream chunks
// are translated to OpenAI's shape before the router reads them. Stateless,
// one instance in the registry; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "provider/openai_compatible.hpp"
#include "provider/provider.hpp"

namespace llmux::provider {

class AnthropicProvider final : public Provider {
 public:
  AnthropicProvider() : openai_shape_("anthropic", "") {}

  std::string_view name() const override { return "anthropic"; }

  // Fails before any I/O: kAuthentication when no key is configured (naming
  // the deployment), kBadRequest when the request has no Messages form.
  Status build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override;
  Error classify_failure(const transport::TransferResult& result) const override;
  Status translate_response(const ProviderTarget& target, const request::ParsedRequest& request,
                            std::string& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ProviderTarget& target,
                                                           const request::ParsedRequest& request) const override;
  // The translated answers are OpenAI's: read as the OpenAI adapter reads them.
  Result<ResponseInfo> inspect_response(std::string_view body, request::Endpoint endpoint) const override {
    return openai_shape_.inspect_response(body, endpoint);
  }
  ChunkInfo inspect_chunk(std::string_view data) const override { return openai_shape_.inspect_chunk(data); }
  // The Messages API continues a trailing assistant turn natively.
  bool prefill_by_default() const override { return true; }
  // Names ANTHROPIC_API_KEY as a secret when the deployment reads it.
  std::shared_ptr<DeploymentAuth> make_auth(const DeploymentConfig& deployment) const override;
  Status build_continuation_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                    std::string_view delivered_text, transport::HttpRequest& out) const override;

  // The messages URL for an api_base (empty: the env chain, then Anthropic's
  // own): "/v1/messages" appended unless already there; a trailing '/' never
  // doubles the slash.
  static std::string messages_url(std::string_view api_base);

 private:
  Status build(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
               std::optional<std::string_view> prefill, transport::HttpRequest& out) const;

  OpenAiCompatibleProvider openai_shape_;
};

}  // namespace llmux::provider
