#include "router/router_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace llmux::router {
namespace {

// The group a call is counted under: the one the caller asked for, so that a
// call served by a fallback still counts for the group requested.
std::string_view requested_group(const RouterMetadata& m) {
  return m.requested_model.empty() ? std::string_view(m.model_group) : std::string_view(m.requested_model);
}

template <size_t N, class V>
V& series_value(Series<N, V>& series, const LabelViews<N>& labels) {
  auto it = series.find(labels);
  if (it == series.end()) {
    LabelValues<N> owned;
    for (size_t i = 0; i < N; ++i) owned[i] = std::string(labels[i]);
    it = series.emplace(std::move(owned), V{}).first;
  }
  return it->second;
}

// Prometheus label value escaping: backslash, double quote and line feed.
void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
}

void append_number(std::string& out, uint64_t value) { fmt::format_to(std::back_inserter(out), "{}", value); }
void append_number(std::string& out, int64_t value) { fmt::format_to(std::back_inserter(out), "{}", value); }
void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", value);
  }
}

void append_header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// `name{label="value",...} value\n`; `extra` is one more label already
// formatted (a histogram's le="..."), may be empty.
template <size_t N, class V>
void append_sample(std::string& out, std::string_view name, const std::array<std::string_view, N>& label_names,
                   const LabelValues<N>& labels, std::string_view extra, V value) {
  out += name;
  if (N > 0 || !extra.empty()) {
    out.push_back('{');
    for (size_t i = 0; i < N; ++i) {
      if (i != 0) out.push_back(',');
      out += label_names[i];
      out += "=\"";
      append_label_value(out, labels[i]);
      out.push_back('"');
    }
    if (!extra.empty()) {
      if (N > 0) out.push_back(',');
      out += extra;
    }
    out.push_back('}');
  }
  out.push_back(' ');
  append_number(out, value);
  out.push_back('\n');
}

template <size_t N, class V>
std::vector<std::pair<LabelValues<N>, V>> sorted(const Series<N, V>& series) {
  std::vector<std::pair<LabelValues<N>, V>> out(series.begin(), series.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

template <size_t N, class V>
void append_family(std::string& out, std::string_view name, std::string_view type, std::string_view help,
                   const std::array<std::string_view, N>& label_names, const Series<N, V>& series) {
  append_header(out, name, type, help);
  for (const auto& [labels, value] : sorted(series)) append_sample(out, name, label_names, labels, {}, value);
}

void append_histogram(std::string& out, std::string_view name, std::string_view help,
                      const Series<1, DurationHistogram>& series) {
  static constexpr std::array<std::string_view, 1> kLabelNames = {"model_group"};
  append_header(out, name, "histogram", help);
  const std::string bucket_name = fmt::format("{}_bucket", name);
  const std::string sum_name = fmt::format("{}_sum", name);
  const std::string count_name = fmt::format("{}_count", name);
  std::string le;
  for (const auto& [labels, histogram] : sorted(series)) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < histogram.bucket_counts.size(); ++i) {
      cumulative += histogram.bucket_counts[i];
      le = "le=\"";
      if (i < kCallDurationBuckets.size()) {
        append_number(le, kCallDurationBuckets[i]);
      } else {
        le += "+Inf";
      }
      le.push_back('"');
      append_sample(out, bucket_name, kLabelNames, labels, le, cumulative);
    }
    append_sample(out, sum_name, kLabelNames, labels, {}, histogram.sum_seconds);
    append_sample(out, count_name, kLabelNames, labels, {}, histogram.count);
  }
}

template <class V>
void append_deployment_gauge(std::string& out, std::string_view name, std::string_view help,
                             const std::vector<const DeploymentHealth*>& health,
                             V (*value_of)(const DeploymentHealth&)) {
  static constexpr std::array<std::string_view, 3> kLabelNames = {"model_group", "deployment_id", "api_base"};
  append_header(out, name, "gauge", help);
  for (const DeploymentHealth* h : health) {
    append_sample(out, name, kLabelNames, LabelValues<3>{h->model_group, h->id, h->api_base}, {}, value_of(*h));
  }
}

}  // namespace

