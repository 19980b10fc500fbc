// Bedrock (providers.md §5): the Converse mapping both ways, the
// ConverseStream translator fed split at every byte boundary, exception
// frames, bad CRCs, error classification, and the adapter's route, URL and
// auth (SigV4 recomputed here with the signer's canonical request).
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <absl/strings/escaping.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "provider/aws_sigv4.hpp"
#include "provider/bedrock.hpp"
#include "provider/bedrock_converse.hpp"
#include "transport/aws_event_stream.hpp"
#include "support/simulated_loop.hpp"
#include "unit/provider/provider_test_util.hpp"

namespace llmux::testing {
namespace {

namespace bedrock = provider::bedrock;
using transport::EventStreamHeader;
using transport::EventStreamHeaderType;

std::string converse(std::string_view request_json, std::string_view model = "anthropic.claude-3-haiku-20240307-v1:0",
                     bool drop = false) {
  auto req = parse(request_json);
  bedrock::ConverseOptions o;
  o.model = model;
  o.drop_params = drop;
  std::string out;
  Status s = bedrock::build_converse_body(req, o, out);
  INFO(request_json);
  REQUIRE(s.ok());
  return out;
}

Error converse_error(std::string_view request_json, bool drop = false) {
  auto req = parse(request_json);
  bedrock::ConverseOptions o;
  o.model = "anthropic.claude-3-haiku-20240307-v1:0";
  o.drop_params = drop;
  std::string out;
  Status s = bedrock::build_converse_body(req, o, out);
  REQUIRE_FALSE(s.ok());
  return s.error();
}

// ---------------------------------------------------------------------------
// Request

TEST_CASE("Converse body: system, merged turns, inferenceConfig", "[bedrock]") {
  const std::string body = converse(R"({"model":"m","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","content":"Hi"},
      {"role":"user","content":[{"type":"text","text":"there"}]},
      {"role":"assistant","content":"Hello!"},
      {"role":"user","content":"Bye"}],
    "max_tokens":64,"temperature":0.5,"top_p":0.9,"stop":"END","top_k":5})");
  CHECK(body ==
        R"({"messages":[{"role":"user","content":[{"text":"Hi"},{"text":"there"}]},)"
        R"({"role":"assistant","content":[{"text":"Hello!"}]},{"role":"user","content":[{"text":"Bye"}]}],)"
        R"("system":[{"text":"Be brief."}],"inferenceConfig":{"maxTokens":64,"temperature":0.5,"topP":0.9,)"
        R"("stopSequences":["END"]},"additionalModelRequestFields":{"top_k":5}})");
}

TEST_CASE("Converse body: top_k per family, reasoning_effort, pass-through fields", "[bedrock]") {
  CHECK(converse(R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_k":3})", "amazon.nova-pro-v1:0") ==
        R"({"messages":[{"role":"user","content":[{"text":"x"}]}],)"
        R"("additionalModelRequestFields":{"inferenceConfig":{"topK":3}}})");
  CHECK(converse(R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_k":3})", "meta.llama3-8b-instruct-v1:0") ==
        R"({"messages":[{"role":"user","content":[{"text":"x"}]}]})");
  CHECK(converse(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"})") ==
        R"({"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":5120},)"
        R"("additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":1024}}})");
  CHECK(converse(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"})",
                 "openai.gpt-oss-120b-1:0") ==
        R"({"messages":[{"role":"user","content":[{"text":"x"}]}],)"
        R"("additionalModelRequestFields":{"reasoning_effort":"high"}})");
  CHECK(converse(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "guardrailConfig":{"guardrailIdentifier":"g1","guardrailVersion":"1"},
      "performanceConfig":{"latency":"optimized"},"requestMetadata":{"team":"a"},"anthropic_beta":["b1"]})") ==
        R"({"messages":[{"role":"user","content":[{"text":"x"}]}],"additionalModelRequestFields":{"anthropic_beta":["b1"]},)"
        R"("guardrailConfig":{"guardrailIdentifier":"g1","guardrailVersion":"1"},)"
        R"("performanceConfig":{"latency":"optimized"},"requestMetadata":{"team":"a"}})");
}

