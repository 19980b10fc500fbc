// -----------------------------------------------------------------------------
// File: llmux/health_check.hpp
// -----------------------------------------------------------------------------
// Active health checks as the API reports them: one check's result, and the
// LiteLLM /health-shaped report of a router's deployments (healthy and
// unhealthy endpoints). A check is a minimal request to one deployment (chat:
// one short user message with max_tokens 1; embeddings: a one-word input),
// sent outside routing: no cooldown, rate-limit counter or strategy sees it.
// RouterSettings::health_checks (llmux/config.hpp) says when checks run and
// whether routing avoids deployments that fail them.
//
// Plain value types: copy freely, no thread-safety concerns. No field ever
// holds an API key or another secret.
#pragma once

#include <string>
#include <vector>

namespace llmux {

// One check of one deployment, by this router or by another replica.
struct HealthCheckResult {
  std::string deployment_id;
  std::string model_group;
  // What was sent: "chat" or "embedding".
  std::string mode;
  // The model the check asked for: model_info.health_check_model, else
  // litellm_params.model.
  std::string model;
  bool healthy = false;
  // Not checked at all (e.g. a mode llmux does not serve, a wildcard
  // deployment without health_check_model): `reason` says why. A skipped
  // check is neither healthy nor unhealthy and never affects routing.
  bool skipped = false;
  // Failed: LiteLLM's exception name ("RateLimitError", "Timeout", ...), the
  // status LiteLLM would report (429, 408, ...), and the reason: the
  // provider's own message, keys removed. Empty / 0 when healthy.
  std::string error_type;
  int status = 0;
  std::string reason;
  // Wall-clock time the check ended (Unix seconds) and how long it took.
  double checked_at = 0;
  double latency_ms = 0;
  // Who checked: empty = this router; otherwise the id of the replica whose
  // result was shared with this one.
  std::string checked_by;
};

// One deployment in a health report (LiteLLM's /health endpoint entries).
struct HealthEndpoint {
  std::string model_id;     // the deployment id (model_info.id)
  std::string model_group;  // model_name
  std::string model;        // the model the check asks for
  std::string api_base;     // empty: the provider's default; never a key
  std::string mode;
  // Unhealthy: the reason of the latest check. Unchecked: why there is no
  // result (not checked yet, or why the deployment is not checked).
  std::string error;
  std::string error_type;
  int status = 0;
  // The latest check: when it ended (Unix seconds; 0 = never), its latency,
  // and who ran it (empty = this router).
  double last_check_at = 0;
  double latency_ms = 0;
  std::string checked_by;
  // The latest result is older than the staleness threshold: it no longer
  // counts for routing.
  bool stale = false;
  // Routing avoids the deployment now because of its checks
  // (enable_health_check_routing).
  bool routed_around = false;
};

// LiteLLM's /health answer: deployments whose latest check passed or failed;
// llmux adds the deployments without a result (never checked, or skipped).
struct HealthReport {
  std::vector<HealthEndpoint> healthy_endpoints;
  std::vector<HealthEndpoint> unhealthy_endpoints;
  std::vector<HealthEndpoint> unchecked_endpoints;
};

}  // namespace llmux
