#include "provider/openai_compatible.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "request/request.hpp"
#include "provider/provider.hpp"
#include "unit/provider/provider_test_util.hpp"

using llmux::DeploymentConfig;
using llmux::ErrorKind;
using llmux::request::Endpoint;
using llmux::request::ParsedRequest;
using llmux::provider::ChunkInfo;
using llmux::provider::find_provider;
using llmux::provider::Provider;
using llmux::provider::supported_provider_list;
using llmux::transport::HttpRequest;

namespace {

using llmux::testing::deployment;
using llmux::testing::parse;

const Provider& provider(std::string_view name) { return llmux::testing::provider_named(name); }

HttpRequest build_ok(const Provider& p, const DeploymentConfig& d, const ParsedRequest& r, bool stream) {
  HttpRequest out;
  auto s = p.build_request(llmux::provider::ProviderTarget::of(d), r, stream, out);
  if (!s.ok()) FAIL(s.error().message);
  return out;
}

const char* kChat = R"({"model":"group","messages":[{"role":"user","content":"hi"}],"temperature":0})";

}  // namespace

TEST_CASE("registry: OpenAI-compatible families resolve, others do not") {
  for (const char* name : {"openai", "custom_openai", "openai_like", "hosted_vllm", "vllm", "lm_studio", "llamafile",
                           "xinference", "litellm_proxy", "groq", "deepseek", "together_ai", "fireworks_ai",
                           "deepinfra", "perplexity", "mistral", "xai", "cerebras", "nvidia_nim", "sambanova",
                           "openrouter"}) {
    INFO(name);
    const Provider* p = find_provider(name);
    REQUIRE(p != nullptr);
    CHECK(p->name() == name);
  }
  for (const char* name : {"", "OpenAI", "sagemaker", "mock", "open"}) {
    INFO(name);
    CHECK(find_provider(name) == nullptr);
  }
  REQUIRE(find_provider("anthropic") != nullptr);  // its own adapter (anthropic.hpp)
  CHECK(find_provider("anthropic")->name() == "anthropic");
  CHECK(find_provider("openai") == find_provider("openai"));  // one shared instance
  const std::string list(supported_provider_list());
  CHECK(list.rfind("openai, custom_openai, openai_like, hosted_vllm, vllm, ", 0) == 0);
  CHECK(list.find("groq") != std::string::npos);
  CHECK(list.back() != ' ');
}

TEST_CASE("build_request: URL per provider and api_base form") {
  auto chat = parse(kChat);
  auto emb = parse(R"({"model":"e","input":"text"})", Endpoint::kEmbeddings);
  struct Case {
    const char* provider;
    const char* api_base;
    bool embeddings;
    const char* url;
  };
  const std::vector<Case> cases = {
      {"openai", "", false, "https://api.openai.com/v1/chat/completions"},
      {"openai", "", true, "https://api.openai.com/v1/embeddings"},
      {"openai", "https://proxy.example.com/v1", false, "https://proxy.example.com/v1/chat/completions"},
      {"openai", "https://proxy.example.com/v1/", false, "https://proxy.example.com/v1/chat/completions"},
      {"hosted_vllm", "http://10.0.0.5:8000/v1", false, "http://10.0.0.5:8000/v1/chat/completions"},
      {"hosted_vllm", "http://10.0.0.5:8000/v1//", true, "http://10.0.0.5:8000/v1/embeddings"},
      {"hosted_vllm", "http://gpu-1:8000/v1/chat/completions", false, "http://gpu-1:8000/v1/chat/completions"},
      {"vllm", "http://127.0.0.1:8001", false, "http://127.0.0.1:8001/chat/completions"},
      {"llamafile", "", false, "http://127.0.0.1:8080/v1/chat/completions"},
      {"groq", "", false, "https://api.groq.com/openai/v1/chat/completions"},
      {"lm_studio", "http://localhost:1234/v1", false, "http://localhost:1234/v1/chat/completions"},
  };
  for (const auto& c : cases) {
    INFO(c.provider << " " << c.api_base);
    auto out = build_ok(provider(c.provider), deployment(c.provider, c.api_base), c.embeddings ? emb : chat, false);
    CHECK(out.url == c.url);
    CHECK(out.method == "POST");
  }
}

