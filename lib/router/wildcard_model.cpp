#include "router/wildcard_model.hpp"

#include <algorithm>

#include "router/deployment_pool.hpp"

namespace llmux::router {

std::string wildcard_provider_model(const DeploymentConfig& deployment,
                                    const std::optional<std::vector<std::string>>& captures,
                                    std::string_view requested_model) {
  const std::string& pattern = deployment.provider_model.empty() ? deployment.model : deployment.provider_model;
  const size_t stars = static_cast<size_t>(std::count(pattern.begin(), pattern.end(), '*'));
  // Only a wildcard group's deployments fill their model from the request.
  if (stars == 0 || deployment.model_name.find('*') == std::string::npos) return {};
  std::vector<std::string> own;
  const std::vector<std::string>* used = captures ? &*captures : nullptr;
  if (!used && DeploymentPool::match_wildcard(deployment.model_name, requested_model, own)) used = &own;
  std::string model;
  if (!used || used->size() > stars) {
    // LiteLLM: more segments than wildcards, or nothing matched: the
    // requested model as it is.
    model = std::string(requested_model);
  } else {
    model = DeploymentPool::apply_captures(pattern, *used);
  }
  // get_llm_provider strips the provider's own prefix from what it sends.
  if (!deployment.provider.empty() && model.size() > deployment.provider.size() + 1 &&
      model.starts_with(deployment.provider) && model[deployment.provider.size()] == '/') {
    model.erase(0, deployment.provider.size() + 1);
  }
  return model;
}

}  // namespace llmux::router
