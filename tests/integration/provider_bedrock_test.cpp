// The Bedrock adapter end to end: a real Router built from YAML, real HTTP on
// loopback to the fake Bedrock (tests/support/fake_bedrock.hpp), which checks
// SigV4 on every request. The wire is asserted (path, signature, body), and
// errors drive retries, cooldowns and fallbacks between Bedrock and the
// OpenAI-compatible and Anthropic fakes in both directions.
#include <atomic>

#include "support/fake_anthropic.hpp"
#include "support/fake_bedrock.hpp"
#include "test_util.hpp"

namespace llmux::testing {
namespace {

std::string bedrock_yaml(const std::string& group, const FakeProvider& p, const std::string& id,
                         const std::string& model = "anthropic.claude-3-haiku-20240307-v1:0",
                         const std::string& secret = std::string(kBedrockTestSecret)) {
  return fmt::format(
      "  - model_name: {}\n    litellm_params:\n      model: bedrock/{}\n"
      "      aws_bedrock_runtime_endpoint: http://127.0.0.1:{}\n      aws_region_name: us-west-2\n"
      "      aws_access_key_id: {}\n      aws_secret_access_key: {}\n    model_info:\n      id: {}\n",
      group, model, p.port(), kBedrockTestAccessKey, secret, id);
}

std::string anthropic_yaml(const std::string& group, const FakeProvider& p, const std::string& id) {
  return fmt::format(
      "  - model_name: {}\n    litellm_params:\n      model: anthropic/claude-fake-model\n"
      "      api_base: http://127.0.0.1:{}\n      api_key: sk-ant-test\n    model_info:\n      id: {}\n",
      group, p.port(), id);
}

void serve_bedrock(FakeProvider& p, BedrockScript script = {}) {
  const uint16_t port = p.port();
  p.set_handler([script, port](const ReceivedRequest& r) { return bedrock_answer(r, script, port); });
}

// Every request answered with this Bedrock error (and Retry-After when given).
std::function<void(FakeProvider&)> serve_error(int status, std::string type, std::string message,
                                               const std::string& retry_after = "") {
  return answer_every_request(bedrock_error(status, std::move(type), std::move(message)), retry_after);
}

}  // namespace

TEST_CASE("bedrock: Converse on the wire, SigV4 verified, the answer in OpenAI's shape", "[bedrock]") {
  FakeProvider p;
  BedrockScript script;
  script.cache_read = 100;
  serve_bedrock(p, script);
  auto router = make_router("model_list:\n" + bedrock_yaml("claude", p, "dep-b"));
  auto r = router->completion(
      R"({"model":"claude","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}],"temperature":0.3,"max_tokens":50})");
  INFO((r.ok() ? std::string("ok") : r.error().to_string()));
  REQUIRE(r.ok());
  REQUIRE(p.request_count() == 1);
  const ReceivedRequest req = p.requests()[0];
  CHECK(req.path == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  CHECK(bedrock_signature_problem(req, p.port(), kBedrockTestSecret, "us-west-2").empty());
  CHECK(req.body == R"({"messages":[{"role":"user","content":[{"text":"Say hello"}]}],"system":[{"text":"Be brief."}],)"
                    R"("inferenceConfig":{"maxTokens":50,"temperature":0.3}})");
  const Response& resp = r.value();
  CHECK(json_at(resp.body, "/object") == "chat.completion");
  CHECK(json_at(resp.body, "/choices/0/message/content") == "Hello from Bedrock.");
  CHECK(json_at(resp.body, "/usage/prompt_tokens_details/cached_tokens") == "100");
  CHECK(resp.finish_reason == "stop");
  CHECK(resp.usage.prompt_tokens == 111);
  CHECK(resp.usage.completion_tokens == 7);
  CHECK(resp.usage.total_tokens == 118);
  CHECK(resp.metadata.provider == "bedrock");
  CHECK(resp.metadata.deployment_id == "dep-b");
}