TEST_CASE("Converse body: images from data URIs only; URLs are a clear BadRequest", "[bedrock]") {
  CHECK(converse(R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what?"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0K"}}]}]})") ==
        R"({"messages":[{"role":"user","content":[{"text":"what?"},)"
        R"({"image":{"format":"png","source":{"bytes":"iVBORw0K"}}}]}]})");
  const Error e = converse_error(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]})");
  CHECK(e.kind == ErrorKind::kBadRequest);
  CHECK(e.status == 400);
  CHECK_THAT(e.message, Catch::Contains("does not download image URLs"));
}

TEST_CASE("Converse body: tools, sanitised names, tool calls and results, tool_choice", "[bedrock]") {
  const std::string body = converse(R"({"model":"m","messages":[
      {"role":"user","content":"weather?"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function",
        "function":{"name":"get-weather","arguments":"{\"city\":\"Paris\"}"}}]},
      {"role":"tool","tool_call_id":"t1","content":"sunny"},
      {"role":"user","content":"thanks"}],
    "tools":[{"type":"function","function":{"name":"get-weather","parameters":{"type":"object",
      "properties":{"city":{"type":"string"}},"required":["city"]}}}],
    "tool_choice":{"type":"function","function":{"name":"get-weather"}}})");
  CHECK(body ==
        R"({"messages":[{"role":"user","content":[{"text":"weather?"}]},)"
        R"({"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Paris"}}}]},)"
        R"({"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"sunny"}]}},{"text":"thanks"}]}],)"
        R"("toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"get-weather","inputSchema":)"
        R"({"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}],)"
        R"("toolChoice":{"tool":{"name":"get_weather"}}}})");
  CHECK(bedrock::ToolNames::sanitize("1tool.name") == "a1tool_name");
  CHECK(str_contains(converse(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"})"),
                     R"("toolChoice":{"any":{}})"));
  CHECK(str_contains(converse(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto"})"),
                     R"("toolChoice":{"auto":{}})"));
  // With thinking, a forced choice becomes auto.
  CHECK(str_contains(converse(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low",
      "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"})"),
                     R"("toolChoice":{"auto":{}})"));
  // Tool blocks without tools: Bedrock would reject it.
  CHECK(converse_error(R"({"model":"m","messages":[{"role":"user","content":"x"},
      {"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"t","content":"r"}]})")
            .kind == ErrorKind::kBadRequest);
}

TEST_CASE("Converse body: response_format becomes the forced json_tool_call", "[bedrock]") {
  auto req = parse(R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema",
      "json_schema":{"name":"s","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}})");
  CHECK(bedrock::uses_json_tool(req));
  std::string out;
  bedrock::ConverseOptions o;
  o.model = "anthropic.claude-3-haiku";
  REQUIRE(bedrock::build_converse_body(req, o, out).ok());
  CHECK(out == R"({"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{"toolSpec":)"
               R"({"name":"json_tool_call","description":"Respond with a JSON object.","inputSchema":{"json":)"
               R"({"type":"object","properties":{"a":{"type":"integer"}}}}}}],"toolChoice":{"tool":{"name":)"
               R"("json_tool_call"}}}})");
}

TEST_CASE("Converse body: unsupported parameters fail unless drop_params", "[bedrock]") {
  const Error e = converse_error(R"({"model":"m","messages":[{"role":"user","content":"x"}],"frequency_penalty":1})");
  CHECK(e.kind == ErrorKind::kBadRequest);
  CHECK_THAT(e.message, Catch::Contains("frequency_penalty") && Catch::Contains("drop_params"));
  CHECK(converse(R"({"model":"m","messages":[{"role":"user","content":"x"}],"frequency_penalty":1})",
                 "anthropic.claude-3-haiku-20240307-v1:0", true) ==
        R"({"messages":[{"role":"user","content":[{"text":"x"}]}]})");
}

// ---------------------------------------------------------------------------
// Answer

TEST_CASE("Converse answer → chat.completion: text, tool calls with original names, usage", "[bedrock]") {
  auto req = parse(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"get-weather"}}]})");
  const bedrock::ToolNames names = bedrock::ToolNames::of(req);
  std::string body = R"({"output":{"message":{"role":"assistant","content":[{"text":"Let me check."},
      {"toolUse":{"toolUseId":"tu1","name":"get_weather","input":{"city":"Paris"}}}]}},
      "stopReason":"tool_use","usage":{"inputTokens":10,"outputTokens":5,"totalTokens":15,
      "cacheReadInputTokens":3,"cacheWriteInputTokens":2},"metrics":{"latencyMs":100}})";
  bedrock::ResponseOptions o;
  o.model = "anthropic.claude";
  o.created = 7;
  o.tool_names = &names;
  o.id = "chatcmpl-x";
  REQUIRE(bedrock::translate_converse_response(body, o).ok());
  CHECK(body ==
        R"({"id":"chatcmpl-x","object":"chat.completion","created":7,"model":"anthropic.claude","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":"Let me check.","tool_calls":[{"index":1,"id":"tu1","type":)"
        R"("function","function":{"name":"get-weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":)"
        R"("tool_calls"}],"usage":{"prompt_tokens":15,"completion_tokens":5,"total_tokens":20,)"
        R"("prompt_tokens_details":{"cached_tokens":3},"cache_read_input_tokens":3,"cache_creation_input_tokens":2}})");
}

