// streamGenerateContent?alt=sse → OpenAI chat.completion.chunk payloads
// (providers.md §4.6), fed whole and split at every byte boundary.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "provider/gemini_content.hpp"
#include "unit/provider/provider_test_util.hpp"

using llmux::ErrorKind;
namespace gemini = llmux::provider::gemini;

namespace {

struct Run {
  std::vector<std::string> chunks;
  bool ok = true;
  std::optional<llmux::Error> error;
};

std::string stable(std::string s) { return llmux::testing::stable_ids(std::move(s)); }

// Feeds `wire` in the pieces [0, cut) and [cut, end) (cut = npos: whole).
Run run(const std::string& wire, size_t cut = std::string::npos) {
  Run r;
  auto t = gemini::make_stream_translator("gemini-2.0-flash", "gemini");
  auto sink = [&](std::string_view c) {
    r.chunks.push_back(stable(std::string(c)));
    return true;
  };
  if (cut == std::string::npos) {
    r.ok = t->feed(wire, sink);
  } else {
    r.ok = t->feed(std::string_view(wire).substr(0, cut), sink) && t->feed(std::string_view(wire).substr(cut), sink);
  }
  if (r.ok) r.ok = t->finish(sink);
  r.error = t->take_error();
  return r;
}

// Every split gives the same chunks as the whole.
Run run_every_split(const std::string& wire) {
  Run whole = run(wire);
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    Run split = run(wire, cut);
    INFO("cut at " << cut);
    REQUIRE(split.ok == whole.ok);
    REQUIRE(split.chunks == whole.chunks);
  }
  return whole;
}

const char* kHead = R"({"id":"resp-9","object":"chat.completion.chunk","created":0,"model":"gemini-2.0-flash","choices":[)";

}  // namespace

TEST_CASE("gemini stream: text events, finish, usage chunk at the end, no [DONE]") {
  const std::string wire =
      "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]},\"index\":0}],"
      "\"usageMetadata\":{\"promptTokenCount\":4,\"totalTokenCount\":4},\"responseId\":\"resp-9\"}\r\n\r\n"
      "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo \\u00e9\"}]},\"index\":0}],\"responseId\":\"resp-9\"}\r\n\r\n"
      "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"!\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
      "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":3,\"thoughtsTokenCount\":2,\"totalTokenCount\":9},\"responseId\":\"resp-9\"}\r\n\r\n";
  Run r = run_every_split(wire);
  REQUIRE(r.ok);
  REQUIRE(r.chunks.size() == 4);
  CHECK(r.chunks[0] == std::string(kHead) + R"({"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]})");
  CHECK(r.chunks[1] == std::string(kHead) + "{\"index\":0,\"delta\":{\"content\":\"lo \xc3\xa9\"},\"finish_reason\":null}]}");
  CHECK(r.chunks[2] == std::string(kHead) + R"({"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]})");
  CHECK(r.chunks[3] == std::string(kHead) +
                           R"(],"usage":{"prompt_tokens":4,"completion_tokens":5,"total_tokens":9,"completion_tokens_details":{"reasoning_tokens":2}}})");
  // The OpenAI reader sees what the relay needs.
  const auto& p = llmux::testing::provider_named("gemini");
  auto first = p.inspect_chunk(r.chunks[0]);
  CHECK(first.has_content);
  CHECK(first.content == "Hel");
  auto last = p.inspect_chunk(r.chunks[3]);
  CHECK_FALSE(last.has_choices);
  REQUIRE(last.usage);
  CHECK(last.usage->completion_tokens == 5);
}

TEST_CASE("gemini stream: function calls are complete tool calls with a running index") {
  const std::string wire =
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"a\",\"args\":{\"x\":1}}}]}}]}\n\n"
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"b\",\"args\":{}}}]},\"finishReason\":\"STOP\"}]}\n\n";
  Run r = run_every_split(wire);
  REQUIRE(r.chunks.size() == 2);
  const std::string head = R"({"id":"chatcmpl-X","object":"chat.completion.chunk","created":0,"model":"gemini-2.0-flash","choices":[)";
  CHECK(r.chunks[0] == head + R"({"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_X","type":"function",)"
                              R"("function":{"name":"a","arguments":"{\"x\":1}"}}]},"finish_reason":null}]})");
  CHECK(r.chunks[1] == head + R"({"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_X","type":"function",)"
                              R"("function":{"name":"b","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})");
  auto info = llmux::testing::provider_named("gemini").inspect_chunk(r.chunks[0]);
  CHECK(info.has_tool_calls);
}

TEST_CASE("gemini stream: blocked prompt and SAFETY finish are content_filter chunks") {
  Run blocked = run_every_split("data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}\n\n");
  REQUIRE(blocked.chunks.size() == 1);
  CHECK(blocked.chunks[0].find(R"({"index":0,"delta":{"role":"assistant"},"finish_reason":"content_filter"})") !=
        std::string::npos);
  Run safety = run_every_split(
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ok so far\"}]}}]}\n\n"
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"bad\"}]},\"finishReason\":\"SAFETY\"}]}\n\n");
  REQUIRE(safety.chunks.size() == 2);
  CHECK(safety.chunks[1].find(R"({"index":0,"delta":{},"finish_reason":"content_filter"})") != std::string::npos);
  CHECK(safety.chunks[1].find("bad") == std::string::npos);
}

TEST_CASE("gemini stream: an error event fails the stream, classified; a cut event is an error") {
  Run r = run("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}\n\n"
              "data: {\"error\":{\"code\":503,\"message\":\"The service is currently unavailable.\",\"status\":\"UNAVAILABLE\"}}\n\n");
  CHECK_FALSE(r.ok);
  REQUIRE(r.error);
  CHECK(r.error->kind == ErrorKind::kServiceUnavailable);
  CHECK(r.chunks.size() == 1);
  Run cut = run("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}\n\ndata: {\"candidates\":[{\"con");
  CHECK_FALSE(cut.ok);
  REQUIRE(cut.error);
  CHECK(cut.error->kind == ErrorKind::kConnectionError);
  // A complete last event without its blank line is still delivered.
  Run tail = run("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"finishReason\":\"STOP\"}]}");
  CHECK(tail.ok);
  CHECK(tail.chunks.size() == 1);
  // A malformed event goes to the relay, which skips and counts it.
  Run bad = run("data: {nope\n\n");
  REQUIRE(bad.chunks.size() == 1);
  CHECK(llmux::testing::provider_named("gemini").inspect_chunk(bad.chunks[0]).kind ==
        llmux::provider::ChunkInfo::Kind::kMalformed);
}
