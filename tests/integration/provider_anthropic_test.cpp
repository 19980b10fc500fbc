// The Anthropic adapter end to end: a real Router built from YAML, real HTTP
// on loopback to the fake provider speaking Anthropic's Messages wire format
// (tests/support/fake_anthropic.hpp). The wire is asserted (path, headers,
// body), and every router capability is exercised across providers: retries,
// cooldowns, context-window and content-policy fallbacks in both directions,
// streaming failover before the first token, continuation after it.
#include <atomic>

#include "support/fake_anthropic.hpp"
#include "test_util.hpp"

namespace llmux::testing {
namespace {

std::string anthropic_yaml(const std::string& group, const FakeProvider& p, const std::string& id,
                           const std::string& extra_params = "") {
  return fmt::format(
      "  - model_name: {}\n    litellm_params:\n      model: anthropic/claude-fake-model\n"
      "      api_base: http://127.0.0.1:{}/\n      api_key: sk-ant-test\n{}    model_info:\n      id: {}\n",
      group, p.port(), extra_params, id);
}

void serve_anthropic(FakeProvider& p, AnthropicScript script = {}) {
  p.set_handler([script](const ReceivedRequest& r) { return anthropic_answer(r, script); });
}

// The one deployment of the error-class cases.
std::string claude_deployment(const FakeProvider& p) { return anthropic_yaml("claude", p, "dep-a"); }

// Every request answered with this Anthropic error (and Retry-After when given).
std::function<void(FakeProvider&)> serve_error(int status, std::string type, std::string message,
                                               const std::string& retry_after = "") {
  return answer_every_request(anthropic_error(status, std::move(type), std::move(message)), retry_after);
}

const std::string kSystemRequest =
    R"({"model":"claude","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}],"temperature":0.3})";

}  // namespace

TEST_CASE("anthropic: the request on the wire and the answer in OpenAI's shape", "[anthropic]") {
  FakeProvider p;
  AnthropicScript script;
  script.cache_read_input_tokens = 100;
  serve_anthropic(p, script);
  auto router = make_router("model_list:\n" + anthropic_yaml("claude", p, "dep-a"));
  auto r = router->completion(kSystemRequest);
  INFO((r.ok() ? std::string("ok") : r.error().to_string()));
  REQUIRE(r.ok());
  REQUIRE(p.request_count() == 1);
  const ReceivedRequest req = p.requests()[0];
  CHECK(req.path == "/v1/messages");  // the api_base's trailing '/' does not double the slash
  CHECK(req.header("x-api-key") == "sk-ant-test");
  CHECK(req.header("anthropic-version") == "2023-06-01");
  CHECK(req.body == R"({"model":"claude-fake-model","messages":[{"role":"user","content":[{"type":"text","text":"Say hello"}]}],)"
                    R"("system":[{"type":"text","text":"Be brief."}],"max_tokens":4096,"temperature":0.3})");
  const Response& resp = r.value();
  CHECK(json_at(resp.body, "/object") == "chat.completion");
  CHECK(json_at(resp.body, "/choices/0/message/content") == "Hello from Claude.");
  CHECK(json_at(resp.body, "/model") == "claude-fake");
  CHECK(json_at(resp.body, "/usage/prompt_tokens_details/cached_tokens") == "100");
  CHECK(resp.finish_reason == "stop");
  CHECK(resp.usage.prompt_tokens == 111);  // input + cache reads
  CHECK(resp.usage.completion_tokens == 7);
  CHECK(resp.metadata.provider == "anthropic");
  CHECK(resp.metadata.deployment_id == "dep-a");
  CHECK(resp.metadata.api_base.find("sk-ant") == std::string::npos);
}

TEST_CASE("anthropic: streaming translates to OpenAI chunks with usage", "[anthropic][stream]") {
  FakeProvider p;
  AnthropicScript script;
  script.text = "Hi! How are you?";
  script.text_parts = 4;
  serve_anthropic(p, script);
  auto router = make_router("model_list:\n" + anthropic_yaml("claude", p, "dep-a"));
  auto c = run_stream(*router, chat_request("claude", R"("stream":true,"stream_options":{"include_usage":true})"));
  INFO((c.done->ok() ? std::string("ok") : c.done->error().to_string()));
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hi! How are you?");
  CHECK(c.done->value().finish_reason == "stop");
  CHECK(c.done->value().usage.prompt_tokens == 11);
  CHECK(c.done->value().usage.completion_tokens == 7);
  REQUIRE(c.chunks.size() >= 3);
  CHECK(json_at(c.chunks.back(), "/choices") == "[]");  // the usage chunk the caller asked for
  CHECK(json_at(c.chunks.back(), "/usage/total_tokens") == "18");
  for (const auto& chunk : c.chunks) CHECK(json_at(chunk, "/id") == "msg_fake");  // one id
  CHECK(json_at(p.requests()[0].body, "/stream") == "true");

  // Without include_usage the consumer gets no usage chunk, the router still has usage.
  auto plain = run_stream(*router, chat_request("claude", R"("stream":true)"));
  REQUIRE(plain.done->ok());
  CHECK(json_at(plain.chunks.back(), "/choices/0/finish_reason") == "stop");
  CHECK(plain.done->value().usage.completion_tokens == 7);
}

