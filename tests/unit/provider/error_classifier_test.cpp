#include "provider/error_classifier.hpp"

#include <absl/time/time.h>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "provider/provider.hpp"

using llmux::Error;
using llmux::ErrorKind;
using llmux::provider::classify_failure;
using llmux::provider::classify_http_error;
using llmux::provider::exception_name;
using llmux::provider::extract_error_message;
using llmux::provider::parse_retry_after;
using llmux::transport::Headers;
using llmux::transport::TransferError;
using llmux::transport::TransferResult;

namespace {

// A fixed "now" so HTTP-dates are deterministic: Wed, 21 Oct 2015 07:28:00 GMT.
const absl::Time kNow = absl::FromUnixSeconds(1445412480);

TransferResult http(int status, std::string body, Headers headers = {}) {
  TransferResult r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace

TEST_CASE("classification table (reference §6.0, openai-compatible branch)") {
  struct Case {
    const char* name;
    int status;
    std::string body;
    ErrorKind kind;
    int litellm_status;
    std::string message;  // the provider message expected after "OpenAIException - "
  };
  const std::vector<Case> cases = {
      {"OpenAI 429 tokens per minute", 429,
       R"({"error":{"message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000, Requested 1500. Please try again in 1.2s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}})",
       ErrorKind::kRateLimit, 429,
       "Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000, "
       "Requested 1500. Please try again in 1.2s."},
      {"OpenAI 429 quota", 429,
       R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})",
       ErrorKind::kRateLimit, 429, "You exceeded your current quota, please check your plan and billing details."},
      {"500 whose text says rate limit", 500, R"({"error":{"message":"upstream rate limit hit"}})",
       ErrorKind::kRateLimit, 429, "upstream rate limit hit"},
      {"503 with rate_limit code", 503, R"({"error":{"message":"slow down","code":"rate_limit"}})",
       ErrorKind::kRateLimit, 429, "slow down"},
      {"400 with Rate-Limit header text", 400, R"({"message":"Rate-Limit policy refused"})", ErrorKind::kRateLimit,
       429, "Rate-Limit policy refused"},
      {"standalone 429 inside a 500 body", 500, R"({"error":{"message":"backend answered (429) too many"}})",
       ErrorKind::kRateLimit, 429, "backend answered (429) too many"},
      {"Mistral service tier", 503, R"({"message":"Service tier capacity exceeded for this model."})",
       ErrorKind::kRateLimit, 429, "Service tier capacity exceeded for this model."},
      {"OpenAI context_length_exceeded", 400,
       R"({"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130012 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})",
       ErrorKind::kContextWindowExceeded, 400,
       "This model's maximum context length is 128000 tokens. However, your messages resulted in 130012 tokens. "
       "Please reduce the length of the messages."},
      {"vLLM maximum context length", 400,
       R"({"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400})",
       ErrorKind::kContextWindowExceeded, 400,
       "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the "
       "messages, 1000 in the completion). Please reduce the length of the messages or completion."},
      {"vLLM 'Please reduce the length' alone", 400,
       R"({"object":"error","message":"Input too long. Please reduce the length of the messages.","type":"BadRequestError","code":400})",
       ErrorKind::kContextWindowExceeded, 400, "Input too long. Please reduce the length of the messages."},
      {"vLLM V1 maximum model length", 400,
       R"({"error":{"message":"The decoder prompt (length 5000) is longer than the maximum model length of 4096. Make sure that `max_model_len` is no smaller than the number of text tokens.","type":"BadRequestError","param":null,"code":400}})",
       ErrorKind::kContextWindowExceeded, 400,
       "The decoder prompt (length 5000) is longer than the maximum model length of 4096. Make sure that "
       "`max_model_len` is no smaller than the number of text tokens."},
      {"Cerebras current length / limit", 400, R"({"message":"Current length is 9000 while limit is 8192"})",
       ErrorKind::kContextWindowExceeded, 400, "Current length is 9000 while limit is 8192"},
      {"string_above_max_length is not a context error", 400,
       R"({"error":{"message":"Invalid 'messages[0].content': string too long. Expected a string with maximum length 1048576, but got a string with length 2000000 instead.","type":"invalid_request_error","param":"messages[0].content","code":"string_above_max_length"}})",
       ErrorKind::kBadRequest, 400,
       "Invalid 'messages[0].content': string too long. Expected a string with maximum length 1048576, but got a "
       "string with length 2000000 instead."},
      {"model_not_found", 404,
       R"({"error":{"message":"The model `gpt-5-turbo` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}})",
       ErrorKind::kNotFound, 404, "The model `gpt-5-turbo` does not exist or you do not have access to it."},
      {"vLLM 404 model", 404,
       R"({"object":"error","message":"The model `llama` does not exist.","type":"NotFoundError","param":null,"code":404})",
       ErrorKind::kNotFound, 404, "The model `llama` does not exist."},
      {"A timeout occurred", 520, R"({"error":{"message":"A timeout occurred while waiting for the model"}})",
       ErrorKind::kTimeout, 408, "A timeout occurred while waiting for the model"},
      {"Request timed out text", 500, R"({"error":{"message":"Request timed out."}})", ErrorKind::kTimeout, 408,
       "Request timed out."},
      {"content_policy_violation", 400,
       R"({"error":{"message":"Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.","type":"invalid_request_error","param":null,"code":"content_policy_violation"}})",
       ErrorKind::kContentPolicyViolation, 400,
       "Your request was rejected as a result of our safety system. Your prompt may contain text that is not "
       "allowed by our safety system."},
      {"Invalid prompt, usage policy", 400,
       R"({"error":{"message":"Invalid prompt: your prompt was flagged as potentially violating our usage policy.","type":"invalid_request_error_x"}})",
       ErrorKind::kContentPolicyViolation, 400,
       "Invalid prompt: your prompt was flagged as potentially violating our usage policy."},
      {"rejected by the safety system (no type)", 400,
       R"({"message":"This request was rejected as a result of the safety system."})",
       ErrorKind::kContentPolicyViolation, 400, "This request was rejected as a result of the safety system."},
      {"other invalid_request_error", 400,
       R"({"error":{"message":"Invalid value for 'temperature': decimal above maximum value. Expected a value <= 2, but got 5 instead.","type":"invalid_request_error","param":"temperature","code":"decimal_above_max_value"}})",
       ErrorKind::kBadRequest, 400,
       "Invalid value for 'temperature': decimal above maximum value. Expected a value <= 2, but got 5 instead."},
      {"invalid_request_error with a 500 status", 500, R"({"error":{"message":"bad","type":"invalid_request_error"}})",
       ErrorKind::kBadRequest, 400, "bad"},
      {"401 invalid key is authentication, not bad request", 401,
       R"({"error":{"message":"Incorrect API key provided: sk-abc***xyz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})",
       ErrorKind::kAuthentication, 401,
       "Incorrect API key provided: sk-abc***xyz. You can find your API key at "
       "https://platform.openai.com/account/api-keys."},
      {"403", 403,
       R"({"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}})",
       ErrorKind::kPermissionDenied, 403, "Country, region, or territory not supported"},
      {"400 plain", 400, R"({"error":"bad request body"})", ErrorKind::kBadRequest, 400, "bad request body"},
      {"408", 408, R"({"error":{"message":"request took too long"}})", ErrorKind::kTimeout, 408,
       "request took too long"},
      {"422 FastAPI detail", 422,
       R"({"detail":[{"type":"missing","loc":["body","messages"],"msg":"Field required","input":{"model":"m"}}]})",
       ErrorKind::kBadRequest, 400,
       R"([{"type":"missing","loc":["body","messages"],"msg":"Field required","input":{"model":"m"}}])"},
      {"500 server error", 500,
       R"({"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}})",
       ErrorKind::kInternalServer, 500,
       "The server had an error while processing your request. Sorry about that!"},
      {"502 HTML page", 502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body>\r\n</html>",
       ErrorKind::kBadGateway, 502,
       "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body>\r\n</html>"},
      {"503 overloaded", 503,
       R"({"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error"}})",
       ErrorKind::kServiceUnavailable, 503, "The engine is currently overloaded, please try again later"},
      {"504 gateway timeout", 504, "upstream request timeout", ErrorKind::kTimeout, 504, "upstream request timeout"},
      {"409 conflict", 409, R"({"error":{"message":"conflict"}})", ErrorKind::kApiError, 409, "conflict"},
      {"418", 418, "I'm a teapot", ErrorKind::kApiError, 418, "I'm a teapot"},
      {"Request too large", 413, R"({"error":{"message":"Request too large for gpt-4o"}})", ErrorKind::kRateLimit,
       429, "Request too large for gpt-4o"},
      {"empty 503 body", 503, "", ErrorKind::kServiceUnavailable, 503, "Error code: 503"},
      // "429" inside ids, numbers and words is not a rate limit.
      {"429 inside a request id", 500, R"({"error":{"message":"internal","request_id":"req_4291ab"}})",
       ErrorKind::kInternalServer, 500, "internal"},
      {"429 inside a number", 500, R"({"error":{"message":"took 14290 ms"}})", ErrorKind::kInternalServer, 500,
       "took 14290 ms"},
      {"429 inside a hex id", 502, R"({"error":{"message":"bad gateway","id":"abc429def"}})",
       ErrorKind::kBadGateway, 502, "bad gateway"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Error e = classify_http_error(c.status, c.body, "openai");
    CHECK(e.kind == c.kind);
    CHECK(e.status == c.litellm_status);
    CHECK(e.provider_status == c.status);
    CHECK(e.message == "OpenAIException - " + c.message);
    CHECK(e.llm_provider == "openai");
    // classify_failure gives the same answer for the same HTTP result.
    Error f = classify_failure(http(c.status, c.body), "openai", kNow);
    CHECK(f.kind == e.kind);
    CHECK(f.message == e.message);
  }
}

