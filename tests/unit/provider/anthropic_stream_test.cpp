// Anthropic SSE → OpenAI chunks (providers.md §3.5). Every stream is fed
// whole and split at every byte boundary: the chunks must not change.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "provider/anthropic.hpp"
#include "provider/anthropic_messages.hpp"
#include "unit/provider/provider_test_util.hpp"

namespace llmux::testing {
namespace {

using provider::anthropic::MessagesStreamTranslator;

struct Run {
  std::vector<std::string> chunks;
  bool ok = true;
  std::optional<Error> error;
};

Run run(std::string_view stream, size_t split_at, bool json_mode = false) {
  MessagesStreamTranslator t(MessagesStreamTranslator::Options{.json_mode = json_mode, .created = 7});
  Run r;
  auto sink = [&](std::string_view c) {
    r.chunks.emplace_back(c);
    return true;
  };
  const std::string_view a = stream.substr(0, split_at), b = stream.substr(split_at);
  r.ok = t.feed(a, sink) && t.feed(b, sink) && t.finish(sink);
  r.error = t.take_error();
  return r;
}

// Runs the whole stream, then every two-part split, and expects the same result.
Run run_every_split(std::string_view stream, bool json_mode = false) {
  Run whole = run(stream, stream.size(), json_mode);
  for (size_t i = 0; i <= stream.size(); ++i) {
    Run split = run(stream, i, json_mode);
    INFO("split at " << i);
    REQUIRE(split.chunks == whole.chunks);
    REQUIRE(split.ok == whole.ok);
    REQUIRE(split.error.has_value() == whole.error.has_value());
  }
  // And one byte at a time.
  MessagesStreamTranslator t(MessagesStreamTranslator::Options{.json_mode = json_mode, .created = 7});
  std::vector<std::string> bytewise;
  bool ok = true;
  for (char c : stream) {
    ok = t.feed(std::string_view(&c, 1), [&](std::string_view chunk) {
      bytewise.emplace_back(chunk);
      return true;
    });
    if (!ok) break;
  }
  if (ok) ok = t.finish([&](std::string_view chunk) {
    bytewise.emplace_back(chunk);
    return true;
  });
  REQUIRE(bytewise == whole.chunks);
  return whole;
}

std::string ev(std::string_view type, std::string_view json) { return fmt::format("event: {}\ndata: {}\n\n", type, json); }

const std::string kStart = ev("message_start",
                              R"({"type":"message_start","message":{"id":"msg_9","type":"message","role":"assistant","model":"claude-m",)"
                              R"("content":[],"stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1,"cache_read_input_tokens":5}}})");

std::string chunk(std::string_view delta, std::string_view finish = "null") {
  return fmt::format(R"({{"id":"msg_9","object":"chat.completion.chunk","created":7,"model":"claude-m","choices":[{{"index":0,"delta":{{{}}},"finish_reason":{}}}]}})",
                     delta, finish);
}

const std::string kRole = chunk(R"("role":"assistant","content":"")");

}  // namespace

TEST_CASE("anthropic stream: text deltas, ping ignored, finish and usage", "[anthropic][stream]") {
  const std::string stream =
      kStart + ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
      ev("ping", R"({"type": "ping"})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}})") +
      "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" w\\u00f6rld\"}}\r\n\r\n" +
      ev("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}})") +
      ev("message_stop", R"({"type":"message_stop"})");
  Run r = run_every_split(stream);
  CHECK(r.ok);
  CHECK(r.chunks == std::vector<std::string>{
                        kRole, chunk(R"("content":"Hello")"), chunk(R"("content":" wörld")"), chunk("", R"("stop")"),
                        R"({"id":"msg_9","object":"chat.completion.chunk","created":7,"model":"claude-m","choices":[],)"
                        R"("usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42,)"
                        R"("prompt_tokens_details":{"cached_tokens":5,"cache_creation_tokens":0},)"
                        R"("cache_creation_input_tokens":0,"cache_read_input_tokens":5}})"});
  // What the router reads from them.
  const provider::Provider& p = provider_named("anthropic");
  CHECK(p.inspect_chunk(r.chunks[1]).content == "Hello");
  CHECK(p.inspect_chunk(r.chunks[3]).finish_reason == "stop");
  auto usage = p.inspect_chunk(r.chunks[4]).usage;
  REQUIRE(usage);
  CHECK(usage->prompt_tokens == 30);
  CHECK(usage->completion_tokens == 12);
}