TEST_CASE("anthropic: tool calls, plain and streamed", "[anthropic]") {
  FakeProvider p;
  AnthropicScript script;
  script.text.clear();
  script.tools = {{"toolu_1", "weather", R"({"city":"Paris"})"}, {"toolu_2", "now", "{}"}};
  serve_anthropic(p, script);
  auto router = make_router("model_list:\n" + anthropic_yaml("claude", p, "dep-a"));
  const std::string request =
      R"({"model":"claude","messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":)"
      R"({"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},)"
      R"({"type":"function","function":{"name":"now"}}],"tool_choice":"required")";
  auto r = router->completion(request + "}");
  REQUIRE(r.ok());
  CHECK(r.value().finish_reason == "tool_calls");
  CHECK(json_at(r.value().body, "/choices/0/message/tool_calls/0/function/arguments") == R"({"city":"Paris"})");
  CHECK(json_at(r.value().body, "/choices/0/message/tool_calls/1/function/name") == "now");
  CHECK(json_at(p.requests()[0].body, "/tool_choice") == R"({"type":"any"})");
  CHECK(json_at(p.requests()[0].body, "/tools/0/input_schema/properties/city/type") == "string");

  auto c = run_stream(*router, request + R"(,"stream":true})");
  REQUIRE(c.done->ok());
  CHECK(c.done->value().finish_reason == "tool_calls");
  std::string args[2];
  for (const auto& chunk : c.chunks) {
    const std::string index = json_at(chunk, "/choices/0/delta/tool_calls/0/index");
    const std::string part = json_at(chunk, "/choices/0/delta/tool_calls/0/function/arguments");
    if (index == "0" || index == "1") args[index == "1"] += part;
  }
  CHECK(args[0] == R"({"city":"Paris"})");
  CHECK(args[1] == "{}");  // an empty-input tool still gets valid JSON
}

TEST_CASE("anthropic: 529 overloaded is an InternalServerError and is retried", "[anthropic][errors]") {
  FakeProvider p;
  std::atomic<int> seen{0};
  p.set_handler([&](const ReceivedRequest& r) {
    if (seen++ == 0) return anthropic_error(529, "overloaded_error", "Overloaded");
    return anthropic_answer(r, AnthropicScript{});
  });
  auto router = make_router("model_list:\n" + anthropic_yaml("claude", p, "dep-a") +
                            "router_settings:\n  num_retries: 2\n  retry_after: 0\n");
  auto r = router->completion(chat_request("claude"));
  REQUIRE(r.ok());
  CHECK(r.value().metadata.attempts == 2);
  CHECK(r.value().metadata.retries == 1);

  check_error_classes("claude", claude_deployment,
                      {{.label = "529 overloaded_error",
                        .serve = serve_error(529, "overloaded_error", "Overloaded"),
                        .kind = ErrorKind::kInternalServer,
                        .status = 500,
                        .provider_status = 529,
                        .message_has = "Overloaded"}});
}

