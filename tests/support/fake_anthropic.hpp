// -----------------------------------------------------------------------------
// File: tests/support/fake_anthropic.hpp
// -----------------------------------------------------------------------------
// Anthropic's Messages wire format for the scripted fake provider: a handler
// answers POST /v1/messages natively — a Messages JSON answer, or (for
// "stream": true) Messages SSE events framed "event: <type>\ndata: <json>\n\n"
// and sent raw — from a script of text and tool calls. It checks what the real
// API checks first: x-api-key (or an OAuth bearer token) and anthropic-version,
// answering with Anthropic's own error bodies. Pure functions of the script
// and the request; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "support/fake_provider.hpp"

namespace llmux::testing {

struct AnthropicToolUse {
  std::string id;
  std::string name;
  std::string input_json;  // the tool input as JSON text
};

struct AnthropicScript {
  std::string text = "Hello from Claude.";
  std::vector<AnthropicToolUse> tools;
  std::string stop_reason;  // empty: tool_use when there are tools, else end_turn
  std::string model = "claude-fake";
  std::string id = "msg_fake";
  int input_tokens = 11;
  int output_tokens = 7;
  int cache_read_input_tokens = 0;
  int cache_creation_input_tokens = 0;
  int text_parts = 3;       // text_delta events the text is split into when streaming
  int json_fragments = 3;   // input_json_delta events per tool input
  std::string api_key = "sk-ant-test";  // what x-api-key must be
};

// The Messages JSON answer of the script.
std::string anthropic_message_json(const AnthropicScript& script);
// The script as framed SSE events: message_start, ping, content blocks, message_delta, message_stop.
std::vector<std::string> anthropic_sse_events(const AnthropicScript& script);
// One framed SSE event.
std::string anthropic_sse_event(std::string_view type, std::string_view json);

// Anthropic's error body: {"type":"error","error":{"type","message"},"request_id"}.
Behavior anthropic_error(int status, std::string type, std::string message);

// The native answer to one request: 404 for a path other than /v1/messages,
// 401 authentication_error for a wrong x-api-key, 400 for a missing
// anthropic-version or a body without model/messages/max_tokens, else the
// script as JSON or, when the body says "stream": true, as raw SSE events.
Behavior anthropic_answer(const ReceivedRequest& request, const AnthropicScript& script);

// Whether a request reached /v1/messages with Anthropic's auth headers.
bool is_anthropic_request(const ReceivedRequest& request);

}  // namespace llmux::testing