void RouterMetrics::record(const RouterEvent& event) {
  if (event.type == RouterEventType::kRecovered) return;
  std::lock_guard lock(mu_);
  switch (event.type) {
    case RouterEventType::kSuccess:
    case RouterEventType::kFailure: record_call_locked(event); break;
    case RouterEventType::kRetry: ++series_value(counters_.retries, {event.model_group}); break;
    case RouterEventType::kFallback:
      ++series_value(counters_.fallbacks, {event.model_group, event.fallback_group});
      break;
    case RouterEventType::kCooldown:
      ++series_value(counters_.cooldowns, {event.model_group, event.deployment_id});
      break;
    case RouterEventType::kRecovered: break;
    case RouterEventType::kSharedStateDown: ++series_value(counters_.shared_state, {"down"}); break;
    case RouterEventType::kSharedStateUp: ++series_value(counters_.shared_state, {"up"}); break;
  }
}

namespace {

// A success after one attempt in the group asked for, with usage reported:
// what UsualSuccess caches.
bool is_usual_success(const RouterEvent& event) {
  if (event.type != RouterEventType::kSuccess || event.metadata == nullptr || event.usage == nullptr ||
      !event.usage->reported) {
    return false;
  }
  const RouterMetadata& m = *event.metadata;
  if (m.attempt_log.size() != 1) return false;
  const AttemptRecord& a = m.attempt_log.front();
  return a.error_type.empty() && (a.model_group.empty() || a.model_group == requested_group(m));
}

uint64_t token_count(int64_t n) { return static_cast<uint64_t>(std::max<int64_t>(0, n)); }

void observe(DurationHistogram& histogram, double latency_ms) {
  const double seconds = std::max(0.0, latency_ms / 1000.0);
  // Buckets are inclusive upper bounds (le): the first bound >= the value.
  const auto bound = std::lower_bound(kCallDurationBuckets.begin(), kCallDurationBuckets.end(), seconds);
  ++histogram.bucket_counts[static_cast<size_t>(bound - kCallDurationBuckets.begin())];
  histogram.sum_seconds += seconds;
  ++histogram.count;
}

}  // namespace

bool RouterMetrics::record_usual_success_locked(const RouterEvent& event) {
  if (usual_.empty() || !is_usual_success(event)) return false;
  const RouterMetadata& m = *event.metadata;
  const auto it = usual_.find(m.attempt_log.front().deployment_id);
  if (it == usual_.end() || it->second.group != requested_group(m)) return false;
  UsualSuccess& u = it->second;
  ++*u.calls;
  ++*u.attempts;
  observe(*u.duration, m.latency_ms);
  *u.prompt_tokens += token_count(event.usage->prompt_tokens);
  *u.completion_tokens += token_count(event.usage->completion_tokens);
  *u.spend_usd += m.response_cost;
  return true;
}

void RouterMetrics::record_call_locked(const RouterEvent& event) {
  if (event.metadata == nullptr) return;
  if (record_usual_success_locked(event)) return;
  const RouterMetadata& m = *event.metadata;
  const std::string_view group = requested_group(m);
  std::string_view outcome = "success";
  if (event.type == RouterEventType::kFailure) {
    outcome = event.error ? event.error->type_name() : error_kind_name(ErrorKind::kInternalServer);
  }
  ++series_value(counters_.calls, {group, outcome});
  for (const AttemptRecord& a : m.attempt_log) {
    // The attempt's own group: after a fallback, the deployment belongs to it.
    const std::string_view attempt_group = a.model_group.empty() ? group : std::string_view(a.model_group);
    const std::string_view attempt_outcome = a.error_type.empty() ? std::string_view("success") : a.error_type;
    ++series_value(counters_.attempts, {attempt_group, a.deployment_id, attempt_outcome});
  }
  observe(series_value(counters_.call_duration, {group}), m.latency_ms);
  if (event.type != RouterEventType::kSuccess) return;
  if (event.usage != nullptr && event.usage->reported) {
    series_value(counters_.tokens, {group, "prompt"}) += token_count(event.usage->prompt_tokens);
    series_value(counters_.tokens, {group, "completion"}) += token_count(event.usage->completion_tokens);
  }
  series_value(counters_.spend_usd, {group}) += m.response_cost;
  if (is_usual_success(event)) {
    // Every series such a call bumps exists now: the next one of this
    // deployment (in this group) goes straight to them.
    const std::string_view deployment_id = m.attempt_log.front().deployment_id;
    usual_.insert_or_assign(std::string(deployment_id),
                            UsualSuccess{std::string(group),
                                         &series_value(counters_.calls, {group, "success"}),
                                         &series_value(counters_.attempts, {group, deployment_id, "success"}),
                                         &series_value(counters_.call_duration, {group}),
                                         &series_value(counters_.tokens, {group, "prompt"}),
                                         &series_value(counters_.tokens, {group, "completion"}),
                                         &series_value(counters_.spend_usd, {group})});
  }
}

