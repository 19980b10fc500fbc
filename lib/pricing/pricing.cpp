#include "pricing/pricing.hpp"

#include <algorithm>

namespace llmux::pricing {

double response_cost(const DeploymentConfig& d, int64_t prompt_tokens, int64_t completion_tokens) {
  double cost = 0;
  if (d.input_cost_per_token) cost += static_cast<double>(std::max<int64_t>(prompt_tokens, 0)) * *d.input_cost_per_token;
  if (d.output_cost_per_token) {
    cost += static_cast<double>(std::max<int64_t>(completion_tokens, 0)) * *d.output_cost_per_token;
  }
  return cost;
}

double usage_cost(const DeploymentConfig& d, const Usage& usage) {
  return usage.reported ? response_cost(d, usage.prompt_tokens, usage.completion_tokens) : 0;
}

}  // namespace llmux::pricing
