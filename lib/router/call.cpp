#include "router/call.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "health/pricing.hpp"
#include "health/retry_policy.hpp"
#include "provider/mock_provider.hpp"

namespace llmux::router {
namespace {

double ms_between(TimePoint a, TimePoint b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// Providers sometimes echo the key they were given ("Incorrect API key
// provided: sk-..."): keys never leave the router (DESIGN.md §3.5).
void redact_secret(std::string& text, const std::string& secret) {
  if (secret.size() < 4) return;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "[REDACTED]");
  }
}

bool is_2xx(int status) { return status >= 200 && status < 300; }

// "n" > 1: only choice 0 is tracked, so such a stream cannot be continued.
bool several_choices(const json::ParsedRequest& r) {
  for (const json::RawField& f : r.kept) {
    if (f.key == "n") return f.value != "1" && f.value != "null";
  }
  return false;
}

double cost_of(const DeploymentConfig& dc, const Usage& u) {
  return u.reported ? health::response_cost(dc, u.prompt_tokens, u.completion_tokens) : 0;
}

// LiteLLM raises these before any backend call, so they skip retries and go
// straight to fallbacks (reference §6.1 step 2).
std::optional<Error> mock_fallback_error(const json::RouterRequestOptions& ro) {
  if (ro.mock_testing_fallbacks) {
    return Error(ErrorKind::kInternalServer, "This is a mock exception for model fallbacks (mock_testing_fallbacks=true)");
  }
  if (ro.mock_testing_context_fallbacks) {
    return Error(ErrorKind::kContextWindowExceeded,
                 "This is a mock exception for context window fallbacks (mock_testing_context_fallbacks=true)");
  }
  if (ro.mock_testing_content_policy_fallbacks) {
    return Error(ErrorKind::kContentPolicyViolation,
                 "This is a mock exception for content policy fallbacks (mock_testing_content_policy_fallbacks=true)");
  }
  return std::nullopt;
}

}  // namespace

