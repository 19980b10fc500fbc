// StreamContinuation: what a continued stream passes on after a mid-stream
// failure. Chunks are read with the real OpenAI-compatible inspect_chunk, so
// the ChunkInfo the tests feed is the one the router sees.
#include "router/stream_continuation.hpp"

#include <catch2/catch.hpp>

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "request/request.hpp"
#include "json/writer.hpp"
#include "provider/provider.hpp"

using llmux::provider::ChunkInfo;
using llmux::router::StreamContinuation;
using Action = StreamContinuation::Verdict::Action;
using Mode = StreamContinuation::Mode;

namespace {

const llmux::provider::Provider& vllm() {
  const auto* p = llmux::provider::find_provider("hosted_vllm");
  REQUIRE(p != nullptr);
  return *p;
}

ChunkInfo info_of(std::string_view chunk) { return vllm().inspect_chunk(chunk); }

std::string json_string(std::string_view s) {
  std::string out;
  llmux::json::append_json_string(out, s);
  return out;
}

// A vLLM-shaped content chunk.
std::string text_chunk(std::string_view text, std::string_view id = "chatcmpl-b") {
  return std::string(R"({"id":")") + std::string(id) +
         R"(","object":"chat.completion.chunk","created":1718000001,"model":"Qwen/Qwen3-14B",)"
         R"("choices":[{"index":0,"delta":{"content":)" +
         json_string(text) + R"(},"logprobs":null,"finish_reason":null}]})";
}

const std::string kRoleChunk =
    R"({"id":"chatcmpl-b","object":"chat.completion.chunk","created":1718000001,"model":"Qwen/Qwen3-14B",)"
    R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})";
const std::string kFinishChunk =
    R"({"id":"chatcmpl-b","object":"chat.completion.chunk","created":1718000001,"model":"Qwen/Qwen3-14B",)"
    R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop","stop_reason":null}]})";
const std::string kUsageChunk =
    R"({"id":"chatcmpl-b","object":"chat.completion.chunk","created":1718000001,"model":"Qwen/Qwen3-14B",)"
    R"("choices":[],"usage":{"prompt_tokens":10,"completion_tokens":7,"total_tokens":17}})";
const std::string kToolChunk =
    R"({"id":"chatcmpl-b","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",)"
    R"("function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]})";

// A continuation with `texts` delivered by the original attempt (after its
// role chunk).
StreamContinuation delivered(const std::vector<std::string>& texts) {
  StreamContinuation c;
  c.record_delivered(info_of(kRoleChunk));
  for (const auto& t : texts) c.record_delivered(info_of(text_chunk(t, "chatcmpl-a")));
  return c;
}

StreamContinuation::Verdict feed(StreamContinuation& c, const std::string& chunk) {
  return c.on_chunk(chunk, info_of(chunk));
}

// What the consumer sees of one payload: its choice-0 text, "" when suppressed.
struct Seen {
  bool delivered = false;
  std::string text;
};

Seen seen(const StreamContinuation::Verdict& v, const std::string& chunk) {
  Seen s;
  if (v.action == Action::kDeliver) {
    s.delivered = true;
    s.text = info_of(chunk).content;
  } else if (v.action == Action::kDeliverRewritten) {
    s.delivered = true;
    const ChunkInfo rewritten = info_of(v.chunk);
    REQUIRE(rewritten.kind == ChunkInfo::Kind::kChunk);
    s.text = rewritten.content;
  }
  return s;
}

// Splits `text` into pieces at the given byte offsets.
std::vector<std::string> split(std::string_view text, const std::vector<size_t>& cuts) {
  std::vector<std::string> parts;
  size_t from = 0;
  for (size_t cut : cuts) {
    parts.emplace_back(text.substr(from, cut - from));
    from = cut;
  }
  parts.emplace_back(text.substr(from));
  return parts;
}

}  // namespace

