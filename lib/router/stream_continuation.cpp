#include "router/stream_continuation.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "json/writer.hpp"

namespace llmux::router {
namespace {

using Action = StreamContinuation::Verdict::Action;

// A chunk whose choices carry nothing but a role (or an empty delta): the
// consumer already had one at the start of its stream.
bool is_role_only(const provider::ChunkInfo& info) {
  return info.kind == provider::ChunkInfo::Kind::kChunk && info.has_choices && !info.has_content &&
         !info.has_tool_calls && info.finish_reason.empty();
}

// `chunk` with the value of choice 0's delta.content replaced by `content`
// (as a JSON string); every other byte is kept — id, model, created, index,
// finish_reason, usage, unknown members. The provider located that value
// when it read the chunk (ChunkInfo::content_token_*), so the chunk is not
// parsed again. nullopt when it has no such string.
std::optional<std::string> rewrite_content(std::string_view chunk, const provider::ChunkInfo& info,
                                           std::string_view content) {
  const size_t at = info.content_token_offset;
  const size_t len = info.content_token_length;
  if (len < 2 || at > chunk.size() || len > chunk.size() - at || chunk[at] != '"' || chunk[at + len - 1] != '"') {
    return std::nullopt;
  }
  std::string out;
  out.reserve(chunk.size() + content.size());
  out.append(chunk.substr(0, at));
  json::append_json_string(out, content);
  out.append(chunk.substr(at + len));
  return out;
}

}  // namespace

void StreamContinuation::record(std::string_view text, const provider::ChunkInfo& info) {
  delivered_.append(text);
  if (info.has_tool_calls || info.content_undecodable) blocked_ = true;
}

void StreamContinuation::record_delivered(const provider::ChunkInfo& info) {
  if (info.kind != provider::ChunkInfo::Kind::kChunk) return;
  record(info.content, info);
}

void StreamContinuation::begin_attempt(Mode mode) {
  in_attempt_ = true;
  mode_ = mode;
  leading_ = true;
  prefix_len_ = delivered_.size();
  matched_ = 0;
  trailing_whitespace_.clear();
  if (mode == Mode::kPrefill) {
    const size_t kept = delivered_.find_last_not_of(" \t\r\n");
    trailing_whitespace_ = delivered_.substr(kept == std::string::npos ? 0 : kept + 1);
  }
  divergence_.clear();
}

StreamContinuation::Verdict StreamContinuation::deliver(const provider::ChunkInfo& info) {
  leading_ = false;
  if (info.kind == provider::ChunkInfo::Kind::kChunk) record(info.content, info);
  return {};
}

StreamContinuation::Verdict StreamContinuation::deliver_rewritten(std::string_view chunk_json,
                                                                  const provider::ChunkInfo& info, size_t new_from) {
  const std::string_view fresh = std::string_view(info.content).substr(new_from);
  std::optional<std::string> rewritten = rewrite_content(chunk_json, info, fresh);
  if (!rewritten) {
    // inspect_chunk found the text, so this does not happen with a provider
    // chunk; never deliver the repeat.
    return diverge("a chunk of the restarted stream could not be rewritten");
  }
  leading_ = false;
  record(fresh, info);
  Verdict v;
  v.action = Action::kDeliverRewritten;
  v.chunk = std::move(*rewritten);
  return v;
}

StreamContinuation::Verdict StreamContinuation::diverge(std::string message) {
  divergence_ = std::move(message);
  Verdict v;
  v.action = Action::kDiverged;
  return v;
}

StreamContinuation::Verdict StreamContinuation::on_chunk(std::string_view chunk_json,
                                                         const provider::ChunkInfo& info) {
  using Kind = provider::ChunkInfo::Kind;
  Verdict suppress;
  suppress.action = Action::kSuppress;
  if (info.kind == Kind::kError || info.kind == Kind::kMalformed) return suppress;
  if (!in_attempt_) return deliver(info);  // no attempt begun: nothing to hide

  if (prefix_repeated()) {
    if (leading_ && is_role_only(info)) return suppress;
    if (!trailing_whitespace_.empty() && info.kind == Kind::kChunk && !info.content.empty()) {
      // The first text of a prefill continuation: drop the longest start of
      // its whitespace that is also the end of the delivered whitespace.
      const std::string trailing = std::exchange(trailing_whitespace_, std::string());
      const std::string_view text = info.content;
      const size_t lead = std::min(text.find_first_not_of(" \t\r\n"), text.size());
      for (size_t k = std::min(lead, trailing.size()); k > 0; --k) {
        if (text.substr(0, k) != std::string_view(trailing).substr(trailing.size() - k)) continue;
        std::optional<std::string> rewritten = rewrite_content(chunk_json, info, text.substr(k));
        if (!rewritten) break;  // cannot happen with a provider chunk; a doubled space is no reason to fail
        leading_ = false;
        record(text.substr(k), info);
        Verdict v;
        v.action = Action::kDeliverRewritten;
        v.chunk = std::move(*rewritten);
        return v;
      }
    }
    return deliver(info);
  }

  // kRestart, the prefix not yet repeated in full.
  const size_t remaining = prefix_len_ - matched_;
  if (info.kind == Kind::kDone) {
    return diverge(fmt::format("the restarted stream ended after repeating {} of the {} bytes already delivered",
                               matched_, prefix_len_));
  }
  if (info.content_undecodable) {
    return diverge(fmt::format("the restarted stream sent text that cannot be compared with the delivered text "
                               "(at byte {} of {})",
                               matched_, prefix_len_));
  }
  const std::string_view text = info.content;
  if (!text.empty()) {
    const size_t n = std::min(text.size(), remaining);
    const std::string_view expected = std::string_view(delivered_).substr(matched_, n);
    if (text.substr(0, n) != expected) {
      const auto mismatch = std::mismatch(expected.begin(), expected.end(), text.begin());
      return diverge(fmt::format("the restarted stream diverged from the delivered text at byte {} of {}",
                                 matched_ + static_cast<size_t>(mismatch.first - expected.begin()), prefix_len_));
    }
    matched_ += n;
    if (n < text.size()) return deliver_rewritten(chunk_json, info, n);
    // Wholly a repeat. What else it carries must fit where the prefix ends.
    if (info.has_tool_calls || !info.finish_reason.empty()) {
      if (matched_ < prefix_len_) {
        return diverge(fmt::format("the restarted stream {} after repeating {} of the {} bytes already delivered",
                                   info.has_tool_calls ? "called a tool" : "finished", matched_, prefix_len_));
      }
      return deliver_rewritten(chunk_json, info, text.size());  // keep the rest, drop the repeat
    }
    return suppress;
  }
  if (info.has_tool_calls || !info.finish_reason.empty()) {
    return diverge(fmt::format("the restarted stream {} after repeating {} of the {} bytes already delivered",
                               info.has_tool_calls ? "called a tool" : "finished", matched_, prefix_len_));
  }
  // Role, reasoning, refusal or usage before the prefix is repeated: the
  // consumer has had its own.
  return suppress;
}

}  // namespace llmux::router