TEST_CASE("Converse stop reasons: guardrail and content filter are content_filter", "[bedrock]") {
  CHECK(bedrock::map_stop_reason("end_turn") == "stop");
  CHECK(bedrock::map_stop_reason("stop_sequence") == "stop");
  CHECK(bedrock::map_stop_reason("max_tokens") == "length");
  CHECK(bedrock::map_stop_reason("tool_use") == "tool_calls");
  CHECK(bedrock::map_stop_reason("guardrail_intervened") == "content_filter");
  CHECK(bedrock::map_stop_reason("content_filtered") == "content_filter");
  CHECK(bedrock::map_stop_reason("malformed_tool_use") == "malformed_tool_use");
}

TEST_CASE("Converse answer: json_tool_call unwrapped into content; not an answer is a 422", "[bedrock]") {
  std::string body = R"({"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t",)"
                     R"("name":"json_tool_call","input":{"a":1}}}]}},"stopReason":"tool_use",)"
                     R"("usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}})";
  bedrock::ResponseOptions o;
  o.json_mode = true;
  o.id = "i";
  REQUIRE(bedrock::translate_converse_response(body, o).ok());
  CHECK_THAT(body, Catch::Contains(R"("content":"{\"a\":1}")") && Catch::Contains(R"("finish_reason":"stop")"));
  std::string bad = R"({"message":"nope"})";
  Status s = bedrock::translate_converse_response(bad, o);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().status == 422);
}

// ---------------------------------------------------------------------------
// Stream

void frame(std::string& out, std::string_view message_type, std::string_view type_header, std::string_view type,
           std::string_view payload) {
  EventStreamHeader h[3];
  h[0].name = type_header;
  h[0].type = EventStreamHeaderType::kString;
  h[0].bytes = type;
  h[1].name = ":content-type";
  h[1].type = EventStreamHeaderType::kString;
  h[1].bytes = "application/json";
  h[2].name = ":message-type";
  h[2].type = EventStreamHeaderType::kString;
  h[2].bytes = message_type;
  transport::append_event_stream_message(out, h, payload);
}

void event(std::string& out, std::string_view type, std::string_view payload) {
  frame(out, "event", ":event-type", type, payload);
}

struct Run {
  std::vector<std::string> chunks;
  bool ok = true;
  std::optional<Error> error;
};

bedrock::ConverseStreamTranslator::Options stream_options(bool json_mode = false) {
  bedrock::ConverseStreamTranslator::Options o;
  o.model = "m";
  o.created = 7;
  o.id = "chatcmpl-s";
  o.json_mode = json_mode;
  o.tool_names.add("get-weather");
  return o;
}

Run run(std::string_view stream, size_t split_at, bool json_mode = false) {
  bedrock::ConverseStreamTranslator t(stream_options(json_mode));
  Run r;
  auto sink = [&](std::string_view c) {
    r.chunks.emplace_back(c);
    return true;
  };
  r.ok = t.feed(stream.substr(0, split_at), sink) && t.feed(stream.substr(split_at), sink) && t.finish(sink);
  r.error = t.take_error();
  return r;
}

Run run_every_split(std::string_view stream, bool json_mode = false) {
  Run whole = run(stream, stream.size(), json_mode);
  for (size_t i = 0; i <= stream.size(); ++i) {
    Run split = run(stream, i, json_mode);
    INFO("split at " << i);
    REQUIRE(split.chunks == whole.chunks);
    REQUIRE(split.ok == whole.ok);
    REQUIRE(split.error.has_value() == whole.error.has_value());
    if (whole.error) REQUIRE(split.error->kind == whole.error->kind);
  }
  bedrock::ConverseStreamTranslator t(stream_options(json_mode));
  std::vector<std::string> bytewise;
  auto sink = [&](std::string_view c) {
    bytewise.emplace_back(c);
    return true;
  };
  bool ok = true;
  for (char c : stream) ok = ok && t.feed(std::string_view(&c, 1), sink);
  ok = ok && t.finish(sink);
  CHECK(bytewise == whole.chunks);
  CHECK(ok == whole.ok);
  return whole;
}