TEST_CASE("record_delivered accumulates choice 0's text") {
  StreamContinuation c;
  CHECK_FALSE(c.can_continue());  // nothing yet
  c.record_delivered(info_of(kRoleChunk));
  CHECK(c.delivered_text().empty());
  CHECK_FALSE(c.can_continue());  // a role chunk is no text
  c.record_delivered(info_of(text_chunk("Hello")));
  c.record_delivered(info_of(text_chunk(", \"w\xC3\xA9rld\"\n")));
  c.record_delivered(info_of(R"({"choices":[{"index":0,"delta":{"content":"\u00e9\n\"\\"}}]})"));
  c.record_delivered(info_of(kUsageChunk));
  c.record_delivered(info_of("[DONE]"));
  CHECK(c.delivered_text() == "Hello, \"w\xC3\xA9rld\"\n\xC3\xA9\n\"\\");
  CHECK(c.can_continue());
}

TEST_CASE("tool calls and undecodable text cannot be continued") {
  SECTION("a tool-call delta") {
    auto c = delivered({"Let me check."});
    REQUIRE(c.can_continue());
    c.record_delivered(info_of(kToolChunk));
    CHECK_FALSE(c.can_continue());
    CHECK(c.delivered_text() == "Let me check.");
  }
  SECTION("a legacy function_call") {
    auto c = delivered({"x"});
    c.record_delivered(info_of(R"({"choices":[{"index":0,"delta":{"function_call":{"arguments":"{"}}}]})"));
    CHECK_FALSE(c.can_continue());
  }
  SECTION("a lone surrogate") {
    auto c = delivered({"x"});
    c.record_delivered(info_of(R"({"choices":[{"index":0,"delta":{"content":"\ud83d"}}]})"));
    CHECK_FALSE(c.can_continue());
  }
  SECTION("tool calls delivered by a prefill continuation block the next one") {
    auto c = delivered({"Hi"});
    c.begin_attempt(Mode::kPrefill);
    CHECK(feed(c, kToolChunk).action == Action::kDeliver);
    CHECK_FALSE(c.can_continue());
  }
}

TEST_CASE("prefill: whitespace the delivered text ends with is not repeated by the continuation") {
  // Anthropic rejects trailing whitespace in a prefill, so the adapter trims
  // it and the model sends it again.
  auto c = delivered({"Hi! How "});
  c.begin_attempt(Mode::kPrefill);
  CHECK(feed(c, kRoleChunk).action == Action::kSuppress);
  auto v = c.on_chunk(text_chunk(" are"), info_of(text_chunk(" are")));
  REQUIRE(v.action == Action::kDeliverRewritten);
  CHECK(info_of(v.chunk).content == "are");
  CHECK(feed(c, text_chunk(" you")).action == Action::kDeliver);  // only the first text is looked at
  CHECK(c.delivered_text() == "Hi! How are you");

  // Only the overlap goes: a paragraph break after a delivered newline keeps its second newline.
  auto p = delivered({"line one\n"});
  p.begin_attempt(Mode::kPrefill);
  auto pv = p.on_chunk(text_chunk("\n\nline two"), info_of(text_chunk("\n\nline two")));
  REQUIRE(pv.action == Action::kDeliverRewritten);
  CHECK(info_of(pv.chunk).content == "\nline two");
  CHECK(p.delivered_text() == "line one\n\nline two");

  // A continuation without leading whitespace, or text not ending in any, is left alone.
  auto q = delivered({"How "});
  q.begin_attempt(Mode::kPrefill);
  CHECK(feed(q, text_chunk("are")).action == Action::kDeliver);
  auto r = delivered({"How"});
  r.begin_attempt(Mode::kPrefill);
  CHECK(feed(r, text_chunk(" are")).action == Action::kDeliver);
  CHECK(r.delivered_text() == "How are");
}

TEST_CASE("prefill: everything but the leading role chunk is delivered") {
  auto c = delivered({"Once", " upon"});
  c.begin_attempt(Mode::kPrefill);
  CHECK(feed(c, kRoleChunk).action == Action::kSuppress);
  CHECK(feed(c, kRoleChunk).action == Action::kSuppress);  // still leading
  CHECK(feed(c, text_chunk(" a")).action == Action::kDeliver);
  CHECK(feed(c, text_chunk(" time")).action == Action::kDeliver);
  CHECK(feed(c, kRoleChunk).action == Action::kDeliver);  // no longer leading: passed on as sent
  CHECK(feed(c, kFinishChunk).action == Action::kDeliver);
  CHECK(feed(c, kUsageChunk).action == Action::kDeliver);
  CHECK(feed(c, "[DONE]").action == Action::kDeliver);
  CHECK(c.delivered_text() == "Once upon a time");
  CHECK(c.prefix_repeated());
  SECTION("a second continuation prefills everything delivered so far") {
    c.begin_attempt(Mode::kPrefill);
    CHECK(feed(c, text_chunk(" there")).action == Action::kDeliver);
    CHECK(c.delivered_text() == "Once upon a time there");
  }
}

TEST_CASE("prefill: a role chunk that carries usage is still the leading role chunk") {
  auto c = delivered({"A"});
  c.begin_attempt(Mode::kPrefill);
  const std::string role_with_usage =
      R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}],)"
      R"("usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}})";
  CHECK(feed(c, role_with_usage).action == Action::kSuppress);
  // A first chunk that already has text is delivered.
  auto d = delivered({"A"});
  d.begin_attempt(Mode::kPrefill);
  CHECK(feed(d, R"({"choices":[{"index":0,"delta":{"role":"assistant","content":"B"}}]})").action ==
        Action::kDeliver);
  CHECK(d.delivered_text() == "AB");
}

