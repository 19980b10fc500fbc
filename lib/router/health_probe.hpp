// -----------------------------------------------------------------------------
// File: router/health_probe.hpp
// -----------------------------------------------------------------------------
// What an active health check sends to one deployment (LiteLLM's
// _update_litellm_params_for_health_check and ahealth_check's mode
// handlers, for the modes llmux serves):
//   chat (and an unknown mode): one short user message, max_tokens =
//     model_info.health_check_max_tokens, else 1;
//   embedding: a one-word input;
//   anything else (completion, image_generation, audio_*, rerank, responses,
//     ...): not checked — llmux serves chat and embeddings only, so such a
//     deployment is never routed to by llmux and a check would test an API
//     llmux does not use.
// The model is model_info.health_check_model (through the deployment's own
// adapter), else the deployment's; a wildcard deployment without one is not
// checked. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "request/request.hpp"

namespace llmux::router {

// LiteLLM's HEALTH_CHECK_TIMEOUT_SECONDS.
inline constexpr double kDefaultHealthCheckTimeoutSeconds = 60;
// LiteLLM 1.81's max_tokens of a chat check.
inline constexpr int kDefaultHealthCheckMaxTokens = 1;
inline constexpr std::string_view kHealthCheckPrompt = "Hey how's it going?";
inline constexpr std::string_view kHealthCheckEmbeddingInput = "test";

struct ProbePlan {
  // Set: the deployment is not checked, and why.
  std::optional<std::string> skip_reason;
  std::string mode;            // "chat" or "embedding"
  std::string model;           // as reported: health_check_model, else litellm_params.model
  std::string provider_model;  // what the adapter asks the provider for
  request::Endpoint endpoint = request::Endpoint::kChatCompletions;
  std::string body;            // the OpenAI request body
  Duration timeout{};          // the whole check, credentials included
};

// The check of `deployment`. `map_mode` is the model map's mode for it, used
// when model_info.mode is not set ("" when the map does not know).
ProbePlan plan_probe(const DeploymentConfig& deployment, std::string_view map_mode);

}  // namespace llmux::router