TEST_CASE("anthropic stream: tool calls with fragmented JSON and an empty-input tool", "[anthropic][stream]") {
  const std::string stream =
      kStart +
      ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"weather","input":{}}})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"ci"}})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"ty\": \"Par"}})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"is\"}"}})") +
      ev("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      ev("content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_b","name":"now","input":{}}})") +
      ev("content_block_stop", R"({"type":"content_block_stop","index":1})") +
      ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}})") +
      ev("message_stop", R"({"type":"message_stop"})");
  Run r = run_every_split(stream);
  CHECK(r.ok);
  REQUIRE(r.chunks.size() == 9);
  CHECK(r.chunks[1] == chunk(R"("tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"weather","arguments":""}}])"));
  CHECK(r.chunks[2] == chunk(R"("tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}])"));
  CHECK(r.chunks[3] == chunk(R"("tool_calls":[{"index":0,"function":{"arguments":"ty\": \"Par"}}])"));
  CHECK(r.chunks[4] == chunk(R"("tool_calls":[{"index":0,"function":{"arguments":"is\"}"}}])"));
  CHECK(r.chunks[5] == chunk(R"("tool_calls":[{"index":1,"id":"toolu_b","type":"function","function":{"name":"now","arguments":""}}])"));
  CHECK(r.chunks[6] == chunk(R"("tool_calls":[{"index":1,"function":{"arguments":"{}"}}])"));
  CHECK(r.chunks[7] == chunk("", R"("tool_calls")"));
  CHECK(provider_named("anthropic").inspect_chunk(r.chunks[2]).has_tool_calls);
}

TEST_CASE("anthropic stream: JSON mode turns the schema tool into content", "[anthropic][stream]") {
  const std::string stream =
      kStart +
      ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_j","name":"json_tool_call","input":{}}})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"1}"}})") +
      ev("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":3}})") +
      ev("message_stop", R"({"type":"message_stop"})");
  Run r = run_every_split(stream, /*json_mode=*/true);
  REQUIRE(r.chunks.size() == 5);
  CHECK(r.chunks[1] == chunk(R"("content":"{\"a\":")"));
  CHECK(r.chunks[2] == chunk(R"("content":"1}")"));
  CHECK(r.chunks[3] == chunk("", R"("stop")"));
}

TEST_CASE("anthropic stream: a mid-stream error event is a classified error", "[anthropic][stream]") {
  const std::string stream =
      kStart + ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}})") +
      ev("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"never"}})");
  Run r = run_every_split(stream);
  CHECK_FALSE(r.ok);
  CHECK(r.chunks == std::vector<std::string>{kRole, chunk(R"("content":"Hel")")});
  REQUIRE(r.error);
  CHECK(r.error->kind == ErrorKind::kInternalServer);
  CHECK(r.error->status == 500);
  CHECK_THAT(r.error->message, Catch::Contains("Overloaded"));

  Run rate = run(ev("error", R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})"), 0);
  REQUIRE(rate.error);
  CHECK(rate.error->kind == ErrorKind::kRateLimit);
}

TEST_CASE("anthropic stream: a stream cut before the message ends fails; after message_delta it completes",
          "[anthropic][stream]") {
  const std::string cut = kStart + ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})") +
                          "event: content_block_delta\ndata: {\"type\":\"content_";
  Run r = run(cut, cut.size());
  CHECK_FALSE(r.ok);
  REQUIRE(r.error);
  CHECK(r.error->kind == ErrorKind::kConnectionError);

  const std::string no_stop = kStart + ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":2}})");
  Run done = run(no_stop, 3);
  CHECK(done.ok);
  REQUIRE(done.chunks.size() == 3);
  CHECK(done.chunks[1] == chunk("", R"("length")"));
  CHECK_THAT(done.chunks[2], Catch::Contains(R"("choices":[],"usage")"));
}

}  // namespace llmux::testing