TEST_CASE("restart: the repeated prefix is suppressed wherever chunks split") {
  // Bytes: "The " 0-3, "caf" 4-6, é 7-8, " " 9, em dash 10-12, " " 13, "\"quoted\"" 14-21, "\n" 22,
  // "and " 23-26, emoji 27-30, " done, ..." 31-.
  const std::string full = "The caf\xC3\xA9 \xE2\x80\x94 \"quoted\"\nand \xF0\x9F\x98\x80 done, then more text.";
  // Chunks hold whole characters (a provider's JSON strings are valid
  // UTF-8), so cuts fall between characters; the prefix end may fall
  // anywhere between characters of a restarted chunk.
  auto between_chars = [&](size_t at) { return (static_cast<unsigned char>(full[at]) & 0xC0) != 0x80; };
  std::vector<size_t> every_char;
  for (size_t i = 1; i < full.size(); ++i) {
    if (between_chars(i)) every_char.push_back(i);
  }
  const std::vector<std::vector<size_t>> original_cuts = {{}, {4}, {7, 9, 20}, {26}, {1, 2, 3, 10, 13, 14, 22},
                                                          every_char};
  const std::vector<std::vector<size_t>> restart_cuts = {
      {},                        // one chunk holds everything
      {27},                      // a boundary right before the emoji
      {26},                      // ... one character earlier
      {31},                      // ... right after the emoji
      {5, 10, 27, 35},           // several repeats
      {2, 9, 17, 26, 40},        // the crossing chunk starts before the end
      {7, 9, 13},                // multi-byte characters at the chunk edges
      every_char,                // one character per chunk
  };
  for (size_t prefix_len : {size_t{1}, size_t{7}, size_t{9}, size_t{13}, size_t{22}, size_t{27}, size_t{31},
                            full.size()}) {
    REQUIRE(between_chars(prefix_len % full.size()));
    for (const auto& ocuts : original_cuts) {
      std::vector<size_t> oc;
      for (size_t cut : ocuts) {
        if (cut < prefix_len) oc.push_back(cut);
      }
      const auto original = split(std::string_view(full).substr(0, prefix_len), oc);
      for (const auto& rc : restart_cuts) {
        for (size_t cut : rc) REQUIRE(between_chars(cut));
        const auto restarted = split(full, rc);
        INFO("prefix " << prefix_len << ", original pieces " << original.size() << ", restarted pieces "
                       << restarted.size());
        auto c = delivered(original);
        REQUIRE(c.delivered_text() == full.substr(0, prefix_len));
        REQUIRE(c.can_continue());
        c.begin_attempt(Mode::kRestart);
        std::string consumer;  // the text the consumer gets from the restart
        CHECK(feed(c, kRoleChunk).action == Action::kSuppress);
        int rewritten = 0;
        for (const auto& piece : restarted) {
          const std::string chunk = text_chunk(piece);
          REQUIRE(info_of(chunk).content == piece);
          auto v = feed(c, chunk);
          REQUIRE(v.action != Action::kDiverged);
          if (v.action == Action::kDeliverRewritten) ++rewritten;
          consumer += seen(v, chunk).text;
        }
        CHECK(rewritten <= 1);
        CHECK(c.prefix_repeated());
        CHECK(feed(c, kFinishChunk).action == Action::kDeliver);
        CHECK(feed(c, kUsageChunk).action == Action::kDeliver);
        CHECK(feed(c, "[DONE]").action == Action::kDeliver);
        CHECK(consumer == full.substr(prefix_len));
        CHECK(c.delivered_text() == full);
      }
    }
  }
}

