// Gemini (AI Studio) end to end: a real Router from YAML, real HTTP on
// loopback to the fake speaking Google's wire format (tests/support/
// fake_gemini.hpp). The mapping is asserted on the wire; errors drive
// retries, cooldowns and fallbacks between an OpenAI group and a Gemini
// group in both directions.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>

#include "integration/test_util.hpp"
#include "support/fake_gemini.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

std::string gemini_yaml(const std::string& group, const std::string& model, const FakeProvider& p,
                        const std::string& id, const std::string& key = "test-gemini-key",
                        const std::string& extra = "") {
  return fmt::format(
      "  - model_name: {}\n    litellm_params:\n      model: gemini/{}\n      api_base: http://127.0.0.1:{}\n"
      "      api_key: {}\n{}    model_info:\n      id: {}\n",
      group, model, p.port(), key, extra, id);
}

// The JSON value at `pointer` in `json` as minified text ("" when absent).
std::string at(const std::string& json, const char* pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc)) return "";
  simdjson::dom::element v;
  if (doc.at_pointer(pointer).get(v)) return "";
  return simdjson::minify(v);
}

}  // namespace

TEST_CASE("gemini: the request is mapped on the wire and the answer comes back as OpenAI's", "[gemini]") {
  FakeProvider gem;
  gem.set_handler(gemini_handler());
  auto router = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1"));
  auto r = router->completion(
      R"({"model":"gem","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],)"
      R"("temperature":0.1,"max_tokens":50,"num_retries":1})");
  REQUIRE(r.ok());
  const auto reqs = gem.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].path == "/models/gemini-2.0-flash:generateContent");
  CHECK(reqs[0].header("x-goog-api-key") == "test-gemini-key");
  CHECK(reqs[0].header("authorization").empty());
  CHECK(reqs[0].body ==
        R"({"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"system_instruction":{"parts":[{"text":"Be brief."}]},)"
        R"("generationConfig":{"temperature":0.1,"max_output_tokens":50}})");
  CHECK(at(r->body, "/object") == "\"chat.completion\"");
  CHECK(at(r->body, "/choices/0/message/content") == "\"Hello from gemini-2.0-flash.\"");
  CHECK(at(r->body, "/id") == "\"fake-resp-1\"");
  CHECK(r->finish_reason == "stop");
  CHECK(r->usage.prompt_tokens == 5);
  CHECK(r->usage.completion_tokens == 3);
  CHECK(r->metadata.deployment_id == "gem-1");
}

TEST_CASE("gemini: tool calls both ways", "[gemini]") {
  FakeProvider gem;
  gem.set_handler(gemini_handler({}, [](const GeminiCall&) -> std::optional<Behavior> {
    return gemini_json(gemini_function_call_body("get_weather", R"({"city":"Paris"})"));
  }));
  auto router = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1"));
  auto r = router->completion(
      R"({"model":"gem","messages":[{"role":"user","content":"Weather?"},)"
      R"({"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},)"
      R"({"role":"tool","tool_call_id":"c1","content":"sunny"}],)"
      R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}}}],)"
      R"("tool_choice":"auto"})");
  REQUIRE(r.ok());
  const std::string sent = gem.requests().at(0).body;
  CHECK(at(sent, "/contents/1/parts/0") == R"({"function_call":{"name":"get_weather","args":{"city":"Rome"}}})");
  CHECK(at(sent, "/contents/2/parts/0") ==
        R"({"function_response":{"name":"get_weather","response":{"content":"sunny"}}})");
  CHECK(at(sent, "/tools") ==
        R"([{"function_declarations":[{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}])");
  CHECK(at(sent, "/toolConfig") == R"({"functionCallingConfig":{"mode":"AUTO"}})");
  CHECK(r->finish_reason == "tool_calls");
  CHECK(at(r->body, "/choices/0/message/tool_calls/0/function") == R"({"name":"get_weather","arguments":"{\"city\":\"Paris\"}"})");
  CHECK(at(r->body, "/choices/0/message/tool_calls/0/id").rfind("\"call_", 0) == 0);
  CHECK(r->usage.prompt_tokens == 12);
}

