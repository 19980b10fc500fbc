#include "router/attempt.hpp"

#include "router/fleet_sync.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "pricing/pricing.hpp"
#include "router/secrets.hpp"

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
  FilterInput f;
  f.now = in.now;
  const RouterSettings& settings = in.settings ? *in.settings : *core.settings;
  f.settings = &settings;
  f.request = in.request;
  f.group_name = stage.group_name;
  const bool strategy_limits = core.strategy->enforces_rate_limits();
  f.enforce_rate_limits = settings.enable_pre_call_checks || strategy_limits;
  f.budgets = core.budgets;
  f.fleet = in.own_counts ? nullptr : core.fleet;
  f.excluded = in.excluded;
  f.avoid = in.avoid;
  f.addressed_by_id = stage.single != nullptr;
  FilterReport& report = core.scratch_report;
  report.clear();
  Candidates c;
  if (stage.single || !stage.group) {
    // A deployment addressed by id (or nothing): the general filter.
    auto& entries = core.scratch.entries;
    entries.clear();
    if (stage.single) entries.push_back(stage.single);
    filter_candidates(f, entries, report);
    auto& deployments = core.scratch.deployments;
    deployments.clear();
    for (const PoolEntry* e : entries) deployments.push_back(e->deployment.get());
    c = Candidates{std::span<const PoolEntry* const>(entries), std::span<const Deployment* const>(deployments), {}};
  } else {
    c = filter_group(f, *stage.group, core.scratch, report);
  }

  Selection s;
  s.candidates = c.size();
  s.later_tiers = report.not_in_tier;
  if (c.empty()) {
    if (report.only_busy(0)) {
      s.wait_for_slot = true;
    } else {
      s.error = no_candidates_error(f, report);
    }
    return s;
  }
  size_t index = 0;
  if (c.size() > 1 || strategy_limits) {
    PickContext ctx{stage.group_name, in.request->estimated_prompt_tokens, in.stream, in.now};
    ctx.may_be_weighted = stage.group == nullptr || stage.group->any_weight;
    if (c.columns.table != nullptr) ctx.columns = &c.columns;
    index = core.strategy->pick(ctx, c.deployments, *core.rng);
    if (index == Strategy::kNoDeployment) {
      s.error = Error(ErrorKind::kNoDeploymentsAvailable,
                      fmt::format("No deployments available for selected model: routing strategy '{}' found none "
                                  "of {} candidates usable. Passed model={}",
                                  core.strategy->name(), c.size(), stage.group_name));
      return s;
    }
    if (index >= c.size()) index = 0;  // a custom strategy returned garbage
  }
  s.entry = c.entries[index];
  return s;
}

provider::ProviderTarget target_of(const Attempt& attempt) {
  provider::ProviderTarget t = provider::ProviderTarget::of(attempt.entry->deployment->config(), attempt.entry->auth.get());
  if (!attempt.wildcard_model.empty()) t.model = attempt.wildcard_model;
  return t;
}