TEST_CASE("restart: the crossing chunk is rewritten, every other member kept") {
  auto c = delivered({"Hello, wo"});
  c.begin_attempt(Mode::kRestart);
  CHECK(feed(c, text_chunk("Hello")).action == Action::kSuppress);
  const std::string crossing =
      R"({"id":"chatcmpl-b","object":"chat.completion.chunk","created":1718000001,"model":"Qwen/Qwen3-14B",)"
      R"("choices":[{"index":0,"delta":{"content":", world\n\"\u00e9\"","reasoning_content":null},"logprobs":null,)"
      R"("finish_reason":null}],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14},"x":[1.50,{}]})";
  auto v = feed(c, crossing);
  REQUIRE(v.action == Action::kDeliverRewritten);
  CHECK(v.chunk ==
        R"({"id":"chatcmpl-b","object":"chat.completion.chunk","created":1718000001,"model":"Qwen/Qwen3-14B",)"
        R"("choices":[{"index":0,"delta":{"content":"rld\n\"é\"","reasoning_content":null},"logprobs":null,)"
        R"("finish_reason":null}],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14},"x":[1.50,{}]})");
  // Parsed back: the same chunk with only the text changed.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE_FALSE(parser.parse(v.chunk).get(doc));
  std::string_view content;
  REQUIRE_FALSE(doc["choices"].at(0)["delta"]["content"].get_string().get(content));
  CHECK(content == "rld\n\"\xC3\xA9\"");
  int64_t created = 0;
  REQUIRE_FALSE(doc["created"].get_int64().get(created));
  CHECK(created == 1718000001);
  CHECK(c.delivered_text() == "Hello, world\n\"\xC3\xA9\"");
  CHECK(feed(c, text_chunk("!")).action == Action::kDeliver);
}

TEST_CASE("restart: the rewrite finds choice 0's text among spacing and other choices") {
  auto c = delivered({"ab"});
  c.begin_attempt(Mode::kRestart);
  const std::string chunk =
      "{ \"choices\" : [ { \"delta\" : { \"content\" : \"other\" } , \"index\" : 1 } ,\n"
      " { \"index\" : 0 , \"delta\" : { \"role\" : \"assistant\" , \"content\" : \"abc\" \t} } ] , \"model\" : \"m\" }";
  auto v = feed(c, chunk);
  REQUIRE(v.action == Action::kDeliverRewritten);
  CHECK(v.chunk ==
        "{ \"choices\" : [ { \"delta\" : { \"content\" : \"other\" } , \"index\" : 1 } ,\n"
        " { \"index\" : 0 , \"delta\" : { \"role\" : \"assistant\" , \"content\" : \"c\" \t} } ] , \"model\" : \"m\" }");
}

TEST_CASE("restart: a repeat that ends the prefix and finishes keeps its finish_reason") {
  auto c = delivered({"Yes", "."});
  c.begin_attempt(Mode::kRestart);
  CHECK(feed(c, text_chunk("Ye")).action == Action::kSuppress);
  const std::string last =
      R"({"id":"b","choices":[{"index":0,"delta":{"content":"s."},"finish_reason":"stop"}],"model":"m"})";
  auto v = feed(c, last);
  REQUIRE(v.action == Action::kDeliverRewritten);
  CHECK(v.chunk == R"({"id":"b","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"model":"m"})");
  CHECK(info_of(v.chunk).finish_reason == "stop");
  CHECK(feed(c, "[DONE]").action == Action::kDeliver);
  CHECK(c.delivered_text() == "Yes.");
}