TEST_CASE("gemini: streaming maps Google's SSE to OpenAI chunks with usage", "[gemini][stream]") {
  FakeProvider gem;
  gem.set_handler(gemini_handler({}, [](const GeminiCall&) -> std::optional<Behavior> {
    return gemini_stream("Streaming from Gemini works.", 4, 7, 6);
  }));
  auto router = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1"));
  Collected c = run_stream(*router, chat_request("gem", R"("stream":true,"stream_options":{"include_usage":true})"));
  REQUIRE(c.done);
  REQUIRE(c.done->ok());
  CHECK(c.text == "Streaming from Gemini works.");
  CHECK(gem.requests().at(0).path == "/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
  CHECK(gem.requests().at(0).body.find("\"stream\"") == std::string::npos);
  const Response& resp = c.done->value();
  CHECK(resp.usage.prompt_tokens == 7);
  CHECK(resp.usage.completion_tokens == 6);
  CHECK(resp.finish_reason == "stop");
  REQUIRE_FALSE(c.chunks.empty());
  CHECK(at(c.chunks.back(), "/usage/total_tokens") == "13");
  CHECK(at(c.chunks.front(), "/object") == "\"chat.completion.chunk\"");
}

TEST_CASE("gemini: keys — a wrong key is an AuthenticationError, a missing one fails before any I/O", "[gemini][errors]") {
  FakeProvider gem;
  gem.set_handler(gemini_handler());
  auto router = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1", "wrong-key"));
  auto r = router->completion(chat_request("gem"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kAuthentication);
  CHECK(r.error().message.find("API key not valid") != std::string::npos);
  CHECK(r.error().message.find("wrong-key") == std::string::npos);
  CHECK(gem.request_count() == 1);  // 401-class errors are not retried

  for (const char* v : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "PALM_API_KEY"}) ::unsetenv(v);
  gem.reset();
  gem.set_handler(gemini_handler());
  auto keyless = make_router(fmt::format(
      "model_list:\n  - model_name: gem\n    litellm_params:\n      model: gemini/gemini-2.0-flash\n"
      "      api_base: http://127.0.0.1:{}\n",
      gem.port()));
  auto e = keyless->completion(chat_request("gem"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::kAuthentication);
  CHECK(gem.request_count() == 0);
}

TEST_CASE("gemini: 429 RESOURCE_EXHAUSTED cools the deployment down and the retry goes to the other", "[gemini][errors]") {
  FakeProvider busy, ok;
  busy.set_handler(gemini_handler({}, [](const GeminiCall&) -> std::optional<Behavior> {
    return gemini_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
  }));
  ok.set_handler(gemini_handler());
  auto router = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", busy, "gem-busy") +
                            gemini_yaml("gem", "gemini-2.0-flash", ok, "gem-ok") +
                            "router_settings:\n  num_retries: 2\n  routing_strategy: simple-shuffle\n");
  // Until the shuffle picks the busy one: its 429 is retried on the other.
  int calls = 0;
  while (busy.request_count() == 0 && calls < 60) {
    auto r = router->completion(chat_request("gem"));
    ++calls;
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "gem-ok");
    if (busy.request_count() == 1) CHECK(r->metadata.retries == 1);
  }
  REQUIRE(busy.request_count() == 1);
  // Cooling down now: never picked again.
  for (int i = 0; i < 5; ++i) {
    auto r = router->completion(chat_request("gem"));
    REQUIRE(r.ok());
    CHECK(r->metadata.retries == 0);
  }
  CHECK(busy.request_count() == 1);
  bool busy_cooling = false;
  for (const auto& h : router->health("gem")) {
    if (h.id == "gem-busy") busy_cooling = h.state == "cooling_down" && h.status == 429;
  }
  CHECK(busy_cooling);
}