TEST_CASE("build_request: api_base is required where there is no default") {
  auto chat = parse(kChat);
  for (const char* name : {"hosted_vllm", "vllm", "custom_openai", "openai_like", "lm_studio", "litellm_proxy"}) {
    INFO(name);
    HttpRequest out;
    auto d = deployment(name, "", "secret-key");
    d.id = "vllm-a";
    auto s = provider(name).build_request(llmux::provider::ProviderTarget::of(d), chat, false, out);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kInvalidConfig);
    CHECK(s.error().message == std::string("deployment vllm-a: api_base is required for provider ") + name);
  }
  HttpRequest out;
  auto s = provider("hosted_vllm").build_request(llmux::provider::ProviderTarget::of(deployment("hosted_vllm", "///")), chat, false, out);
  CHECK_FALSE(s.ok());
}

TEST_CASE("build_request: headers") {
  auto chat = parse(kChat);
  SECTION("key, organization, extra headers, streaming accept") {
    auto d = deployment("openai", "", "sk-test-123");
    d.organization = "org-42";
    d.extra_headers = {{"X-Tenant", "blue"}, {"OpenAI-Project", "proj_1"}};
    auto out = build_ok(provider("openai"), d, chat, true);
    CHECK(out.headers == std::vector<std::string>{"Content-Type: application/json", "Authorization: Bearer sk-test-123",
                                                  "OpenAI-Organization: org-42", "X-Tenant: blue",
                                                  "OpenAI-Project: proj_1", "Accept: text/event-stream"});
  }
  SECTION("no key: no Authorization; non-stream: no Accept") {
    auto out = build_ok(provider("hosted_vllm"), deployment("hosted_vllm", "http://h:8000/v1"), chat, false);
    CHECK(out.headers == std::vector<std::string>{"Content-Type: application/json"});
  }
  SECTION("reusing a request object leaves no stale headers") {
    HttpRequest out;
    out.headers = {"Stale: 1", "Stale: 2", "Stale: 3", "Stale: 4", "Stale: 5"};
    auto s = provider("openai").build_request(llmux::provider::ProviderTarget::of(deployment("openai", "", "k")), chat, false, out);
    REQUIRE(s.ok());
    CHECK(out.headers == std::vector<std::string>{"Content-Type: application/json", "Authorization: Bearer k"});
  }
  SECTION("a line break in the key is refused without echoing the key") {
    HttpRequest out;
    auto s = provider("openai").build_request(llmux::provider::ProviderTarget::of(deployment("openai", "", "sk-abc\r\nX-Evil: 1")), chat, false, out);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kInvalidConfig);
    CHECK(s.error().message.find("sk-abc") == std::string::npos);
    auto d = deployment("openai");
    d.extra_headers = {{"X-A", "v\nInjected: yes"}};
    CHECK_FALSE(provider("openai").build_request(llmux::provider::ProviderTarget::of(d), chat, false, out).ok());
  }
}

