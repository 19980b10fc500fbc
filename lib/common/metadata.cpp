#include "llmux/metadata.hpp"

#include <fmt/format.h>

namespace llmux {

std::vector<std::pair<std::string, std::string>> litellm_headers(const RouterMetadata& m) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(9);
  h.emplace_back("x-litellm-model-group", m.model_group);
  h.emplace_back("x-litellm-attempted-retries", fmt::format("{}", m.retries));
  // LiteLLM sets max-retries only when a retry happened (reference §8.1).
  if (m.retries > 0) h.emplace_back("x-litellm-max-retries", fmt::format("{}", m.max_retries));
  h.emplace_back("x-litellm-attempted-fallbacks", fmt::format("{}", m.fallbacks));
  if (!m.deployment_id.empty()) h.emplace_back("x-litellm-model-id", m.deployment_id);
  if (!m.api_base.empty()) h.emplace_back("x-litellm-model-api-base", m.api_base);
  h.emplace_back("x-litellm-response-cost", fmt::format("{}", m.response_cost));
  h.emplace_back("x-litellm-response-duration-ms", fmt::format("{:.3f}", m.latency_ms));
  h.emplace_back("x-litellm-call-id", fmt::format("{}", m.call_id));
  h.insert(h.end(), m.rate_limit_headers.begin(), m.rate_limit_headers.end());
  return h;
}

}  // namespace llmux
