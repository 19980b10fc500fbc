// response_json: the provider body reopened with the "_llmux" object, byte for
// byte (the goldens were written by the implementation before it was made to
// write straight into one buffer), and append_response_json_tail's two pieces
// whose concatenation is exactly response_json.
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "llmux/router.hpp"

using namespace llmux;

namespace {

Response sample_response() {
  Response r;
  r.body = "{\"id\":\"x\",\"choices\":[]}  \n";
  r.finish_reason = "stop";
  r.usage = Usage{3, 4, 7, true};
  RouterMetadata& m = r.metadata;
  m.call_id = 18446744073709551615ull;
  m.requested_model = "chat \"q\"\n";
  m.model_group = "g\\1\x01";
  m.fallback_model_group = "fb";
  m.deployment_id = "d-0123456789abcdef0123456789";
  m.deployment_model = "héllo 日本";
  m.provider = "openai";
  m.api_base = "http://h:1/v1";
  m.attempts = 3;
  m.retries = 2;
  m.max_retries = 5;
  m.fallbacks = 1;
  m.latency_ms = 12.3456789;
  m.time_to_first_token_ms = -1;
  m.response_cost = 1.5e-07;
  m.malformed_events = -2;
  m.stream_continuations = 1;
  m.attempt_log.push_back({"g", "d1", "RateLimitError", 429, 0.1, 0});
  m.attempt_log.push_back({"fb", "d\"2", "", 0, 1e300, 2.25});
  m.rate_limit_headers.push_back({"x-ratelimit-remaining-requests", "147"});
  return r;
}

std::string joined(const Response& r) {
  std::string tail = "kept:";  // appended to, not cleared
  const std::string_view head = append_response_json_tail(r, tail);
  REQUIRE(tail.rfind("kept:", 0) == 0);
  return std::string(head) + tail.substr(5);
}

}  // namespace

TEST_CASE("response_json writes the body with the _llmux object, byte for byte", "[response_json]") {
  Response r = sample_response();
  const std::string golden = R"golden({"id":"x","choices":[],"_llmux":{"call_id":18446744073709551615,"requested_model":"chat \"q\"\n","model_group":"g\\1\u0001","fallback_model_group":"fb","deployment_id":"d-0123456789abcdef0123456789","deployment_model":"héllo 日本","provider":"openai","api_base":"http://h:1/v1","attempts":3,"retries":2,"max_retries":5,"fallbacks":1,"latency_ms":12.3456789,"time_to_first_token_ms":-1,"response_cost":1.5e-07,"malformed_events":-2,"stream_continuations":1,"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"reported":true},"finish_reason":"stop","attempt_log":[{"model_group":"g","deployment_id":"d1","error_type":"RateLimitError","status":429,"latency_ms":0.1,"start_ms":0},{"model_group":"fb","deployment_id":"d\"2","error_type":"","status":0,"latency_ms":1e+300,"start_ms":2.25}],"headers":{"x-litellm-model-group":"g\\1\u0001","x-litellm-attempted-retries":"2","x-litellm-max-retries":"5","x-litellm-attempted-fallbacks":"1","x-litellm-model-id":"d-0123456789abcdef0123456789","x-litellm-model-api-base":"http://h:1/v1","x-litellm-response-cost":"1.5e-07","x-litellm-response-duration-ms":"12.346","x-litellm-call-id":"18446744073709551615","x-ratelimit-remaining-requests":"147"}}})golden";
  CHECK(response_json(r) == golden);
  CHECK(joined(r) == golden);

  // An object without members gets no comma; trailing whitespace is dropped.
  r.body = "{ }\n";
  CHECK(response_json(r) == "{ " + golden.substr(golden.find("\"_llmux\"")));
  CHECK(joined(r) == response_json(r));
}

TEST_CASE("response_json of an empty or non-object body is just the _llmux object", "[response_json]") {
  Response r = sample_response();
  r.finish_reason.clear();
  r.metadata = RouterMetadata{};
  r.metadata.latency_ms = 1e300;
  r.metadata.response_cost = 123456789.125;
  const std::string golden = R"golden({"_llmux":{"call_id":0,"requested_model":"","model_group":"","fallback_model_group":"","deployment_id":"","deployment_model":"","provider":"","api_base":"","attempts":0,"retries":0,"max_retries":0,"fallbacks":0,"latency_ms":1e+300,"time_to_first_token_ms":-1,"response_cost":123456789.125,"malformed_events":0,"stream_continuations":0,"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"reported":true},"attempt_log":[],"headers":{"x-litellm-model-group":"","x-litellm-attempted-retries":"0","x-litellm-attempted-fallbacks":"0","x-litellm-response-cost":"123456789.125","x-litellm-response-duration-ms":"1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160.000","x-litellm-call-id":"0"}}})golden";
  for (const char* body : {"", "[1]", "{", "\"text\""}) {
    r.body = body;
    CHECK(response_json(r) == golden);
    CHECK(joined(r) == golden);
  }
}
