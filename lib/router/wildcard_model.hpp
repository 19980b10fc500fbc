// -----------------------------------------------------------------------------
// File: router/wildcard_model.hpp
// -----------------------------------------------------------------------------
// The provider model an attempt on a wildcard deployment sends (LiteLLM's
// PatternMatchRouter.set_deployment_model_name, then get_llm_provider):
// each '*' of litellm_params.model takes the text the requested model
// matched; a bare "*" deployment sends the requested model itself, with the
// deployment provider's prefix stripped ("openai/gpt-4o" → "gpt-4o"). The
// same holds when a wildcard group is entered as a fallback or through an
// alias: the requested model, not the pattern, fills the wildcard. Pure
// functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"

namespace llmux::router {

// The model to send for `deployment`, or "" when its model_name or its
// provider model has no '*' (it is sent as configured). `captures`: what resolving the request
// captured (nullopt when the group was entered another way); then the
// deployment's model_name pattern is matched against `requested_model`, and
// failing that the whole requested model fills the wildcard.
std::string wildcard_provider_model(const DeploymentConfig& deployment,
                                    const std::optional<std::vector<std::string>>& captures,
                                    std::string_view requested_model);

}  // namespace llmux::router