TEST_CASE("restart: chunks without text before the prefix is repeated") {
  auto c = delivered({"Hello world"});
  c.begin_attempt(Mode::kRestart);
  CHECK(feed(c, kRoleChunk).action == Action::kSuppress);
  CHECK(feed(c, R"({"choices":[{"index":0,"delta":{"reasoning_content":"thinking..."}}]})").action ==
        Action::kSuppress);
  CHECK(feed(c, R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})").action ==
        Action::kSuppress);
  CHECK(feed(c, "not json").action == Action::kSuppress);  // kMalformed: the caller's to count
  CHECK(feed(c, text_chunk("Hello")).action == Action::kSuppress);
  CHECK_FALSE(c.prefix_repeated());
  CHECK(feed(c, text_chunk(" world")).action == Action::kSuppress);
  CHECK(c.prefix_repeated());
  // Past the prefix everything goes through.
  CHECK(feed(c, R"({"choices":[{"index":0,"delta":{"reasoning_content":"more"}}]})").action == Action::kDeliver);
  CHECK(feed(c, text_chunk("!")).action == Action::kDeliver);
  CHECK(feed(c, kFinishChunk).action == Action::kDeliver);
  CHECK(c.delivered_text() == "Hello world!");
}

TEST_CASE("restart: divergence") {
  auto c = delivered({"The answer is 4", "2."});
  c.begin_attempt(Mode::kRestart);
  SECTION("different text inside one chunk") {
    CHECK(feed(c, text_chunk("The ")).action == Action::kSuppress);
    CHECK(feed(c, text_chunk("answer was")).action == Action::kDiverged);
    CHECK(c.divergence() == "the restarted stream diverged from the delivered text at byte 11 of 17");
  }
  SECTION("different text in the crossing chunk") {
    CHECK(feed(c, text_chunk("The answer is 4")).action == Action::kSuppress);
    CHECK(feed(c, text_chunk("3. Or")).action == Action::kDiverged);
    CHECK(c.divergence() == "the restarted stream diverged from the delivered text at byte 15 of 17");
  }
  SECTION("a multi-byte character that differs in its last byte") {
    auto d = delivered({"caf\xC3\xA9"});
    d.begin_attempt(Mode::kRestart);
    CHECK(feed(d, text_chunk("caf\xC3\xA8!")).action == Action::kDiverged);
    CHECK(d.divergence() == "the restarted stream diverged from the delivered text at byte 4 of 5");
  }
  SECTION("finishing before the prefix is repeated") {
    CHECK(feed(c, text_chunk("The answer is 4")).action == Action::kSuppress);
    CHECK(feed(c, kFinishChunk).action == Action::kDiverged);
    CHECK(c.divergence() == "the restarted stream finished after repeating 15 of the 17 bytes already delivered");
  }
  SECTION("a repeat that finishes early") {
    CHECK(feed(c, R"({"choices":[{"index":0,"delta":{"content":"The"},"finish_reason":"length"}]})").action ==
          Action::kDiverged);
  }
  SECTION("[DONE] before the prefix is repeated") {
    CHECK(feed(c, text_chunk("The")).action == Action::kSuppress);
    CHECK(feed(c, "[DONE]").action == Action::kDiverged);
    CHECK(c.divergence() == "the restarted stream ended after repeating 3 of the 17 bytes already delivered");
  }
  SECTION("a tool call instead of the text") {
    CHECK(feed(c, kToolChunk).action == Action::kDiverged);
    CHECK(c.divergence() == "the restarted stream called a tool after repeating 0 of the 17 bytes already delivered");
  }
  SECTION("text that cannot be compared") {
    CHECK(feed(c, R"({"choices":[{"index":0,"delta":{"content":"\udc00"}}]})").action == Action::kDiverged);
  }
  // Nothing wrong reached the consumer: the delivered text is unchanged.
  CHECK(c.delivered_text() == "The answer is 42.");
  CHECK_FALSE(c.prefix_repeated());
}