constexpr std::string_view kChunkHead = R"({"id":"chatcmpl-s","object":"chat.completion.chunk","created":7,"model":"m",)";

TEST_CASE("ConverseStream: text, tool use with running index, empty input, stop, usage; every split", "[bedrock]") {
  std::string s;
  event(s, "messageStart", R"({"role":"assistant","p":"ab"})");
  event(s, "contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"})");
  event(s, "contentBlockStop", R"({"contentBlockIndex":0})");
  event(s, "contentBlockStart",
        R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tu1","name":"get_weather"}}})");
  event(s, "contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}})");
  event(s, "contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}}})");
  event(s, "contentBlockStop", R"({"contentBlockIndex":1})");
  event(s, "contentBlockStart", R"({"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tu2","name":"noargs"}}})");
  event(s, "contentBlockStop", R"({"contentBlockIndex":2})");
  event(s, "messageStop", R"({"stopReason":"tool_use"})");
  event(s, "metadata", R"({"usage":{"inputTokens":10,"outputTokens":4,"totalTokens":14},"metrics":{"latencyMs":5}})");
  const Run r = run_every_split(s);
  REQUIRE(r.ok);
  const std::string head(kChunkHead);
  const std::vector<std::string> expected = {
      head + R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})",
      head + R"("choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]})",
      head + R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"tu1","type":"function","function":)"
             R"({"name":"get-weather","arguments":""}}]},"finish_reason":null}]})",
      head + R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},)"
             R"("finish_reason":null}]})",
      head + R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},)"
             R"("finish_reason":null}]})",
      head + R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"tu2","type":"function","function":)"
             R"({"name":"noargs","arguments":""}}]},"finish_reason":null}]})",
      head + R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},)"
             R"("finish_reason":null}]})",
      head + R"("choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
      head + R"("choices":[],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,)"
             R"("prompt_tokens_details":{"cached_tokens":0},"cache_read_input_tokens":0,"cache_creation_input_tokens":0}})",
  };
  CHECK(r.chunks == expected);
}

TEST_CASE("ConverseStream: exception frames are classified; every split", "[bedrock]") {
  struct Case {
    std::string_view type;
    std::string_view message;
    ErrorKind kind;
    int status;
  };
  const Case cases[] = {
      {"throttlingException", "Too many requests, please wait before trying again.", ErrorKind::kRateLimit, 429},
      {"validationException", "Input is too long for requested model.", ErrorKind::kContextWindowExceeded, 400},
      {"validationException", "Malformed thing", ErrorKind::kBadRequest, 400},
      {"internalServerException", "oops", ErrorKind::kInternalServer, 500},
      {"serviceUnavailableException", "later", ErrorKind::kServiceUnavailable, 503},
      {"modelStreamErrorException", "model broke", ErrorKind::kInternalServer, 500},
  };
  for (const Case& c : cases) {
    INFO(c.type);
    std::string s;
    event(s, "messageStart", R"({"role":"assistant"})");
    event(s, "contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})");
    frame(s, "exception", ":exception-type", c.type, fmt::format(R"({{"message":"{}"}})", c.message));
    const Run r = run_every_split(s);
    CHECK_FALSE(r.ok);
    CHECK(r.chunks.size() == 2);
    REQUIRE(r.error);
    CHECK(r.error->kind == c.kind);
    CHECK(r.error->status == c.status);
    CHECK_THAT(r.error->message, Catch::Contains(std::string(c.message)) && Catch::Contains(std::string(c.type)));
  }
}

TEST_CASE("ConverseStream: an error frame fails cleanly", "[bedrock]") {
  std::string s;
  EventStreamHeader h[3];
  h[0] = {":message-type", EventStreamHeaderType::kString, 0, "error"};
  h[1] = {":error-code", EventStreamHeaderType::kString, 0, "InternalFailure"};
  h[2] = {":error-message", EventStreamHeaderType::kString, 0, "something broke"};
  transport::append_event_stream_message(s, h, "");
  const Run r = run_every_split(s);
  CHECK_FALSE(r.ok);
  REQUIRE(r.error);
  CHECK(r.error->kind == ErrorKind::kInternalServer);
  CHECK_THAT(r.error->message, Catch::Contains("InternalFailure") && Catch::Contains("something broke"));
}

