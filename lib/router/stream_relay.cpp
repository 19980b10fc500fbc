#include "router/stream_relay.hpp"

#include <fmt/format.h>

namespace llmux::router {

namespace {

bool several_choices(const request::ParsedRequest& r) {
  for (const request::RawField& f : r.kept) {
    if (f.key == "n") return f.value != "1" && f.value != "null";
  }
  return false;
}

}  // namespace

StreamRelay::StreamRelay(ChunkCallback on_chunk, const request::ParsedRequest& request)
    : on_chunk_(std::move(on_chunk)), request_(request), include_usage_(request.include_usage), several_choices_(several_choices(request)) {}

void StreamRelay::begin_attempt(const provider::Provider& provider, const provider::ProviderTarget& target,
                                std::optional<StreamContinuation::Mode> mode) {
  provider_ = &provider;
  sse_.reset();
  translator_ = provider.make_stream_translator(target, request_);
  pending_.clear();
  saw_done_ = false;
  attempt_has_content_ = false;
  error_.reset();
  continuing_ = mode.has_value();
  if (mode) continuation_.begin_attempt(*mode);
}

bool StreamRelay::feed(std::string_view bytes, TimePoint now, AnswerInfo& answer) {
  if (translator_) {
    if (translator_->feed(bytes, [&](std::string_view chunk) { return handle_event(chunk, now, answer); })) return true;
    if (auto e = translator_->take_error(); e && !error_) error_ = std::move(e);
    return false;
  }
  return sse_.feed(bytes, [&](const transport::SseEvent& ev) { return handle_event(ev.data, now, answer); });
}

bool StreamRelay::end_of_body(TimePoint now, AnswerInfo& answer) {
  if (!translator_) return true;
  if (translator_->finish([&](std::string_view chunk) { return handle_event(chunk, now, answer); })) return true;
  if (auto e = translator_->take_error(); e && !error_) error_ = std::move(e);
  return false;
}

bool StreamRelay::deliver(std::string_view chunk) {
  if (!on_chunk_) return true;  // a "stream": true completion: nobody wants the chunks
  bool more = false;
  try {
    more = on_chunk_(chunk);
  } catch (...) {
    more = false;  // a throwing consumer stops its stream; it must not unwind through libcurl
  }
  if (!more) consumer_stopped_ = true;
  return more;
}

bool StreamRelay::flush() {
  for (const auto& [data, info] : pending_) {
    if (!deliver(data)) {
      pending_.clear();
      return false;
    }
    continuation_.record_delivered(info);
  }
  pending_.clear();
  return true;
}

bool StreamRelay::handle_event(std::string_view data, TimePoint now, AnswerInfo& answer) {
  if (saw_done_) return true;  // anything after [DONE] is ignored
  provider::ChunkInfo ci = provider_->inspect_chunk(data);
  switch (ci.kind) {
    case provider::ChunkInfo::Kind::kDone:
      saw_done_ = true;
      return true;
    case provider::ChunkInfo::Kind::kMalformed:
      ++malformed_events_;
      return true;
    case provider::ChunkInfo::Kind::kError:
      error_ = ci.error ? std::move(*ci.error) : Error(ErrorKind::kInternalServer, "provider sent an error event");
      return false;
    case provider::ChunkInfo::Kind::kChunk:
      break;
  }
  if (ci.has_content || !ci.finish_reason.empty()) attempt_has_content_ = true;
  if (ci.usage) answer.usage = *ci.usage;
  if (!ci.finish_reason.empty()) answer.finish_reason = ci.finish_reason;
  if (!ci.model.empty() && answer.served_model.empty()) answer.served_model = ci.model;
  // A usage-only chunk (choices: []) reaches the consumer only if it asked for usage.
  if (!ci.has_choices && !include_usage_) return true;
  if (continuing_) return relay_continuation(data, ci);
  if (!content_delivered_) {
    // Held back until the first content token, so that a failure before it
    // can be retried invisibly.
    ci.model = {};  // a view into the parser's scratch: not valid past this chunk
    pending_.emplace_back(std::string(data), std::move(ci));
    const provider::ChunkInfo& held = pending_.back().second;
    if (!held.has_content && held.finish_reason.empty()) return true;
    content_delivered_ = true;
    first_token_at_ = now;
    return flush();
  }
  if (!deliver(data)) return false;
  continuation_.record_delivered(ci);
  return true;
}

bool StreamRelay::relay_continuation(std::string_view data, const provider::ChunkInfo& info) {
  StreamContinuation::Verdict v = continuation_.on_chunk(data, info);
  switch (v.action) {
    case StreamContinuation::Verdict::Action::kSuppress:
      return true;
    case StreamContinuation::Verdict::Action::kDiverged:
      error_ = Error(ErrorKind::kMidStream,
                     fmt::format("restarted after a failure but its text diverged from what was already delivered: {}",
                                 continuation_.divergence()));
      diverged_ = true;
      return false;
    case StreamContinuation::Verdict::Action::kDeliverRewritten:
      return deliver(v.chunk);
    case StreamContinuation::Verdict::Action::kDeliver:
      return deliver(data);
  }
  return true;
}

}  // namespace llmux::router
