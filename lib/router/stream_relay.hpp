// -----------------------------------------------------------------------------
// File: router/stream_relay.hpp
// -----------------------------------------------------------------------------
// The stream of one call as its consumer sees it, across attempts: SSE
// framing, chunks held back until the first content token (so that a failure
// before it is retried invisibly), delivery, and — once content went out and
// the attempt failed — the continuation on the next attempt (prefill or a
// restart whose repeated prefix is suppressed, see StreamContinuation). Each
// chunk is inspected by its provider once; what it carries (usage, finish
// reason, serving model) is recorded for the attempt.
//
// One per streaming call, used on the router's loop thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/clock.hpp"
#include "llmux/error.hpp"
#include "llmux/metadata.hpp"
#include "llmux/router.hpp"
#include "request/request.hpp"
#include "provider/provider.hpp"
#include "router/stream_continuation.hpp"
#include "transport/sse_parser.hpp"

namespace llmux::router {

// What one attempt's answer carried (streamed or not).
struct AnswerInfo {
  Usage usage;
  std::string finish_reason;
  std::string served_model;  // as the provider reported it; empty when it did not
};

class StreamRelay {
 public:
  // `on_chunk` may be empty (a "stream": true completion whose chunks nobody
  // wants). From `request`: whether a usage-only chunk reaches the consumer
  // (stream_options.include_usage), and whether it asked for several choices
  // ("n" > 1: only choice 0 is tracked, so such a stream cannot be continued).
  StreamRelay(ChunkCallback on_chunk, const request::ParsedRequest& request);

  // A new attempt on `target`, read by `provider` (through its stream
  // translator when its wire format is not OpenAI's). When content was
  // delivered before, the attempt continues it in `mode` (StreamContinuation).
  void begin_attempt(const provider::Provider& provider, const provider::ProviderTarget& target,
                     std::optional<StreamContinuation::Mode> mode);
  // Body bytes of the attempt, split anywhere. False: stop the transfer (the
  // consumer stopped, the provider sent an error event, a restart diverged).
  bool feed(std::string_view bytes, TimePoint now, AnswerInfo& answer);
  // The attempt's body ended without a transport error: a translator emits
  // what it still holds (or records the error of a stream cut inside an
  // event). False as for feed().
  bool end_of_body(TimePoint now, AnswerInfo& answer);
  // The attempt ended cleanly: deliver what is still held back (a stream that
  // ended before any content token). False when the consumer stopped.
  bool flush();

  // The attempt produced a content token (or a finish): it is not silent.
  bool attempt_has_content() const { return attempt_has_content_; }
  // Some content reached the consumer (in any attempt).
  bool content_delivered() const { return content_delivered_; }
  TimePoint first_token_at() const { return first_token_at_; }
  bool consumer_stopped() const { return consumer_stopped_; }
  int malformed_events() const { return malformed_events_; }
  // An error event of the provider, or a divergence of a restart, ends the
  // attempt with this error.
  std::optional<Error> take_error() { return std::exchange(error_, std::nullopt); }
  bool diverged() const { return diverged_; }
  // Whether a failed attempt can be continued elsewhere (text delivered, no
  // tool calls or undecodable text, a single choice).
  bool can_continue() const { return continuation_.can_continue() && !several_choices_; }
  // A restart that ended before repeating the delivered prefix diverged too.
  bool prefix_repeated() const { return continuation_.prefix_repeated(); }
  bool continuing() const { return continuing_; }
  const std::string& delivered_text() const { return continuation_.delivered_text(); }

 private:
  bool handle_event(std::string_view data, TimePoint now, AnswerInfo& answer);
  bool relay_continuation(std::string_view data, const provider::ChunkInfo& info);
  bool deliver(std::string_view chunk);

  ChunkCallback on_chunk_;
  const request::ParsedRequest& request_;
  const bool include_usage_;
  const bool several_choices_;
  const provider::Provider* provider_ = nullptr;
  transport::SseParser sse_;
  std::unique_ptr<provider::StreamTranslator> translator_;  // null: the stream is OpenAI's SSE
  // Held back until the first content token, with what they carry.
  std::vector<std::pair<std::string, provider::ChunkInfo>> pending_;
  StreamContinuation continuation_;
  bool continuing_ = false;
  bool saw_done_ = false;
  bool attempt_has_content_ = false;
  bool content_delivered_ = false;
  bool consumer_stopped_ = false;
  bool diverged_ = false;
  int malformed_events_ = 0;
  TimePoint first_token_at_{};
  std::optional<Error> error_;
};

}  // namespace llmux::router
