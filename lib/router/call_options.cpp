#include "router/call_options.hpp"

#include <algorithm>

namespace llmux::router {
namespace {

Duration limit(std::optional<double> seconds) {
  return seconds && *seconds > 0 ? seconds_to_duration(*seconds) : Duration::max();
}

template <class T>
const T* chosen(const std::optional<T>& from_request, const T& from_router) {
  return from_request ? &*from_request : &from_router;
}

}  // namespace

CallOptions CallOptions::resolve(const request::ParsedRequest& request, const RouterSettings& settings, CallMode mode) {
  const request::RouterRequestOptions& ro = request.router;
  CallOptions o;
  o.stream = mode == CallMode::kStream || (mode == CallMode::kCompletion && request.stream);
  o.num_retries = ro.num_retries.value_or(settings.num_retries);
  o.total_timeout_seconds = ro.total_timeout_seconds.value_or(settings.total_timeout_seconds);
  o.connect_timeout = limit(ro.connect_timeout_seconds.value_or(settings.connect_timeout_seconds));
  o.stream_idle_timeout = limit(ro.stream_idle_timeout_seconds.value_or(settings.stream_idle_timeout_seconds));
  o.first_token_timeout = limit(ro.first_token_timeout_seconds.value_or(settings.first_token_timeout_seconds));
  o.first_token_requested = ro.first_token_timeout_seconds.has_value();
  o.disable_fallbacks = ro.disable_fallbacks;
  o.fallbacks.fallbacks = chosen(ro.fallbacks, settings.fallbacks);
  o.fallbacks.context_window_fallbacks = chosen(ro.context_window_fallbacks, settings.context_window_fallbacks);
  o.fallbacks.content_policy_fallbacks = chosen(ro.content_policy_fallbacks, settings.content_policy_fallbacks);
  o.fallbacks.client_fallbacks = ro.client_fallbacks ? &*ro.client_fallbacks : nullptr;
  o.fallbacks.max_fallbacks = ro.max_fallbacks.value_or(settings.max_fallbacks);
  o.context_window_fallbacks_configured = !o.fallbacks.context_window_fallbacks->empty();
  o.content_policy_fallbacks_configured = !o.fallbacks.content_policy_fallbacks->empty();
  o.request_timeout_ = ro.timeout_seconds;
  o.request_stream_timeout_ = ro.stream_timeout_seconds;
  o.router_timeout_ = settings.timeout_seconds;
  o.router_stream_timeout_ = settings.stream_timeout_seconds;
  return o;
}

Duration CallOptions::read_timeout(const DeploymentConfig& deployment) const {
  std::optional<double> total = request_timeout_;
  if (!total) total = deployment.timeout_seconds;
  if (!total) total = router_timeout_;
  if (stream) {
    std::optional<double> st = request_stream_timeout_;
    if (!st) st = deployment.stream_timeout_seconds;
    if (!st) st = router_stream_timeout_;
    if (st) total = st;
  }
  return limit(total);
}

int CallOptions::retries_after_failure_on(const DeploymentConfig* failed) const {
  return failed && failed->num_retries ? *failed->num_retries : num_retries;
}

bool CallOptions::has_content_policy_fallback(std::string_view group) const {
  const auto& rules = *fallbacks.content_policy_fallbacks;
  return std::any_of(rules.begin(), rules.end(),
                     [&](const FallbackRule& r) { return r.group == group && !r.targets.empty(); });
}

}  // namespace llmux::router