TEST_CASE("gemini: error classes on the wire (403, 503, 502, 400)", "[gemini][errors]") {
  // code, Google status, message → kind, and 1 + retries (num_retries: 1)
  // requests unless the class is not retried.
  auto error_case = [](int code, std::string status, std::string message, ErrorKind kind, size_t requests) {
    return ErrorClassCase{.label = fmt::format("{} {}", code, message),
                          .serve =
                              [=](FakeProvider& gem) {
                                gem.set_handler(gemini_handler({}, [=](const GeminiCall&) -> std::optional<Behavior> {
                                  return gemini_error(code, status, message);
                                }));
                              },
                          .kind = kind,
                          .message_has = message,
                          .requests = requests,
                          .num_retries = 1};
  };
  check_error_classes(
      "gem", [](const FakeProvider& gem) { return gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1"); },
      {
          error_case(403, "PERMISSION_DENIED", "Permission denied: Consumer 'api_key:x' has been suspended.",
                     ErrorKind::kPermissionDenied, 2),
          error_case(503, "UNAVAILABLE", "The service is currently unavailable.", ErrorKind::kServiceUnavailable, 2),
          error_case(502, "BAD_GATEWAY", "Bad Gateway", ErrorKind::kBadGateway, 2),
          error_case(400, "INVALID_ARGUMENT", "Invalid value at 'contents[0]'", ErrorKind::kBadRequest, 1),
      });
}

TEST_CASE("gemini: context-window fallback between an OpenAI group and a Gemini group, both directions",
          "[gemini][fallback]") {
  FakeProvider oai, gem;
  oai.set_default(Behavior::context_window_exceeded());
  gem.set_handler(gemini_handler());
  auto to_gemini = make_router("model_list:\n" + deployment_yaml("gpt", "m", oai, "", "oai-1") +
                               gemini_yaml("gem", "gemini-1.5-pro", gem, "gem-1") +
                               "router_settings:\n  context_window_fallbacks:\n    - gpt: [gem]\n");
  auto r = to_gemini->completion(chat_request("gpt"));
  REQUIRE(r.ok());
  CHECK(r->metadata.model_group == "gem");
  CHECK(at(r->body, "/choices/0/message/content") == "\"Hello from gemini-1.5-pro.\"");

  FakeProvider oai2, gem2;
  oai2.set_default(Behavior::ok("OpenAI has the longer context."));
  gem2.set_handler(gemini_handler({}, [](const GeminiCall&) -> std::optional<Behavior> {
    return gemini_error(400, "INVALID_ARGUMENT",
                        "The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).");
  }));
  auto to_openai = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem2, "gem-1") +
                               deployment_yaml("gpt", "m", oai2, "", "oai-1") +
                               "router_settings:\n  num_retries: 3\n  context_window_fallbacks:\n    - gem: [gpt]\n");
  r = to_openai->completion(chat_request("gem"));
  REQUIRE(r.ok());
  CHECK(r->metadata.model_group == "gpt");
  CHECK(at(r->body, "/choices/0/message/content") == "\"OpenAI has the longer context.\"");
  CHECK(gem2.request_count() == 1);  // context-window errors are not retried
}

TEST_CASE("gemini: a SAFETY answer or a blocked prompt moves to the content-policy fallback", "[gemini][fallback]") {
  for (bool blocked_prompt : {false, true}) {
    INFO("blocked prompt: " << blocked_prompt);
    FakeProvider gem, oai;
    gem.set_handler(gemini_handler({}, [&](const GeminiCall&) -> std::optional<Behavior> {
      return gemini_json(blocked_prompt ? gemini_prompt_blocked_body() : gemini_safety_body("Here is how to"));
    }));
    oai.set_default(Behavior::ok("Answered elsewhere."));
    auto router = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1") +
                              deployment_yaml("gpt", "m", oai, "", "oai-1") +
                              "router_settings:\n  content_policy_fallbacks:\n    - gem: [gpt]\n");
    auto r = router->completion(chat_request("gem"));
    REQUIRE(r.ok());
    CHECK(r->metadata.model_group == "gpt");
    CHECK(at(r->body, "/choices/0/message/content") == "\"Answered elsewhere.\"");

    // Without a content-policy fallback the filtered answer is returned as it is.
    auto plain = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1"));
    auto a = plain->completion(chat_request("gem"));
    REQUIRE(a.ok());
    CHECK(a->finish_reason == "content_filter");
    CHECK(at(a->body, "/choices/0/message/content") == "null");
  }
}