TEST_CASE("build_request: headers prepared once per deployment (make_auth)") {
  auto chat = parse(kChat);
  auto emb = parse(R"({"model":"e","input":"text"})", Endpoint::kEmbeddings);
  const Provider& p = provider("openai");
  auto d = deployment("openai", "https://proxy.example.com/v1/", "sk-old");
  d.organization = "org-42";
  d.extra_headers = {{"X-Tenant", "blue"}};
  const auto prepared = p.make_auth(d);
  REQUIRE(prepared != nullptr);
  auto build_with = [&](const DeploymentConfig& config, llmux::provider::DeploymentAuth* auth,
                        const ParsedRequest& r, bool stream) {
    HttpRequest out;
    out.headers = {"Stale: 1", "Stale: 2", "Stale: 3", "Stale: 4", "Stale: 5", "Stale: 6", "Stale: 7"};
    auto s = p.build_request(llmux::provider::ProviderTarget::of(config, auth), r, stream, out);
    if (!s.ok()) FAIL(s.error().message);
    return out;
  };
  SECTION("the prepared request is what a per-call build makes") {
    for (bool stream : {false, true}) {
      for (const ParsedRequest* r : {&chat, &emb}) {
        INFO("stream " << stream << " endpoint " << static_cast<int>(r->endpoint));
        const HttpRequest fresh = build_ok(p, d, *r, stream);
        const HttpRequest cached = build_with(d, prepared.get(), *r, stream);
        CHECK(cached.url == fresh.url);
        CHECK(cached.headers == fresh.headers);
        CHECK(cached.body == fresh.body);
      }
    }
    CHECK(build_with(d, prepared.get(), chat, true).headers ==
          std::vector<std::string>{"Content-Type: application/json", "Authorization: Bearer sk-old",
                                   "OpenAI-Organization: org-42", "X-Tenant: blue", "Accept: text/event-stream"});
  }
  SECTION("a rotated key is a new config: the state prepared for the old one is not used for it") {
    auto rotated = d;
    rotated.api_key = "sk-new";
    rotated.api_base = "https://other.example.com/v1";
    // Paired with the wrong config (never done by the pool), the old state is ignored.
    const HttpRequest out = build_with(rotated, prepared.get(), chat, false);
    CHECK(out.url == "https://other.example.com/v1/chat/completions");
    CHECK(out.headers[1] == "Authorization: Bearer sk-new");
    const auto fresh = p.make_auth(rotated);
    const HttpRequest again = build_with(rotated, fresh.get(), chat, false);
    CHECK(again.headers == out.headers);
    CHECK(again.url == out.url);
  }
  SECTION("another family's auth state is not taken for a prepared request") {
    llmux::provider::EnvironmentSecrets other({"s"});
    CHECK(build_with(d, &other, chat, false).headers == build_ok(p, d, chat, false).headers);
  }
  SECTION("a config error is kept and reported per call, without the key") {
    auto bad = deployment("openai", "", "sk-abc\r\nX-Evil: 1");
    const auto bad_state = p.make_auth(bad);
    HttpRequest out;
    auto s = p.build_request(llmux::provider::ProviderTarget::of(bad, bad_state.get()), chat, false, out);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kInvalidConfig);
    CHECK(s.error().message.find("sk-abc") == std::string::npos);
    auto no_base = deployment("hosted_vllm", "", "k");
    no_base.id = "vllm-a";
    const auto no_base_state = provider("hosted_vllm").make_auth(no_base);
    s = provider("hosted_vllm").build_request(llmux::provider::ProviderTarget::of(no_base, no_base_state.get()), chat,
                                              false, out);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message == "deployment vllm-a: api_base is required for provider hosted_vllm");
  }
}

TEST_CASE("build_request: body is spliced with the provider model") {
  const auto& p = provider("hosted_vllm");
  auto d = deployment("hosted_vllm", "http://h:8000/v1");
  SECTION("non-stream") {
    auto out = build_ok(p, d, parse(kChat), false);
    CHECK(out.body == R"({"model":"served-model","messages":[{"role":"user","content":"hi"}],"temperature":0})");
    CHECK_FALSE(out.stream_body);
  }
  SECTION("stream: stream true and include_usage added") {
    auto out = build_ok(p, d, parse(kChat), true);
    CHECK(out.body ==
          R"({"model":"served-model","messages":[{"role":"user","content":"hi"}],"temperature":0,"stream":true,)"
          R"("stream_options":{"include_usage":true}})");
    CHECK(out.stream_body);
  }
  SECTION("a stream request sent without streaming loses its stream fields") {
    auto r = parse(R"({"model":"g","messages":[],"stream":true,"stream_options":{"include_usage":true}})");
    auto out = build_ok(p, d, r, false);
    CHECK(out.body == R"({"model":"served-model","messages":[]})");
  }
  SECTION("router-only keys never reach the provider") {
    auto r = parse(R"({"model":"g","messages":[],"num_retries":3,"fallbacks":["x"],"metadata":{"tags":["a"]}})");
    auto out = build_ok(p, d, r, false);
    CHECK(out.body == R"({"model":"served-model","messages":[]})");
  }
  SECTION("embeddings never stream") {
    auto r = parse(R"({"model":"g","input":["a"]})", Endpoint::kEmbeddings);
    auto out = build_ok(p, d, r, true);
    CHECK(out.body == R"({"model":"served-model","input":["a"]})");
    CHECK_FALSE(out.stream_body);
    CHECK(out.url == "http://h:8000/v1/embeddings");
  }
  SECTION("provider_model empty: the configured model is sent") {
    d.provider_model.clear();
    d.model = "my-model";
    auto out = build_ok(p, d, parse(kChat), false);
    CHECK(out.body.rfind(R"({"model":"my-model",)", 0) == 0);
  }
}

