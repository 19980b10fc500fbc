#include "router/stream_continuation.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "json/request.hpp"

namespace llmux::router {
namespace {

namespace od = simdjson::ondemand;

using Action = StreamContinuation::Verdict::Action;

// A chunk whose choices carry nothing but a role (or an empty delta): the
// consumer already had one at the start of its stream.
bool is_role_only(const provider::ChunkInfo& info) {
  return info.kind == provider::ChunkInfo::Kind::kChunk && info.has_choices && !info.has_content &&
         !info.has_tool_calls && info.finish_reason.empty();
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Where the string value of choice 0's delta.content sits in the document:
// the member provider::ChunkInfo::content was read from (the first element
// with "index" 0 — or at position 0 without one — whose content is a
// non-empty string).
simdjson::error_code find_content(od::object& top, std::optional<std::string_view>& token) {
  for (auto fr : top) {
    od::field f;
    SIMDJSON_TRY(std::move(fr).get(f));
    if (f.key() != "choices") continue;  // unread values are skipped by the iterator
    od::array choices;
    SIMDJSON_TRY(f.value().get_array().get(choices));
    int64_t position = 0;
    for (auto cr : choices) {
      od::value c;
      SIMDJSON_TRY(std::move(cr).get(c));
      od::object choice;
      if (c.get_object().get(choice)) {  // not an object: skipped
        ++position;
        continue;
      }
      int64_t index = position++;
      std::optional<std::string_view> content;
      for (auto cfr : choice) {
        od::field cf;
        SIMDJSON_TRY(std::move(cfr).get(cf));
        const od::raw_json_string key = cf.key();
        if (key == "index") {
          od::number n;
          if (!cf.value().get_number().get(n)) index = n.is_int64() ? n.get_int64() : -1;
        } else if (key == "delta") {
          od::object delta;
          if (cf.value().get_object().get(delta)) continue;
          for (auto dfr : delta) {
            od::field df;
            SIMDJSON_TRY(std::move(dfr).get(df));
            if (df.key() != "content") continue;
            od::value dv = df.value();
            od::json_type t;
            SIMDJSON_TRY(dv.type().get(t));
            // The token runs to the next structural character: trailing
            // whitespace is not part of the string.
            const std::string_view raw = trim_right(dv.raw_json_token());
            if (t == od::json_type::string && raw.size() > 2 && !content) content = raw;
          }
        }
      }
      if (index == 0 && content && !token) token = content;
    }
  }
  return simdjson::SUCCESS;
}

// `chunk` with the value of choice 0's delta.content replaced by `content`
// (as a JSON string); every other byte is kept — id, model, created, index,
// finish_reason, usage, unknown members. nullopt when the chunk has no such
// string (the caller then cannot split it).
std::optional<std::string> rewrite_content(std::string_view chunk, std::string_view content) {
  // Runs once per continuation attempt: a padded copy is cheap enough.
  thread_local od::parser parser;
  const simdjson::padded_string padded(chunk);
  od::document doc;
  if (parser.iterate(padded).get(doc)) return std::nullopt;
  od::object top;
  if (doc.get_object().get(top)) return std::nullopt;
  std::optional<std::string_view> token;
  if (find_content(top, token) || !token) return std::nullopt;
  const size_t at = static_cast<size_t>(token->data() - padded.data());
  std::string out;
  out.reserve(chunk.size() + content.size());
  out.append(chunk.substr(0, at));
  json::append_json_string(out, content);
  out.append(chunk.substr(at + token->size()));
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
  std::optional<std::string> rewritten = rewrite_content(chunk_json, fresh);
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