TEST_CASE("anthropic: 429 with retry-after cools the deployment down; the other one serves", "[anthropic][errors]") {
  FakeProvider limited, fine;
  serve_error(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit", "40")(limited);
  serve_anthropic(fine);
  auto router = make_router("model_list:\n" + anthropic_yaml("claude", limited, "limited") +
                            anthropic_yaml("claude", fine, "fine") + "router_settings:\n  num_retries: 2\n");
  expect_calls_served_by(*router, "claude", "fine", 6);
  CHECK(limited.request_count() <= 1);  // cooled down after its first 429
  bool cooling = false;
  for (const auto& h : router->health("claude")) {
    if (h.id == "limited") cooling = !h.healthy && h.status == 429 && h.cooldown_remaining_seconds > 0;
  }
  CHECK((limited.request_count() == 0 || cooling));
}

TEST_CASE("anthropic: 403 is a PermissionDenied, a missing key an AuthenticationError before any I/O",
          "[anthropic][errors]") {
  check_error_classes(
      "claude", claude_deployment,
      {{.label = "403 permission_error",
        .serve = serve_error(403, "permission_error",
                             "Your API key does not have permission to use the specified resource."),
        .kind = ErrorKind::kPermissionDenied,
        .status = 403}});

  FakeProvider silent;
  unsetenv("ANTHROPIC_API_KEY");
  const std::string cfg = fmt::format(
      "model_list:\n  - model_name: claude\n    litellm_params:\n      model: anthropic/claude-x\n"
      "      api_base: http://127.0.0.1:{}\n    model_info:\n      id: keyless\n",
      silent.port());
  auto keyless = make_router(cfg)->completion(chat_request("claude"));
  REQUIRE_FALSE(keyless.ok());
  CHECK(keyless.error().kind == ErrorKind::kAuthentication);
  CHECK_THAT(keyless.error().message, Catch::Contains("keyless"));
  CHECK(silent.request_count() == 0);
}

TEST_CASE("anthropic: context-window fallbacks between an OpenAI group and an Anthropic group, both ways",
          "[anthropic][fallbacks]") {
  FakeProvider vllm, claude;
  SECTION("OpenAI-compatible overflow lands on Anthropic") {
    vllm.set_default(Behavior::context_window_exceeded());
    serve_anthropic(claude);
    auto router = make_router("model_list:\n" + deployment_yaml("local", "llama", vllm, "", "vllm-1") +
                              anthropic_yaml("hosted", claude, "claude-1") +
                              "router_settings:\n  num_retries: 0\n  context_window_fallbacks: [{\"local\": [\"hosted\"]}]\n");
    auto r = router->completion(chat_request("local"));
    REQUIRE(r.ok());
    CHECK(r.value().metadata.model_group == "hosted");
    CHECK(json_at(r.value().body, "/choices/0/message/content") == "Hello from Claude.");
  }
  SECTION("Anthropic's prompt-too-long lands on the OpenAI group") {
    claude.set_handler([](const ReceivedRequest&) {
      return anthropic_error(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum");
    });
    auto router = make_router("model_list:\n" + anthropic_yaml("hosted", claude, "claude-1") +
                              deployment_yaml("big", "llama", vllm, "", "vllm-1") +
                              "router_settings:\n  num_retries: 2\n  context_window_fallbacks: [{\"hosted\": [\"big\"]}]\n");
    auto r = router->completion(chat_request("hosted"));
    REQUIRE(r.ok());
    CHECK(r.value().metadata.model_group == "big");
    CHECK(claude.request_count() == 1);  // a context-window error is not retried
  }
}

TEST_CASE("anthropic: a refusal is a content-filter answer and content-policy fallbacks fire", "[anthropic][fallbacks]") {
  FakeProvider claude, openai;
  AnthropicScript refusal;
  refusal.text.clear();
  refusal.stop_reason = "refusal";
  serve_anthropic(claude, refusal);
  auto router = make_router("model_list:\n" + anthropic_yaml("hosted", claude, "claude-1") +
                            deployment_yaml("other", "gpt", openai, "", "gpt-1") +
                            "router_settings:\n  content_policy_fallbacks: [{\"hosted\": [\"other\"]}]\n");
  auto r = router->completion(chat_request("hosted"));
  REQUIRE(r.ok());
  CHECK(r.value().metadata.model_group == "other");
  CHECK(openai.request_count() == 1);

  // And the other way: OpenAI's content-policy error lands on Anthropic.
  FakeProvider strict, claude2;
  strict.set_default(Behavior::content_policy_violation());
  serve_anthropic(claude2);
  auto back = make_router("model_list:\n" + deployment_yaml("strict", "gpt", strict, "", "gpt-2") +
                          anthropic_yaml("hosted", claude2, "claude-2") +
                          "router_settings:\n  content_policy_fallbacks: [{\"strict\": [\"hosted\"]}]\n");
  auto b = back->completion(chat_request("strict"));
  REQUIRE(b.ok());
  CHECK(b.value().metadata.model_group == "hosted");
}

TEST_CASE("anthropic: streaming fails over before the first token (HTTP 529 and an error event)",
          "[anthropic][stream]") {
  FakeProvider overloaded, event_error, good;
  overloaded.set_handler([](const ReceivedRequest&) { return anthropic_error(529, "overloaded_error", "Overloaded"); });
  event_error.set_handler([](const ReceivedRequest& r) {
    Behavior b = anthropic_answer(r, AnthropicScript{});
    b.events.resize(2);  // message_start, ping
    b.events.push_back(anthropic_sse_event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
    return b;
  });
  AnthropicScript script;
  script.text = "Hi! How are you?";
  serve_anthropic(good, script);
  for (FakeProvider* first : {&overloaded, &event_error}) {
    good.reset();
    serve_anthropic(good, script);
    auto router = make_router("model_list:\n" + anthropic_yaml("primary", *first, "first") +
                              anthropic_yaml("backup", good, "good") +
                              "router_settings:\n  num_retries: 0\n  fallbacks: [{\"primary\": [\"backup\"]}]\n");
    auto c = run_stream(*router, chat_request("primary", R"("stream":true)"));
    INFO((c.done->ok() ? std::string("ok") : c.done->error().to_string()));
    REQUIRE(c.done->ok());
    CHECK(c.text == "Hi! How are you?");
    CHECK(c.done->value().metadata.model_group == "backup");
    CHECK(c.done->value().metadata.stream_continuations == 0);  // invisible: nothing was delivered before
  }
}

TEST_CASE("anthropic: a stream cut after content continues on Anthropic by assistant prefill",
          "[anthropic][stream][continuation]") {
  FakeProvider vllm, claude;
  Behavior cut = Behavior::streaming("Hi! How are you?", 4);
  cut.cut_after_events = 3;  // role + "Hi! " + "How "
  vllm.set_default(cut);
  AnthropicScript rest;
  // What Claude sends after the trimmed prefill "Hi! How": the space again.
  rest.text = " are you?";
  rest.text_parts = 2;
  serve_anthropic(claude, rest);
  auto router = make_router("model_list:\n" + deployment_yaml("local", "llama", vllm, "", "vllm-1") +
                            anthropic_yaml("hosted", claude, "claude-1") +
                            "router_settings:\n  num_retries: 0\n  fallbacks: [{\"local\": [\"hosted\"]}]\n");
  auto c = run_stream(*router, chat_request("local", R"("stream":true)"));
  INFO((c.done->ok() ? std::string("ok") : c.done->error().to_string()));
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hi! How are you?");  // the repeated space is dropped, not doubled
  CHECK(c.done->value().metadata.stream_continuations == 1);
  CHECK(c.done->value().metadata.model_group == "hosted");
  REQUIRE(claude.request_count() == 1);
  const std::string body = claude.requests()[0].body;
  // The continuation ends with the delivered text as an assistant turn
  // (right-trimmed: Anthropic rejects trailing whitespace there).
  CHECK(json_at(body, "/messages/1/role") == "assistant");
  CHECK(json_at(body, "/messages/1/content/0/text") == "Hi! How");
  CHECK(json_at(body, "/messages/0/content/0/text") == "Say hello");
  CHECK(json_at(body, "/stream") == "true");
}

TEST_CASE("anthropic: a key read from ANTHROPIC_API_KEY never appears in an error, even when the provider echoes it",
          "[anthropic][errors]") {
  FakeProvider p;
  p.set_handler([](const ReceivedRequest& r) {
    return anthropic_error(401, "authentication_error", "invalid x-api-key: " + r.header("x-api-key"));
  });
  setenv("ANTHROPIC_API_KEY", "sk-ant-env-canary-0123", 1);
  const std::string cfg = fmt::format(
      "model_list:\n  - model_name: claude\n    litellm_params:\n      model: anthropic/claude-x\n"
      "      api_base: http://127.0.0.1:{}\n    model_info:\n      id: env-key\n"
      "router_settings:\n  num_retries: 0\n",
      p.port());
  auto r = make_router(cfg)->completion(chat_request("claude"));
  unsetenv("ANTHROPIC_API_KEY");
  REQUIRE_FALSE(r.ok());
  REQUIRE(p.request_count() == 1);
  CHECK(p.requests()[0].header("x-api-key") == "sk-ant-env-canary-0123");  // it was sent
  CHECK(r.error().kind == ErrorKind::kAuthentication);
  CHECK_THAT(r.error().message, Catch::Contains("[REDACTED]"));
  CHECK(r.error().to_string().find("sk-ant-env-canary-0123") == std::string::npos);
}

}  // namespace llmux::testing
