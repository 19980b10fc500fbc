#include "router/call.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "health/pricing.hpp"
#include "health/retry_policy.hpp"
#include "provider/mock_response.hpp"

namespace llmux::router {
namespace {

double ms_between(TimePoint a, TimePoint b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

Duration to_duration(std::optional<double> seconds) {
  return seconds && *seconds > 0 ? seconds_to_duration(*seconds) : Duration::max();
}

// Providers sometimes echo the key they were given ("Incorrect API key
// provided: sk-..."): keys never leave the router (DESIGN.md §3.5).
void redact_secret(std::string& text, const std::string& secret) {
  if (secret.size() < 4) return;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "[REDACTED]");
  }
}

bool is_2xx(int status) { return status >= 200 && status < 300; }

bool streaming_call(CallMode mode, const json::ParsedRequest& r) {
  return mode == CallMode::kStream || (mode == CallMode::kCompletion && r.stream);
}

// The deployment went silent: no connection, no first byte or token in
// time, or a stream that stalled (even after content). LiteLLM would retry it
// in place; llmux excludes it for the rest of the call and fails over at once
// (DESIGN.md §4).
bool silent_timeout(const transport::TransferResult& r) {
  using transport::TransferError;
  if (r.error == TransferError::kConnectTimeout || r.error == TransferError::kFirstByteTimeout ||
      r.error == TransferError::kIdleTimeout) {
    return true;
  }
  return r.error == TransferError::kTotalTimeout && r.first_byte == TimePoint{};
}

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

}  // namespace

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

Call::Call(RouterCore& core, std::shared_ptr<const DeploymentPool> pool, uint64_t id, CallMode mode,
           json::ParsedRequest request, ChunkCallback on_chunk, DoneCallback on_done)
    : core_(core),
      pool_(std::move(pool)),
      id_(id),
      mode_(mode),
      request_(std::move(request)),
      on_chunk_(std::move(on_chunk)),
      on_done_(std::move(on_done)) {}

Call::~Call() = default;

void Call::start() {
  EntryGuard guard(this);
  started_ = core_.loop->now();
  const double total = request_.router.total_timeout_seconds.value_or(core_.settings.total_timeout_seconds);
  deadline_ = total > 0 ? started_ + seconds_to_duration(total) : TimePoint::max();
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
  Stage s;
  s.group_name = std::move(res->group_name);
  s.group = res->group;
  s.single = res->single;
  s.wildcard_captures = std::move(res->wildcard_captures);

  const auto& ro = request_.router;
  // LiteLLM raises these before any backend call, so they skip retries and go
  // straight to fallbacks (reference §6.1 step 2).
  std::optional<Error> mock_fallback_error;
  if (ro.mock_testing_fallbacks) {
    mock_fallback_error = Error(ErrorKind::kInternalServer, "This is a mock exception for model fallbacks (mock_testing_fallbacks=true)");
  } else if (ro.mock_testing_context_fallbacks) {
    mock_fallback_error = Error(ErrorKind::kContextWindowExceeded,
                                "This is a mock exception for context window fallbacks (mock_testing_context_fallbacks=true)");
  } else if (ro.mock_testing_content_policy_fallbacks) {
    mock_fallback_error = Error(ErrorKind::kContentPolicyViolation,
                                "This is a mock exception for content policy fallbacks "
                                "(mock_testing_content_policy_fallbacks=true)");
  }
  stage_ = std::move(s);
  if (mock_fallback_error) {
    handle_failure(std::move(*mock_fallback_error), nullptr, FailureInfo{.retryable = false});
    return;
  }
  begin_stage(std::move(stage_));
}

void Call::begin_stage(Stage stage) {
  stage_ = std::move(stage);
  stage_.attempts = 0;
  stage_.retries_allowed = request_.router.num_retries.value_or(core_.settings.num_retries);
  stage_.retries_allowed_effective = -1;
  last_failed_ = nullptr;
  attempt();
}