TEST_CASE("bedrock: a wrong secret is rejected by the fake's SigV4 check as an AuthenticationError", "[bedrock]") {
  FakeProvider p;
  serve_bedrock(p);
  auto router = make_router("model_list:\n" +
                            bedrock_yaml("claude", p, "dep-b", "anthropic.claude-3-haiku-20240307-v1:0", "wrong-secret") +
                            "router_settings:\n  num_retries: 0\n");
  auto r = router->completion(chat_request("claude"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kAuthentication);
  CHECK(r.error().provider_status == 403);
  CHECK_THAT(r.error().message, Catch::Contains("The request signature we calculated does not match"));
  CHECK(r.error().message.find("wrong-secret") == std::string::npos);
}

TEST_CASE("bedrock: ConverseStream frames split anywhere become OpenAI chunks with usage", "[bedrock][stream]") {
  for (size_t split : {1, 5, 13, 4096}) {
    INFO("split " << split);
    FakeProvider p;
    BedrockScript script;
    script.text = "Hi! How are you today?";
    script.text_parts = 4;
    script.split_every = split;
    serve_bedrock(p, script);
    auto router = make_router("model_list:\n" + bedrock_yaml("gpt", p, "dep-b", "openai.gpt-oss-120b-1:0"));
    auto c = run_stream(*router, chat_request("gpt", R"("stream":true,"stream_options":{"include_usage":true})"));
    INFO((c.done->ok() ? std::string("ok") : c.done->error().to_string()));
    REQUIRE(c.done->ok());
    CHECK(c.text == "Hi! How are you today?");
    REQUIRE(p.request_count() == 1);
    CHECK(p.requests()[0].path == "/model/openai.gpt-oss-120b-1%3A0/converse-stream");
    CHECK(c.done->value().usage.prompt_tokens == 11);
    CHECK(c.done->value().usage.completion_tokens == 7);
    CHECK(c.done->value().finish_reason == "stop");
    CHECK_THAT(c.chunks.back(), Catch::Contains(R"("usage")"));
  }
}

TEST_CASE("bedrock: tool calls both ways, names restored, plain and streaming", "[bedrock][tools]") {
  FakeProvider p;
  BedrockScript script;
  script.text = "Checking.";
  script.tools.push_back({"tu1", "get_weather", R"({"city":"Paris"})"});
  serve_bedrock(p, script);
  auto router = make_router("model_list:\n" + bedrock_yaml("claude", p, "dep-b"));
  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"get-weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])";
  auto r = router->completion(chat_request("claude", tools));
  REQUIRE(r.ok());
  CHECK(json_at(r.value().body, "/choices/0/message/tool_calls/0/function/name") == "get-weather");
  CHECK(json_at(r.value().body, "/choices/0/message/tool_calls/0/function/arguments") == R"({"city":"Paris"})");
  CHECK(r.value().finish_reason == "tool_calls");
  CHECK_THAT(p.requests()[0].body, Catch::Contains(R"("toolSpec":{"name":"get_weather")"));

  auto c = run_stream(*router, chat_request("claude", tools + R"(,"stream":true)"));
  REQUIRE(c.done->ok());
  std::string args;
  std::string name;
  for (const std::string& chunk : c.chunks) {
    const std::string a = json_at(chunk, "/choices/0/delta/tool_calls/0/function/arguments");
    if (a != "<absent>") args += a;
    const std::string n = json_at(chunk, "/choices/0/delta/tool_calls/0/function/name");
    if (n != "<absent>") name = n;
  }
  CHECK(name == "get-weather");
  CHECK(args == R"({"city":"Paris"})");
  CHECK(c.done->value().finish_reason == "tool_calls");
}

TEST_CASE("bedrock: error classes and what the router does with them", "[bedrock][errors]") {
  // status, x-amzn-ErrorType, message → kind and LiteLLM's status.
  auto error_case = [](int status, std::string type, std::string message, ErrorKind kind, int litellm_status) {
    return ErrorClassCase{.label = type,
                          .serve = serve_error(status, type, message),
                          .kind = kind,
                          .status = litellm_status,
                          .provider_status = status,
                          .message_has = message};
  };
  check_error_classes(
      "claude", [](const FakeProvider& p) { return bedrock_yaml("claude", p, "dep-b"); },
      {
          error_case(429, "ThrottlingException", "Too many requests, please wait before trying again.",
                     ErrorKind::kRateLimit, 429),
          error_case(400, "ValidationException", "Input is too long for requested model.",
                     ErrorKind::kContextWindowExceeded, 400),
          error_case(403, "AccessDeniedException", "You don't have access to the model with the specified model ID.",
                     ErrorKind::kPermissionDenied, 403),
          error_case(424, "ModelErrorException", "The model returned an error.", ErrorKind::kInternalServer, 500),
          error_case(500, "InternalServerException", "Internal failure.", ErrorKind::kInternalServer, 500),
          error_case(503, "ServiceUnavailableException", "Service unavailable.", ErrorKind::kServiceUnavailable, 503),
      });
}

TEST_CASE("bedrock: a 424 model error is retried; a 429 cools the deployment down", "[bedrock][errors]") {
  FakeProvider p;
  std::atomic<int> seen{0};
  const uint16_t port = p.port();
  p.set_handler([&seen, port](const ReceivedRequest& r) {
    if (seen++ == 0) return bedrock_error(424, "ModelErrorException", "The model returned an error.");
    return bedrock_answer(r, BedrockScript{}, port);
  });
  auto r = make_router("model_list:\n" + bedrock_yaml("claude", p, "dep-b") +
                       "router_settings:\n  num_retries: 2\n  retry_after: 0\n")
               ->completion(chat_request("claude"));
  REQUIRE(r.ok());
  CHECK(r.value().metadata.attempts == 2);

  FakeProvider limited, fine;
  serve_error(429, "ThrottlingException", "Too many requests, please wait before trying again.", "40")(limited);
  serve_bedrock(fine);
  auto router = make_router("model_list:\n" + bedrock_yaml("claude", limited, "limited") +
                            bedrock_yaml("claude", fine, "fine") + "router_settings:\n  num_retries: 2\n");
  expect_calls_served_by(*router, "claude", "fine", 5);
  CHECK(limited.request_count() <= 1);
}

TEST_CASE("bedrock: fallbacks between Bedrock and OpenAI-compatible / Anthropic groups, both ways",
          "[bedrock][fallbacks]") {
  SECTION("Bedrock context window → OpenAI") {
    FakeProvider bed, oai;
    bed.set_handler([](const ReceivedRequest&) {
      return bedrock_error(400, "ValidationException", "Input is too long for requested model.");
    });
    oai.set_default(Behavior::ok("from openai"));
    auto r = make_router("model_list:\n" + bedrock_yaml("bedrock-group", bed, "b") +
                         deployment_yaml("big", "big-model", oai) +
                         "router_settings:\n  num_retries: 0\n  context_window_fallbacks: [{\"bedrock-group\": [\"big\"]}]\n")
                 ->completion(chat_request("bedrock-group"));
    REQUIRE(r.ok());
    CHECK(json_at(r.value().body, "/choices/0/message/content") == "from openai");
  }
  SECTION("OpenAI 500 → Bedrock") {
    FakeProvider bed, oai;
    serve_bedrock(bed);
    oai.set_default(Behavior::error(500, "boom", "server_error"));
    auto r = make_router("model_list:\n" + deployment_yaml("local", "m", oai) + bedrock_yaml("cloud", bed, "b") +
                         "router_settings:\n  num_retries: 0\n  fallbacks: [{\"local\": [\"cloud\"]}]\n")
                 ->completion(chat_request("local"));
    REQUIRE(r.ok());
    CHECK(r.value().metadata.provider == "bedrock");
    CHECK(json_at(r.value().body, "/choices/0/message/content") == "Hello from Bedrock.");
  }
  SECTION("Bedrock 503 → Anthropic, and Anthropic 529 → Bedrock") {
    FakeProvider bed, ant;
    bed.set_handler([](const ReceivedRequest&) { return bedrock_error(503, "ServiceUnavailableException", "later"); });
    ant.set_handler([](const ReceivedRequest& r) { return anthropic_answer(r, AnthropicScript{}); });
    auto r = make_router("model_list:\n" + bedrock_yaml("b", bed, "b") + anthropic_yaml("a", ant, "a") +
                         "router_settings:\n  num_retries: 0\n  fallbacks: [{\"b\": [\"a\"]}]\n")
                 ->completion(chat_request("b"));
    REQUIRE(r.ok());
    CHECK(r.value().metadata.provider == "anthropic");

    FakeProvider bed2, ant2;
    serve_bedrock(bed2);
    ant2.set_handler([](const ReceivedRequest&) { return anthropic_error(529, "overloaded_error", "Overloaded"); });
    auto back = make_router("model_list:\n" + anthropic_yaml("a", ant2, "a") + bedrock_yaml("b", bed2, "b") +
                            "router_settings:\n  num_retries: 0\n  fallbacks: [{\"a\": [\"b\"]}]\n")
                    ->completion(chat_request("a"));
    REQUIRE(back.ok());
    CHECK(back.value().metadata.provider == "bedrock");
  }
}

TEST_CASE("bedrock: a throttlingException frame before the first token fails over; a bad CRC is an error",
          "[bedrock][stream]") {
  FakeProvider bed, other;
  BedrockScript throttled;
  throttled.exception_type = "throttlingException";
  throttled.exception_message = "Too many requests, please wait before trying again.";
  throttled.exception_after = 1;  // after messageStart: no content yet
  serve_bedrock(bed, throttled);
  serve_bedrock(other);
  auto router = make_router("model_list:\n" + bedrock_yaml("claude", bed, "throttled") +
                            bedrock_yaml("backup", other, "backup") +
                            "router_settings:\n  num_retries: 0\n  fallbacks: [{\"claude\": [\"backup\"]}]\n");
  auto c = run_stream(*router, chat_request("claude", R"("stream":true)"));
  INFO((c.done->ok() ? std::string("ok") : c.done->error().to_string()));
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hello from Bedrock.");
  CHECK(c.done->value().metadata.deployment_id == "backup");
  CHECK(bed.request_count() == 1);

  FakeProvider broken;
  BedrockScript corrupt;
  corrupt.corrupt_crc = true;
  serve_bedrock(broken, corrupt);
  auto failing = make_router("model_list:\n" + bedrock_yaml("claude", broken, "broken") +
                             "router_settings:\n  num_retries: 0\n");
  auto f = run_stream(*failing, chat_request("claude", R"("stream":true)"));
  REQUIRE_FALSE(f.done->ok());
  CHECK_THAT(f.done->error().message, Catch::Contains("CRC"));
}

}  // namespace llmux::testing
