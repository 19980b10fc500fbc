// Gemini generateContent / embedding answers → OpenAI shapes (providers.md
// §4.5), and Google's errors → the taxonomy (§4.7, with llmux's choices).
#include <catch2/catch.hpp>

#include <string>

#include <absl/time/clock.h>

#include "provider/gemini_content.hpp"
#include "provider/provider.hpp"
#include "unit/provider/provider_test_util.hpp"

using llmux::ErrorKind;
namespace gemini = llmux::provider::gemini;

namespace {

std::string translated(std::string body) {
  auto s = gemini::translate_generate_content(body, "gemini-2.0-flash", "gemini");
  if (!s.ok()) FAIL(s.error().message);
  return body;
}

std::string stable(std::string s) { return llmux::testing::stable_ids(std::move(s)); }

llmux::Error http_error(int status, const std::string& body) {
  return gemini::classify_http_error(status, body, "gemini");
}

std::string google_error(int code, const std::string& status, const std::string& message) {
  return "{\"error\":{\"code\":" + std::to_string(code) + ",\"message\":\"" + message + "\",\"status\":\"" + status +
         "\"}}";
}

}  // namespace

TEST_CASE("gemini response: text answer with usage, responseId as id") {
  const std::string out = translated(R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hello"},{"text":" world"}]},
    "finishReason":"STOP","index":0,"safetyRatings":[]}],
    "usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"totalTokenCount":7},"modelVersion":"gemini-2.0-flash","responseId":"resp-1"})");
  CHECK(stable(out) ==
        R"({"id":"resp-1","object":"chat.completion","created":0,"model":"gemini-2.0-flash","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":"Hello world"},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})");
  // The OpenAI reader sees usage and finish_reason.
  auto info = llmux::testing::provider_named("gemini").inspect_response(out, llmux::request::Endpoint::kChatCompletions);
  REQUIRE(info.ok());
  CHECK(info->usage.prompt_tokens == 5);
  CHECK(info->usage.completion_tokens == 2);
  CHECK(info->finish_reason == "stop");
}

TEST_CASE("gemini response: function calls become tool_calls with generated ids") {
  const std::string out = translated(R"({"candidates":[{"content":{"role":"model","parts":[
      {"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"now"}}]},"finishReason":"STOP"}],
    "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":8,"totalTokenCount":18}})");
  CHECK(stable(out) ==
        R"({"id":"chatcmpl-X","object":"chat.completion","created":0,"model":"gemini-2.0-flash","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":null,"tool_calls":[)"
        R"({"id":"call_X","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},)"
        R"({"id":"call_X","type":"function","function":{"name":"now","arguments":"{}"}}]},"finish_reason":"tool_calls"}],)"
        R"("usage":{"prompt_tokens":10,"completion_tokens":8,"total_tokens":18}})");
}

TEST_CASE("gemini response: a blocked prompt is a content_filter answer, not an error") {
  const std::string out = translated(
      R"({"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}})");
  CHECK(stable(out) ==
        R"({"id":"chatcmpl-X","object":"chat.completion","created":0,"model":"gemini-2.0-flash","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":null},"finish_reason":"content_filter"}],)"
        R"("usage":{"prompt_tokens":9,"completion_tokens":0,"total_tokens":9}})");
}

TEST_CASE("gemini response: a SAFETY candidate drops its partial text; other candidates stay") {
  const std::string out = translated(R"({"candidates":[
      {"content":{"parts":[{"text":"partial unsafe"}]},"finishReason":"SAFETY","index":0},
      {"content":{"parts":[{"text":"fine"}]},"finishReason":"MAX_TOKENS","index":1}]})");
  CHECK(stable(out) ==
        R"({"id":"chatcmpl-X","object":"chat.completion","created":0,"model":"gemini-2.0-flash","choices":[)"
        R"({"index":0,"message":{"role":"assistant","content":null},"finish_reason":"content_filter"},)"
        R"({"index":1,"message":{"role":"assistant","content":"fine"},"finish_reason":"length"}]})");
}

TEST_CASE("gemini response: usage with thoughtsTokenCount exclusive and inclusive, cached tokens, thoughts") {
  // Exclusive (prompt + candidates != total): thoughts are added to completion.
  std::string out = translated(R"({"candidates":[{"content":{"parts":[{"text":"plan","thought":true},{"text":"A"}]},"finishReason":"STOP"}],
    "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"thoughtsTokenCount":20,"totalTokenCount":35,"cachedContentTokenCount":4}})");
  CHECK(stable(out) ==
        R"({"id":"chatcmpl-X","object":"chat.completion","created":0,"model":"gemini-2.0-flash","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":"A","reasoning_content":"plan"},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":10,"completion_tokens":25,"total_tokens":35,"prompt_tokens_details":{"cached_tokens":4},)"
        R"("completion_tokens_details":{"reasoning_tokens":20}}})");
  // Inclusive (candidates already count the thoughts).
  out = translated(R"({"candidates":[{"content":{"parts":[{"text":"A"}]},"finishReason":"STOP"}],
    "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":25,"thoughtsTokenCount":20,"totalTokenCount":35}})");
  CHECK(out.find(R"("usage":{"prompt_tokens":10,"completion_tokens":25,"total_tokens":35,"completion_tokens_details":{"reasoning_tokens":20}})") !=
        std::string::npos);
}

