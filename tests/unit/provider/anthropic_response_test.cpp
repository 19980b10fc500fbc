// Anthropic answers → OpenAI chat.completion (providers.md §3.4), and
// Anthropic's errors → the taxonomy (§3.6 row by row, with llmux's fixes).
#include <string>

#include <absl/time/time.h>
#include <fmt/format.h>

#include "provider/anthropic.hpp"
#include "provider/anthropic_messages.hpp"
#include "unit/provider/provider_test_util.hpp"

namespace llmux::testing {
namespace {

using provider::anthropic::ResponseOptions;
using provider::anthropic::translate_messages_response;

std::string translated(std::string body, bool json_mode = false) {
  ResponseOptions o;
  o.json_mode = json_mode;
  o.created = 1700000000;
  Status s = translate_messages_response(body, o);
  if (!s.ok()) FAIL(s.error().to_string());
  return body;
}

transport::TransferResult http_error(int status, std::string body, transport::Headers headers = {}) {
  transport::TransferResult r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string anthropic_error(std::string_view type, std::string_view message) {
  return fmt::format(R"({{"type":"error","error":{{"type":"{}","message":"{}"}},"request_id":"req_1"}})", type, message);
}

}  // namespace

TEST_CASE("anthropic answer: text, usage with cache tokens, finish_reason", "[anthropic]") {
  CHECK(translated(R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022",
    "content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}],"stop_reason":"end_turn","stop_sequence":null,
    "usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000}})") ==
        R"({"id":"msg_01","object":"chat.completion","created":1700000000,"model":"claude-3-5-sonnet-20241022",)"
        R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":1110,"completion_tokens":5,"total_tokens":1115,)"
        R"("prompt_tokens_details":{"cached_tokens":1000,"cache_creation_tokens":100},)"
        R"("cache_creation_input_tokens":100,"cache_read_input_tokens":1000}})");
}

TEST_CASE("anthropic answer: tool calls with running index, tool_use → tool_calls", "[anthropic]") {
  CHECK(translated(R"({"id":"msg_02","type":"message","role":"assistant","model":"m","content":[
    {"type":"text","text":"Let me check."},
    {"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Paris"}},
    {"type":"tool_use","id":"toolu_2","name":"time","input":{}}],
    "stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}})") ==
        R"({"id":"msg_02","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":)"
        R"({"role":"assistant","content":"Let me check.","tool_calls":[)"
        R"({"id":"toolu_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"},"index":0},)"
        R"({"id":"toolu_2","type":"function","function":{"name":"time","arguments":"{}"},"index":1}]},)"
        R"("finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,)"
        R"("prompt_tokens_details":{"cached_tokens":0,"cache_creation_tokens":0},"cache_creation_input_tokens":0,"cache_read_input_tokens":0}})");
}

TEST_CASE("anthropic answer: JSON mode hands the tool input back as content", "[anthropic]") {
  const std::string out = translated(R"({"id":"msg_03","type":"message","role":"assistant","model":"m","content":[
    {"type":"tool_use","id":"toolu_1","name":"json_tool_call","input":{"a":1}}],"stop_reason":"tool_use",
    "usage":{"input_tokens":1,"output_tokens":1}})",
                                     /*json_mode=*/true);
  CHECK_THAT(out, Catch::Contains(R"("message":{"role":"assistant","content":"{\"a\":1}"},"finish_reason":"stop")"));
}

TEST_CASE("anthropic answer: finish reasons; refusal is content_filter", "[anthropic]") {
  using provider::anthropic::map_finish_reason;
  CHECK(map_finish_reason("end_turn") == "stop");
  CHECK(map_finish_reason("stop_sequence") == "stop");
  CHECK(map_finish_reason("max_tokens") == "length");
  CHECK(map_finish_reason("tool_use") == "tool_calls");
  CHECK(map_finish_reason("refusal") == "content_filter");
  CHECK(map_finish_reason("pause_turn") == "pause_turn");
  const std::string out = translated(R"({"id":"m","type":"message","model":"m","content":[],"stop_reason":"refusal"})");
  CHECK_THAT(out, Catch::Contains(R"("content":null},"finish_reason":"content_filter")"));
  // The router reads the translated answer as an OpenAI one.
  auto info = provider_named("anthropic").inspect_response(out, request::Endpoint::kChatCompletions);
  REQUIRE(info.ok());
  CHECK(info->finish_reason == "content_filter");
}

