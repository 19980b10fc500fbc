#include "support/fake_anthropic.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include "json/writer.hpp"

namespace llmux::testing {
namespace {

std::string stop_reason_of(const AnthropicScript& s) {
  if (!s.stop_reason.empty()) return s.stop_reason;
  return s.tools.empty() ? "end_turn" : "tool_use";
}

void write_usage(json::Writer& w, const AnthropicScript& s, bool output_only) {
  w.key("usage").begin_object();
  if (!output_only) {
    w.member("input_tokens", s.input_tokens)
        .member("cache_creation_input_tokens", s.cache_creation_input_tokens)
        .member("cache_read_input_tokens", s.cache_read_input_tokens);
  }
  w.member("output_tokens", output_only ? s.output_tokens : 1).end_object();
}

// `text` cut into `parts` pieces of (nearly) equal byte length.
std::vector<std::string> split(const std::string& text, int parts) {
  std::vector<std::string> out;
  if (parts < 1) parts = 1;
  const size_t n = text.size();
  size_t at = 0;
  for (int i = 0; i < parts; ++i) {
    const size_t end = n * static_cast<size_t>(i + 1) / static_cast<size_t>(parts);
    if (end > at) out.push_back(text.substr(at, end - at));
    at = end;
  }
  return out;
}

}  // namespace

std::string anthropic_sse_event(std::string_view type, std::string_view json) {
  return fmt::format("event: {}\ndata: {}\n\n", type, json);
}

std::string anthropic_message_json(const AnthropicScript& s) {
  std::string out;
  json::Writer w(out);
  w.begin_object().member("id", s.id).member("type", "message").member("role", "assistant").member("model", s.model);
  w.key("content").begin_array();
  if (!s.text.empty()) w.begin_object().member("type", "text").member("text", s.text).end_object();
  for (const auto& t : s.tools) {
    w.begin_object().member("type", "tool_use").member("id", t.id).member("name", t.name).key("input").raw(t.input_json);
    w.end_object();
  }
  w.end_array().member("stop_reason", stop_reason_of(s)).key("stop_sequence").null();
  w.key("usage").begin_object().member("input_tokens", s.input_tokens).member("output_tokens", s.output_tokens);
  w.member("cache_creation_input_tokens", s.cache_creation_input_tokens);
  w.member("cache_read_input_tokens", s.cache_read_input_tokens).end_object();
  w.end_object();
  return out;
}

std::vector<std::string> anthropic_sse_events(const AnthropicScript& s) {
  std::vector<std::string> events;
  std::string j;
  {
    json::Writer w(j);
    w.begin_object().member("type", "message_start").key("message").begin_object();
    w.member("id", s.id).member("type", "message").member("role", "assistant").member("model", s.model);
    w.key("content").begin_array().end_array().key("stop_reason").null();
    write_usage(w, s, false);
    w.end_object().end_object();
  }
  events.push_back(anthropic_sse_event("message_start", j));
  events.push_back(anthropic_sse_event("ping", R"({"type": "ping"})"));
  int index = 0;
  if (!s.text.empty()) {
    events.push_back(anthropic_sse_event(
        "content_block_start",
        fmt::format(R"({{"type":"content_block_start","index":{},"content_block":{{"type":"text","text":""}}}})", index)));
    for (const std::string& part : split(s.text, s.text_parts)) {
      j.clear();
      json::Writer w(j);
      w.begin_object().member("type", "content_block_delta").member("index", index).key("delta").begin_object();
      w.member("type", "text_delta").member("text", part).end_object().end_object();
      events.push_back(anthropic_sse_event("content_block_delta", j));
    }
    events.push_back(anthropic_sse_event("content_block_stop", fmt::format(R"({{"type":"content_block_stop","index":{}}})", index)));
    ++index;
  }
  for (const auto& t : s.tools) {
    j.clear();
    json::Writer w(j);
    w.begin_object().member("type", "content_block_start").member("index", index).key("content_block").begin_object();
    w.member("type", "tool_use").member("id", t.id).member("name", t.name).key("input").raw("{}").end_object().end_object();
    events.push_back(anthropic_sse_event("content_block_start", j));
    if (t.input_json != "{}") {
      for (const std::string& part : split(t.input_json, s.json_fragments)) {
        j.clear();
        json::Writer d(j);
        d.begin_object().member("type", "content_block_delta").member("index", index).key("delta").begin_object();
        d.member("type", "input_json_delta").member("partial_json", part).end_object().end_object();
        events.push_back(anthropic_sse_event("content_block_delta", j));
      }
    }
    events.push_back(anthropic_sse_event("content_block_stop", fmt::format(R"({{"type":"content_block_stop","index":{}}})", index)));
    ++index;
  }
  j.clear();
  {
    json::Writer w(j);
    w.begin_object().member("type", "message_delta").key("delta").begin_object();
    w.member("stop_reason", stop_reason_of(s)).key("stop_sequence").null().end_object();
    write_usage(w, s, true);
    w.end_object();
  }
  events.push_back(anthropic_sse_event("message_delta", j));
  events.push_back(anthropic_sse_event("message_stop", R"({"type":"message_stop"})"));
  return events;
}

Behavior anthropic_error(int status, std::string type, std::string message) {
  Behavior b;
  b.status = status;
  std::string body;
  json::Writer w(body);
  w.begin_object().member("type", "error").key("error").begin_object().member("type", type).member("message", message);
  w.end_object().member("request_id", "req_fake").end_object();
  b.body = std::move(body);
  b.headers.emplace_back("content-type", "application/json");
  b.headers.emplace_back("request-id", "req_fake");
  return b;
}

bool is_anthropic_request(const ReceivedRequest& r) {
  return r.method == "POST" && r.path == "/v1/messages" && !r.header("anthropic-version").empty() &&
         (!r.header("x-api-key").empty() || r.header("authorization").starts_with("Bearer "));
}

Behavior anthropic_answer(const ReceivedRequest& r, const AnthropicScript& s) {
  if (r.path != "/v1/messages") return anthropic_error(404, "not_found_error", "Not Found: " + r.path);
  if (r.header("x-api-key") != s.api_key) return anthropic_error(401, "authentication_error", "invalid x-api-key");
  if (r.header("anthropic-version").empty()) {
    return anthropic_error(400, "invalid_request_error", "anthropic-version: header is required");
  }
  simdjson::dom::parser parser;
  simdjson::dom::element body;
  if (parser.parse(r.body).get(body) != simdjson::SUCCESS || !body.is_object()) {
    return anthropic_error(400, "invalid_request_error", "request body is not valid JSON");
  }
  for (const char* required : {"model", "messages", "max_tokens"}) {
    simdjson::dom::element v;
    if (body[required].get(v) != simdjson::SUCCESS) {
      return anthropic_error(400, "invalid_request_error", fmt::format("{}: Field required", required));
    }
  }
  bool stream = false;
  if (body["stream"].get(stream) != simdjson::SUCCESS) stream = false;
  Behavior b;
  if (!stream) {
    b.body = anthropic_message_json(s);
    return b;
  }
  b.stream = true;
  b.raw_events = true;
  b.send_done = false;
  b.events = anthropic_sse_events(s);
  return b;
}

}  // namespace llmux::testing