TEST_CASE("gemini response: finish reasons (§4.5)") {
  CHECK(gemini::map_finish_reason("STOP") == "stop");
  CHECK(gemini::map_finish_reason("MAX_TOKENS") == "length");
  for (const char* r : {"SAFETY", "RECITATION", "LANGUAGE", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                        "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT"}) {
    CHECK(gemini::map_finish_reason(r) == "content_filter");
  }
  CHECK(gemini::map_finish_reason("MALFORMED_FUNCTION_CALL") == "malformed_function_call");
  CHECK(gemini::map_finish_reason("FINISH_REASON_UNSPECIFIED") == "finish_reason_unspecified");
  CHECK(gemini::map_finish_reason("SOMETHING_NEW") == "stop");
}

TEST_CASE("gemini response: not an answer fails, classified") {
  std::string body = "<html>oops</html>";
  auto s = gemini::translate_generate_content(body, "m", "gemini");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kApiError);
  body = google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
  s = gemini::translate_generate_content(body, "m", "gemini");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kRateLimit);
  body = R"({"candidates":[],"usageMetadata":{}})";
  CHECK(gemini::translate_generate_content(body, "m", "gemini").error().kind == ErrorKind::kInternalServer);
}

TEST_CASE("gemini embeddings: batchEmbedContents and predict answers → OpenAI embedding lists") {
  std::string body = R"({"embeddings":[{"values":[0.1,-0.2]},{"values":[0.3,0.4]}]})";
  REQUIRE(gemini::translate_batch_embed_contents(body, "text-embedding-004", "gemini").ok());
  CHECK(body ==
        R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]},{"object":"embedding","index":1,"embedding":[0.3,0.4]}],)"
        R"("model":"text-embedding-004","usage":{"prompt_tokens":0,"total_tokens":0}})");
  body = R"({"predictions":[{"embeddings":{"values":[1.5],"statistics":{"token_count":3,"truncated":false}}},{"embeddings":{"values":[2.5],"statistics":{"token_count":4}}}]})";
  REQUIRE(gemini::translate_predict_embeddings(body, "text-embedding-005", "vertex_ai").ok());
  CHECK(body ==
        R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[1.5]},{"object":"embedding","index":1,"embedding":[2.5]}],)"
        R"("model":"text-embedding-005","usage":{"prompt_tokens":7,"total_tokens":7}})");
}

TEST_CASE("gemini errors: §4.7 classes, 403 and 502 read by status") {
  auto e = http_error(400, R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}})");
  CHECK(e.kind == ErrorKind::kAuthentication);
  CHECK(e.status == 401);
  CHECK(e.provider_status == 400);
  CHECK(e.message == "GeminiException - API key not valid. Please pass a valid API key.");
  e = http_error(429, google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."));
  CHECK(e.kind == ErrorKind::kRateLimit);
  CHECK(e.status == 429);
  e = http_error(400, google_error(400, "INVALID_ARGUMENT",
                                   "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."));
  CHECK(e.kind == ErrorKind::kContextWindowExceeded);
  CHECK(e.status == 400);
  CHECK(http_error(400, google_error(400, "INVALID_ARGUMENT", "400 Request payload size exceeds the limit: 20971520 bytes."))
            .kind == ErrorKind::kContextWindowExceeded);
  // LiteLLM: any "403" text → BadRequest; llmux: a 403 is PermissionDenied ...
  e = http_error(403, google_error(403, "PERMISSION_DENIED", "Permission denied on resource project p."));
  CHECK(e.kind == ErrorKind::kPermissionDenied);
  CHECK(e.status == 403);
  // ... and "403" inside another status's text changes nothing.
  CHECK(http_error(500, google_error(500, "INTERNAL", "request 4031 failed")).kind == ErrorKind::kInternalServer);
  CHECK(http_error(503, google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")).kind ==
        ErrorKind::kInternalServer);  // LiteLLM's text rule 8 comes before the status
  CHECK(http_error(503, google_error(503, "UNAVAILABLE", "The service is currently unavailable.")).kind ==
        ErrorKind::kServiceUnavailable);
  e = http_error(502, "<html>Bad Gateway</html>");
  CHECK(e.kind == ErrorKind::kBadGateway);
  CHECK(e.status == 502);
  CHECK(http_error(504, google_error(504, "DEADLINE_EXCEEDED", "Deadline exceeded")).kind == ErrorKind::kTimeout);
  CHECK(http_error(404, google_error(404, "NOT_FOUND", "models/x is not found")).kind == ErrorKind::kNotFound);
  CHECK(http_error(400, google_error(400, "INVALID_ARGUMENT", "Output blocked by content filtering policy")).kind ==
        ErrorKind::kContentPolicyViolation);
  CHECK(http_error(400, google_error(400, "FAILED_PRECONDITION", "Vertex AI API has not been used in project 1")).kind ==
        ErrorKind::kBadRequest);
  CHECK(http_error(400, google_error(400, "INVALID_ARGUMENT", "bad")).kind == ErrorKind::kBadRequest);
}

TEST_CASE("gemini errors: Retry-After header, else the body's RetryInfo") {
  llmux::transport::TransferResult r;
  r.status = 429;
  r.body = R"({"error":{"code":429,"message":"Quota exceeded for metric","status":"RESOURCE_EXHAUSTED","details":[)"
           R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}})";
  auto e = gemini::classify_failure(r, "gemini", absl::Now());
  CHECK(e.kind == ErrorKind::kRateLimit);
  REQUIRE(e.retry_after_seconds);
  CHECK(*e.retry_after_seconds == 17);
  r.headers.emplace_back("retry-after", "3");
  e = gemini::classify_failure(r, "gemini", absl::Now());
  CHECK(*e.retry_after_seconds == 3);
  llmux::transport::TransferResult refused;
  refused.error = llmux::transport::TransferError::kConnectFailed;
  CHECK(gemini::classify_failure(refused, "gemini", absl::Now()).kind == ErrorKind::kConnectionError);
}