TEST_CASE("ConverseStream: a bad CRC or a cut frame is a connection error", "[bedrock]") {
  std::string s;
  event(s, "messageStart", R"({"role":"assistant"})");
  const size_t first = s.size();
  event(s, "contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})");
  std::string bad_crc = s;
  bad_crc.back() ^= 0x01;  // message CRC
  Run r = run_every_split(bad_crc);
  CHECK_FALSE(r.ok);
  CHECK(r.chunks.size() == 1);
  REQUIRE(r.error);
  CHECK(r.error->kind == ErrorKind::kConnectionError);
  CHECK_THAT(r.error->message, Catch::Contains("CRC"));
  std::string bad_prelude = s;
  bad_prelude[first + 9] ^= 0x01;  // prelude CRC of the second frame
  r = run_every_split(bad_prelude);
  REQUIRE(r.error);
  CHECK(r.error->kind == ErrorKind::kConnectionError);
  // Cut inside the second frame, and a stream without messageStop.
  r = run(std::string_view(s).substr(0, s.size() - 3), s.size() - 3);
  REQUIRE(r.error);
  CHECK(r.error->kind == ErrorKind::kConnectionError);
  r = run(s, s.size());
  REQUIRE(r.error);
  CHECK_THAT(r.error->message, Catch::Contains("messageStop"));
}

TEST_CASE("ConverseStream: the providers.md §5.8 vectors decode", "[bedrock]") {
  const std::string delta = absl::HexStringToBytes(
      "0000009f00000057c37babff0b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c74610d3a636f6e74656e742d74"
      "7970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e7442"
      "6c6f636b496e646578223a302c2264656c7461223a7b2274657874223a224869227d2c2270223a2261626364227df2ace5ff");
  const std::string throttle = absl::HexStringToBytes(
      "000000b2000000613590d5d30f3a657863657074696f6e2d747970650700137468726f74746c696e67457863657074696f6e0d3a636f"
      "6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d74797065070009657863657074696f"
      "6e7b226d657373616765223a22546f6f206d616e792072657175657374732c20706c656173652077616974206265666f726520747279"
      "696e6720616761696e2e227de8ffb26a");
  const Run r = run_every_split(delta + throttle);
  REQUIRE(r.chunks.size() == 1);
  CHECK_THAT(r.chunks[0], Catch::Contains(R"("content":"Hi")"));
  REQUIRE(r.error);
  CHECK(r.error->kind == ErrorKind::kRateLimit);
}

