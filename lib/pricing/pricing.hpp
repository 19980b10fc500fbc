// -----------------------------------------------------------------------------
// File: pricing/pricing.hpp
// -----------------------------------------------------------------------------
// The cost of one call from the deployment's configured prices
// (litellm_params / model_info input_cost_per_token, output_cost_per_token),
// as budgets and response metadata use it. Stateless: thread-safe. Its own
// part so that budgets, cost-aware strategies and the router can all ask it.
// Prices a deployment leaves unset are filled from the model map
// (pricing/price_book.hpp) before it joins the router.
#pragma once

#include <cstdint>

#include "llmux/config.hpp"
#include "llmux/metadata.hpp"

namespace llmux::pricing {

// prompt × input_cost_per_token + completion × output_cost_per_token. A side
// whose price is not configured contributes 0; a configured price of 0 is a
// real price (free), not "unknown". Negative token counts count as 0.
double response_cost(const DeploymentConfig& d, int64_t prompt_tokens, int64_t completion_tokens);
// The cost of `usage` on `d`; 0 when the provider reported no usage.
double usage_cost(const DeploymentConfig& d, const Usage& usage);

}  // namespace llmux::pricing