TEST_CASE("inspect_response: OpenAI and vLLM bodies") {
  const auto& p = provider("openai");
  SECTION("OpenAI chat completion") {
    const char* body = R"({
      "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
      "object": "chat.completion",
      "created": 1741569952,
      "model": "gpt-4o-2024-08-06",
      "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!", "refusal": null,
                   "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
      "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0}},
      "service_tier": "default"
    })";
    auto r = p.inspect_response(body, Endpoint::kChatCompletions);
    REQUIRE(r.ok());
    CHECK(r->model == "gpt-4o-2024-08-06");
    CHECK(r->finish_reason == "stop");
    CHECK(r->usage.reported);
    CHECK(r->usage.prompt_tokens == 19);
    CHECK(r->usage.completion_tokens == 10);
    CHECK(r->usage.total_tokens == 29);
  }
  SECTION("vLLM chat completion, two choices, finish_reason length") {
    const char* body =
        R"({"id":"chatcmpl-8f3c","object":"chat.completion","created":1718000000,"model":"Qwen/Qwen3-14B",)"
        R"("choices":[{"index":0,"message":{"role":"assistant","reasoning_content":null,"content":"abc","tool_calls":[]},)"
        R"("logprobs":null,"finish_reason":"length","stop_reason":null},)"
        R"({"index":1,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":12,"total_tokens":112,"completion_tokens":100,"prompt_tokens_details":null},)"
        R"("prompt_logprobs":null})";
    auto r = p.inspect_response(body, Endpoint::kChatCompletions);
    REQUIRE(r.ok());
    CHECK(r->model == "Qwen/Qwen3-14B");
    CHECK(r->finish_reason == "length");
    CHECK(r->usage.total_tokens == 112);
  }
  SECTION("embeddings; total computed when absent") {
    const char* body =
        R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],)"
        R"("model":"text-embedding-3-small","usage":{"prompt_tokens":5}})";
    auto r = p.inspect_response(body, Endpoint::kEmbeddings);
    REQUIRE(r.ok());
    CHECK(r->usage.reported);
    CHECK(r->usage.prompt_tokens == 5);
    CHECK(r->usage.total_tokens == 5);
    CHECK(r->finish_reason.empty());
  }
  SECTION("no usage block") {
    auto r = p.inspect_response(R"({"model":"m","choices":[],"usage":null})", Endpoint::kChatCompletions);
    REQUIRE(r.ok());
    CHECK_FALSE(r->usage.reported);
  }
  SECTION("a 2xx body that is an error object") {
    auto r = p.inspect_response(
        R"({"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}})",
        Endpoint::kChatCompletions);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kRateLimit);
    CHECK(r.error().message == "OpenAIException - Rate limit reached for requests");
    auto r2 = p.inspect_response(R"({"object":"error","error":{"message":"engine died","code":503}})",
                                 Endpoint::kChatCompletions);
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().kind == ErrorKind::kServiceUnavailable);
    CHECK(r2.error().status == 503);
    auto r3 = p.inspect_response(R"({"error":{"message":"boom"}})", Endpoint::kChatCompletions);
    REQUIRE_FALSE(r3.ok());
    CHECK(r3.error().kind == ErrorKind::kInternalServer);
    CHECK(r3.error().status == 500);
    auto ok = p.inspect_response(R"({"model":"m","error":null,"choices":[]})", Endpoint::kChatCompletions);
    CHECK(ok.ok());
  }
  SECTION("not JSON") {
    for (const char* body : {"", "<html>oops</html>", R"({"model":"m",)", R"({"model":"m"} extra)", "[1,2]"}) {
      INFO(body);
      auto r = p.inspect_response(body, Endpoint::kChatCompletions);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kApiError);
      CHECK(r.error().message == "OpenAIException - provider returned a non-JSON body");
    }
  }
}