TEST_CASE("ConverseStream: json mode turns the json tool's input into content", "[bedrock]") {
  std::string s;
  event(s, "messageStart", R"({"role":"assistant"})");
  event(s, "contentBlockStart", R"({"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t","name":"json_tool_call"}}})");
  event(s, "contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"a\":1}"}}})");
  event(s, "contentBlockStop", R"({"contentBlockIndex":0})");
  event(s, "messageStop", R"({"stopReason":"tool_use"})");
  const Run r = run_every_split(s, true);
  REQUIRE(r.chunks.size() == 3);
  CHECK_THAT(r.chunks[1], Catch::Contains(R"("content":"{\"a\":1}")"));
  CHECK_THAT(r.chunks[2], Catch::Contains(R"("finish_reason":"stop")"));
}

// ---------------------------------------------------------------------------
// Errors

transport::TransferResult http_error(int status, std::string type, std::string body) {
  transport::TransferResult r;
  r.status = status;
  if (!type.empty()) r.headers.emplace_back("x-amzn-errortype", std::move(type));
  r.body = std::move(body);
  return r;
}

TEST_CASE("Bedrock HTTP errors: x-amzn-ErrorType and body, llmux's decisions", "[bedrock]") {
  const provider::Provider& p = provider_named("bedrock");
  struct Case {
    int status;
    const char* type;
    const char* message;
    ErrorKind kind;
    int litellm_status;
  };
  const Case cases[] = {
      {429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", "Too many requests",
       ErrorKind::kRateLimit, 429},
      {400, "ValidationException", "Input is too long for requested model.", ErrorKind::kContextWindowExceeded, 400},
      {400, "ValidationException", "Malformed input request: bad", ErrorKind::kBadRequest, 400},
      {403, "AccessDeniedException", "You don't have access to the model", ErrorKind::kPermissionDenied, 403},
      {403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.",
       ErrorKind::kAuthentication, 401},
      {404, "ResourceNotFoundException", "Model not found", ErrorKind::kNotFound, 404},
      {408, "ModelTimeoutException", "Model took too long", ErrorKind::kTimeout, 408},
      {424, "ModelErrorException", "The model failed", ErrorKind::kInternalServer, 500},
      {500, "InternalServerException", "Internal", ErrorKind::kInternalServer, 500},
      {503, "ServiceUnavailableException", "Unavailable", ErrorKind::kServiceUnavailable, 503},
      {429, "ModelNotReadyException", "not ready", ErrorKind::kRateLimit, 429},
      {500, "", "plain", ErrorKind::kInternalServer, 500},
      {502, "", "bad gateway", ErrorKind::kBadGateway, 502},
  };
  for (const Case& c : cases) {
    INFO(c.status << " " << c.type);
    const Error e = p.classify_failure(http_error(c.status, c.type, fmt::format(R"({{"message":"{}"}})", c.message)));
    CHECK(e.kind == c.kind);
    CHECK(e.status == c.litellm_status);
    CHECK(e.provider_status == c.status);
    CHECK(e.llm_provider == "bedrock");
    CHECK_THAT(e.message, Catch::StartsWith("BedrockException - ") && Catch::Contains(c.message));
  }
}

// ---------------------------------------------------------------------------
// Adapter

TEST_CASE("Bedrock routes: converse list, model map, prefixes, ARNs, invoke families", "[bedrock]") {
  using provider::BedrockRoute;
  using provider::bedrock_model;
  CHECK(bedrock_model("anthropic.claude-3-haiku-20240307-v1:0").route == BedrockRoute::kConverse);
  CHECK(bedrock_model("openai.gpt-oss-120b-1:0").route == BedrockRoute::kConverse);
  CHECK(bedrock_model("us.anthropic.claude-3-haiku-20240307-v1:0").route == BedrockRoute::kConverse);
  CHECK(bedrock_model("amazon.nova-pro-v1:0").route == BedrockRoute::kConverse);  // model map: bedrock_converse
  CHECK(bedrock_model("converse/my-custom").route == BedrockRoute::kConverse);
  CHECK(bedrock_model("converse/my-custom").id == "my-custom");
  CHECK(bedrock_model("invoke/anthropic.claude-3-haiku-20240307-v1:0").route == BedrockRoute::kInvokeAnthropic);
  CHECK(bedrock_model("anthropic.claude-instant-v1:2:100k").base == "anthropic.claude-instant-v1:2");
  CHECK(bedrock_model("arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0")
            .route == BedrockRoute::kConverse);
  CHECK(bedrock_model("amazon.titan-embed-text-v2:0").route == BedrockRoute::kInvokeEmbedding);
  CHECK(bedrock_model("cohere.embed-english-v3").route == BedrockRoute::kInvokeEmbedding);
  CHECK(bedrock_model("meta.llama2-13b-chat-v1").route == BedrockRoute::kInvokeUnsupported);
  CHECK(bedrock_model("invalid").route == BedrockRoute::kInvokeUnknown);
  CHECK(provider::bedrock_encode_model_id("arn:aws:bedrock:us-east-1:1:x/y v") ==
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ax%2Fy%20v");
}

DeploymentConfig bedrock_deployment(std::string model, std::string params) {
  DeploymentConfig d;
  d.id = "dep-b";
  d.model_name = "group";
  d.provider = "bedrock";
  d.model = "bedrock/" + model;
  d.provider_model = std::move(model);
  d.litellm_params_json = std::move(params);
  return d;
}

// The deployment's auth, prepared on a simulated loop (static keys: no I/O).
std::shared_ptr<provider::DeploymentAuth> prepared_auth(const provider::Provider& p, const DeploymentConfig& d) {
  auto auth = p.make_auth(d);
  SimulatedLoop loop;
  std::optional<Status> got;
  loop.post([&] { p.prepare({d, d.provider_model, auth.get()}, loop, [&](Status s) { got = s; }); });
  loop.run_until([&] { return got.has_value(); });
  REQUIRE(got);
  REQUIRE(got->ok());
  return auth;
}

std::string header(const transport::HttpRequest& r, std::string_view name) {
  for (const std::string& h : r.headers) {
    if (starts_with_ignore_case(h, name) && h.size() > name.size() && h[name.size()] == ':') {
      return std::string(strip_ascii_whitespace(std::string_view(h).substr(name.size() + 1)));
    }
  }
  return {};
}

TEST_CASE("Bedrock requests: URL, SigV4 over exactly what is sent, region from the config", "[bedrock]") {
  const provider::Provider& p = provider_named("bedrock");
  const DeploymentConfig d = bedrock_deployment(
      "anthropic.claude-3-haiku-20240307-v1:0",
      R"({"aws_access_key_id":"AKIDEXAMPLE","aws_secret_access_key":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",)"
      R"("aws_session_token":"tok","aws_region_name":"eu-west-1","aws_bedrock_runtime_endpoint":"http://127.0.0.1:8099/"})");
  auto auth = prepared_auth(p, d);
  const provider::ProviderTarget target{d, d.provider_model, auth.get()};
  auto req = parse(R"({"model":"g","messages":[{"role":"user","content":"Hello"}],"max_tokens":64})");
  transport::HttpRequest out;
  REQUIRE(p.build_request(target, req, true, out).ok());
  CHECK(out.url == "http://127.0.0.1:8099/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream");
  CHECK(out.body == R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":64}})");
  CHECK(out.stream_body);
  CHECK(header(out, "X-Amz-Security-Token") == "tok");
  const std::string authz = header(out, "Authorization");
  CHECK_THAT(authz, Catch::StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") &&
                        Catch::Contains("/eu-west-1/bedrock/aws4_request") &&
                        Catch::Contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"));
  // Recompute: same time, same bytes → same signature.
  const std::string date = header(out, "X-Amz-Date");  // YYYYMMDDTHHMMSSZ
  REQUIRE(date.size() == 16);
  auto num = [&](size_t at, size_t n) { return std::stoi(date.substr(at, n)); };
  const absl::Time when = absl::FromCivil(
      absl::CivilSecond(num(0, 4), num(4, 2), num(6, 2), num(9, 2), num(11, 2), num(13, 2)), absl::UTCTimeZone());
  std::vector<std::pair<std::string_view, std::string_view>> hs;
  std::vector<std::pair<std::string, std::string>> owned;
  for (const std::string& h : out.headers) {
    const size_t colon = h.find(':');
    owned.emplace_back(h.substr(0, colon), std::string(strip_ascii_whitespace(std::string_view(h).substr(colon + 1))));
  }
  for (const auto& [k, v] : owned) hs.emplace_back(k, v);
  provider::SigV4Request sr;
  sr.url = out.url;
  sr.headers = hs;
  sr.body = out.body;
  sr.region = "eu-west-1";
  sr.service = "bedrock";
  sr.time = when;
  auto sig = provider::sign_sigv4(sr, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok"});
  REQUIRE(sig.ok());
  CHECK_THAT(authz, Catch::EndsWith("Signature=" + sig->signature));
}

TEST_CASE("Bedrock requests: API key is a Bearer without SigV4; model_id; no credentials", "[bedrock]") {
  const provider::Provider& p = provider_named("bedrock");
  DeploymentConfig d = bedrock_deployment("converse/my-model", R"({"model_id":"arn:aws:bedrock:us-east-2:1:provisioned-model/abc"})");
  d.api_key = "bedrock-api-key";
  auto auth = prepared_auth(p, d);
  auto req = parse(R"({"model":"g","messages":[{"role":"user","content":"Hi"}]})");
  transport::HttpRequest out;
  REQUIRE(p.build_request({d, d.provider_model, auth.get()}, req, false, out).ok());
  // The region comes from the model_id ARN when nothing closer names one.
  CHECK(out.url == "https://bedrock-runtime.us-east-2.amazonaws.com/model/"
                   "arn%3Aaws%3Abedrock%3Aus-east-2%3A1%3Aprovisioned-model%2Fabc/converse");
  CHECK(header(out, "Authorization") == "Bearer bedrock-api-key");
  CHECK(header(out, "X-Amz-Date").empty());

  // Unsupported invoke family: kInvalidConfig naming the deployment.
  DeploymentConfig m = bedrock_deployment("meta.llama2-13b-chat-v1", R"({"aws_access_key_id":"a","aws_secret_access_key":"b"})");
  auto mauth = prepared_auth(p, m);
  Status s = p.build_request({m, m.provider_model, mauth.get()}, req, false, out);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kInvalidConfig);
  CHECK_THAT(s.error().message, Catch::Contains("dep-b") && Catch::Contains("not supported yet"));
}

TEST_CASE("Bedrock invoke route for Anthropic: Messages body with bedrock anthropic_version", "[bedrock]") {
  const provider::Provider& p = provider_named("bedrock");
  DeploymentConfig d = bedrock_deployment("invoke/anthropic.claude-3-haiku-20240307-v1:0",
                                          R"({"aws_access_key_id":"a","aws_secret_access_key":"b","aws_region_name":"us-east-1"})");
  auto auth = prepared_auth(p, d);
  auto req = parse(R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"max_tokens":10})");
  transport::HttpRequest out;
  REQUIRE(p.build_request({d, d.provider_model, auth.get()}, req, true, out).ok());
  CHECK(out.url == "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/"
                   "invoke-with-response-stream");
  CHECK_THAT(out.body, Catch::Contains(R"("anthropic_version":"bedrock-2023-05-31")") &&
                           !Catch::Contains(R"("model")") && !Catch::Contains(R"("stream")"));

  // Its stream: frames whose payload bytes hold base64 Messages events.
  auto translator = p.make_stream_translator({d, d.provider_model, auth.get()}, req);
  std::string s;
  for (std::string_view ev : {
           R"({"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":3}}})",
           R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})",
           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}})",
           R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}})",
           R"({"type":"message_stop"})"}) {
    event(s, "chunk", fmt::format(R"({{"bytes":"{}"}})", absl::Base64Escape(to_absl(ev))));
  }
  std::vector<std::string> chunks;
  auto sink = [&](std::string_view c) {
    chunks.emplace_back(c);
    return true;
  };
  for (size_t i = 0; i < s.size(); i += 7) REQUIRE(translator->feed(std::string_view(s).substr(i, 7), sink));
  REQUIRE(translator->finish(sink));
  REQUIRE(chunks.size() == 4);
  CHECK_THAT(chunks[1], Catch::Contains(R"("content":"Hello")"));
  CHECK_THAT(chunks[2], Catch::Contains(R"("finish_reason":"stop")"));
  CHECK_THAT(chunks[3], Catch::Contains(R"("prompt_tokens":3)"));
}

