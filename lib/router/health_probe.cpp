#include "router/health_probe.hpp"

#include <fmt/format.h>

#include "config/provider_names.hpp"
#include "json/writer.hpp"
#include "router/health_check_state.hpp"

namespace llmux::router {

ProbePlan plan_probe(const DeploymentConfig& d, std::string_view map_mode) {
  ProbePlan plan;
  const std::string_view mode = !d.mode.empty() ? std::string_view(d.mode) : map_mode;
  plan.mode = mode.empty() ? "chat" : std::string(mode);
  plan.model = d.health_check.model.empty() ? d.model : d.health_check.model;
  plan.timeout = bounded_seconds(d.health_check.timeout_seconds.value_or(kDefaultHealthCheckTimeoutSeconds), 0);
  if (plan.mode != "chat" && plan.mode != "embedding") {
    plan.skip_reason = fmt::format(
        "mode '{}' is not checked: llmux serves chat completions and embeddings only", plan.mode);
    return plan;
  }
  if (!d.health_check.model.empty()) {
    // Without its "<provider>/" prefix, through this deployment's own adapter
    // whatever provider the prefix names: the check is of this deployment.
    plan.provider_model = config::resolve_provider_model(d.health_check.model, "").model;
  } else {
    plan.provider_model = d.provider_model.empty() ? d.model : d.provider_model;
  }
  if (plan.provider_model.find('*') != std::string::npos) {
    plan.skip_reason = "a wildcard deployment is checked only with model_info.health_check_model";
    return plan;
  }
  // The group name as the request's model: the adapter replaces it with the
  // provider model, as for any call.
  json::Writer w(plan.body);
  w.begin_object();
  w.member("model", d.model_name);
  if (plan.mode == "embedding") {
    plan.endpoint = request::Endpoint::kEmbeddings;
    w.key("input").begin_array().string(kHealthCheckEmbeddingInput).end_array();
  } else {
    plan.endpoint = request::Endpoint::kChatCompletions;
    w.key("messages").begin_array();
    w.begin_object().member("role", "user").member("content", kHealthCheckPrompt).end_object();
    w.end_array();
    w.member("max_tokens", d.health_check.max_tokens.value_or(kDefaultHealthCheckMaxTokens));
  }
  w.end_object();
  return plan;
}

}  // namespace llmux::router