TEST_CASE("restart: tool calls after the prefix pass through and block further continuation") {
  auto c = delivered({"Checking."});
  c.begin_attempt(Mode::kRestart);
  CHECK(feed(c, text_chunk("Checking.")).action == Action::kSuppress);
  CHECK(feed(c, kToolChunk).action == Action::kDeliver);
  CHECK_FALSE(c.can_continue());
  SECTION("a repeat that ends the prefix together with a tool call keeps the call") {
    auto d = delivered({"Checking."});
    d.begin_attempt(Mode::kRestart);
    const std::string chunk =
        R"({"choices":[{"index":0,"delta":{"content":"Checking.","tool_calls":[{"index":0,"id":"c1"}]}}]})";
    auto v = feed(d, chunk);
    REQUIRE(v.action == Action::kDeliverRewritten);
    CHECK(v.chunk == R"({"choices":[{"index":0,"delta":{"content":"","tool_calls":[{"index":0,"id":"c1"}]}}]})");
    CHECK_FALSE(d.can_continue());
  }
}

TEST_CASE("restart: a second restart compares with everything delivered so far") {
  auto c = delivered({"One"});
  c.begin_attempt(Mode::kRestart);
  CHECK(feed(c, text_chunk("One two")).action == Action::kDeliverRewritten);
  CHECK(c.delivered_text() == "One two");
  // That attempt fails too; the next restart must repeat "One two".
  c.begin_attempt(Mode::kRestart);
  CHECK_FALSE(c.prefix_repeated());
  CHECK(feed(c, text_chunk("One")).action == Action::kSuppress);
  auto v = feed(c, text_chunk(" two three"));
  REQUIRE(v.action == Action::kDeliverRewritten);
  CHECK(info_of(v.chunk).content == " three");
  CHECK(c.delivered_text() == "One two three");
  // And a restart that diverged leaves the state ready for the caller to end.
  c.begin_attempt(Mode::kRestart);
  CHECK(feed(c, text_chunk("Two")).action == Action::kDiverged);
  CHECK(c.delivered_text() == "One two three");
}

TEST_CASE("JSON escapes are compared as text, not as bytes of JSON") {
  // The original stream escaped what the restart sends raw, and the reverse.
  StreamContinuation c;
  c.record_delivered(info_of(R"({"choices":[{"index":0,"delta":{"content":"line\nq\"\u00e9"}}]})"));
  REQUIRE(c.delivered_text() == "line\nq\"\xC3\xA9");
  c.begin_attempt(Mode::kRestart);
  CHECK(feed(c, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"line\\u000aq\\u0022\xC3\xA9\"}}]}").action ==
        Action::kSuppress);
  CHECK(c.prefix_repeated());
  auto v = feed(c, R"({"choices":[{"index":0,"delta":{"content":"\ttab \"q\" \\ \u00e9"}}]})");
  REQUIRE(v.action == Action::kDeliver);
  CHECK(c.delivered_text() == "line\nq\"\xC3\xA9\ttab \"q\" \\ \xC3\xA9");
  // A split that leaves escapes in both halves.
  StreamContinuation d;
  d.record_delivered(info_of(R"({"choices":[{"index":0,"delta":{"content":"a\n"}}]})"));
  d.begin_attempt(Mode::kRestart);
  auto w = feed(d, R"({"choices":[{"index":0,"delta":{"content":"a\n\"b\"\n"}}]})");
  REQUIRE(w.action == Action::kDeliverRewritten);
  CHECK(w.chunk == R"({"choices":[{"index":0,"delta":{"content":"\"b\"\n"}}]})");
}

TEST_CASE("on_chunk before begin_attempt records and delivers") {
  StreamContinuation c;
  CHECK(feed(c, text_chunk("x")).action == Action::kDeliver);
  CHECK(c.delivered_text() == "x");
  CHECK(c.prefix_repeated());
}
