// -----------------------------------------------------------------------------
// File: provider/openai_compatible.hpp
// -----------------------------------------------------------------------------
// The adapter for every OpenAI-compatible API family (OpenAI itself, vLLM,
// LM Studio, llamafile, Groq, ...). The body is spliced, not rebuilt
// (DESIGN.md §2 step 5). One immutable instance per provider name, owned by
// the registry (provider_registry.cpp); thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "provider/provider.hpp"

namespace llmux::provider {

class OpenAiCompatibleProvider : public Provider {
 public:
  // `default_api_base` may be empty: then every deployment must set api_base.
  // Both strings must outlive the provider (string literals in the registry).
  OpenAiCompatibleProvider(std::string_view name, std::string_view default_api_base)
      : name_(name), default_api_base_(default_api_base), vllm_prefill_(name == "hosted_vllm" || name == "vllm") {}

  std::string_view name() const override { return name_; }
  std::string_view default_api_base() const { return default_api_base_; }

  // The deployment's checked API base and header lines, built once
  // (PreparedOpenAiRequest in the .cpp); nothing to refresh.
  std::shared_ptr<DeploymentAuth> make_auth(const DeploymentConfig& deployment) const override;
  Status build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override;
  Error classify_failure(const transport::TransferResult& result) const override;
  Result<ResponseInfo> inspect_response(std::string_view body, request::Endpoint endpoint) const override;
  ChunkInfo inspect_chunk(std::string_view data) const override;
  // Every endpoint, passed through to its path under api_base.
  bool supports_endpoint(request::Endpoint) const override { return true; }
  // vLLM (hosted_vllm, vllm): the assistant message plus top-level
  // "continue_final_message": true, "add_generation_prompt": false. Every
  // other family: the assistant message with "prefix": true (DeepSeek,
  // Mistral and LiteLLM's style).
  Status build_continuation_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                    std::string_view delivered_text, transport::HttpRequest& out) const override;

 private:
  Status build(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
               std::string_view messages_override, std::string_view extra_members,
               transport::HttpRequest& out) const;

  std::string_view name_;
  std::string_view default_api_base_;
  bool vllm_prefill_;  // vLLM's continue_final_message instead of "prefix"
};

}  // namespace llmux::provider