TEST_CASE("inspect_chunk on real OpenAI and vLLM chunks") {
  const auto& p = provider("openai");
  SECTION("OpenAI role chunk: choices, no content") {
    auto c = p.inspect_chunk(
        R"({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",)"
        R"("system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":"",)"
        R"("refusal":null},"logprobs":null,"finish_reason":null}],"usage":null})");
    CHECK(c.kind == ChunkInfo::Kind::kChunk);
    CHECK(c.has_choices);
    CHECK_FALSE(c.has_content);
    CHECK_FALSE(c.usage);
    CHECK(c.finish_reason.empty());
    CHECK(c.model == "gpt-4o-mini");
  }
  SECTION("OpenAI content chunk") {
    auto c = p.inspect_chunk(
        R"({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",)"
        R"("choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]})");
    CHECK(c.kind == ChunkInfo::Kind::kChunk);
    CHECK(c.has_content);
  }
  SECTION("escaped content counts") {
    auto c = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"content":"\n"}}]})");
    CHECK(c.has_content);
  }
  SECTION("tool call chunk (fields after it are still read)") {
    auto c = p.inspect_chunk(
        R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"choices":[{"index":0,"delta":{"role":)"
        R"("assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":)"
        R"({"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}],)"
        R"("usage":null,"model":"gpt-4o"})");
    CHECK(c.kind == ChunkInfo::Kind::kChunk);
    CHECK(c.has_content);
    CHECK(c.model == "gpt-4o");
  }
  SECTION("empty tool_calls and null content: no content") {
    auto c = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"content":null,"tool_calls":[]},"finish_reason":null}],"model":"m"})");
    CHECK(c.has_choices);
    CHECK_FALSE(c.has_content);
    CHECK(c.model == "m");
  }
  SECTION("legacy function_call") {
    auto c = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"function_call":{"name":"f","arguments":""}}}]})");
    CHECK(c.has_content);
  }
  SECTION("vLLM reasoning chunk") {
    auto c = p.inspect_chunk(
        R"({"id":"chatcmpl-a1","object":"chat.completion.chunk","created":1718000000,"model":"Qwen/Qwen3-14B",)"
        R"("choices":[{"index":0,"delta":{"reasoning_content":"Let me think"},"logprobs":null,"finish_reason":null}]})");
    CHECK(c.has_content);
    CHECK(c.model == "Qwen/Qwen3-14B");
  }
  SECTION("an escaped model name is unescaped; the view holds until the next chunk is read") {
    auto c = p.inspect_chunk(R"({"model":"org\/a-model-name-past-the-small-string-size","choices":[]})");
    CHECK(c.model == "org/a-model-name-past-the-small-string-size");
    const std::string kept(c.model);
    auto next = p.inspect_chunk(R"({"model":"other","choices":[]})");
    CHECK(next.model == "other");
    CHECK(kept == "org/a-model-name-past-the-small-string-size");
  }
  SECTION("finish chunk") {
    auto c = p.inspect_chunk(
        R"({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",)"
        R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})");
    CHECK(c.has_choices);
    CHECK_FALSE(c.has_content);
    CHECK(c.finish_reason == "stop");
  }
  SECTION("usage-only chunk") {
    auto c = p.inspect_chunk(
        R"({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",)"
        R"("choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,)"
        R"("prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}})");
    CHECK(c.kind == ChunkInfo::Kind::kChunk);
    CHECK_FALSE(c.has_choices);
    CHECK_FALSE(c.has_content);
    REQUIRE(c.usage);
    CHECK(c.usage->reported);
    CHECK(c.usage->prompt_tokens == 9);
    CHECK(c.usage->completion_tokens == 12);
    CHECK(c.usage->total_tokens == 21);
  }
  SECTION("vLLM continuous usage stats on a content chunk") {
    auto c = p.inspect_chunk(
        R"({"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,)"
        R"("delta":{"content":" world"},"logprobs":null,"finish_reason":null}],)"
        R"("usage":{"prompt_tokens":5,"total_tokens":7,"completion_tokens":2}})");
    CHECK(c.has_content);
    REQUIRE(c.usage);
    CHECK(c.usage->total_tokens == 7);
  }
  SECTION("[DONE]") {
    CHECK(p.inspect_chunk("[DONE]").kind == ChunkInfo::Kind::kDone);
    CHECK(p.inspect_chunk(" [DONE]\r\n").kind == ChunkInfo::Kind::kDone);
  }
  SECTION("malformed events") {
    for (const char* data : {"", "   ", "not json", R"({"choices":[)", R"({"choices":[{"delta":{"content":"a"}}]} x)",
                             "[1,2]", "\"text\"", R"({"choices":[{"delta":{"content":tru}}]})"}) {
      INFO(data);
      CHECK(p.inspect_chunk(data).kind == ChunkInfo::Kind::kMalformed);
    }
  }
  SECTION("OpenAI error event") {
    auto c = p.inspect_chunk(
        R"({"error":{"message":"The server had an error while processing your request. Sorry about that!",)"
        R"("type":"server_error","param":null,"code":null}})");
    REQUIRE(c.kind == ChunkInfo::Kind::kError);
    REQUIRE(c.error);
    CHECK(c.error->kind == ErrorKind::kInternalServer);
    CHECK(c.error->status == 500);
    CHECK(c.error->provider_status == 0);
    CHECK(c.error->message ==
          "OpenAIException - The server had an error while processing your request. Sorry about that!");
    CHECK(c.error->llm_provider == "openai");
  }
  SECTION("vLLM error event with a numeric code") {
    const auto& v = provider("hosted_vllm");
    auto c = v.inspect_chunk(
        R"({"error":{"object":"error","message":"Unexpected token 'x' at position 3","type":"BadRequestError",)"
        R"("param":null,"code":400}})");
    REQUIRE(c.kind == ChunkInfo::Kind::kError);
    REQUIRE(c.error);
    CHECK(c.error->kind == ErrorKind::kBadRequest);
    CHECK(c.error->status == 400);
    CHECK(c.error->provider_status == 400);
    CHECK(c.error->message == "Hosted_vllmException - Unexpected token 'x' at position 3");
  }
  SECTION("rate-limit error event") {
    auto c = p.inspect_chunk(R"({"error":{"message":"Too many requests","code":"429"}})");
    REQUIRE(c.kind == ChunkInfo::Kind::kError);
    CHECK(c.error->kind == ErrorKind::kRateLimit);
    CHECK(c.error->status == 429);
  }
}

