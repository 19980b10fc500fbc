#include "config/provider_names.hpp"

#include <algorithm>
#include <array>

namespace llmux::config {
namespace {

// LiteLLM's provider names (litellm.LlmProviders, 1.81), sorted for binary search.
constexpr std::array<std::string_view, 100> kProviders = {
    "ai21", "ai21_chat", "aiml", "aiohttp_openai", "aleph_alpha", "anthropic", "anthropic_text", "assemblyai",
    "azure", "azure_ai", "azure_text", "baseten", "bedrock", "bytez", "cerebras", "clarifai", "cloudflare",
    "codestral", "cohere", "cohere_chat", "cometapi", "custom", "custom_openai", "dashscope", "databricks",
    "datarobot", "deepgram", "deepinfra", "deepseek", "docker_model_runner", "elevenlabs", "empower", "fal_ai",
    "featherless_ai", "fireworks_ai", "friendliai", "galadriel", "gemini", "github", "github_copilot",
    "gradient_ai", "groq", "heroku", "hosted_vllm", "huggingface", "humanloop", "hyperbolic", "infinity",
    "jina_ai", "lambda_ai", "langfuse", "lemonade", "litellm_proxy", "llamafile", "lm_studio", "maritalk",
    "meta_llama", "mistral", "moonshot", "morph", "nebius", "nlp_cloud", "novita", "nscale", "nvidia_nim", "oci",
    "ollama", "ollama_chat", "oobabooga", "openai", "openai_like", "openrouter", "ovhcloud", "palm", "perplexity",
    "petals", "predibase", "recraft", "replicate", "sagemaker", "sagemaker_chat", "sambanova", "snowflake",
    "text-completion-codestral", "text-completion-openai", "together_ai", "topaz", "triton", "v0",
    "vercel_ai_gateway", "vertex_ai", "vertex_ai_beta", "vllm", "volcengine", "voyage", "wandb", "watsonx",
    "watsonx_text", "xai", "xinference",
};
static_assert(std::is_sorted(kProviders.begin(), kProviders.end()));

}  // namespace

bool is_known_provider(std::string_view name) {
  return std::binary_search(kProviders.begin(), kProviders.end(), name);
}

std::span<const std::string_view> known_providers() { return kProviders; }

ProviderModel resolve_provider_model(std::string_view litellm_model, std::string_view custom_llm_provider) {
  const size_t slash = litellm_model.find('/');
  const std::string_view prefix = slash == std::string_view::npos ? std::string_view() : litellm_model.substr(0, slash);
  if (!custom_llm_provider.empty()) {
    std::string_view model = litellm_model;
    if (prefix == custom_llm_provider) model.remove_prefix(slash + 1);
    return {std::string(custom_llm_provider), std::string(model)};
  }
  if (!prefix.empty() && is_known_provider(prefix)) {
    return {std::string(prefix), std::string(litellm_model.substr(slash + 1))};
  }
  return {"openai", std::string(litellm_model)};
}

}  // namespace llmux::config
