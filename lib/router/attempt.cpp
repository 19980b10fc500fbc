#include "router/attempt.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace llmux::router {

Stage Stage::from(std::string name, Resolution resolution) {
  Stage s;
  s.group_name = std::move(name);
  s.group = resolution.group;
  s.single = resolution.single;
  s.wildcard_captures = std::move(resolution.wildcard_captures);
  return s;
}

bool silent_timeout(const transport::TransferResult& r) {
  using transport::TransferError;
  if (r.error == TransferError::kConnectTimeout || r.error == TransferError::kFirstByteTimeout ||
      r.error == TransferError::kIdleTimeout) {
    return true;
  }
  return r.error == TransferError::kTotalTimeout && r.first_byte == TimePoint{};
}

Selection select_deployment(RouterCore& core, const SelectionInput& in) {
  const Stage& stage = *in.stage;
  auto& entries = core.scratch_entries;
  entries.clear();
  if (stage.single) {
    entries.push_back(stage.single);
  } else if (stage.group) {
    entries.insert(entries.end(), stage.group->members.begin(), stage.group->members.end());
  }
  FilterInput f;
  f.now = in.now;
  f.settings = &core.settings;
  f.request = in.request;
  f.group_name = stage.group_name;
  f.enforce_rate_limits = core.settings.enable_pre_call_checks || core.strategy->enforces_rate_limits();
  f.budgets = core.budgets;
  f.excluded = in.excluded;
  f.avoid = in.avoid;
  f.addressed_by_id = stage.single != nullptr;
  FilterReport& report = core.scratch_report;
  report.clear();
  filter_candidates(f, entries, report);

  Selection s;
  s.candidates = entries.size();
  if (entries.empty()) {
    if (report.only_busy(0)) {
      s.wait_for_slot = true;
    } else {
      s.error = no_candidates_error(f, report);
    }
    return s;
  }
  size_t index = 0;
  if (entries.size() > 1 || core.strategy->enforces_rate_limits()) {
    auto& candidates = core.scratch_candidates;
    candidates.clear();
    for (const PoolEntry* e : entries) candidates.push_back(e->deployment.get());
    PickContext ctx{stage.group_name, in.request->estimated_prompt_tokens, in.stream, in.now};
    index = core.strategy->pick(ctx, std::span<const Deployment* const>(candidates), *core.rng);
    if (index == Strategy::kNoDeployment) {
      s.error = Error(ErrorKind::kNoDeploymentsAvailable,
                      fmt::format("No deployments available for selected model: routing strategy '{}' found none "
                                  "of {} candidates usable. Passed model={}",
                                  core.strategy->name(), entries.size(), stage.group_name));
      return s;
    }
    if (index >= entries.size()) index = 0;  // a custom strategy returned garbage
  }
  s.entry = entries[index];
  return s;
}

void open_attempt(RouterCore& core, Attempt& attempt, TimePoint now) {
  const Deployment& d = *attempt.entry->deployment;
  d.add_in_flight(1);
  d.count_request(now);
  core.strategy->on_attempt_start(d, now);
  attempt.open = true;
}

void close_attempt(RouterCore& core, Attempt& attempt, bool success, std::optional<ErrorKind> error, bool stream,
                   TimePoint first_token_at) {
  if (!attempt.open) return;
  attempt.open = false;
  const Deployment& d = *attempt.entry->deployment;
  d.add_in_flight(-1);
  AttemptOutcome o;
  o.success = success;
  o.error = error;
  o.at = core.loop->now();
  o.stream = stream;
  o.latency = o.at - attempt.started;
  if (success && first_token_at > attempt.started) o.time_to_first_token = first_token_at - attempt.started;
  o.prompt_tokens = attempt.answer.usage.prompt_tokens;
  o.completion_tokens = attempt.answer.usage.completion_tokens;
  core.strategy->on_attempt_end(d, o);
  if (attempt.entry->max_parallel >= 0) core.wake_slot_waiter(d.model_group());
}

Duration apply_deadlines(const CallOptions& options, const DeploymentConfig& deployment, Duration remaining,
                         bool has_alternative, transport::HttpRequest& out) {
  const Duration read = options.read_timeout(deployment);
  out.connect_timeout = std::min({options.connect_timeout, read, remaining});
  if (!options.stream) {
    // A request's own first_token_timeout bounds the first body byte.
    out.total_timeout = std::min(read, remaining);
    if (options.first_token_requested) out.first_body_timeout = std::min(options.first_token_timeout, out.total_timeout);
    return Duration::max();
  }
  // A stream's read limit bounds the wait for its first byte and each silence
  // (a read timeout in LiteLLM's HTTP client), not its whole length: the
  // call's total_timeout bounds that. The first content token is awaited on
  // the call's own timer, cut short only when the call has somewhere else to
  // go (or the request asked for it).
  out.first_byte_timeout = std::min(read, remaining);
  out.idle_timeout = std::min(options.stream_idle_timeout, read);
  out.total_timeout = remaining;
  return options.first_token_requested || has_alternative ? options.first_token_timeout : Duration::max();
}

std::optional<double> record_failure_health(RouterCore& core, Attempt& attempt, const Error& error,
                                            size_t group_size, std::optional<double> request_cooldown_seconds) {
  const PoolEntry& entry = *attempt.entry;
  std::optional<double> cooled;
  health::FailureEvent ev;
  ev.kind = error.kind;
  ev.status = error.status;
  ev.retry_after_seconds = error.retry_after_seconds;
  ev.message = error.message;
  ev.group_size = group_size;
  ev.wildcard_deployment = entry.wildcard;
  ev.deployment_cooldown_seconds = entry.deployment->config().cooldown_time_seconds;
  ev.request_cooldown_seconds = request_cooldown_seconds;
  cooled = core.cooldowns->record_failure(*entry.health, ev);
  attempt.probe = false;
  return cooled;
}

}  // namespace llmux::router