Call::Call(RouterCore& core, std::shared_ptr<const DeploymentPool> pool, uint64_t id, CallMode mode,
           json::ParsedRequest request, ChunkCallback on_chunk, DoneCallback on_done)
    : core_(core),
      pool_(std::move(pool)),
      id_(id),
      mode_(mode),
      request_(std::move(request)),
      options_(CallOptions::resolve(request_, core_.settings, mode)),
      on_done_(std::move(on_done)),
      relay_(std::move(on_chunk), request_.include_usage, several_choices(request_)) {}

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
  if (std::optional<Error> mocked = mock_fallback_error(request_.router)) {
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

size_t Call::healthy_in_stage(TimePoint now) const {
  if (stage_.single) return 0;  // addressed by id: LiteLLM reports no healthy deployments (reference §6.2 step 7)
  if (!stage_.group) return 0;
  size_t n = 0;
  for (const PoolEntry* e : stage_.group->members) {
    if (e->health->cooling_down(now)) continue;
    if (std::find(excluded_.begin(), excluded_.end(), e) != excluded_.end()) continue;
    ++n;
  }
  return n;
}

bool Call::has_alternative(size_t candidates_left) const {
  if (candidates_left > 1) return true;
  if (in_fallbacks_) return next_fallback_ < fallback_queue_.size();
  if (options_.disable_fallbacks) return false;
  // The primary group's fallbacks for a timeout do not change during the call:
  // look them up once, not on every streaming attempt.
  if (!timeout_fallback_exists_) {
    timeout_fallback_exists_ =
        !health::fallback_groups_for(stage_.group_name, Error(ErrorKind::kTimeout, ""), options_.fallbacks).empty();
  }
  return *timeout_fallback_exists_;
}

void Call::attempt() {
  if (cancel_requested_) {
    fail(Error(ErrorKind::kCancelled, "call cancelled"));
    return;
  }
  if (remaining() <= Duration::zero()) {
    Error e(ErrorKind::kTimeout, fmt::format("call deadline reached (total_timeout {} s)", options_.total_timeout_seconds));
    if (primary_error_) e.message += fmt::format("; last error: {}", primary_error_->to_string());
    fail(std::move(e));
    return;
  }
  attempt_ = Attempt{};
  const TimePoint now = core_.loop->now();
  Selection sel = select_deployment(core_, SelectionInput{&stage_, &request_, options_.stream, excluded_, last_failed_, now});
  if (sel.wait_for_slot) {
    wait_for_slot();
    return;
  }
  if (!sel.entry) {
    handle_failure(std::move(*sel.error), nullptr, FailureInfo{.retryable = false});
    return;
  }
  attempt_.entry = sel.entry;
  attempt_.probe = is_probe_candidate(*sel.entry, now) && core_.cooldowns->begin_probe(*sel.entry->health, now);
  ++stage_.attempts;
  ++total_attempts_;
  const DeploymentConfig& dc = sel.entry->deployment->config();
  attempt_.provider = provider::provider_for_attempt(dc, request_, sel.entry->provider);
  if (!attempt_.provider) {
    fail(Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: provider '{}' is not supported", dc.id, dc.provider)));
    return;
  }
  if (!stage_.wildcard_captures) {
    launch(dc, sel.candidates);
    return;
  }
  DeploymentConfig expanded = dc;
  expanded.provider_model = DeploymentPool::apply_captures(dc.provider_model, *stage_.wildcard_captures);
  launch(expanded, sel.candidates);
}

void Call::launch(const DeploymentConfig& target, size_t candidates) {
  const TimePoint now = core_.loop->now();
  attempt_.started = now;
  std::optional<StreamContinuation::Mode> continuation;
  if (options_.stream && relay_.content_delivered()) {
    // The consumer already has part of the answer: continue it here.
    ++continuations_;
    continuation = provider::accepts_assistant_prefill(target) ? StreamContinuation::Mode::kPrefill
                                                               : StreamContinuation::Mode::kRestart;
  }
  if (options_.stream) relay_.begin_attempt(*attempt_.provider, continuation);
  if (std::optional<provider::LocalAnswer> local = attempt_.provider->answer_locally(target, request_, options_.stream)) {
    answer_locally(std::move(*local));
    return;
  }
  const Status built = continuation == StreamContinuation::Mode::kPrefill
                           ? attempt_.provider->build_continuation_request(target, request_, relay_.delivered_text(), http_)
                           : attempt_.provider->build_request(target, request_, options_.stream, http_);
  if (!built.ok()) {
    handle_failure(built.error(), attempt_.entry, FailureInfo{.retryable = false});
    return;
  }
  attempt_.first_token_limit = apply_deadlines(options_, target, remaining(), has_alternative(candidates), http_);
  open_attempt(core_, attempt_, now);
  state_ = State::kInFlight;
  transfer_ = core_.loop->start_transfer(std::move(http_), this);
  http_ = transport::HttpRequest{};
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
    handle_failure(std::move(*answer.error), attempt_.entry, FailureInfo{.silent = answer.silent});
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
  core_.slot_waiters[waiting_group_].push_back(this);
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
  auto it = core_.slot_waiters.find(waiting_group_);
  if (it != core_.slot_waiters.end()) {
    auto& q = it->second;
    q.erase(std::remove(q.begin(), q.end(), this), q.end());
    if (q.empty()) core_.slot_waiters.erase(it);
  }
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
  if (attempt_.first_token_expired && !cancel_requested_ && result.error == transport::TransferError::kCancelled) {
    result.error = transport::TransferError::kFirstByteTimeout;
    result.error_message =
        fmt::format("no first token within {:.3f} s", duration_to_seconds(attempt_.first_token_limit));
  }
  if (cancel_requested_ || result.error == transport::TransferError::kCancelled || relay_.consumer_stopped()) {
    close_attempt(core_, attempt_, false, ErrorKind::kCancelled, options_.stream, relay_.first_token_at());
    if (attempt_.probe) core_.cooldowns->end_probe_without_verdict(*attempt_.entry->health);
    attempt_.probe = false;
    fail(Error(ErrorKind::kCancelled,
               relay_.consumer_stopped() && !cancel_requested_ ? "stream stopped by the consumer" : "call cancelled"));
    return;
  }
  if (options_.stream && is_2xx(result.status)) {
    finish_stream_attempt(result);
  } else if (result.error == transport::TransferError::kNone && is_2xx(result.status)) {
    finish_answer(result);
  } else {
    attempt_failed(attempt_.provider->classify_failure(result), FailureInfo{.silent = silent_timeout(result)});
  }
}

void Call::attempt_failed(Error error, FailureInfo info) {
  close_attempt(core_, attempt_, false, error.kind, options_.stream, relay_.first_token_at());
  handle_failure(std::move(error), attempt_.entry, info);
}

void Call::finish_stream_attempt(transport::TransferResult& result) {
  const std::string& id = attempt_.entry->deployment->id();
  std::optional<Error> err = relay_.take_error();
  // A restart that said something else, or ended before repeating what was
  // delivered, is not the deployment's fault.
  bool diverged = relay_.diverged();
  if (err && diverged) err->message = fmt::format("stream from deployment {} {}", id, err->message);
  if (!err && result.error != transport::TransferError::kNone) err = attempt_.provider->classify_failure(result);
  if (!err && relay_.continuing() && !relay_.prefix_repeated()) {
    err = Error(ErrorKind::kMidStream,
                fmt::format("stream from deployment {} restarted after a failure but ended before reaching the text "
                            "already delivered",
                            id));
    diverged = true;
  }
  if (err) {
    if (diverged) {
      attempt_failed(std::move(*err), FailureInfo{.retryable = false, .health = false});
    } else if (relay_.content_delivered() && !relay_.can_continue()) {
      attempt_failed(Error(ErrorKind::kMidStream, fmt::format("stream from deployment {} failed after content was "
                                                              "delivered: {}",
                                                              id, err->to_string())),
                     FailureInfo{.retryable = false});
    } else {
      // Before the first token: retried invisibly. After it: continued on
      // another deployment (prefill or restart with the prefix suppressed).
      attempt_failed(std::move(*err), FailureInfo{.silent = silent_timeout(result)});
    }
    return;
  }
  // Clean end, with or without [DONE]: finalise at once.
  close_attempt(core_, attempt_, true, std::nullopt, options_.stream, relay_.first_token_at());
  if (!relay_.flush()) {
    if (attempt_.probe) core_.cooldowns->end_probe_without_verdict(*attempt_.entry->health);
    attempt_.probe = false;
    fail(Error(ErrorKind::kCancelled, "stream stopped by the consumer"));
    return;
  }
  Response r;
  r.status = result.status;
  r.headers = std::move(result.headers);
  r.usage = attempt_.answer.usage;
  r.finish_reason = attempt_.answer.finish_reason;
  succeed(std::move(r));
}

void Call::finish_answer(transport::TransferResult& result) {
  auto info = attempt_.provider->inspect_response(result.body, request_.endpoint);
  if (!info.ok()) {
    attempt_failed(std::move(info).error(), FailureInfo{});
    return;
  }
  attempt_.answer.usage = info->usage;
  attempt_.answer.finish_reason = info->finish_reason;
  attempt_.answer.served_model = info->model;
  close_attempt(core_, attempt_, true, std::nullopt, options_.stream, relay_.first_token_at());
  if (attempt_.answer.finish_reason == "content_filter" && !options_.disable_fallbacks && !in_fallbacks_ &&
      options_.has_content_policy_fallback(stage_.group_name)) {
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
  r.body = std::move(result.body);
  r.headers = std::move(result.headers);
  r.usage = attempt_.answer.usage;
  r.finish_reason = attempt_.answer.finish_reason;
  succeed(std::move(r));
}

void Call::handle_failure(Error error, const PoolEntry* entry, FailureInfo info) {
  if (entry) {
    const DeploymentConfig& dc = entry->deployment->config();
    error.llm_provider = dc.provider;
    redact_secret(error.message, dc.api_key);
    if (error.kind != ErrorKind::kCancelled && info.health) {
      const size_t group_size = stage_.group ? stage_.group->members.size() : 1;
      if (std::optional<double> cooled =
              record_failure_health(core_, attempt_, error, group_size, request_.router.cooldown_time_seconds)) {
        emit(RouterEventType::kCooldown, &error, entry, *cooled);
      }
    } else if (attempt_.probe) {
      core_.cooldowns->end_probe_without_verdict(*entry->health);
    }
    attempt_.probe = false;
    attempt_log_.push_back(AttemptRecord{stage_.group_name, dc.id, std::string(error_kind_name(error.kind)),
                                         error.status, ms_between(attempt_.started, core_.loop->now())});
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
  if (!in_fallbacks_) {
    if (!options_.disable_fallbacks && !out_of_time && error.kind != ErrorKind::kMidStream &&
        error.kind != ErrorKind::kInvalidConfig) {
      fallback_queue_ = health::fallback_groups_for(stage_.group_name, error, options_.fallbacks);
    }
    primary_error_ = std::move(error);
  } else {
    fallback_errors_.push_back(fmt::format("{} → {}", stage_.group_name, error.to_string()));
    if (out_of_time || error.kind == ErrorKind::kMidStream) next_fallback_ = fallback_queue_.size();
  }
  next_stage_or_fail();
}

bool Call::retry_in_group(const Error& error, const PoolEntry* entry, FailureInfo info) {
  if (!info.retryable || error.kind == ErrorKind::kMidStream || error.kind == ErrorKind::kInvalidConfig) return false;
  if (remaining() <= Duration::zero()) return false;
  health::RetryContext ctx;
  ctx.healthy_deployments = healthy_in_stage(core_.loop->now());
  ctx.group_size = stage_.size();
  ctx.context_window_fallbacks_configured = options_.context_window_fallbacks_configured;
  ctx.content_policy_fallbacks_configured = options_.content_policy_fallbacks_configured;
  const int allowed = entry ? options_.retries_after_failure_on(&entry->deployment->config()) : stage_.retries_allowed;
  const health::RetryDecision d = health::decide_retry(core_.settings, stage_.group_name, error, ctx,
                                                       std::max(0, stage_.attempts - 1), allowed, info.silent,
                                                       *core_.rng);
  stage_.retries_allowed_effective = d.allowed;
  // Never sleep past the call's deadline.
  if (!d.retry || stage_.attempts == 0 || d.wait >= remaining()) return false;
  emit(RouterEventType::kRetry, &error, entry, duration_to_seconds(d.wait));
  schedule_attempt(d.wait);
  return true;
}

void Call::next_stage_or_fail() {
  while (next_fallback_ < fallback_queue_.size()) {
    const std::string& name = fallback_queue_[next_fallback_++];
    auto res = pool_->resolve(name);
    if (!res) {
      fallback_errors_.push_back(fmt::format("{} → no such model group", name));
      continue;
    }
    // stage_ is still the group that failed.
    emit(RouterEventType::kFallback, primary_error_ ? &*primary_error_ : nullptr, nullptr, 0, name);
    in_fallbacks_ = true;
    ++fallbacks_entered_;
    begin_stage(Stage::from(name, std::move(*res)));
    return;
  }
  Error final_error = primary_error_ ? std::move(*primary_error_) : Error(ErrorKind::kInternalServer, "call failed");
  if (!fallback_errors_.empty()) {
    final_error.message += fmt::format(". Fallbacks tried: {}", fmt::join(fallback_errors_, "; "));
  }
  fail(std::move(final_error));
}

void Call::fill_metadata(RouterMetadata& m) {
  m.call_id = id_;
  m.requested_model = request_.model;
  m.model_group = stage_.group_name;
  if (in_fallbacks_) m.fallback_model_group = stage_.group_name;
  const PoolEntry* current = attempt_.entry;
  const PoolEntry* e = current ? current : last_failed_;
  if (e) {
    const DeploymentConfig& dc = e->deployment->config();
    m.deployment_id = dc.id;
    m.deployment_model = attempt_.answer.served_model.empty() ? dc.provider_model : attempt_.answer.served_model;
    m.provider = e->provider ? std::string(e->provider->name()) : "mock";
    m.api_base = dc.api_base;
  }
  m.attempts = total_attempts_;
  m.retries = std::max(0, stage_.attempts - 1);
  m.max_retries = stage_.retries_allowed_effective >= 0 ? stage_.retries_allowed_effective : stage_.retries_allowed;
  m.fallbacks = fallbacks_entered_;
  m.latency_ms = ms_between(started_, core_.loop->now());
  m.time_to_first_token_ms = relay_.content_delivered() ? ms_between(started_, relay_.first_token_at()) : -1;
  m.malformed_events = relay_.malformed_events();
  m.stream_continuations = continuations_;
  m.attempt_log = std::move(attempt_log_);  // the call ends right after
  // Only the attempt that served is billed.
  if (current) m.response_cost = cost_of(current->deployment->config(), attempt_.answer.usage);
}

void Call::succeed(Response response) {
  if (const PoolEntry* e = attempt_.entry) {
    const TimePoint now = core_.loop->now();
    const DeploymentConfig& dc = e->deployment->config();
    const Usage& usage = attempt_.answer.usage;
    const bool was_probe = attempt_.probe;
    core_.cooldowns->record_success(*e->health);
    attempt_.probe = false;
    if (was_probe) emit(RouterEventType::kRecovered, nullptr, e);
    if (usage.reported) e->deployment->count_tokens(now, usage.prompt_tokens + usage.completion_tokens);
    if (core_.budgets && usage.reported) core_.budgets->record_spend(dc, cost_of(dc, usage), now);
    attempt_log_.push_back(AttemptRecord{stage_.group_name, dc.id, "", 0, ms_between(attempt_.started, now)});
  }
  fill_metadata(response.metadata);
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
  if (core_.on_event) {
    RouterEvent ev;
    ev.type = result.ok() ? RouterEventType::kSuccess : RouterEventType::kFailure;
    ev.call_id = id_;
    ev.model_group = stage_.group_name;
    const PoolEntry* e = attempt_.entry ? attempt_.entry : last_failed_;
    if (e) ev.deployment_id = e->deployment->id();
    ev.error = result.ok() ? nullptr : &result.error();
    ev.metadata = result.ok() ? &result.value().metadata : &result.error().metadata;
    if (result.ok()) ev.usage = &result.value().usage;
    core_.emit(ev);
  }
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

void Call::emit(RouterEventType type, const Error* error, const PoolEntry* entry, double seconds,
                std::string_view fallback_group) {
  if (!core_.on_event) return;
  RouterEvent ev;
  ev.type = type;
  ev.call_id = id_;
  ev.model_group = stage_.group_name;
  if (entry) ev.deployment_id = entry->deployment->id();
  ev.error = error;
  ev.fallback_group = fallback_group;
  if (type == RouterEventType::kCooldown) ev.cooldown_seconds = seconds;
  if (type == RouterEventType::kRetry) ev.retry_in_seconds = seconds;
  core_.emit(ev);
}

void Call::cancel() {
  EntryGuard guard(this);
  if (state_ == State::kDone) return;
  cancel_requested_ = true;
  switch (state_) {
    case State::kInFlight:
      core_.loop->cancel_transfer(transfer_);  // on_complete(kCancelled) follows
      break;
    case State::kWaiting:
      cancel_timer();
      fail(Error(ErrorKind::kCancelled, "call cancelled"));
      break;
    case State::kWaitingForSlot:
      stop_waiting_for_slot();
      fail(Error(ErrorKind::kCancelled, "call cancelled"));
      break;
    case State::kIdle:
    case State::kDone:
      break;  // start() sees the flag
  }
}

void RouterCore::emit(const RouterEvent& event) const {
  if (!on_event) return;
  try {
    on_event(event);
  } catch (...) {
    // An observer must not break routing.
  }
}

void RouterCore::wake_slot_waiter(const std::string& group) {
  auto it = slot_waiters.find(group);
  if (it == slot_waiters.end() || it->second.empty()) return;
  Call* waiter = it->second.front();
  it->second.pop_front();
  if (it->second.empty()) slot_waiters.erase(it);
  waiter->wake();
}

}  // namespace llmux::router
