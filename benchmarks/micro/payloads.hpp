// -----------------------------------------------------------------------------
// File: benchmarks/micro/payloads.hpp
// -----------------------------------------------------------------------------
// Realistic request and stream bytes shared by the micro and end-to-end
// benchmarks: a tool-using support-chat body as agents send them (system
// prompt, tool call and tool result with escaped JSON inside strings, non-ASCII
// text, two tool schemas, sampling parameters, router-only keys), and an OpenAI
// chat.completion.chunk SSE stream. Header-only constants and pure functions.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace llmux::bench {

// 1,892 bytes. `metadata` and `num_retries` are router-only keys: parse_request
// reads them and splice_request leaves them out.
inline constexpr std::string_view kChatRequestBody = R"({"model":"production-llm","messages":[)"
    R"({"role":"system","content":"You are a helpful assistant for an e-commerce support team. Answer concisely, cite the order id when relevant, and never reveal internal notes.\n\nPolicies:\n- Refunds within 30 days of delivery.\n- Exchanges within 60 days.\n- Escalate anything that looks like fraud to a human agent."},)"
    R"({"role":"user","content":"Hi! I ordered a \"blue\" rain jacket (order #A-10293) two weeks ago and it still hasn't arrived. Can you check where it is?"},)"
    R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_9f2c1d","type":"function","function":{"name":"get_order_status","arguments":"{\"order_id\":\"A-10293\"}"}}]},)"
    R"({"role":"tool","tool_call_id":"call_9f2c1d","content":"{\"status\":\"in_transit\",\"carrier\":\"DHL\",\"eta\":\"2024-05-14\",\"last_scan\":\"Leipzig hub\",\"weight_kg\":1.2}"},)"
    R"({"role":"assistant","content":"Your order A-10293 is in transit with DHL. The last scan was at the Leipzig hub and the expected delivery date is May 14."},)"
    R"({"role":"user","content":"Thanks. Could I exchange it for a size M once it arrives? Gr\u00fc\u00dfe aus K\u00f6ln \ud83d\ude42"}],)"
    R"("tools":[{"type":"function","function":{"name":"get_order_status","description":"Look up the shipping status of an order.","parameters":{"type":"object","properties":{"order_id":{"type":"string","description":"The order id, e.g. A-10293"}},"required":["order_id"]}}},)"
    R"({"type":"function","function":{"name":"create_exchange","description":"Open an exchange request for an order that has been delivered.","parameters":{"type":"object","properties":{"order_id":{"type":"string"},"new_size":{"type":"string","enum":["XS","S","M","L","XL","XXL"]},"reason":{"type":"string"}},"required":["order_id","new_size"]}}}],)"
    R"("tool_choice":"auto","temperature":0.2,"top_p":1,"max_tokens":512,"user":"customer-8841",)"
    R"("metadata":{"tags":["support","eu-west"]},"num_retries":2})";

// The fixed non-streaming answer the end-to-end benchmark's nginx returns.
inline constexpr std::string_view kChatCompletionResponse =
    R"({"id":"chatcmpl-bench0001","object":"chat.completion","created":1715000000,"model":"qwen3-14b",)"
    R"("system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Yes. Once the )"
    R"(jacket has arrived you can exchange it for a size M within 60 days; I can open the exchange for you then."},)"
    R"("logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":412,"completion_tokens":31,"total_tokens":443}})";

// An OpenAI chat.completion.chunk stream of `tokens` content chunks, a final
// chunk with finish_reason, a usage-only chunk and [DONE] (~230 bytes per
// event, as gpt-4o and vLLM send them).
inline std::string make_chat_stream(int tokens) {
  static constexpr std::string_view kWords[] = {"Yes", ".", " Once", " the", " jacket", " has", " arrived", " you",
                                                " can", " exchange", " it", " for", " a", " size", " M", "\\n"};
  constexpr std::string_view kHead =
      R"(data: {"id":"chatcmpl-9xYzAbCdEf","object":"chat.completion.chunk","created":1715000000,)"
      R"("model":"gpt-4o-2024-05-13","system_fingerprint":"fp_3aa7262c27","choices":[{"index":0,)";
  std::string s;
  s.reserve(static_cast<size_t>(tokens + 4) * 240);
  s += kHead;
  s += R"("delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})";
  s += "\n\n";
  for (int i = 0; i < tokens; ++i) {
    s += kHead;
    fmt::format_to(std::back_inserter(s), R"("delta":{{"content":"{}"}},"logprobs":null,"finish_reason":null}}]}})",
                   kWords[static_cast<size_t>(i) % std::size(kWords)]);
    s += "\n\n";
  }
  s += kHead;
  s += R"("delta":{},"logprobs":null,"finish_reason":"stop"}]})";
  s += "\n\n";
  s += R"(data: {"id":"chatcmpl-9xYzAbCdEf","object":"chat.completion.chunk","created":1715000000,)"
       R"("model":"gpt-4o-2024-05-13","choices":[],"usage":{"prompt_tokens":412,"completion_tokens":)";
  fmt::format_to(std::back_inserter(s), "{},\"total_tokens\":{}}}}}\n\n", tokens, tokens + 412);
  s += "data: [DONE]\n\n";
  return s;
}

// Events make_chat_stream(tokens) contains.
inline constexpr int chat_stream_events(int tokens) { return tokens + 4; }

}  // namespace llmux::bench