void Call::reset_attempt_state() {
  sse_.reset();
  pending_chunks_.clear();
  saw_done_ = false;
  stream_error_.reset();
  usage_ = Usage{};
  finish_reason_.clear();
  served_model_.clear();
  current_ = nullptr;
  probe_ = false;
  attempt_has_content_ = false;
  first_token_expired_ = false;
  first_token_limit_ = Duration::max();
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

Duration Call::attempt_timeout() const {
  const DeploymentConfig& dc = current_->deployment->config();
  const auto& ro = request_.router;
  std::optional<double> total = ro.timeout_seconds;
  if (!total) total = dc.timeout_seconds;
  if (!total) total = core_.settings.timeout_seconds;
  if (streaming_call(mode_, request_)) {
    std::optional<double> st = ro.stream_timeout_seconds;
    if (!st) st = dc.stream_timeout_seconds;
    if (!st) st = core_.settings.stream_timeout_seconds;
    if (st) total = st;
  }
  return to_duration(total);
}

bool Call::has_alternative(size_t candidates_left) const {
  if (candidates_left > 1) return true;
  if (in_fallbacks_) return next_fallback_ < fallback_queue_.size();
  if (request_.router.disable_fallbacks) return false;
  // The primary group's fallbacks for a timeout do not change during the call:
  // look them up once, not on every streaming attempt.
  if (!timeout_fallback_exists_) {
    timeout_fallback_exists_ =
        !health::fallback_groups_for(stage_.group_name, Error(ErrorKind::kTimeout, ""), fallback_inputs()).empty();
  }
  return *timeout_fallback_exists_;
}

void Call::attempt() {
  if (cancel_requested_) {
    fail(Error(ErrorKind::kCancelled, "call cancelled"));
    return;
  }
  if (remaining() <= Duration::zero()) {
    Error e(ErrorKind::kTimeout, fmt::format("call deadline reached (total_timeout {} s)",
                                             request_.router.total_timeout_seconds.value_or(core_.settings.total_timeout_seconds)));
    if (primary_error_) e.message += fmt::format("; last error: {}", primary_error_->to_string());
    fail(std::move(e));
    return;
  }
  reset_attempt_state();
  const TimePoint now = core_.loop->now();

  auto& entries = core_.scratch_entries;
  auto& candidates = core_.scratch_candidates;
  entries.clear();
  if (stage_.single) {
    entries.push_back(stage_.single);
  } else if (stage_.group) {
    entries.insert(entries.end(), stage_.group->members.begin(), stage_.group->members.end());
  }
  FilterInput in;
  in.now = now;
  in.settings = &core_.settings;
  in.request = &request_;
  in.group_name = stage_.group_name;
  in.enforce_rate_limits = core_.settings.enable_pre_call_checks || core_.strategy->enforces_rate_limits();
  in.budgets = core_.budgets;
  in.excluded = excluded_;
  in.avoid = last_failed_;
  in.addressed_by_id = stage_.single != nullptr;
  FilterReport& report = core_.scratch_report;
  report.clear();
  filter_candidates(in, entries, report);
  if (entries.empty()) {
    if (report.only_busy(entries.size())) {
      wait_for_slot();
      return;
    }
    handle_failure(no_candidates_error(in, report), nullptr, FailureInfo{.retryable = false});
    return;
  }
  size_t index = 0;
  if (entries.size() > 1 || core_.strategy->enforces_rate_limits()) {
    candidates.clear();
    for (const PoolEntry* e : entries) candidates.push_back(e->deployment.get());
    PickContext ctx{stage_.group_name, request_.estimated_prompt_tokens, streaming_call(mode_, request_), now};
    index = core_.strategy->pick(ctx, std::span<const Deployment* const>(candidates), *core_.rng);
    if (index == Strategy::kNoDeployment) {
      handle_failure(Error(ErrorKind::kNoDeploymentsAvailable,
                           fmt::format("No deployments available for selected model: routing strategy '{}' found none "
                                       "of {} candidates usable. Passed model={}",
                                       core_.strategy->name(), entries.size(), stage_.group_name)),
                     nullptr, FailureInfo{.retryable = false});
      return;
    }
    if (index >= entries.size()) index = 0;  // a custom strategy returned garbage
  }
  const size_t candidates_left = entries.size();
  current_ = entries[index];
  probe_ = is_probe_candidate(*current_, now) && core_.cooldowns->begin_probe(*current_->health, now);
  ++stage_.attempts;
  ++total_attempts_;
  const DeploymentConfig& dc = current_->deployment->config();

  if (request_.router.mock_testing_rate_limit_error) {
    handle_failure(Error(ErrorKind::kRateLimit, "This is a mock exception for rate limits (mock_testing_rate_limit_error=true)"),
                   current_, FailureInfo{});
    return;
  }
  if (request_.router.mock_timeout) {
    // LiteLLM sleeps past the timeout; the outcome is the same without the wait.
    handle_failure(Error(ErrorKind::kTimeout, "This is a mock timeout (mock_timeout=true)"), current_,
                   FailureInfo{.silent = true});
    return;
  }
  const std::optional<std::string>& mock = request_.router.mock_response ? request_.router.mock_response : dc.mock_response;
  if (mock) {
    serve_mock(*current_, *mock);
    return;
  }
  if (!current_->provider) {
    fail(Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: provider '{}' is not supported", dc.id, dc.provider)));
    return;
  }

  const bool stream = streaming_call(mode_, request_);
  const DeploymentConfig* target = &dc;
  DeploymentConfig expanded;
  if (stage_.wildcard_captures) {
    expanded = dc;
    expanded.provider_model = DeploymentPool::apply_captures(dc.provider_model, *stage_.wildcard_captures);
    target = &expanded;
  }
  Status built = Status::Ok();
  if (continuing_) {
    // The consumer already has part of the answer: continue it here.
    ++continuations_;
    if (provider::accepts_assistant_prefill(*target)) {
      continuation_.begin_attempt(StreamContinuation::Mode::kPrefill);
      built = current_->provider->build_continuation_request(*target, request_, continuation_.delivered_text(), http_);
    } else {
      continuation_.begin_attempt(StreamContinuation::Mode::kRestart);
      built = current_->provider->build_request(*target, request_, stream, http_);
    }
  } else {
    built = current_->provider->build_request(*target, request_, stream, http_);
  }
  if (!built.ok()) {
    handle_failure(built.error(), current_, FailureInfo{.retryable = false});
    return;
  }

  // Per-attempt deadlines (README "Timeouts"): `timeout`/`stream_timeout`
  // with LiteLLM's precedence, llmux's connect / first-token / idle limits,
  // all within the call's total_timeout.
  const auto& ro = request_.router;
  const Duration left = remaining();
  const Duration read = attempt_timeout();
  const Duration connect = to_duration(ro.connect_timeout_seconds ? ro.connect_timeout_seconds
                                                                  : std::optional<double>(core_.settings.connect_timeout_seconds));
  http_.connect_timeout = std::min({connect, read, left});
  if (stream) {
    // A stream's timeout bounds the wait for its first byte and each silence
    // (it is a read timeout in LiteLLM's HTTP client), not its whole length;
    // the call's total_timeout bounds that. A slow first token is cut short
    // only when the call has somewhere else to go.
    const Duration idle = to_duration(ro.stream_idle_timeout_seconds ? ro.stream_idle_timeout_seconds
                                                                     : std::optional<double>(core_.settings.stream_idle_timeout_seconds));
    http_.first_byte_timeout = std::min(read, left);
    http_.idle_timeout = std::min(idle, read);
    http_.total_timeout = left;
    // The first content token (not the head, not a role-only chunk) is
    // awaited on the call's own timer.
    first_token_limit_ = Duration::max();
    if (ro.first_token_timeout_seconds || has_alternative(candidates_left)) {
      first_token_limit_ = to_duration(ro.first_token_timeout_seconds ? ro.first_token_timeout_seconds
                                                                      : std::optional<double>(core_.settings.first_token_timeout_seconds));
    }
  } else {
    // Non-streaming: a request's first_token_timeout bounds the first body byte.
    http_.total_timeout = std::min(read, left);
    if (ro.first_token_timeout_seconds) {
      http_.first_body_timeout = std::min(to_duration(ro.first_token_timeout_seconds), http_.total_timeout);
    }
  }

  const Deployment& d = *current_->deployment;
  d.add_in_flight(1);
  d.count_request(now);
  core_.strategy->on_attempt_start(d, now);
  attempt_open_ = true;
  attempt_started_ = core_.loop->now();
  state_ = State::kInFlight;
  transfer_ = core_.loop->start_transfer(std::move(http_), this);
  http_ = transport::HttpRequest{};
  if (stream && first_token_limit_ < std::min(remaining(), Duration(std::chrono::hours(24 * 365)))) {
    timer_ = core_.loop->schedule(first_token_limit_, [this] {
      EntryGuard guard(this);
      timer_ = 0;
      if (state_ != State::kInFlight || attempt_has_content_) return;
      first_token_expired_ = true;
      core_.loop->cancel_transfer(transfer_);  // on_complete reports it as a silent deployment
    });
  }
}

void Call::wait_for_slot() {
  state_ = State::kWaitingForSlot;
  waiting_group_ = stage_.single ? stage_.single->deployment->model_group() : stage_.group->name;
  core_.slot_waiters[waiting_group_].push_back(this);
  const Duration left = remaining();
  timer_ = core_.loop->schedule(left, [this] {
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
  if (timer_ != 0) {
    core_.loop->cancel_timer(timer_);
    timer_ = 0;
  }
}

void Call::wake() {
  // From another call's attempt end: retry on the next loop turn, not inside
  // that call's frames.
  if (state_ != State::kWaitingForSlot) return;
  stop_waiting_for_slot();
  timer_ = core_.loop->schedule(Duration::zero(), [this] {
    EntryGuard guard(this);
    timer_ = 0;
    state_ = State::kIdle;
    attempt();
  });
  state_ = State::kWaiting;
}

void Call::close_attempt(const PoolEntry& entry, bool success, std::optional<ErrorKind> error) {
  if (!attempt_open_) return;
  attempt_open_ = false;
  const Deployment& d = *entry.deployment;
  d.add_in_flight(-1);
  AttemptOutcome o;
  o.success = success;
  o.error = error;
  o.at = core_.loop->now();
  o.stream = streaming_call(mode_, request_);
  o.latency = core_.loop->now() - attempt_started_;
  if (success && first_token_at_ > attempt_started_) o.time_to_first_token = first_token_at_ - attempt_started_;
  o.prompt_tokens = usage_.prompt_tokens;
  o.completion_tokens = usage_.completion_tokens;
  core_.strategy->on_attempt_end(d, o);
  if (entry.max_parallel >= 0) core_.wake_slot_waiter(d.model_group());
}

void Call::serve_mock(const PoolEntry& entry, const std::string& mock) {
  if (provider::mock_is_error(mock)) {
    handle_failure(provider::mock_error(mock), &entry, FailureInfo{});
    return;
  }
  const DeploymentConfig& dc = entry.deployment->config();
  const std::string& model = dc.provider_model.empty() ? dc.model : dc.provider_model;
  served_model_ = model;
  attempt_started_ = core_.loop->now();
  Response r;
  if (mode_ == CallMode::kEmbedding) {
    r.body = provider::mock_embedding_body(model, 1);
  } else if (streaming_call(mode_, request_)) {
    auto chunks = provider::mock_stream_chunks(model, mock, request_.include_usage);
    for (const auto& c : chunks) {
      if (!content_delivered_) {
        content_delivered_ = true;
        first_token_at_ = core_.loop->now();
      }
      if (!deliver_chunk(c)) {
        fail(Error(ErrorKind::kCancelled, "stream stopped by the consumer"));
        return;
      }
    }
    finish_reason_ = "stop";
  } else {
    Usage u;
    u.prompt_tokens = request_.estimated_prompt_tokens;
    u.completion_tokens = static_cast<int64_t>(std::count(mock.begin(), mock.end(), ' ') + 1);
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
    u.reported = true;
    usage_ = u;
    r.body = provider::mock_completion_body(model, mock, u);
    finish_reason_ = "stop";
  }
  r.usage = usage_;
  r.finish_reason = finish_reason_;
  succeed(std::move(r));
}

void Call::on_headers(int, const transport::Headers&) {}

bool Call::deliver_chunk(std::string_view chunk) {
  if (!on_chunk_) return true;  // completion() of a "stream": true request: chunks are not wanted
  try {
    return on_chunk_(chunk);
  } catch (...) {
    return false;  // a throwing consumer stops its stream; it must not unwind through libcurl
  }
}

bool Call::flush_pending_chunks() {
  for (const auto& [data, info] : pending_chunks_) {
    if (!deliver_chunk(data)) {
      user_stopped_ = true;
      pending_chunks_.clear();
      return false;
    }
    continuation_.record_delivered(info);
  }
  pending_chunks_.clear();
  return true;
}

bool Call::process_event(std::string_view data) {
  if (saw_done_) return true;  // anything after [DONE] is ignored
  provider::ChunkInfo ci = current_->provider->inspect_chunk(data);
  switch (ci.kind) {
    case provider::ChunkInfo::Kind::kDone:
      saw_done_ = true;
      return true;
    case provider::ChunkInfo::Kind::kMalformed:
      ++malformed_events_;
      return true;
    case provider::ChunkInfo::Kind::kError:
      stream_error_ = ci.error ? std::move(*ci.error) : Error(ErrorKind::kInternalServer, "provider sent an error event");
      return false;
    case provider::ChunkInfo::Kind::kChunk:
      break;
  }
  if (ci.has_content || !ci.finish_reason.empty()) attempt_has_content_ = true;
  if (ci.usage) usage_ = *ci.usage;
  if (!ci.finish_reason.empty()) finish_reason_ = ci.finish_reason;
  if (!ci.model.empty() && served_model_.empty()) served_model_ = ci.model;
  // A usage-only chunk (choices: []) reaches the caller only if it asked for usage.
  const bool deliverable = ci.has_choices || request_.include_usage;
  if (!deliverable) return true;
  if (continuing_) {
    StreamContinuation::Verdict v = continuation_.on_chunk(data, ci);
    switch (v.action) {
      case StreamContinuation::Verdict::Action::kSuppress:
        return true;
      case StreamContinuation::Verdict::Action::kDiverged:
        stream_error_ = Error(ErrorKind::kMidStream,
                              fmt::format("stream from deployment {} restarted after a failure but its text diverged "
                                          "from what was already delivered: {}",
                                          current_->deployment->id(), continuation_.divergence()));
        diverged_ = true;
        return false;
      case StreamContinuation::Verdict::Action::kDeliverRewritten:
        if (!deliver_chunk(v.chunk)) {
          user_stopped_ = true;
          return false;
        }
        return true;
      case StreamContinuation::Verdict::Action::kDeliver:
        break;
    }
    if (!deliver_chunk(data)) {
      user_stopped_ = true;
      return false;
    }
    return true;
  }
  if (!content_delivered_) {
    // Hold chunks back until the first content token, so that a failure
    // before it can be retried invisibly.
    pending_chunks_.emplace_back(std::string(data), std::move(ci));
    const auto& held = pending_chunks_.back().second;
    if (held.has_content || !held.finish_reason.empty()) {
      content_delivered_ = true;
      first_token_at_ = core_.loop->now();
      return flush_pending_chunks();
    }
    return true;
  }
  if (!deliver_chunk(data)) {
    user_stopped_ = true;
    return false;
  }
  continuation_.record_delivered(ci);
  return true;
}

bool Call::on_body(std::string_view bytes) {
  EntryGuard guard(this);
  return sse_.feed(bytes, [this](const transport::SseEvent& ev) { return process_event(ev.data); });
}

void Call::on_complete(transport::TransferResult&& result) {
  EntryGuard guard(this);
  transfer_ = 0;
  state_ = State::kIdle;
  if (timer_ != 0) {  // the first-token timer
    core_.loop->cancel_timer(timer_);
    timer_ = 0;
  }
  const PoolEntry* entry = current_;
  if (first_token_expired_ && !cancel_requested_ && result.error == transport::TransferError::kCancelled) {
    result.error = transport::TransferError::kFirstByteTimeout;
    result.error_message = fmt::format("no first token within {:.3f} s", duration_to_seconds(first_token_limit_));
  }

  if (cancel_requested_ || result.error == transport::TransferError::kCancelled || user_stopped_) {
    close_attempt(*entry, false, ErrorKind::kCancelled);
    if (probe_) core_.cooldowns->end_probe_without_verdict(*entry->health);
    probe_ = false;
    fail(Error(ErrorKind::kCancelled, user_stopped_ && !cancel_requested_ ? "stream stopped by the consumer" : "call cancelled"));
    return;
  }
  const bool stream = streaming_call(mode_, request_);
  if (stream && is_2xx(result.status)) {
    std::optional<Error> err = std::move(stream_error_);
    if (!err && result.error != transport::TransferError::kNone) err = entry->provider->classify_failure(result);
    if (!err && continuing_ && !continuation_.prefix_repeated()) {
      err = Error(ErrorKind::kMidStream,
                  fmt::format("stream from deployment {} restarted after a failure but ended before reaching the text "
                              "already delivered",
                              entry->deployment->id()));
      diverged_ = true;
    }
    if (err) {
      close_attempt(*entry, false, err->kind);
      if (diverged_) {
        // Not the deployment's fault: no health verdict.
        handle_failure(std::move(*err), entry, FailureInfo{.retryable = false, .health = false});
      } else if (content_delivered_ && (!continuation_.can_continue() || several_choices(request_))) {
        handle_failure(Error(ErrorKind::kMidStream,
                             fmt::format("stream from deployment {} failed after content was delivered: {}",
                                         entry->deployment->id(), err->to_string())),
                       entry, FailureInfo{.retryable = false});
      } else {
        // Before the first token: retried invisibly. After it: continued on
        // another deployment (prefill or restart with the prefix suppressed).
        if (content_delivered_) continuing_ = true;
        handle_failure(std::move(*err), entry, FailureInfo{.silent = silent_timeout(result)});
      }
      return;
    }
    // Clean end, with or without [DONE]: finalise at once.
    close_attempt(*entry, true, std::nullopt);
    if (!flush_pending_chunks()) {
      if (probe_) core_.cooldowns->end_probe_without_verdict(*entry->health);
      probe_ = false;
      fail(Error(ErrorKind::kCancelled, "stream stopped by the consumer"));
      return;
    }
    Response r;
    r.status = result.status;
    r.headers = std::move(result.headers);
    r.usage = usage_;
    r.finish_reason = finish_reason_;
    succeed(std::move(r));
    return;
  }
  if (result.error == transport::TransferError::kNone && is_2xx(result.status)) {
    auto info = entry->provider->inspect_response(result.body, request_.endpoint);
    if (!info.ok()) {
      close_attempt(*entry, false, info.error().kind);
      handle_failure(std::move(info).error(), entry, FailureInfo{});
      return;
    }
    usage_ = info->usage;
    finish_reason_ = info->finish_reason;
    served_model_ = info->model;
    close_attempt(*entry, true, std::nullopt);
    if (finish_reason_ == "content_filter" && content_filter_fallback_exists()) {
      // LiteLLM's _should_raise_content_policy_error (reference §6.8): a
      // filtered answer moves to the content-policy fallback when one exists.
      // The deployment itself worked.
      core_.cooldowns->record_success(*entry->health);
      probe_ = false;
      handle_failure(Error(ErrorKind::kContentPolicyViolation, "Response output was blocked."), entry,
                     FailureInfo{.retryable = false, .health = false});
      return;
    }
    Response r;
    r.status = result.status;
    r.body = std::move(result.body);
    r.headers = std::move(result.headers);
    r.usage = usage_;
    r.finish_reason = finish_reason_;
    succeed(std::move(r));
    return;
  }
  Error err = entry->provider->classify_failure(result);
  close_attempt(*entry, false, err.kind);
  handle_failure(std::move(err), entry, FailureInfo{.silent = silent_timeout(result)});
}

bool Call::content_filter_fallback_exists() const {
  if (request_.router.disable_fallbacks || in_fallbacks_) return false;
  const auto& ro = request_.router;
  // Only content_policy_fallbacks route around a refusal (fallback_groups_for).
  const auto& cp = ro.content_policy_fallbacks ? *ro.content_policy_fallbacks : core_.settings.content_policy_fallbacks;
  return std::any_of(cp.begin(), cp.end(),
                     [&](const FallbackRule& r) { return r.group == stage_.group_name && !r.targets.empty(); });
}

health::FallbackInputs Call::fallback_inputs() const {
  const auto& ro = request_.router;
  health::FallbackInputs in;
  in.fallbacks = ro.fallbacks ? &*ro.fallbacks : &core_.settings.fallbacks;
  in.context_window_fallbacks =
      ro.context_window_fallbacks ? &*ro.context_window_fallbacks : &core_.settings.context_window_fallbacks;
  in.content_policy_fallbacks =
      ro.content_policy_fallbacks ? &*ro.content_policy_fallbacks : &core_.settings.content_policy_fallbacks;
  in.client_fallbacks = ro.client_fallbacks ? &*ro.client_fallbacks : nullptr;
  in.max_fallbacks = ro.max_fallbacks.value_or(core_.settings.max_fallbacks);
  return in;
}

void Call::handle_failure(Error error, const PoolEntry* entry, FailureInfo info) {
  const TimePoint now = core_.loop->now();
  if (entry) {
    const DeploymentConfig& dc = entry->deployment->config();
    error.llm_provider = dc.provider;
    redact_secret(error.message, dc.api_key);
    if (error.kind != ErrorKind::kCancelled && info.health) {
      health::FailureEvent ev;
      ev.kind = error.kind;
      ev.status = error.status;
      ev.retry_after_seconds = error.retry_after_seconds;
      ev.message = error.message;
      ev.group_size = stage_.group ? stage_.group->members.size() : 1;
      ev.wildcard_deployment = entry->wildcard;
      ev.deployment_cooldown_seconds = dc.cooldown_time_seconds;
      ev.request_cooldown_seconds = request_.router.cooldown_time_seconds;
      if (std::optional<double> cooled = core_.cooldowns->record_failure(*entry->health, ev)) {
        emit(RouterEventType::kCooldown, &error, entry, *cooled);
      }
    } else if (probe_) {
      core_.cooldowns->end_probe_without_verdict(*entry->health);
    }
    probe_ = false;
    attempt_log_.push_back(AttemptRecord{stage_.group_name, dc.id, std::string(error_kind_name(error.kind)),
                                         error.status, ms_between(attempt_started_, core_.loop->now())});
    last_failed_ = entry;
    if (info.silent) excluded_.push_back(entry);
  }
  if (cancel_requested_) {
    fail(Error(ErrorKind::kCancelled, "call cancelled"));
    return;
  }
  bool retryable = info.retryable;
  if (error.kind == ErrorKind::kMidStream || error.kind == ErrorKind::kInvalidConfig) retryable = false;
  const bool out_of_time = remaining() <= Duration::zero();

  if (retryable && !out_of_time) {
    health::RetryContext ctx;
    ctx.healthy_deployments = healthy_in_stage(now);
    ctx.group_size = stage_.single ? 1 : (stage_.group ? stage_.group->members.size() : 0);
    const auto& ro = request_.router;
    ctx.context_window_fallbacks_configured =
        ro.context_window_fallbacks ? !ro.context_window_fallbacks->empty() : !core_.settings.context_window_fallbacks.empty();
    ctx.content_policy_fallbacks_configured =
        ro.content_policy_fallbacks ? !ro.content_policy_fallbacks->empty() : !core_.settings.content_policy_fallbacks.empty();

    int allowed = stage_.retries_allowed;
    if (entry && entry->deployment->config().num_retries) allowed = *entry->deployment->config().num_retries;
    const int retries_done = std::max(0, stage_.attempts - 1);
    bool retry = false;
    const RetryPolicy* policy = health::retry_policy_for(core_.settings, stage_.group_name);
    std::optional<int> from_policy = policy ? health::retries_from_policy(*policy, error.kind) : std::nullopt;
    if (from_policy) {
      allowed = *from_policy;
      retry = retries_done < *from_policy;
    } else {
      retry = retries_done < allowed && health::should_retry_error(error, ctx);
    }
    // A silent deployment is failed over: retry only if another one is left.
    if (retry && info.silent && ctx.healthy_deployments == 0) retry = false;
    stage_.retries_allowed_effective = allowed;
    if (retry && stage_.attempts > 0) {
      const Duration wait =
          health::retry_backoff(error, ctx, retries_done, core_.settings.retry_after_seconds, *core_.rng);
      // Never sleep past the call's deadline.
      if (wait < remaining()) {
        emit(RouterEventType::kRetry, &error, entry, duration_to_seconds(wait));
        state_ = State::kWaiting;
        timer_ = core_.loop->schedule(wait, [this] {
          EntryGuard guard(this);
          timer_ = 0;
          state_ = State::kIdle;
          attempt();
        });
        return;
      }
    }
  }

  // This group is done: on to fallbacks.
  if (!in_fallbacks_) {
    const auto& ro = request_.router;
    if (!ro.disable_fallbacks && !out_of_time && error.kind != ErrorKind::kMidStream &&
        error.kind != ErrorKind::kInvalidConfig) {
      fallback_queue_ = health::fallback_groups_for(stage_.group_name, error, fallback_inputs());
    }
    primary_error_ = std::move(error);
  } else {
    fallback_errors_.push_back(fmt::format("{} → {}", stage_.group_name, error.to_string()));
    if (out_of_time || error.kind == ErrorKind::kMidStream) next_fallback_ = fallback_queue_.size();
  }
  next_stage_or_fail();
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
    Stage s;
    s.group_name = name;
    s.group = res->group;
    s.single = res->single;
    s.wildcard_captures = std::move(res->wildcard_captures);
    last_failed_ = nullptr;
    begin_stage(std::move(s));
    return;
  }
  Error final_error = primary_error_ ? std::move(*primary_error_) : Error(ErrorKind::kInternalServer, "call failed");
  if (!fallback_errors_.empty()) {
    std::string tail;
    for (const auto& f : fallback_errors_) tail += (tail.empty() ? "" : "; ") + f;
    final_error.message += fmt::format(". Fallbacks tried: {}", tail);
  }
  fail(std::move(final_error));
}

void Call::fill_metadata(RouterMetadata& m) {
  m.call_id = id_;
  m.requested_model = request_.model;
  m.model_group = stage_.group_name;
  if (in_fallbacks_) m.fallback_model_group = stage_.group_name;
  const PoolEntry* e = current_ ? current_ : last_failed_;
  if (e) {
    const DeploymentConfig& dc = e->deployment->config();
    m.deployment_id = dc.id;
    m.deployment_model = served_model_.empty() ? dc.provider_model : served_model_;
    m.provider = e->provider ? std::string(e->provider->name()) : "mock";
    m.api_base = dc.api_base;
  }
  m.attempts = total_attempts_;
  m.retries = std::max(0, stage_.attempts - 1);
  m.max_retries = stage_.retries_allowed_effective >= 0 ? stage_.retries_allowed_effective : stage_.retries_allowed;
  m.fallbacks = fallbacks_entered_;
  m.latency_ms = ms_between(started_, core_.loop->now());
  m.time_to_first_token_ms = content_delivered_ ? ms_between(started_, first_token_at_) : -1;
  m.malformed_events = malformed_events_;
  m.stream_continuations = continuations_;
  m.attempt_log = std::move(attempt_log_);  // the call ends right after
  // Only the attempt that served is billed.
  if (e && current_) m.response_cost = cost_of(e->deployment->config(), usage_);
}

void Call::succeed(Response response) {
  if (current_) {
    const TimePoint now = core_.loop->now();
    const DeploymentConfig& dc = current_->deployment->config();
    const bool was_probe = probe_;
    core_.cooldowns->record_success(*current_->health);
    probe_ = false;
    if (was_probe) emit(RouterEventType::kRecovered, nullptr, current_);
    if (usage_.reported) current_->deployment->count_tokens(now, usage_.prompt_tokens + usage_.completion_tokens);
    if (core_.budgets && usage_.reported) core_.budgets->record_spend(dc, cost_of(dc, usage_), now);
    attempt_log_.push_back(AttemptRecord{stage_.group_name, dc.id, "", 0, ms_between(attempt_started_, core_.loop->now())});
  }
  fill_metadata(response.metadata);
  finish(std::move(response));
}

void Call::fail(Error error) {
  // Part of the answer reached the consumer: whatever ended the call, it is
  // a mid-stream failure, never a short success.
  if (content_delivered_ && error.kind != ErrorKind::kMidStream && error.kind != ErrorKind::kCancelled) {
    error = Error(ErrorKind::kMidStream,
                  fmt::format("stream failed after content was delivered: {}", error.to_string()));
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
    const PoolEntry* e = current_ ? current_ : last_failed_;
    if (e) ev.deployment_id = e->deployment->id();
    ev.error = result.ok() ? nullptr : &result.error();
    ev.metadata = result.ok() ? &result.value().metadata : &result.error().metadata;
    if (result.ok()) ev.usage = &result.value().usage;
    core_.emit(ev);
  }
  DoneCallback cb = std::move(on_done_);
  on_done_ = nullptr;
  on_chunk_ = nullptr;
  if (cb) {
    try {
      cb(std::move(result));
    } catch (...) {
      // A throwing callback must not take the I/O thread down.
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
      core_.loop->cancel_timer(timer_);
      timer_ = 0;
      fail(Error(ErrorKind::kCancelled, "call cancelled"));
      break;
    case State::kWaitingForSlot:
      stop_waiting_for_slot();
      fail(Error(ErrorKind::kCancelled, "call cancelled"));
      break;
    case State::kIdle:
      break;  // start() sees the flag
    case State::kDone:
      break;
  }
}

}  // namespace llmux::router