TEST_CASE("Bedrock embeddings: Titan and Cohere bodies and answers", "[bedrock]") {
  const provider::Provider& p = provider_named("bedrock");
  DeploymentConfig d = bedrock_deployment("amazon.titan-embed-text-v2:0", R"({"aws_access_key_id":"a","aws_secret_access_key":"b"})");
  auto auth = prepared_auth(p, d);
  auto req = parse(R"({"model":"g","input":"hello","dimensions":256})", request::Endpoint::kEmbeddings);
  transport::HttpRequest out;
  REQUIRE(p.build_request({d, d.provider_model, auth.get()}, req, false, out).ok());
  CHECK_THAT(out.url, Catch::EndsWith("/model/amazon.titan-embed-text-v2%3A0/invoke"));
  CHECK(out.body == R"({"inputText":"hello","dimensions":256})");
  std::string answer = R"({"embedding":[0.1,0.2],"inputTextTokenCount":2})";
  REQUIRE(p.translate_response({d, d.provider_model, auth.get()}, req, answer).ok());
  CHECK(answer == R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],)"
                  R"("model":"amazon.titan-embed-text-v2:0","usage":{"prompt_tokens":2,"total_tokens":2}})");

  DeploymentConfig c = bedrock_deployment("cohere.embed-english-v3", R"({"aws_access_key_id":"a","aws_secret_access_key":"b"})");
  auto cauth = prepared_auth(p, c);
  auto creq = parse(R"({"model":"g","input":["a","b"]})", request::Endpoint::kEmbeddings);
  REQUIRE(p.build_request({c, c.provider_model, cauth.get()}, creq, false, out).ok());
  CHECK(out.body == R"({"texts":["a","b"],"input_type":"search_document"})");
  std::string canswer = R"({"id":"x","embeddings":[[1.0],[2.0]],"texts":["a","b"]})";
  REQUIRE(p.translate_response({c, c.provider_model, cauth.get()}, creq, canswer).ok());
  CHECK_THAT(canswer, Catch::Contains(R"({"object":"embedding","index":1,"embedding":[2.0]})"));
}

}  // namespace
}  // namespace llmux::testing