TEST_CASE("the provider's message is kept and the kind is prepended by to_string") {
  Error e = classify_http_error(429, R"({"error":{"message":"Too many requests, slow down"}})", "openai");
  CHECK(e.to_string() == "RateLimitError: OpenAIException - Too many requests, slow down");
  Error v = classify_http_error(500, R"({"object":"error","message":"CUDA out of memory"})", "hosted_vllm");
  CHECK(v.to_string() == "InternalServerError: Hosted_vllmException - CUDA out of memory");
  CHECK(v.llm_provider == "hosted_vllm");
}

TEST_CASE("exception names follow LiteLLM") {
  CHECK(exception_name("openai") == "OpenAIException");
  CHECK(exception_name("hosted_vllm") == "Hosted_vllmException");
  CHECK(exception_name("groq") == "GroqException");
}

TEST_CASE("extract_error_message forms") {
  CHECK(extract_error_message(R"({"error":{"message":"a","type":"t","code":"c"}})", 400) == "a");
  CHECK(extract_error_message(R"({"error":"plain"})", 400) == "plain");
  CHECK(extract_error_message(R"({"message":"m","detail":"d"})", 400) == "m");
  CHECK(extract_error_message(R"({"detail":"Not Found"})", 404) == "Not Found");
  CHECK(extract_error_message(R"({"error":{"type":"server_error","code":null}})", 500) ==
        R"({"type":"server_error","code":null})");
  CHECK(extract_error_message("  upstream connect error  \n", 503) == "upstream connect error");
  CHECK(extract_error_message("", 502) == "Error code: 502");
  CHECK(extract_error_message(R"({"unexpected":true})", 500) == R"({"unexpected":true})");
  // A blank message says nothing: the next candidate, else the body (found by fuzzing).
  CHECK(extract_error_message(R"({"error":{"message":" "},"detail":"why"})", 400) == "why");
  CHECK(extract_error_message(R"({"detail":""})", 422) == R"({"detail":""})");
  CHECK(extract_error_message(R"({"error":{"message":"caf\u00e9"}})", 400) == "caf\xc3\xa9");
  // Long bodies are cut at ~1 KiB, on a UTF-8 boundary.
  std::string long_body(3000, 'x');
  long_body.replace(1023, 2, "\xc3\xa9");
  const std::string m = extract_error_message(long_body, 500);
  CHECK(m.size() <= 1024 + 3);
  CHECK(m.substr(m.size() - 3) == "...");
  CHECK(m.find('\xc3') == std::string::npos);  // the split character is dropped whole
}

