// -----------------------------------------------------------------------------
// File: config/provider_names.hpp
// -----------------------------------------------------------------------------
// LiteLLM's provider prefixes ("openai/", "bedrock/", "hosted_vllm/", ...) and
// how a `litellm_params.model` string splits into provider and provider
// model. The config only knows names; which providers llmux can actually call
// is the provider registry's business. Stateless: thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace llmux::config {

struct ProviderModel {
  std::string provider;  // "openai", "bedrock", ...
  std::string model;     // what the provider expects, e.g. "qwen3-14b"
};

// `custom_llm_provider` wins when set (a leading "<provider>/" is then
// stripped from the model, as litellm.get_llm_provider does); otherwise the
// part before the first '/' when it is a known LiteLLM provider; otherwise
// "openai" with the whole string (LiteLLM treats bare "gpt-4o" as OpenAI).
ProviderModel resolve_provider_model(std::string_view litellm_model, std::string_view custom_llm_provider);

// Whether `name` is one of LiteLLM's provider names.
bool is_known_provider(std::string_view name);

// Every known provider name, sorted.
std::span<const std::string_view> known_providers();

}  // namespace llmux::config
