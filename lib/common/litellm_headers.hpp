// -----------------------------------------------------------------------------
// File: common/litellm_headers.hpp
// -----------------------------------------------------------------------------
// LiteLLM's x-litellm-* response headers of a call's metadata, visited one by
// one without building strings: `f(name, value)` gets views that are valid for
// the call only (numbers are formatted into a buffer on the stack). The one
// definition of the list; llmux::litellm_headers (llmux/metadata.hpp) collects
// it, the JSON views write it straight into their output.
#pragma once

#include <iterator>
#include <string_view>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "llmux/metadata.hpp"

namespace llmux::common {

template <class F>
void for_each_litellm_header(const RouterMetadata& m, F&& f) {
  fmt::memory_buffer text;  // a number's text (inline storage: no allocation for any realistic number)
  const auto number = [&text](const auto& format, auto n) {
    text.clear();
    fmt::format_to(std::back_inserter(text), format, n);
    return std::string_view(text.data(), text.size());
  };
  f(std::string_view("x-litellm-model-group"), std::string_view(m.model_group));
  f(std::string_view("x-litellm-attempted-retries"), number(FMT_COMPILE("{}"), m.retries));
  // LiteLLM sets max-retries only when a retry happened (reference §8.1).
  if (m.retries > 0) f(std::string_view("x-litellm-max-retries"), number(FMT_COMPILE("{}"), m.max_retries));
  f(std::string_view("x-litellm-attempted-fallbacks"), number(FMT_COMPILE("{}"), m.fallbacks));
  if (!m.deployment_id.empty()) f(std::string_view("x-litellm-model-id"), std::string_view(m.deployment_id));
  if (!m.api_base.empty()) f(std::string_view("x-litellm-model-api-base"), std::string_view(m.api_base));
  f(std::string_view("x-litellm-response-cost"), number(FMT_COMPILE("{}"), m.response_cost));
  f(std::string_view("x-litellm-response-duration-ms"), number(FMT_COMPILE("{:.3f}"), m.latency_ms));
  f(std::string_view("x-litellm-call-id"), number(FMT_COMPILE("{}"), m.call_id));
  for (const auto& [name, value] : m.rate_limit_headers) f(std::string_view(name), std::string_view(value));
}

}  // namespace llmux::common
