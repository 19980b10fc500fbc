#include "router/call.hpp"

#include <algorithm>

#include <fmt/format.h>

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

}  // namespace

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
  started_ = Clock::now();
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
    handle_failure(std::move(*mock_fallback_error), nullptr, /*retryable=*/false);
    return;
  }
  begin_stage(std::move(stage_));
}

void Call::begin_stage(Stage stage) {
  stage_ = std::move(stage);
  stage_.attempts = 0;
  stage_.retries_allowed = request_.router.num_retries.value_or(core_.settings.num_retries);
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
}

size_t Call::healthy_in_stage(TimePoint now) const {
  if (stage_.single) return 0;  // addressed by id: LiteLLM reports no healthy deployments (reference §6.2 step 7)
  if (!stage_.group) return 0;
  size_t n = 0;
  for (const PoolEntry* e : stage_.group->members) n += e->health->cooling_down(now) ? 0 : 1;
  return n;
}

Error Call::no_deployments_error(TimePoint now) const {
  double soonest = -1;
  std::string ids;
  if (stage_.group) {
    for (const PoolEntry* e : stage_.group->members) {
      if (!e->health->cooling_down(now)) continue;
      const double left = duration_to_seconds(e->health->cooldown_until() - now);
      if (soonest < 0 || left < soonest) soonest = left;
      ids += (ids.empty() ? "" : ", ") + e->deployment->id();
    }
  }
  if (soonest < 0) soonest = core_.settings.cooldown_time_seconds;
  Error e(ErrorKind::kNoDeploymentsAvailable,
          fmt::format("No deployments available for selected model, Try again in {:.1f} seconds. Passed model={}. "
                      "pre-call-checks={}, cooldown_list=[{}]",
                      soonest, stage_.group_name, core_.settings.enable_pre_call_checks ? "True" : "False", ids));
  e.retry_after_seconds = soonest;
  return e;
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

void Call::attempt() {
  if (cancel_requested_) {
    fail(Error(ErrorKind::kCancelled, "call cancelled"));
    return;
  }
  reset_attempt_state();
  const TimePoint now = core_.time->now();

  auto& entries = core_.scratch_entries;
  auto& candidates = core_.scratch_candidates;
  entries.clear();
  if (stage_.single) {
    entries.push_back(stage_.single);  // by id: cooldowns do not apply (LiteLLM)
  } else if (stage_.group) {
    for (const PoolEntry* e : stage_.group->members) {
      if (!e->health->cooling_down(now)) entries.push_back(e);
    }
    // A retry avoids the deployment that just failed when another is healthy.
    if (last_failed_ && entries.size() > 1) {
      auto it = std::find(entries.begin(), entries.end(), last_failed_);
      if (it != entries.end()) entries.erase(it);
    }
  }
  if (entries.empty()) {
    handle_failure(no_deployments_error(now), nullptr, true);
    return;
  }
  size_t index = 0;
  if (entries.size() > 1) {
    candidates.clear();
    for (const PoolEntry* e : entries) candidates.push_back(e->deployment.get());
    PickContext ctx{stage_.group_name, request_.estimated_prompt_tokens, streaming_call(mode_, request_), now};
    index = core_.strategy->pick(ctx, std::span<const Deployment* const>(candidates), *core_.rng);
    if (index >= entries.size()) index = 0;  // a custom strategy returned garbage
  }
  current_ = entries[index];
  ++stage_.attempts;
  ++total_attempts_;
  const DeploymentConfig& dc = current_->deployment->config();

  if (request_.router.mock_testing_rate_limit_error) {
    handle_failure(Error(ErrorKind::kRateLimit, "This is a mock exception for rate limits (mock_testing_rate_limit_error=true)"),
                   current_, true);
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
  Status built = Status::Ok();
  if (stage_.wildcard_captures) {
    DeploymentConfig expanded = dc;
    expanded.provider_model = DeploymentPool::apply_captures(dc.provider_model, *stage_.wildcard_captures);
    built = current_->provider->build_request(expanded, request_, stream, http_);
  } else {
    built = current_->provider->build_request(dc, request_, stream, http_);
  }
  if (!built.ok()) {
    handle_failure(built.error(), current_, false);
    return;
  }

  // Per-attempt deadlines (README "Timeouts"): `timeout`/`stream_timeout`
  // with LiteLLM's precedence, plus llmux's connect / first-token / idle.
  const auto& ro = request_.router;
  const Duration total = attempt_timeout();
  const Duration connect = to_duration(ro.connect_timeout_seconds ? ro.connect_timeout_seconds
                                                                  : std::optional<double>(core_.settings.connect_timeout_seconds));
  Duration first_byte = to_duration(ro.first_token_timeout_seconds ? ro.first_token_timeout_seconds
                                                                   : core_.settings.first_token_timeout_seconds);
  http_.connect_timeout = std::min(connect, total);
  if (stream) {
    // A stream's timeout bounds the wait for its first byte and each silence
    // (it is a read timeout in LiteLLM's HTTP client), not its whole length.
    const Duration idle = to_duration(ro.stream_idle_timeout_seconds ? ro.stream_idle_timeout_seconds
                                                                     : std::optional<double>(core_.settings.stream_idle_timeout_seconds));
    http_.first_byte_timeout = std::min(first_byte, total);
    http_.idle_timeout = std::min(idle, total);
    http_.total_timeout = Duration::max();
  } else {
    http_.first_byte_timeout = std::min(first_byte, total);
    http_.total_timeout = total;
  }

  current_->deployment->add_in_flight(1);
  core_.strategy->on_attempt_start(*current_->deployment, now);
  attempt_started_ = Clock::now();
  state_ = State::kInFlight;
  transfer_ = core_.transport->start(std::move(http_), this);
  http_ = transport::HttpRequest{};
}

void Call::serve_mock(const PoolEntry& entry, const std::string& mock) {
  if (provider::mock_is_error(mock)) {
    handle_failure(provider::mock_error(mock), &entry, true);
    return;
  }
  const DeploymentConfig& dc = entry.deployment->config();
  const std::string& model = dc.provider_model.empty() ? dc.model : dc.provider_model;
  served_model_ = model;
  attempt_started_ = Clock::now();
  Response r;
  if (mode_ == CallMode::kEmbedding) {
    r.body = provider::mock_embedding_body(model, 1);
  } else if (streaming_call(mode_, request_)) {
    auto chunks = provider::mock_stream_chunks(model, mock, request_.include_usage);
    for (const auto& c : chunks) {
      if (!content_delivered_) {
        content_delivered_ = true;
        first_token_at_ = Clock::now();
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
  for (const auto& c : pending_chunks_) {
    if (!deliver_chunk(c)) {
      user_stopped_ = true;
      pending_chunks_.clear();
      return false;
    }
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
  if (ci.usage) usage_ = *ci.usage;
  if (!ci.finish_reason.empty()) finish_reason_ = ci.finish_reason;
  if (!ci.model.empty() && served_model_.empty()) served_model_ = ci.model;
  // A usage-only chunk (choices: []) reaches the caller only if it asked for usage.
  const bool deliverable = ci.has_choices || request_.include_usage;
  if (!deliverable) return true;
  if (!content_delivered_) {
    // Hold chunks back until the first content token, so that a failure
    // before it can be retried invisibly.
    pending_chunks_.emplace_back(data);
    if (ci.has_content || !ci.finish_reason.empty()) {
      content_delivered_ = true;
      first_token_at_ = Clock::now();
      return flush_pending_chunks();
    }
    return true;
  }
  if (!deliver_chunk(data)) {
    user_stopped_ = true;
    return false;
  }
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
  const PoolEntry* entry = current_;
  entry->deployment->add_in_flight(-1);

  if (cancel_requested_ || result.error == transport::TransferError::kCancelled) {
    AttemptOutcome o;
    o.error = ErrorKind::kCancelled;
    core_.strategy->on_attempt_end(*entry->deployment, o);
    fail(Error(ErrorKind::kCancelled, "call cancelled"));
    return;
  }
  if (user_stopped_) {
    AttemptOutcome o;
    o.error = ErrorKind::kCancelled;
    core_.strategy->on_attempt_end(*entry->deployment, o);
    fail(Error(ErrorKind::kCancelled, "stream stopped by the consumer"));
    return;
  }
  const bool stream = streaming_call(mode_, request_);
  if (stream && is_2xx(result.status)) {
    std::optional<Error> err = std::move(stream_error_);
    if (!err && result.error != transport::TransferError::kNone) err = entry->provider->classify_failure(result);
    if (err) {
      if (content_delivered_) {
        handle_failure(Error(ErrorKind::kMidStream,
                             fmt::format("stream from deployment {} failed after content was delivered: {}",
                                         entry->deployment->id(), err->to_string())),
                       entry, false);
      } else {
        handle_failure(std::move(*err), entry, true);
      }
      return;
    }
    // Clean end, with or without [DONE]: finalise at once.
    if (!flush_pending_chunks()) {
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
      handle_failure(std::move(info).error(), entry, true);
      return;
    }
    usage_ = info->usage;
    finish_reason_ = info->finish_reason;
    served_model_ = info->model;
    Response r;
    r.status = result.status;
    r.body = std::move(result.body);
    r.headers = std::move(result.headers);
    r.usage = usage_;
    r.finish_reason = finish_reason_;
    succeed(std::move(r));
    return;
  }
  handle_failure(entry->provider->classify_failure(result), entry, true);
}

void Call::handle_failure(Error error, const PoolEntry* entry, bool retryable) {
  const TimePoint now = core_.time->now();
  if (entry) {
    const DeploymentConfig& dc = entry->deployment->config();
    error.llm_provider = dc.provider;
    redact_secret(error.message, dc.api_key);
    if (error.kind != ErrorKind::kCancelled) {
      health::FailureEvent ev;
      ev.kind = error.kind;
      ev.status = error.status;
      ev.retry_after_seconds = error.retry_after_seconds;
      ev.message = error.message;
      ev.group_size = stage_.group ? stage_.group->members.size() : 1;
      ev.wildcard_deployment = entry->wildcard;
      ev.deployment_cooldown_seconds = dc.cooldown_time_seconds;
      ev.request_cooldown_seconds = request_.router.cooldown_time_seconds;
      core_.cooldowns->record_failure(*entry->health, ev);
      AttemptOutcome o;
      o.error = error.kind;
      o.latency = Clock::now() - attempt_started_;
      core_.strategy->on_attempt_end(*entry->deployment, o);
    }
    last_failed_ = entry;
  }
  if (cancel_requested_) {
    fail(Error(ErrorKind::kCancelled, "call cancelled"));
    return;
  }
  if (error.kind == ErrorKind::kMidStream || error.kind == ErrorKind::kInvalidConfig) retryable = false;

  if (retryable) {
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
      retry = retries_done < *from_policy;
    } else {
      retry = retries_done < allowed && health::should_retry_error(error, ctx);
    }
    if (retry && stage_.attempts > 0) {
      const Duration wait =
          health::retry_backoff(error, ctx, retries_done, core_.settings.retry_after_seconds, *core_.rng);
      state_ = State::kWaiting;
      timer_ = core_.transport->schedule(wait, [this] {
        EntryGuard guard(this);
        timer_ = 0;
        state_ = State::kIdle;
        attempt();
      });
      return;
    }
  }

  // This group is done: on to fallbacks.
  if (!in_fallbacks_) {
    const auto& ro = request_.router;
    if (!ro.disable_fallbacks && error.kind != ErrorKind::kMidStream && error.kind != ErrorKind::kInvalidConfig) {
      health::FallbackInputs in;
      in.fallbacks = ro.fallbacks ? &*ro.fallbacks : &core_.settings.fallbacks;
      in.context_window_fallbacks =
          ro.context_window_fallbacks ? &*ro.context_window_fallbacks : &core_.settings.context_window_fallbacks;
      in.content_policy_fallbacks =
          ro.content_policy_fallbacks ? &*ro.content_policy_fallbacks : &core_.settings.content_policy_fallbacks;
      in.client_fallbacks = ro.client_fallbacks ? &*ro.client_fallbacks : nullptr;
      in.max_fallbacks = ro.max_fallbacks.value_or(core_.settings.max_fallbacks);
      fallback_queue_ = health::fallback_groups_for(stage_.group_name, error, in);
    }
    primary_error_ = std::move(error);
  } else {
    fallback_errors_.push_back(fmt::format("{} → {}", stage_.group_name, error.to_string()));
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
    in_fallbacks_ = true;
    ++fallbacks_entered_;
    Stage s;
    s.group_name = name;
    s.group = res->group;
    s.single = res->single;
    s.wildcard_captures = std::move(res->wildcard_captures);
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

void Call::fill_metadata(RouterMetadata& m) const {
  m.call_id = id_;
  m.requested_model = request_.model;
  m.model_group = stage_.group_name;
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
  m.fallbacks = fallbacks_entered_;
  m.latency_ms = ms_between(started_, Clock::now());
  m.time_to_first_token_ms = content_delivered_ ? ms_between(started_, first_token_at_) : -1;
  m.malformed_events = malformed_events_;
  if (e && usage_.reported) {
    const DeploymentConfig& dc = e->deployment->config();
    m.response_cost = static_cast<double>(usage_.prompt_tokens) * dc.input_cost_per_token.value_or(0) +
                      static_cast<double>(usage_.completion_tokens) * dc.output_cost_per_token.value_or(0);
  }
}

void Call::succeed(Response response) {
  if (current_) {
    core_.cooldowns->record_success(*current_->health);
    AttemptOutcome o;
    o.success = true;
    o.latency = Clock::now() - attempt_started_;
    if (content_delivered_) o.time_to_first_token = first_token_at_ - attempt_started_;
    o.prompt_tokens = usage_.prompt_tokens;
    o.completion_tokens = usage_.completion_tokens;
    core_.strategy->on_attempt_end(*current_->deployment, o);
  }
  fill_metadata(response.metadata);
  finish(std::move(response));
}

void Call::fail(Error error) {
  fill_metadata(error.metadata);
  finish(std::move(error));
}

void Call::finish(Result<Response> result) {
  if (state_ == State::kDone) return;
  state_ = State::kDone;
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

void Call::cancel() {
  EntryGuard guard(this);
  if (state_ == State::kDone) return;
  cancel_requested_ = true;
  switch (state_) {
    case State::kInFlight:
      core_.transport->cancel(transfer_);  // on_complete(kCancelled) follows
      break;
    case State::kWaiting:
      core_.transport->cancel_timer(timer_);
      timer_ = 0;
      fail(Error(ErrorKind::kCancelled, "call cancelled"));
      break;
    case State::kIdle:
      break;  // start() sees the flag
    case State::kDone:
      break;
  }
}

}  // namespace llmux::router