TEST_CASE("gemini: a stream failing before its first token fails over invisibly, both directions",
          "[gemini][stream][fallback]") {
  FakeProvider gem, oai;
  gem.set_handler(gemini_handler({}, [](const GeminiCall&) -> std::optional<Behavior> {
    return gemini_error(503, "UNAVAILABLE", "The service is currently unavailable.");
  }));
  oai.set_default(Behavior::streaming("OpenAI took over.", 3));
  auto router = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1") +
                            deployment_yaml("gpt", "m", oai, "", "oai-1") +
                            "router_settings:\n  num_retries: 0\n  fallbacks:\n    - gem: [gpt]\n");
  Collected c = run_stream(*router, chat_request("gem", R"("stream":true)"));
  REQUIRE(c.done);
  REQUIRE(c.done->ok());
  CHECK(c.text == "OpenAI took over.");
  CHECK(c.done->value().metadata.model_group == "gpt");

  // OpenAI cut before its first token → the Gemini group streams the answer.
  FakeProvider oai2, gem2;
  Behavior cut = Behavior::streaming("never", 3);
  cut.cut_after_events = 0;
  oai2.set_default(cut);
  gem2.set_handler(gemini_handler({}, [](const GeminiCall&) -> std::optional<Behavior> {
    return gemini_stream("Gemini took over.", 3);
  }));
  auto back = make_router("model_list:\n" + deployment_yaml("gpt", "m", oai2, "", "oai-1") +
                          gemini_yaml("gem", "gemini-2.0-flash", gem2, "gem-1") +
                          "router_settings:\n  num_retries: 0\n  fallbacks:\n    - gpt: [gem]\n");
  Collected c2 = run_stream(*back, chat_request("gpt", R"("stream":true)"));
  REQUIRE(c2.done);
  REQUIRE(c2.done->ok());
  CHECK(c2.text == "Gemini took over.");
  CHECK(c2.done->value().metadata.model_group == "gem");
  CHECK(c2.done->value().usage.completion_tokens == 3);
}

TEST_CASE("gemini: unsupported parameters fail as BadRequest unless drop_params", "[gemini]") {
  FakeProvider gem;
  gem.set_handler(gemini_handler());
  const std::string req = chat_request("gem", R"("logit_bias":{"50256":-100})");
  auto strict = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1"));
  auto e = strict->completion(req);
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::kBadRequest);
  CHECK(gem.request_count() == 0);
  auto router_level = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1") +
                                  "litellm_settings:\n  drop_params: true\n");
  CHECK(router_level->completion(req).ok());
  auto deployment_level = make_router("model_list:\n" + gemini_yaml("gem", "gemini-2.0-flash", gem, "gem-1",
                                                                    "test-gemini-key", "      drop_params: true\n"));
  CHECK(deployment_level->completion(req).ok());
  CHECK(gem.request_count() == 2);
  CHECK(gem.requests().at(0).body.find("logit") == std::string::npos);
}

TEST_CASE("gemini: embeddings through batchEmbedContents", "[gemini][embeddings]") {
  FakeProvider gem;
  gem.set_handler(gemini_handler({}, [](const GeminiCall& call) -> std::optional<Behavior> {
    if (call.method == "batchEmbedContents") return gemini_json(gemini_embeddings_body(2, 2));
    return std::nullopt;
  }));
  auto router = make_router("model_list:\n" + gemini_yaml("emb", "text-embedding-004", gem, "emb-1"));
  auto r = router->embedding(R"({"model":"emb","input":["a","b"]})");
  REQUIRE(r.ok());
  CHECK(gem.requests().at(0).path == "/models/text-embedding-004:batchEmbedContents");
  CHECK(gem.requests().at(0).body ==
        R"({"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]}},)"
        R"({"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]}}]})");
  CHECK(at(r->body, "/object") == "\"list\"");
  CHECK(at(r->body, "/data/1/embedding") == "[0.5,0.5]");
}

TEST_CASE("gemini: a key from the environment never appears in an error", "[gemini][errors]") {
  ::setenv("GOOGLE_API_KEY", "AIzaEnvironmentSecret123", 1);
  FakeProvider gem;
  GeminiFakeOptions options;
  options.auth_value = "AIzaEnvironmentSecret123";
  gem.set_handler(gemini_handler(options, [](const GeminiCall& call) -> std::optional<Behavior> {
    return gemini_error(400, "INVALID_ARGUMENT",
                        "Bad request from key " + call.request->header("x-goog-api-key") + " rejected");
  }));
  auto router = make_router(fmt::format(
      "model_list:\n  - model_name: gem\n    litellm_params:\n      model: gemini/gemini-2.0-flash\n"
      "      api_base: http://127.0.0.1:{}\n",
      gem.port()));
  auto r = router->completion(chat_request("gem"));
  ::unsetenv("GOOGLE_API_KEY");
  REQUIRE_FALSE(r.ok());
  CHECK(gem.request_count() == 1);
  CHECK(r.error().kind == ErrorKind::kBadRequest);
  CHECK(r.error().message.find("AIzaEnvironmentSecret123") == std::string::npos);
  CHECK(r.error().message.find("rejected") != std::string::npos);
}
