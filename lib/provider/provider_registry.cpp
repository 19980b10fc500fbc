// The provider adapters by resolved provider name (DESIGN.md §1: one adapter
// per API family). Every family here speaks the OpenAI chat-completions and
// embeddings API; the request body is passed through (only `model` replaced),
// with no per-provider parameter mapping. vertex_ai (vertex_ai.hpp) joins them:
// Google auth, and the OpenAI splice among its routes.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "provider/azure.hpp"
#include "provider/azure_ai.hpp"
#include "provider/anthropic.hpp"
#include "provider/bedrock.hpp"
#include "provider/gemini.hpp"
#include "provider/openai_compatible.hpp"
#include "provider/vertex_ai.hpp"

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

// The built-in families, then whatever register_provider adds. Entries are
// never removed (a replaced adapter stays alive for deployments already
// bound to it); lookups take the newest of a name. Not on the per-call path.
struct Registry {
  Registry() {
    for (const Family& f : kFamilies) {
      providers.push_back(std::make_shared<OpenAiCompatibleProvider>(f.name, f.default_api_base));
    }
    providers.push_back(std::make_shared<AzureProvider>());
    providers.push_back(std::make_shared<AzureAiProvider>());
    providers.push_back(std::make_shared<AnthropicProvider>());
    providers.push_back(std::make_shared<GeminiProvider>());
    providers.push_back(std::make_shared<VertexAiProvider>());
    providers.push_back(std::make_shared<BedrockProvider>());
  }
  std::mutex mu;
  std::vector<std::shared_ptr<const Provider>> providers;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: usable at exit
  return *r;
}

}  // namespace

const Provider* find_provider(std::string_view provider_name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (auto it = r.providers.rbegin(); it != r.providers.rend(); ++it) {
    if ((*it)->name() == provider_name) return it->get();
  }
  return nullptr;
}

std::string supported_provider_list() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string_view> names;
  for (const auto& p : r.providers) {
    if (std::find(names.begin(), names.end(), p->name()) == names.end()) names.push_back(p->name());
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

void register_provider(std::shared_ptr<const Provider> provider) {
  if (!provider) return;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.providers.push_back(std::move(provider));
}

Status Provider::build_continuation_request(const ProviderTarget&, const request::ParsedRequest&, std::string_view,
                                            transport::HttpRequest&) const {
  return Error(ErrorKind::kInvalidArgument, fmt::format("provider {}: assistant prefill not supported", name()));
}

bool accepts_assistant_prefill(const DeploymentConfig& deployment) {
  if (deployment.supports_assistant_prefill) return *deployment.supports_assistant_prefill;
  if (deployment.provider == "hosted_vllm" || deployment.provider == "vllm") return true;
  const Provider* p = find_provider(deployment.provider);
  return p && p->prefill_by_default();
}

}  // namespace llmux::provider
