// -----------------------------------------------------------------------------
// File: router/stream_continuation.hpp
// -----------------------------------------------------------------------------
// Continuing a stream on another deployment after content already reached the
// consumer (DESIGN.md §4, streams; reference §10 for LiteLLM's
// MidStreamFallbackError). The consumer must see one coherent text: either
// the fallback continues an assistant prefill of the delivered text, or it
// restarts the answer and its repeat of the delivered text is suppressed —
// and when the restart says something else, the call ends with a mid-stream
// error rather than a stitched-together answer.
//
// StreamContinuation is the pure bookkeeping for that: what was delivered,
// whether it can be continued, and per chunk of a continuation attempt what
// to pass on. No I/O. One per streaming call, used on the call's thread only
// (not thread-safe).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "provider/provider.hpp"

namespace llmux::router {

class StreamContinuation {
 public:
  enum class Mode {
    kPrefill,  // the target continues an assistant message holding delivered_text()
    kRestart,  // the target answers anew; the repeat of delivered_text() is dropped
  };

  struct Verdict {
    enum class Action {
      kDeliver,           // pass the chunk on unchanged
      kSuppress,          // drop it (a repeat, or a role chunk the consumer already had)
      kDeliverRewritten,  // pass on `chunk` instead: the same chunk with only the new text
      kDiverged,          // the restart says something else: end with a mid-stream error
    };
    Action action = Action::kDeliver;
    std::string chunk;  // kDeliverRewritten only: the payload to deliver
  };

  // For each chunk of the original attempt delivered to the consumer:
  // accumulates choice 0's text and notes tool calls. Chunks of a
  // continuation attempt are recorded by on_chunk itself — do not pass them
  // here too.
  void record_delivered(const provider::ChunkInfo& info);

  // The text of choice 0 the consumer has received so far (original attempt
  // plus what continuation attempts delivered).
  const std::string& delivered_text() const { return delivered_; }

  // Whether a continuation is possible: some text was delivered, and no
  // tool-call delta nor undecodable text (ChunkInfo::content_undecodable) was
  // — neither can be prefilled or compared. Stays as it is after a
  // divergence (nothing wrong reached the consumer); the caller then ends.
  bool can_continue() const { return !blocked_ && !delivered_.empty(); }

  // Starts a continuation attempt; the text delivered up to now is the
  // prefix a restart must repeat. May be called again for a later attempt.
  void begin_attempt(Mode mode);

  // For each data payload of the continuation attempt and its ChunkInfo
  // (kChunk or kDone; the caller handles kError and kMalformed itself —
  // they get kSuppress and change nothing). Records what it lets through.
  //  - kPrefill: everything is delivered but leading role-only chunks; when
  //    the delivered text ends in whitespace, the first text's leading
  //    whitespace that repeats it ("How " then " are") is dropped.
  //  - kRestart: until the delivered prefix has been repeated, chunks inside
  //    it are suppressed, the chunk crossing its end is rewritten to carry
  //    only the new text, chunks without text (role, reasoning, usage) are
  //    suppressed; text that differs from the prefix, a tool call, or a
  //    finish or [DONE] before the prefix's end is kDiverged. After that,
  //    everything is delivered.
  Verdict on_chunk(std::string_view chunk_json, const provider::ChunkInfo& info);

  // Whether the current attempt has passed the delivered prefix (always true
  // in kPrefill). A restart whose stream ends any other way than through
  // on_chunk (closed without [DONE], say) before this holds has diverged too.
  bool prefix_repeated() const { return !in_attempt_ || mode_ == Mode::kPrefill || matched_ == prefix_len_; }

  // Why the last kDiverged verdict was given (for the mid-stream error).
  const std::string& divergence() const { return divergence_; }

 private:
  Verdict deliver(const provider::ChunkInfo& info);
  Verdict deliver_rewritten(std::string_view chunk_json, const provider::ChunkInfo& info, size_t new_from);
  Verdict diverge(std::string message);
  void record(std::string_view text, const provider::ChunkInfo& info);

  std::string delivered_;
  bool blocked_ = false;      // tool calls or undecodable text were delivered
  bool in_attempt_ = false;
  Mode mode_ = Mode::kPrefill;
  bool leading_ = true;       // no chunk of this attempt has been passed on yet
  size_t prefix_len_ = 0;     // kRestart: delivered_.size() at begin_attempt
  size_t matched_ = 0;        // kRestart: bytes of the prefix repeated so far
  // kPrefill: the whitespace the delivered text ends with, until the first
  // text of the attempt. Some targets reject trailing whitespace in a prefill
  // (Anthropic: the adapter trims it), and the model then sends that
  // whitespace again; the repeat is dropped so the consumer sees it once.
  std::string trailing_whitespace_;
  std::string divergence_;
};

}  // namespace llmux::router