std::string RouterMetrics::render(const std::vector<DeploymentHealth>& health,
                                  const std::optional<SharedStateStatus>& shared) const {
  Counters snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot = counters_;
  }
  std::string out;
  out.reserve(4096);
  append_family<2>(out, "llmux_calls_total", "counter",
                   "Calls finished, by requested model group and outcome (success or the LiteLLM error class).",
                   {"model_group", "outcome"}, snapshot.calls);
  append_family<3>(out, "llmux_attempts_total", "counter",
                   "Backend attempts of finished calls, by deployment and outcome.",
                   {"model_group", "deployment_id", "outcome"}, snapshot.attempts);
  append_family<1>(out, "llmux_retries_total", "counter", "Retries within a model group.", {"model_group"},
                   snapshot.retries);
  append_family<2>(out, "llmux_fallbacks_total", "counter",
                   "Fallbacks from a model group (the one that failed) to another.",
                   {"model_group", "fallback_group"}, snapshot.fallbacks);
  append_family<2>(out, "llmux_cooldowns_total", "counter", "Deployments put in cooldown.",
                   {"model_group", "deployment_id"}, snapshot.cooldowns);
  append_family<2>(out, "llmux_tokens_total", "counter", "Tokens reported by successful calls.",
                   {"model_group", "type"}, snapshot.tokens);
  append_family<1>(out, "llmux_spend_usd_total", "counter",
                   "Cost of successful calls in USD (from the configured prices).", {"model_group"},
                   snapshot.spend_usd);
  append_histogram(out, "llmux_call_duration_seconds", "Call latency from start to the final byte.",
                   snapshot.call_duration);
  if (shared) {
    append_header(out, "llmux_shared_state_up", "gauge",
                  "1 while the shared state (Redis) is reachable, 0 while routing on local state only.");
    fmt::format_to(std::back_inserter(out), "llmux_shared_state_up {}\n", shared->up ? 1 : 0);
    append_family<1>(out, "llmux_shared_state_transitions_total", "counter",
                     "Times the shared state (Redis) became reachable (up) or unreachable (down).", {"state"},
                     snapshot.shared_state);
    append_header(out, "llmux_shared_state_commands_total", "counter",
                  "Redis commands by result: sent, failed (down, timed out) or dropped (fire-and-forget while down).");
    fmt::format_to(std::back_inserter(out),
                   "llmux_shared_state_commands_total{{result=\"sent\"}} {}\n"
                   "llmux_shared_state_commands_total{{result=\"failed\"}} {}\n"
                   "llmux_shared_state_commands_total{{result=\"dropped\"}} {}\n",
                   shared->commands_sent, shared->commands_failed, shared->commands_dropped);
  }

  std::vector<const DeploymentHealth*> deployments;
  deployments.reserve(health.size());
  for (const DeploymentHealth& h : health) deployments.push_back(&h);
  std::sort(deployments.begin(), deployments.end(), [](const DeploymentHealth* a, const DeploymentHealth* b) {
    return std::tie(a->model_group, a->id) < std::tie(b->model_group, b->id);
  });
  append_deployment_gauge<int64_t>(out, "llmux_deployment_healthy",
                                   "1 when the deployment takes traffic, 0 while cooling down, probing or failing its health checks.",
                                   deployments, [](const DeploymentHealth& h) -> int64_t { return h.healthy ? 1 : 0; });
  append_deployment_gauge<int64_t>(out, "llmux_deployment_in_flight", "Requests in flight to the deployment.",
                                   deployments, [](const DeploymentHealth& h) { return h.in_flight; });
  append_deployment_gauge<double>(out, "llmux_deployment_cooldown_remaining_seconds",
                                  "Seconds left in the deployment's cooldown (0 when none).", deployments,
                                  [](const DeploymentHealth& h) { return h.cooldown_remaining_seconds; });
  append_deployment_gauge<int64_t>(out, "llmux_deployment_requests_this_minute",
                                   "Requests sent to the deployment in the current minute (rpm usage).", deployments,
                                   [](const DeploymentHealth& h) { return h.requests_this_minute; });
  append_deployment_gauge<int64_t>(out, "llmux_deployment_tokens_this_minute",
                                   "Tokens used by the deployment in the current minute (tpm usage).", deployments,
                                   [](const DeploymentHealth& h) { return h.tokens_this_minute; });
  return out;
}

}  // namespace llmux::router