TEST_CASE("Retry-After: seconds, HTTP-date, milliseconds") {
  CHECK(parse_retry_after({{"retry-after", "20"}}, kNow) == 20.0);
  CHECK(parse_retry_after({{"retry-after", " 7 "}}, kNow) == 7.0);
  CHECK(parse_retry_after({{"retry-after", "0"}}, kNow) == 0.0);
  CHECK(parse_retry_after({{"retry-after", "Wed, 21 Oct 2015 07:28:30 GMT"}}, kNow) == 30.0);
  CHECK(parse_retry_after({{"retry-after", "Wed, 21 Oct 2015 07:30:00 GMT"}}, kNow) == 120.0);
  CHECK_FALSE(parse_retry_after({{"retry-after", "Wed, 21 Oct 2015 07:27:00 GMT"}}, kNow));  // in the past
  CHECK_FALSE(parse_retry_after({{"retry-after", "1.5"}}, kNow));  // LiteLLM's int() refuses it
  CHECK_FALSE(parse_retry_after({{"retry-after", "-3"}}, kNow));
  CHECK_FALSE(parse_retry_after({{"retry-after", "soon"}}, kNow));
  CHECK_FALSE(parse_retry_after({{"retry-after", "infinite-future"}}, kNow));  // absl::ParseTime's literal (fuzzing)
  CHECK_FALSE(parse_retry_after({}, kNow));
  CHECK(parse_retry_after({{"retry-after-ms", "1500"}}, kNow) == 1.5);
  CHECK(parse_retry_after({{"retry-after", "20"}, {"retry-after-ms", "250"}}, kNow) == 0.25);
  CHECK(parse_retry_after({{"retry-after-ms", "junk"}, {"retry-after", "3"}}, kNow) == 3.0);
  CHECK(parse_retry_after({{"x-other", "1"}, {"retry-after", "4"}, {"retry-after", "9"}}, kNow) == 4.0);
}

