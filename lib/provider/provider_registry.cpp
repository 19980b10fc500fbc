// The provider adapters by resolved provider name (DESIGN.md §1: one adapter
// per API family). Every family here speaks the OpenAI chat-completions and
// embeddings API; the request body is passed through (only `model` replaced),
// with no per-provider parameter mapping.
#include <ranges>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "provider/openai_compatible.hpp"

namespace llmux::provider {
namespace {

struct Family {
  std::string_view name;
  std::string_view default_api_base;  // empty: api_base is required (LiteLLM reads <NAME>_API_BASE)
};

// Default api_bases are LiteLLM's (get_llm_provider_logic.py, 1.81.13).
constexpr Family kFamilies[] = {
    {"openai", "https://api.openai.com/v1"},
    {"custom_openai", ""},
    {"openai_like", ""},
    {"hosted_vllm", ""},
    {"vllm", ""},  // LiteLLM's in-process vllm is not a server: served like hosted_vllm
    {"lm_studio", ""},
    {"llamafile", "http://127.0.0.1:8080/v1"},
    {"xinference", "http://127.0.0.1:9997/v1"},
    {"litellm_proxy", ""},
    {"groq", "https://api.groq.com/openai/v1"},
    {"deepseek", "https://api.deepseek.com/beta"},
    {"together_ai", "https://api.together.xyz/v1"},
    {"fireworks_ai", "https://api.fireworks.ai/inference/v1"},
    {"deepinfra", "https://api.deepinfra.com/v1/openai"},
    {"perplexity", "https://api.perplexity.ai"},
    {"mistral", "https://api.mistral.ai/v1"},
    {"xai", "https://api.x.ai/v1"},
    {"cerebras", "https://api.cerebras.ai/v1"},
    {"nvidia_nim", "https://integrate.api.nvidia.com/v1"},
    {"sambanova", "https://api.sambanova.ai/v1"},
    {"openrouter", "https://openrouter.ai/api/v1"},
};
constexpr size_t kFamilyCount = sizeof(kFamilies) / sizeof(kFamilies[0]);

// Built once, immutable afterwards (thread-safe static initialisation).
struct Registry {
  Registry() {
    providers.reserve(kFamilyCount);
    for (const Family& f : kFamilies) providers.emplace_back(f.name, f.default_api_base);
    names = fmt::format("{}", fmt::join(std::views::transform(kFamilies, &Family::name), ", "));
  }
  std::vector<OpenAiCompatibleProvider> providers;
  std::string names;
};

const Registry& registry() {
  static const Registry r;
  return r;
}

}  // namespace

const Provider* find_provider(std::string_view provider_name) {
  for (const auto& p : registry().providers) {
    if (p.name() == provider_name) return &p;
  }
  return nullptr;
}

std::string_view supported_provider_list() { return registry().names; }

Status Provider::build_continuation_request(const DeploymentConfig&, const request::ParsedRequest&, std::string_view,
                                            transport::HttpRequest&) const {
  return Error(ErrorKind::kInvalidArgument, fmt::format("provider {}: assistant prefill not supported", name()));
}

bool accepts_assistant_prefill(const DeploymentConfig& deployment) {
  if (deployment.supports_assistant_prefill) return *deployment.supports_assistant_prefill;
  return deployment.provider == "hosted_vllm" || deployment.provider == "vllm";
}

}  // namespace llmux::provider
