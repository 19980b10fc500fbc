#include "health/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace llmux::health {

std::optional<int> retries_from_policy(const RetryPolicy& policy, ErrorKind kind) {
  // LiteLLM checks classes in this order; context-window and content-policy
  // errors are BadRequestError subclasses. InternalServerErrorRetries is
  // never consulted by LiteLLM (reference §6.5) and neither is it here.
  switch (kind) {
    case ErrorKind::kAuthentication: return policy.authentication;
    case ErrorKind::kTimeout: return policy.timeout;
    case ErrorKind::kRateLimit: return policy.rate_limit;
    case ErrorKind::kContentPolicyViolation:
      return policy.content_policy_violation ? policy.content_policy_violation : policy.bad_request;
    case ErrorKind::kBadRequest:
    case ErrorKind::kContextWindowExceeded: return policy.bad_request;
    default: return std::nullopt;
  }
}

const RetryPolicy* retry_policy_for(const RouterSettings& settings, std::string_view group) {
  if (auto it = settings.model_group_retry_policy.find(std::string(group));
      it != settings.model_group_retry_policy.end()) {
    return &it->second;
  }
  return settings.retry_policy ? &*settings.retry_policy : nullptr;
}

static bool status_is_retryable(int status) {
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

bool should_retry_error(const Error& error, const RetryContext& ctx) {
  switch (error.kind) {
    case ErrorKind::kCancelled:
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kInvalidConfig:
    case ErrorKind::kMidStream:
      return false;
    default: break;
  }
  if (error.kind == ErrorKind::kContextWindowExceeded && ctx.context_window_fallbacks_configured) return false;
  if (error.kind == ErrorKind::kContentPolicyViolation && ctx.content_policy_fallbacks_configured) return false;
  // Router-made errors (nothing available) carry no provider status: LiteLLM
  // retries them while some deployment is healthy.
  const bool router_made = error.kind == ErrorKind::kNoDeploymentsAvailable || error.kind == ErrorKind::kBudgetExceeded;
  if (!router_made && error.status > 0 && !status_is_retryable(error.status) && error.status != 401 &&
      error.status != 403) {
    return false;
  }
  if (error.kind == ErrorKind::kNotFound) return false;
  if (error.kind == ErrorKind::kAuthentication && ctx.group_size <= 1) return false;
  if (ctx.healthy_deployments == 0) return false;
  return true;
}

Duration retry_backoff(const Error& latest, const RetryContext& ctx, int retries_done, double min_retry_after_seconds,
                       Random& rng) {
  if (ctx.group_size >= 2 && ctx.healthy_deployments >= 1) return Duration::zero();
  const double jitter = rng.uniform() * kRetryJitter;
  if (latest.retry_after_seconds && *latest.retry_after_seconds > 0 &&
      *latest.retry_after_seconds <= kMaxHonouredRetryAfter) {
    return seconds_to_duration(*latest.retry_after_seconds + jitter);
  }
  const double exp = kInitialRetryDelay * std::pow(2.0, std::max(0, retries_done));
  const double base = std::min(std::max(exp, min_retry_after_seconds), kMaxRetryDelay);
  return seconds_to_duration(base + jitter);
}

namespace {

const FallbackRule* find_rule(const std::vector<FallbackRule>& rules, std::string_view group) {
  for (const auto& r : rules) {
    if (r.group == group) return &r;
  }
  return nullptr;
}

void take_targets(const std::vector<std::string>& targets, std::string_view group, int max_fallbacks,
                  std::vector<std::string>& out) {
  for (const auto& t : targets) {
    if (static_cast<int>(out.size()) >= max_fallbacks) break;
    if (t == group) continue;
    if (std::find(out.begin(), out.end(), t) != out.end()) continue;
    out.push_back(t);
  }
}

}  // namespace

std::vector<std::string> fallback_groups_for(std::string_view group, const Error& error, const FallbackInputs& in) {
  std::vector<std::string> out;
  if (in.max_fallbacks <= 0) return out;
  if (error.kind == ErrorKind::kContentPolicyViolation) {
    // Only content_policy_fallbacks route around a refusal: outage fallbacks
    // (generic, default, client-side) answering it instead is not what they
    // were configured for (LiteLLM falls through to them; README "Differences").
    if (in.content_policy_fallbacks) {
      if (const FallbackRule* r = find_rule(*in.content_policy_fallbacks, group)) {
        take_targets(r->targets, group, in.max_fallbacks, out);
      }
    }
    return out;
  }
  if (in.client_fallbacks) {
    take_targets(*in.client_fallbacks, group, in.max_fallbacks, out);
    return out;
  }
  if (error.kind == ErrorKind::kContextWindowExceeded && in.context_window_fallbacks &&
      !in.context_window_fallbacks->empty()) {
    if (const FallbackRule* r = find_rule(*in.context_window_fallbacks, group)) {
      take_targets(r->targets, group, in.max_fallbacks, out);
    }
    return out;
  }
  if (!in.fallbacks) return out;
  const FallbackRule* rule = find_rule(*in.fallbacks, group);
  if (!rule) {
    // "openai/gpt-4" matches a rule for "gpt-4".
    if (auto slash = group.find('/'); slash != std::string_view::npos) rule = find_rule(*in.fallbacks, group.substr(slash + 1));
  }
  if (!rule) rule = find_rule(*in.fallbacks, "*");
  if (rule) take_targets(rule->targets, group, in.max_fallbacks, out);
  return out;
}

}  // namespace llmux::health
