// -----------------------------------------------------------------------------
// File: provider/chat_answer_writer.hpp
// -----------------------------------------------------------------------------
// What the non-OpenAI answer and stream translations (Anthropic Messages,
// Bedrock Converse) write the same way: the choice of a chat.completion,
// chat.completion.chunk payloads, and the tool-call blocks of a stream (the
// running tool index, the forced JSON tool whose input is the content, "{}"
// arguments for a tool called without input). The request side is
// chat_message_walk.hpp. Functions are pure; a StreamToolBlocks belongs to one
// stream translator.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "json/writer.hpp"

namespace llmux::provider::chat_answer {

// "finish_reason": null when empty.
inline void write_finish_reason(json::Writer& w, std::string_view finish_reason) {
  w.key("finish_reason");
  if (finish_reason.empty()) {
    w.null();
  } else {
    w.string(finish_reason);
  }
}

// The "choices" member of a chat.completion: choice 0, one assistant message
// (content null when content_null, else `text`; tool_calls when there are
// any; reasoning_content and thinking_blocks when there are thinking blocks),
// and its finish_reason. tool_calls and thinking_blocks are the lists' members.
inline void write_choices(json::Writer& w, bool content_null, std::string_view text, int tools,
                          std::string_view tool_calls, std::string_view reasoning, std::string_view thinking_blocks,
                          std::string_view finish_reason) {
  w.key("choices").begin_array().begin_object().member("index", 0).key("message").begin_object();
  w.member("role", "assistant").key("content");
  if (content_null) {
    w.null();
  } else {
    w.string(text);
  }
  if (tools > 0) w.key("tool_calls").begin_array().raw(tool_calls).end_array();
  if (!thinking_blocks.empty()) {
    w.member("reasoning_content", reasoning).key("thinking_blocks").begin_array().raw(thinking_blocks).end_array();
  }
  w.end_object();
  write_finish_reason(w, finish_reason);
  w.end_object().end_array();
}

// A chat.completion.chunk of choice 0 into `chunk` (cleared first): the delta
// (role "assistant" first when with_role, then `delta_members`) and the
// finish_reason (null when empty).
inline void write_delta_chunk(std::string& chunk, std::string_view id, int64_t created, std::string_view model,
                              bool with_role, std::string_view delta_members, std::string_view finish_reason) {
  chunk.clear();
  json::Writer w(chunk);
  w.begin_object().member("id", id).member("object", "chat.completion.chunk").member("created", created);
  w.member("model", model).key("choices").begin_array().begin_object().member("index", 0);
  w.key("delta").begin_object();
  if (with_role) w.member("role", "assistant");
  w.raw_members(delta_members).end_object();
  write_finish_reason(w, finish_reason);
  w.end_object().end_array().end_object();
}

// The start of a usage-only chunk ("choices": []) into `chunk` (cleared
// first): the caller writes "usage" with the writer returned and closes the
// object.
inline json::Writer begin_usage_chunk(std::string& chunk, std::string_view id, int64_t created,
                                      std::string_view model) {
  chunk.clear();
  json::Writer w(chunk);
  w.begin_object().member("id", id).member("object", "chat.completion.chunk").member("created", created);
  w.member("model", model).key("choices").begin_array().end_array();
  return w;
}

// The content block a stream translator has open, as far as tool calls go.
// Each method that takes a writer writes the delta members to send and says
// whether there is anything to send.
class StreamToolBlocks {
 public:
  // A content block starts (any kind): no tool is open.
  void start_block() {
    index_ = -1;
    json_tool_ = false;
    got_input_ = false;
  }

  // The block is a tool call: it gets the next tool index. The forced JSON
  // tool (json_tool) sends nothing now: its input becomes content.
  bool start_tool(json::Writer& d, std::string_view id, std::string_view name, bool json_tool) {
    index_ = next_index_++;
    if (json_tool) {
      json_tool_ = true;
      return false;
    }
    d.key("tool_calls").begin_array().begin_object().member("index", index_);
    d.member("id", id).member("type", "function");
    d.key("function").begin_object().member("name", name).member("arguments", "").end_object();
    d.end_object().end_array();
    return true;
  }

  // A piece of the open tool's input (JSON text).
  bool input(json::Writer& d, std::string_view part) {
    if (part.empty() || index_ < 0) return false;
    got_input_ = true;
    if (json_tool_) {
      d.member("content", part);
    } else {
      d.key("tool_calls").begin_array().begin_object().member("index", index_);
      d.key("function").begin_object().member("arguments", part).end_object().end_object().end_array();
    }
    return true;
  }

  // The block ends: a tool called without input still needs valid JSON
  // arguments ("{}").
  bool stop(json::Writer& d) {
    const bool empty_tool = index_ >= 0 && !got_input_;
    const int index = index_;
    const bool json_tool = json_tool_;
    index_ = -1;
    json_tool_ = false;
    if (!empty_tool) return false;
    if (json_tool) {
      d.member("content", "{}");
    } else {
      d.key("tool_calls").begin_array().begin_object().member("index", index);
      d.key("function").begin_object().member("arguments", "{}").end_object().end_object().end_array();
    }
    return true;
  }

  // Tool blocks started so far (the JSON tool included).
  int started() const { return next_index_; }

 private:
  int next_index_ = 0;
  int index_ = -1;  // tool index of the open block, -1 when it is no tool
  bool json_tool_ = false;
  bool got_input_ = false;
};

}  // namespace llmux::provider::chat_answer