TEST_CASE("classify_failure reads Retry-After on HTTP errors") {
  Error e = classify_failure(
      http(429, R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})",
           {{"retry-after", "20"}, {"x-ratelimit-remaining-requests", "0"}}),
      "openai", kNow);
  CHECK(e.kind == ErrorKind::kRateLimit);
  CHECK(e.retry_after_seconds == 20.0);
  Error d = classify_failure(http(503, "busy", {{"retry-after", "Wed, 21 Oct 2015 07:28:10 GMT"}}), "openai", kNow);
  CHECK(d.kind == ErrorKind::kServiceUnavailable);
  CHECK(d.retry_after_seconds == 10.0);
  Error n = classify_failure(http(500, "x"), "openai", kNow);
  CHECK_FALSE(n.retry_after_seconds);
}

TEST_CASE("transport failures") {
  struct Case {
    TransferError error;
    ErrorKind kind;
    int status;
    const char* says;
  };
  const std::vector<Case> cases = {
      {TransferError::kConnectTimeout, ErrorKind::kTimeout, 408, "connect timeout"},
      {TransferError::kFirstByteTimeout, ErrorKind::kTimeout, 408, "first-token timeout"},
      {TransferError::kIdleTimeout, ErrorKind::kTimeout, 408, "stream idle timeout"},
      {TransferError::kTotalTimeout, ErrorKind::kTimeout, 408, "request timeout"},
      {TransferError::kConnectFailed, ErrorKind::kConnectionError, 500, "could not connect"},
      {TransferError::kConnectionClosed, ErrorKind::kConnectionError, 500, "connection closed"},
      {TransferError::kOther, ErrorKind::kConnectionError, 500, "Connection error"},
      {TransferError::kResponseTooLarge, ErrorKind::kApiError, 500, "buffering limit"},
      {TransferError::kCancelled, ErrorKind::kCancelled, 499, "cancelled"},
      {TransferError::kAborted, ErrorKind::kCancelled, 499, "aborted"},
  };
  for (const auto& c : cases) {
    INFO(static_cast<int>(c.error));
    TransferResult r;
    r.error = c.error;
    r.error_message = "curl says: details";
    Error e = classify_failure(r, "hosted_vllm", kNow);
    CHECK(e.kind == c.kind);
    CHECK(e.status == c.status);
    CHECK(e.provider_status == 0);
    CHECK_THAT(e.message, Catch::Contains(c.says));
    CHECK_THAT(e.message, Catch::StartsWith("Hosted_vllmException - "));
    CHECK_THAT(e.message, Catch::Contains("curl says: details"));
    CHECK(e.llm_provider == "hosted_vllm");
  }
  // A transport failure wins over a status already received (a 200 stream that went idle).
  TransferResult idle = http(200, "");
  idle.error = TransferError::kIdleTimeout;
  CHECK(classify_failure(idle, "openai", kNow).kind == ErrorKind::kTimeout);
  // No status and no transport error: still no HTTP response.
  CHECK(classify_failure(TransferResult{}, "openai", kNow).kind == ErrorKind::kConnectionError);
}