TEST_CASE("anthropic answer: an error object or junk in a 2xx body fails classified", "[anthropic]") {
  ResponseOptions o;
  std::string body = anthropic_error("overloaded_error", "Overloaded");
  Status s = translate_messages_response(body, o);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kInternalServer);
  std::string junk = "<html>";
  CHECK_FALSE(translate_messages_response(junk, o).ok());
}

TEST_CASE("anthropic errors: each row of providers.md §3.6", "[anthropic]") {
  const provider::Provider& p = provider_named("anthropic");
  struct Row {
    int status;
    std::string body;
    ErrorKind kind;
    int litellm_status;
  };
  const Row rows[] = {
      {400, anthropic_error("invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum"),
       ErrorKind::kContextWindowExceeded, 400},
      {400, anthropic_error("invalid_request_error", "prompt: length must be at most 200000"),
       ErrorKind::kContextWindowExceeded, 400},
      {529, anthropic_error("overloaded_error", "Overloaded"), ErrorKind::kInternalServer, 500},
      {401, anthropic_error("authentication_error", "invalid x-api-key"), ErrorKind::kAuthentication, 401},
      {400, anthropic_error("invalid_request_error", "Invalid API Key"), ErrorKind::kAuthentication, 401},
      {400, anthropic_error("invalid_request_error", "Output blocked by content filtering policy"),
       ErrorKind::kContentPolicyViolation, 400},
      {400, anthropic_error("invalid_request_error", "messages: field required"), ErrorKind::kBadRequest, 400},
      {413, anthropic_error("request_too_large", "Request exceeds the maximum size"), ErrorKind::kBadRequest, 400},
      {403, anthropic_error("permission_error", "Your API key does not have permission"), ErrorKind::kPermissionDenied, 403},
      {404, anthropic_error("not_found_error", "model: claude-9"), ErrorKind::kNotFound, 404},
      {408, "", ErrorKind::kTimeout, 408},
      {429, anthropic_error("rate_limit_error", "Number of requests has exceeded your rate limit"), ErrorKind::kRateLimit, 429},
      {500, anthropic_error("api_error", "Internal server error"), ErrorKind::kInternalServer, 500},
      {502, "bad gateway", ErrorKind::kBadGateway, 502},
      {503, "unavailable", ErrorKind::kServiceUnavailable, 503},
      {504, "gateway timeout", ErrorKind::kTimeout, 504},
      {409, anthropic_error("conflict", "x"), ErrorKind::kApiError, 409},
  };
  for (const Row& r : rows) {
    INFO(r.status << " " << r.body);
    Error e = p.classify_failure(http_error(r.status, r.body));
    CHECK(e.kind == r.kind);
    CHECK(e.status == r.litellm_status);
    CHECK(e.provider_status == r.status);
    CHECK(e.llm_provider == "anthropic");
    CHECK_THAT(e.message, Catch::StartsWith("AnthropicException - "));
  }
  // The provider's own message is kept.
  CHECK_THAT(p.classify_failure(http_error(529, anthropic_error("overloaded_error", "Overloaded"))).message,
             Catch::Contains("Overloaded"));
}

TEST_CASE("anthropic errors: 429 retry-after, transport failures", "[anthropic]") {
  const provider::Provider& p = provider_named("anthropic");
  Error e = p.classify_failure(http_error(429, anthropic_error("rate_limit_error", "slow down"), {{"retry-after", "17"}}));
  CHECK(e.kind == ErrorKind::kRateLimit);
  REQUIRE(e.retry_after_seconds);
  CHECK(*e.retry_after_seconds == 17);
  transport::TransferResult refused;
  refused.error = transport::TransferError::kConnectFailed;
  CHECK(p.classify_failure(refused).kind == ErrorKind::kConnectionError);
  transport::TransferResult slow;
  slow.error = transport::TransferError::kFirstByteTimeout;
  CHECK(p.classify_failure(slow).kind == ErrorKind::kTimeout);
}

}  // namespace llmux::testing
