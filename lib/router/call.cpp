#include "router/call.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "health/retry_policy.hpp"
#include "provider/mock_provider.hpp"
#include "router/group_usage.hpp"
#include "router/wildcard_model.hpp"

namespace llmux::router {
namespace {

// The longest a probe lease keeps the rest of the fleet waiting for a verdict
// (the call's own remaining time when shorter): a replica that dies while
// probing delays recovery by this much at most.
constexpr Duration kMaxProbeLease = std::chrono::seconds(30);

double ms_between(TimePoint a, TimePoint b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

bool is_2xx(int status) { return status >= 200 && status < 300; }

}  // namespace

Call::Call(RouterCore& core, std::shared_ptr<const DeploymentPool> pool, std::shared_ptr<const RouterSettings> settings,
           uint64_t id, CallMode mode,
           request::ParsedRequest request, ChunkCallback on_chunk, DoneCallback on_done)
    : core_(core),
      pool_(std::move(pool)),
      id_(id),
      request_(std::move(request)),
      settings_(std::move(settings)),
      options_(CallOptions::resolve(request_, *settings_, mode)),
      on_done_(std::move(on_done)),
      plan_(options_),
      relay_(std::move(on_chunk), request_) {}

Call::~Call() = default;

void Call::start() {
  EntryGuard guard(this);
  started_ = core_.loop->now();
  deadline_ = options_.total_timeout_seconds > 0 ? started_ + seconds_to_duration(options_.total_timeout_seconds)
                                                 : TimePoint::max();
  if (cancel_requested_) {
    fail(Error(ErrorKind::kCancelled, "call cancelled before it started"));
    return;
  }
  auto res = pool_->resolve(request_.model);
  if (!res) {
    fail(Error(ErrorKind::kBadRequest,
               fmt::format("You passed in model={}. There are no healthy deployments for this model", request_.model)));
    return;
  }
  std::string group_name = res->group_name;
  stage_ = Stage::from(std::move(group_name), std::move(*res));
  if (std::optional<Error> mocked = provider::mock_fallback_error(request_.router)) {
    handle_failure(std::move(*mocked), nullptr, FailureInfo{.retryable = false});
    return;
  }
  begin_stage(std::move(stage_));
}

void Call::begin_stage(Stage stage) {
  stage_ = std::move(stage);
  stage_.attempts = 0;
  stage_.retries_allowed = options_.num_retries;
  stage_.retries_allowed_effective = -1;
  last_failed_ = nullptr;
  attempt();
}

Duration Call::remaining() const {
  if (deadline_ == TimePoint::max()) return Duration::max();
  return deadline_ - core_.loop->now();
}

bool Call::has_alternative(size_t candidates_left) {
  return candidates_left > 1 || plan_.has_timeout_fallback(stage_.group_name);
}

void Call::attempt() {
  if (cancel_requested_) {
    fail(Error(ErrorKind::kCancelled, "call cancelled"));
    return;
  }
  if (remaining() <= Duration::zero()) {
    Error e(ErrorKind::kTimeout, fmt::format("call deadline reached (total_timeout {} s)", options_.total_timeout_seconds));
    if (plan_.primary_error()) e.message += fmt::format("; last error: {}", plan_.primary_error()->to_string());
    fail(std::move(e));
    return;
  }
  attempt_ = Attempt{};
  const TimePoint now = core_.loop->now();
  Selection sel = select_deployment(core_, SelectionInput{&stage_, &request_, options_.stream, excluded_,
                                                          last_failed_, now, settings_.get(), fleet_too_slow_});
  if (sel.wait_for_slot) {
    wait_for_slot();
    return;
  }
  if (!sel.entry) {
    handle_failure(std::move(*sel.error), nullptr, FailureInfo{.retryable = false});
    return;
  }
  attempt_.entry = sel.entry;
  if (ClientSideDeployments::applies(request_.router) && !use_client_side_twin(now)) return;
  attempt_.probe = is_probe_candidate(*attempt_.entry, now) && core_.cooldowns->begin_probe(*attempt_.entry->health, now);
  if (late_reservation_) {
    // The reservation Redis did not answer in time: this choice is the local
    // decision, and its attempt counts itself.
    if (core_.fleet) core_.fleet->give_up(late_reservation_);
    late_reservation_.reset();
  }
  if (core_.fleet && (attempt_.probe || !fleet_too_slow_) &&
      core_.fleet->needs_admission(*attempt_.entry, attempt_.probe, now)) {
    ask_fleet(sel.candidates, sel.candidates + sel.later_tiers, now);
    return;
  }
  go(sel.candidates);
}

bool Call::use_client_side_twin(TimePoint now) {
  auto twin = core_.client_side.twin(*attempt_.entry, request_.router, *settings_);
  if (!twin.ok()) {
    attempt_.entry = nullptr;
    fail(std::move(twin).error());
    return false;
  }
  const PoolEntry* entry = twin->get();
  if (entry->health->cooling_down(now)) {
    // The caller's credentials failed here recently: the configured
    // deployment is not used in their place.
    attempt_.entry = nullptr;
    handle_failure(Error(ErrorKind::kNoDeploymentsAvailable,
                         fmt::format("No deployments available for selected model: deployment {} with the call's "
                                     "client-side credentials is cooling down. Passed model={}",
                                     entry->deployment->id(), stage_.group_name)),
                   nullptr, FailureInfo{.retryable = false});
    return false;
  }
  attempt_.entry = entry;
  if (std::find(twins_.begin(), twins_.end(), *twin) == twins_.end()) twins_.push_back(std::move(twin).value());
  return true;
}

void Call::ask_fleet(size_t candidates, size_t usable, TimePoint now) {
  // The fleet decides first (the probe lease, or an rpm reservation near the
  // limit): one round trip, bounded by redis_max_wait.
  state_ = State::kPreparing;
  const bool probe = attempt_.probe;
  const Duration lease = std::min<Duration>(remaining(), kMaxProbeLease);
  std::weak_ptr<Call*> alive = self_;
  asked_reservation_ = core_.fleet->admit(*attempt_.entry, probe, lease, now, [this, alive, candidates, usable, probe,
                                                                                lease](FleetSync::Verdict v) {
    if (alive.expired()) return;  // the call ended (and was deleted) meanwhile
    EntryGuard guard(this);
    std::shared_ptr<FleetSync::LateReservation> asked = std::move(asked_reservation_);
    if (state_ != State::kPreparing) {  // cancelled meanwhile (finish() gave up a late one)
      if (core_.fleet) core_.fleet->give_up(asked);
      return;
    }
    state_ = State::kIdle;
    const PoolEntry* entry = attempt_.entry;
    switch (v) {
      case FleetSync::Verdict::kProbeTaken:
        // Another replica probes it: held here until its verdict; choose again.
        core_.cooldowns->end_probe_without_verdict(*entry->health);
        attempt_.probe = false;
        core_.fleet->on_probe_taken(*entry, lease);
        attempt();
        return;
      case FleetSync::Verdict::kRateLimited:
        // The fleet used this minute's rpm: the filter now sees it; choose again.
        if (attempt_.probe) core_.cooldowns->end_probe_without_verdict(*entry->health);
        attempt_.probe = false;
        attempt();
        return;
      case FleetSync::Verdict::kFailOpen:
        // Redis is slow: a probe goes elsewhere when it can (the fleet may be
        // probing already), and only probes when nothing else is left — in
        // any `order` tier: held here, the probe's tier no longer hides the
        // next one.
        if (probe && usable > 1) {
          core_.cooldowns->end_probe_without_verdict(*entry->health);
          attempt_.probe = false;
          core_.fleet->on_probe_taken(*entry, lease);
          attempt();
          return;
        }
        if (probe) {
          go(candidates);
          return;
        }
        // An rpm reservation unanswered in time: the local decision, as
        // without Redis — choose again on this replica's own counts, which
        // include every call that went ahead meanwhile. Going ahead instead
        // would let every call waiting on the same slow answer through, far
        // past the limit.
        fleet_too_slow_ = true;
        late_reservation_ = std::move(asked);
        attempt();
        return;
      case FleetSync::Verdict::kAdmitted:
        attempt_.reserved = !probe;  // counted by the reservation
        go(candidates);
        return;
    }
  });
}

void Call::go(size_t candidates) {
  const PoolEntry* entry = attempt_.entry;
  ++stage_.attempts;
  ++total_attempts_;
  const DeploymentConfig& dc = entry->deployment->config();
  attempt_.provider = provider::provider_for_attempt(dc, request_, entry->provider);
  if (!attempt_.provider) {
    fail(Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: provider '{}' is not supported", dc.id, dc.provider)));
    return;
  }
  if (!attempt_.provider->supports_endpoint(request_.endpoint)) {
    // Not this deployment's failure: no cooldown; a fallback group may serve it.
    Error e(ErrorKind::kBadRequest, fmt::format("the {} endpoint is not supported by provider '{}' (deployment {})",
                                                request::endpoint_path(request_.endpoint).substr(1), dc.provider, dc.id));
    e.llm_provider = dc.provider;
    handle_failure(std::move(e), nullptr, FailureInfo{.retryable = false});
    return;
  }
  attempt_.wildcard_model = wildcard_provider_model(dc, stage_.wildcard_captures, request_.model);
  // Credentials first (a token may need fetching, on the loop); then the request.
  state_ = State::kPreparing;
  std::weak_ptr<Call*> alive = self_;
  attempt_.provider->prepare(target_of(attempt_), *core_.loop, [this, alive, candidates](Status s) {
    if (alive.expired()) return;  // the call ended (and was deleted) meanwhile
    EntryGuard guard(this);
    if (state_ != State::kPreparing) return;  // cancelled meanwhile
    state_ = State::kIdle;
    if (!s.ok()) {
      handle_failure(s.error(), attempt_.entry, FailureInfo{});
    } else {
      launch(candidates);
    }
  });
}

void Call::launch(size_t candidates) {
  const provider::ProviderTarget target = target_of(attempt_);
  const TimePoint now = core_.loop->now();
  attempt_.started = now;
  std::optional<StreamContinuation::Mode> continuation;
  if (options_.stream && relay_.content_delivered()) {
    // The consumer already has part of the answer: continue it here.
    ++continuations_;
    continuation = provider::accepts_assistant_prefill(target.config) ? StreamContinuation::Mode::kPrefill
                                                               : StreamContinuation::Mode::kRestart;
  }
  if (options_.stream) relay_.begin_attempt(*attempt_.provider, target, continuation);
  if (std::optional<provider::LocalAnswer> local = attempt_.provider->answer_locally(target, request_, options_.stream)) {
    // A mock answer is an attempt like any other (LiteLLM counts it too):
    // in flight, this minute's requests, the fleet's usage keys.
    open_attempt(core_, attempt_, now);
    answer_locally(std::move(*local));
    return;
  }
  // Built in a finished transfer's buffers when the loop has one (no
  // allocation for the url, body and header list).
  http_ = core_.loop->recycled_request();
  const Status built = continuation == StreamContinuation::Mode::kPrefill
                           ? attempt_.provider->build_continuation_request(target, request_, relay_.delivered_text(), http_)
                           : attempt_.provider->build_request(target, request_, options_.stream, http_);
  if (!built.ok()) {
    handle_failure(built.error(), attempt_.entry, FailureInfo{.retryable = false});
    return;
  }
  attempt_.first_token_limit =
      apply_deadlines(options_, target.config, remaining(), has_alternative(candidates), http_);
  open_attempt(core_, attempt_, now);
  state_ = State::kInFlight;
  transfer_ = core_.loop->start_transfer(std::move(http_), this);
  if (options_.stream && attempt_.first_token_limit < remaining()) {
    timer_ = core_.loop->schedule(attempt_.first_token_limit, [this] {
      EntryGuard guard(this);
      timer_ = 0;
      if (state_ != State::kInFlight || relay_.attempt_has_content()) return;
      attempt_.first_token_expired = true;
      core_.loop->cancel_transfer(transfer_);  // on_complete reports a silent deployment
    });
  }
}

void Call::answer_locally(provider::LocalAnswer answer) {
  if (answer.error) {
    attempt_failed(std::move(*answer.error), FailureInfo{.silent = answer.silent});
    return;
  }
  // Read exactly as a network answer would be.
  state_ = State::kInFlight;
  transport::TransferResult result;
  result.status = answer.status;
  result.started = attempt_.started;
  result.first_byte = result.finished = core_.loop->now();
  if (options_.stream && is_2xx(answer.status)) {
    if (!on_body(answer.body)) result.error = transport::TransferError::kAborted;
  } else {
    result.body = std::move(answer.body);
  }
  on_complete(std::move(result));
}

void Call::schedule_attempt(Duration wait) {
  state_ = State::kWaiting;
  timer_ = core_.loop->schedule(wait, [this] {
    EntryGuard guard(this);
    timer_ = 0;
    state_ = State::kIdle;
    attempt();
  });
}

void Call::cancel_timer() {
  if (timer_ == 0) return;
  core_.loop->cancel_timer(timer_);
  timer_ = 0;
}

void Call::wait_for_slot() {
  state_ = State::kWaitingForSlot;
  waiting_group_ = stage_.single ? stage_.single->deployment->model_group() : stage_.group->name;
  core_.add_slot_waiter(waiting_group_, this);
  timer_ = core_.loop->schedule(remaining(), [this] {
    EntryGuard guard(this);
    timer_ = 0;
    stop_waiting_for_slot();
    state_ = State::kIdle;
    fail(Error(ErrorKind::kTimeout,
               fmt::format("timed out waiting for a free slot (max_parallel_requests) on model={}", stage_.group_name)));
  });
}

void Call::stop_waiting_for_slot() {
  core_.remove_slot_waiter(waiting_group_, this);
  cancel_timer();
}

void Call::wake() {
  // From another call's attempt end: retry on the next loop turn, not inside
  // that call's frames.
  if (state_ != State::kWaitingForSlot) return;
  stop_waiting_for_slot();
  schedule_attempt(Duration::zero());
}

bool Call::on_body(std::string_view bytes) {
  EntryGuard guard(this);
  return relay_.feed(bytes, core_.loop->now(), attempt_.answer);
}

void Call::on_complete(transport::TransferResult&& result) {
  EntryGuard guard(this);
  transfer_ = 0;
  state_ = State::kIdle;
  cancel_timer();  // the first-token limit
  Judgement j = judge_transfer(attempt_, relay_, result, options_.stream, request_, cancel_requested_);
  if (j.verdict == Judgement::Verdict::kFailed) {
    attempt_failed(std::move(*j.error), j.info);
    return;
  }
  bool served = j.verdict == Judgement::Verdict::kServed;
  close_attempt(core_, attempt_, served, served ? std::nullopt : std::optional(ErrorKind::kCancelled),
                options_.stream, relay_.first_token_at());
  // Clean end of a stream, with or without [DONE]: what is held back goes out now.
  if (served && options_.stream && !relay_.flush()) {
    j.error = Error(ErrorKind::kCancelled, "stream stopped by the consumer");
    served = false;
  }
  if (!served) {
    if (attempt_.probe) core_.cooldowns->end_probe_without_verdict(*attempt_.entry->health);
    attempt_.probe = false;
    fail(std::move(*j.error));
    return;
  }
  if (!options_.stream && attempt_.answer.finish_reason == "content_filter" && !options_.disable_fallbacks &&
      !plan_.in_fallbacks() && options_.has_content_policy_fallback(stage_.group_name)) {
    // LiteLLM's _should_raise_content_policy_error (reference §6.8): a
    // filtered answer moves to the content-policy fallback. The deployment
    // itself worked.
    core_.cooldowns->record_success(*attempt_.entry->health);
    attempt_.probe = false;
    handle_failure(Error(ErrorKind::kContentPolicyViolation, "Response output was blocked."), attempt_.entry,
                   FailureInfo{.retryable = false, .health = false});
    return;
  }
  Response r;
  r.status = result.status;
  if (!options_.stream) r.body = std::move(result.body);
  r.headers = std::move(result.headers);
  r.usage = attempt_.answer.usage;
  r.finish_reason = attempt_.answer.finish_reason;
  succeed(std::move(r));
}

void Call::attempt_failed(Error error, FailureInfo info) {
  close_attempt(core_, attempt_, false, error.kind, options_.stream, relay_.first_token_at());
  handle_failure(std::move(error), attempt_.entry, info);
}

void Call::handle_failure(Error error, const PoolEntry* entry, FailureInfo info) {
  if (entry) {
    const size_t group_size = stage_.group ? stage_.group->members.size() : 1;
    if (std::optional<double> cooled = judge_failure(core_, attempt_, *entry, error, group_size,
                                                     request_.router.cooldown_time_seconds, info.health)) {
      core_.emit(RouterEventType::kCooldown, id_, stage_.group_name, entry, &error, *cooled);
    }
    attempt_log_.push_back(AttemptRecord{stage_.group_name, entry->deployment->id(),
                                         std::string(error_kind_name(error.kind)), error.status,
                                         ms_between(attempt_.started, core_.loop->now()),
                                         ms_between(started_, attempt_.started)});
    last_failed_ = entry;
    if (info.silent) excluded_.push_back(entry);
  }
  if (cancel_requested_) {
    fail(Error(ErrorKind::kCancelled, "call cancelled"));
    return;
  }
  if (retry_in_group(error, entry, info)) return;
  // This group is done: on to fallbacks.
  const bool out_of_time = remaining() <= Duration::zero();
  const bool mid_stream = error.kind == ErrorKind::kMidStream;
  const bool may_fall_back = !out_of_time && !mid_stream && error.kind != ErrorKind::kInvalidConfig;
  plan_.group_failed(stage_.group_name, std::move(error), may_fall_back, out_of_time || mid_stream);
  next_stage_or_fail();
}

bool Call::retry_in_group(const Error& error, const PoolEntry* entry, FailureInfo info) {
  if (!info.retryable || error.kind == ErrorKind::kMidStream || error.kind == ErrorKind::kInvalidConfig) return false;
  if (remaining() <= Duration::zero()) return false;
  health::RetryContext ctx;
  ctx.healthy_deployments =
      healthy_in_stage(stage_, excluded_, core_.loop->now(), settings_->health_checks.routing);
  ctx.group_size = stage_.size();
  ctx.context_window_fallbacks_configured = options_.context_window_fallbacks_configured;
  ctx.content_policy_fallbacks_configured = options_.content_policy_fallbacks_configured;
  const int allowed = entry ? options_.retries_after_failure_on(&entry->deployment->config()) : stage_.retries_allowed;
  const health::RetryDecision d = health::decide_retry(*settings_, stage_.group_name, error, ctx,
                                                       std::max(0, stage_.attempts - 1), allowed, info.silent,
                                                       *core_.rng);
  stage_.retries_allowed_effective = d.allowed;
  // Never sleep past the call's deadline.
  if (!d.retry || stage_.attempts == 0 || d.wait >= remaining()) return false;
  core_.emit(RouterEventType::kRetry, id_, stage_.group_name, entry, &error, duration_to_seconds(d.wait));
  schedule_attempt(d.wait);
  return true;
}

void Call::next_stage_or_fail() {
  auto next = plan_.next(*pool_);
  if (!next) {
    fail(plan_.final_error());
    return;
  }
  // stage_ is still the group that failed.
  core_.emit(RouterEventType::kFallback, id_, stage_.group_name, nullptr, plan_.primary_error(), 0, next->first);
  begin_stage(Stage::from(std::move(next->first), std::move(next->second)));
}

void Call::fill_metadata(RouterMetadata& m) {
  m.call_id = id_;
  m.requested_model = request_.model;
  m.model_group = stage_.group_name;
  if (plan_.in_fallbacks()) m.fallback_model_group = stage_.group_name;
  describe_attempt(attempt_, last_failed_, m);
  m.attempts = total_attempts_;
  m.retries = std::max(0, stage_.attempts - 1);
  m.max_retries = stage_.retries_allowed_effective >= 0 ? stage_.retries_allowed_effective : stage_.retries_allowed;
  m.fallbacks = plan_.entered();
  m.latency_ms = ms_between(started_, core_.loop->now());
  m.time_to_first_token_ms = relay_.content_delivered() ? ms_between(started_, relay_.first_token_at()) : -1;
  m.malformed_events = relay_.malformed_events();
  m.stream_continuations = continuations_;
  m.attempt_log = std::move(attempt_log_);  // the call ends right after
}

void Call::succeed(Response response) {
  if (const PoolEntry* e = attempt_.entry) {
    if (record_success(core_, attempt_)) core_.emit(RouterEventType::kRecovered, id_, stage_.group_name, e);
    attempt_log_.push_back(
        AttemptRecord{stage_.group_name, e->deployment->id(), "", 0, ms_between(attempt_.started, core_.loop->now()),
                      ms_between(started_, attempt_.started)});
  }
  fill_metadata(response.metadata);
  if (stage_.group) add_rate_limit_headers(*stage_.group, response.headers, core_.fleet, core_.loop->now(),
                                           response.metadata.rate_limit_headers);
  finish(std::move(response));
}

void Call::fail(Error error) {
  // Part of the answer reached the consumer: whatever ended the call, it is
  // a mid-stream failure, never a short success.
  if (relay_.content_delivered() && error.kind != ErrorKind::kMidStream && error.kind != ErrorKind::kCancelled) {
    error = Error(ErrorKind::kMidStream, fmt::format("stream failed after content was delivered: {}", error.to_string()));
  }
  fill_metadata(error.metadata);
  finish(std::move(error));
}

void Call::finish(Result<Response> result) {
  if (state_ == State::kDone) return;
  state_ = State::kDone;
  // Redis may still count a reservation this call stopped waiting for, or
  // one it is still waiting for (cancelled meanwhile).
  if (core_.fleet) {
    core_.fleet->give_up(late_reservation_);
    core_.fleet->give_up(asked_reservation_);
  }
  late_reservation_.reset();
  // A probe claimed by an attempt that never reported (cancelled while its
  // credentials or the fleet's admission were pending) frees its slot.
  if (attempt_.probe && attempt_.entry) core_.cooldowns->end_probe_without_verdict(*attempt_.entry->health);
  attempt_.probe = false;
  core_.emit_outcome(id_, stage_.group_name, attempt_.entry ? attempt_.entry : last_failed_, result);
  DoneCallback cb = std::move(on_done_);
  on_done_ = nullptr;
  if (cb) {
    try {
      cb(std::move(result));
    } catch (...) {
      // A throwing callback must not take the loop thread down.
    }
  }
  if (core_.on_call_finished) core_.on_call_finished(id_);
}

void Call::cancel() {
  EntryGuard guard(this);
  if (state_ == State::kDone) return;
  cancel_requested_ = true;
  if (state_ == State::kInFlight) {
    core_.loop->cancel_transfer(transfer_);  // on_complete(kCancelled) follows
    return;
  }
  if (state_ == State::kIdle) return;  // start() sees the flag
  // kPreparing: the provider's late answer finds the call done.
  if (state_ == State::kWaitingForSlot) stop_waiting_for_slot();
  cancel_timer();
  fail(Error(ErrorKind::kCancelled, "call cancelled"));
}

}  // namespace llmux::router