TEST_CASE("inspect_chunk: choice 0's text and tool calls") {
  const auto& p = provider("hosted_vllm");
  SECTION("plain text") {
    auto c = p.inspect_chunk(
        R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",)"
        R"("choices":[{"index":0,"delta":{"content":"Hello, wor"},"logprobs":null,"finish_reason":null}]})");
    CHECK(c.content == "Hello, wor");
    CHECK(c.has_content);
    CHECK_FALSE(c.has_tool_calls);
    CHECK_FALSE(c.content_undecodable);
  }
  SECTION("JSON escapes are unescaped") {
    auto c = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"content":"a\n\"b\" \u00e9\\ \ud83d\ude00\t/\/"}}]})");
    CHECK(c.content == "a\n\"b\" \xC3\xA9\\ \xF0\x9F\x98\x80\t//");
    CHECK(c.has_content);
  }
  SECTION("raw multi-byte UTF-8") {
    auto c = p.inspect_chunk("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf\xC3\xA9 \xE2\x82\xAC\"}}]}");
    CHECK(c.content == "caf\xC3\xA9 \xE2\x82\xAC");
  }
  SECTION("role chunk: empty content, nothing recorded") {
    auto c = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})");
    CHECK(c.content.empty());
    CHECK_FALSE(c.has_content);
    CHECK_FALSE(c.has_tool_calls);
    CHECK_FALSE(c.content_undecodable);
  }
  SECTION("null content, finish and usage chunks carry no text") {
    for (const char* data :
         {R"({"choices":[{"index":0,"delta":{"content":null},"finish_reason":"stop"}]})",
          R"({"choices":[{"index":0,"delta":{},"finish_reason":"length"}]})",
          R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})"}) {
      INFO(data);
      auto c = p.inspect_chunk(data);
      CHECK(c.kind == ChunkInfo::Kind::kChunk);
      CHECK(c.content.empty());
      CHECK_FALSE(c.has_content);
    }
  }
  SECTION("reasoning is content for the first token, but not text") {
    auto c = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"reasoning_content":"hmm","content":null}}]})");
    CHECK(c.has_content);
    CHECK(c.content.empty());
    CHECK_FALSE(c.content_undecodable);
  }
  SECTION("tool calls") {
    auto c = p.inspect_chunk(
        R"({"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,)"
        R"("id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]})");
    CHECK(c.has_tool_calls);
    CHECK(c.has_content);
    CHECK(c.content.empty());
    auto args = p.inspect_chunk(
        R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]})");
    CHECK(args.has_tool_calls);
    auto legacy = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"function_call":{"arguments":"{}"}}}]})");
    CHECK(legacy.has_tool_calls);
    auto empty = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"tool_calls":[],"function_call":null}}]})");
    CHECK_FALSE(empty.has_tool_calls);
    CHECK_FALSE(empty.has_content);
  }
  SECTION("text alongside a tool call") {
    auto c = p.inspect_chunk(
        R"({"choices":[{"index":0,"delta":{"content":"Let me check.","tool_calls":[{"index":0,"id":"c"}]}}]})");
    CHECK(c.content == "Let me check.");
    CHECK(c.has_tool_calls);
  }
  SECTION("only choice 0's text: by index, else by position") {
    auto other = p.inspect_chunk(R"({"choices":[{"index":1,"delta":{"content":"second"}}]})");
    CHECK(other.has_content);
    CHECK(other.content.empty());
    auto both = p.inspect_chunk(
        R"({"choices":[{"delta":{"content":"zero"}},{"delta":{"content":"one"}}]})");
    CHECK(both.content == "zero");
    auto swapped = p.inspect_chunk(
        R"({"choices":[{"delta":{"content":"one"},"index":1},{"delta":{"content":"zero"},"index":0}]})");
    CHECK(swapped.content == "zero");
    auto tool_elsewhere = p.inspect_chunk(
        R"({"choices":[{"index":0,"delta":{"content":"x"}},{"index":1,"delta":{"tool_calls":[{"index":0}]}}]})");
    CHECK(tool_elsewhere.content == "x");
    CHECK(tool_elsewhere.has_tool_calls);
  }
  SECTION("text whose escapes cannot be decoded") {
    auto c = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"content":"a\ud83d"},"finish_reason":null}],"model":"m"})");
    CHECK(c.kind == ChunkInfo::Kind::kChunk);  // still delivered, as before
    CHECK(c.has_content);
    CHECK(c.content.empty());
    CHECK(c.content_undecodable);
    CHECK(c.model == "m");  // members after it are still read
    auto parts = p.inspect_chunk(R"({"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"x"}]}}]})");
    CHECK(parts.has_content);
    CHECK(parts.content_undecodable);
  }
  SECTION("the other fields are still read") {
    auto c = p.inspect_chunk(
        R"({"id":"x","model":"Qwen/Qwen3-14B","choices":[{"index":0,"delta":{"content":"end"},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}})");
    CHECK(c.content == "end");
    CHECK(c.finish_reason == "stop");
    CHECK(c.model == "Qwen/Qwen3-14B");
    REQUIRE(c.usage);
    CHECK(c.usage->total_tokens == 8);
  }
}