void open_attempt(RouterCore& core, Attempt& attempt, TimePoint now) {
  const Deployment& d = *attempt.entry->deployment;
  d.add_in_flight(1);
  d.count_request(now);
  if (core.fleet) core.fleet->on_attempt_start(*attempt.entry, attempt.reserved, now);
  core.strategy->on_attempt_start(d, now);
  attempt.strategy = core.strategy;  // its end goes to the same strategy, even after a strategy change
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
  (attempt.strategy ? attempt.strategy : core.strategy)->on_attempt_end(d, o);
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

namespace {

Judgement failed(Error error, FailureInfo info) { return Judgement{Judgement::Verdict::kFailed, std::move(error), info}; }

// A stream whose transfer answered 2xx: served, unless the provider sent an
// error event, the transfer broke, or a restart diverged.
Judgement judge_stream(Attempt& attempt, StreamRelay& relay, const transport::TransferResult& result) {
  const std::string& id = attempt.entry->deployment->id();
  std::optional<Error> err = relay.take_error();
  // A restart that said something else, or ended before repeating what was
  // delivered, is not the deployment's fault.
  bool diverged = relay.diverged();
  if (err && diverged) err->message = fmt::format("stream from deployment {} {}", id, err->message);
  if (!err && result.error != transport::TransferError::kNone) err = attempt.provider->classify_failure(result);
  if (!err && relay.continuing() && !relay.prefix_repeated()) {
    err = Error(ErrorKind::kMidStream, fmt::format("stream from deployment {} restarted after a failure but ended "
                                                   "before reaching the text already delivered",
                                                   id));
    diverged = true;
  }
  if (!err) return Judgement{};
  if (diverged) return failed(std::move(*err), FailureInfo{.retryable = false, .health = false});
  if (relay.content_delivered() && !relay.can_continue()) {
    return failed(Error(ErrorKind::kMidStream,
                        fmt::format("stream from deployment {} failed after content was delivered: {}", id,
                                    err->to_string())),
                  FailureInfo{.retryable = false});
  }
  // Before the first token: retried invisibly. After it: continued on
  // another deployment (prefill or restart with the prefix suppressed).
  return failed(std::move(*err), FailureInfo{.silent = silent_timeout(result)});
}

}  // namespace

std::optional<double> judge_failure(RouterCore& core, Attempt& attempt, const PoolEntry& entry, Error& error,
                                    size_t group_size, std::optional<double> request_cooldown_seconds, bool health) {
  const DeploymentConfig& dc = entry.deployment->config();
  error.llm_provider = dc.provider;
  redact_secrets(error.message, entry.secrets);
  std::optional<double> cooled;
  if (error.kind != ErrorKind::kCancelled && health) {
    health::FailureEvent ev;
    ev.kind = error.kind;
    ev.status = error.status;
    ev.retry_after_seconds = error.retry_after_seconds;
    ev.message = error.message;
    ev.group_size = group_size;
    ev.wildcard_deployment = entry.wildcard;
    ev.deployment_cooldown_seconds = dc.cooldown_time_seconds;
    ev.request_cooldown_seconds = request_cooldown_seconds;
    cooled = core.cooldowns->record_failure(*entry.health, ev);
    if (core.fleet) {
      const TimePoint now = core.loop->now();
      core.fleet->on_attempt_failure(entry, now);
      if (cooled) core.fleet->on_cooldown(entry, now, attempt.probe);
      // LiteLLM's allowed-fails count, fleet-wide (a probe's failure is judged
      // by the circuit instead).
      if (!attempt.probe) {
        if (const std::optional<int> allowed = core.cooldowns->fleet_allowed_fails(ev)) {
          core.fleet->on_counted_failure(entry, ev, *allowed);
        }
      }
    }
  } else if (attempt.probe) {
    core.cooldowns->end_probe_without_verdict(*entry.health);
  }
  attempt.probe = false;
  return cooled;
}

Judgement judge_transfer(Attempt& attempt, StreamRelay& relay, transport::TransferResult& result, bool stream,
                         const request::ParsedRequest& request, bool cancel_requested) {
  using transport::TransferError;
  const bool is_2xx = result.status >= 200 && result.status < 300;
  // A translated stream may hold a last event until its body ends.
  if (stream && is_2xx && result.error == TransferError::kNone && !cancel_requested) {
    relay.end_of_body(result.finished, attempt.answer);
  }
  if (attempt.first_token_expired && !cancel_requested && result.error == TransferError::kCancelled) {
    result.error = TransferError::kFirstByteTimeout;
    result.error_message = fmt::format("no first token within {:.3f} s", duration_to_seconds(attempt.first_token_limit));
  }
  if (cancel_requested || result.error == TransferError::kCancelled || relay.consumer_stopped()) {
    const bool by_consumer = relay.consumer_stopped() && !cancel_requested;
    return Judgement{Judgement::Verdict::kCancelled,
                     Error(ErrorKind::kCancelled, by_consumer ? "stream stopped by the consumer" : "call cancelled"),
                     {}};
  }
  if (stream && is_2xx) return judge_stream(attempt, relay, result);
  if (result.error != TransferError::kNone || !is_2xx) {
    return failed(attempt.provider->classify_failure(result), FailureInfo{.silent = silent_timeout(result)});
  }
  if (Status translated = attempt.provider->translate_response(target_of(attempt), request, result.body);
      !translated.ok()) {
    return failed(translated.error(), FailureInfo{});
  }
  auto info = attempt.provider->inspect_response(result.body, request.endpoint);
  if (!info.ok()) return failed(std::move(info).error(), FailureInfo{});
  attempt.answer.usage = info->usage;
  attempt.answer.finish_reason = std::move(info->finish_reason);
  attempt.answer.served_model = std::move(info->model);
  return Judgement{};
}

size_t healthy_in_stage(const Stage& stage, std::span<const PoolEntry* const> excluded, TimePoint now,
                        bool health_check_routing) {
  if (stage.single || !stage.group) return 0;
  size_t n = 0;
  for (const PoolEntry* e : stage.group->members) {
    if (e->health->cooling_down(now)) continue;
    if (health_check_routing && e->check->failed_at(now)) continue;
    if (std::find(excluded.begin(), excluded.end(), e) != excluded.end()) continue;
    ++n;
  }
  return n;
}

bool record_success(RouterCore& core, Attempt& attempt) {
  const PoolEntry& e = *attempt.entry;
  const TimePoint now = core.loop->now();
  const DeploymentConfig& dc = e.deployment->config();
  const Usage& usage = attempt.answer.usage;
  const bool was_probe = attempt.probe;
  core.cooldowns->record_success(*e.health);
  attempt.probe = false;
  if (usage.reported) e.deployment->count_tokens(now, usage.prompt_tokens + usage.completion_tokens);
  if (core.budgets && usage.reported) {
    core.budgets->record_spend(dc, pricing::usage_cost(dc, usage), now);
    if (core.fleet) core.fleet->on_spend(now);
  }
  if (core.fleet) {
    core.fleet->on_attempt_success(e, usage.prompt_tokens + usage.completion_tokens, usage.reported, now);
    if (was_probe) core.fleet->on_recovered(e);
  }
  return was_probe;
}

void describe_attempt(const Attempt& attempt, const PoolEntry* last_failed, RouterMetadata& m) {
  const PoolEntry* e = attempt.entry ? attempt.entry : last_failed;
  if (!e) return;
  const DeploymentConfig& dc = e->deployment->config();
  m.deployment_id = dc.id;
  m.deployment_model = attempt.answer.served_model.empty() ? dc.provider_model : attempt.answer.served_model;
  m.provider = e->provider ? std::string(e->provider->name()) : "mock";
  m.api_base = dc.api_base;
  // Only the attempt that served is billed.
  if (attempt.entry) m.response_cost = pricing::usage_cost(dc, attempt.answer.usage);
}

}  // namespace llmux::router
