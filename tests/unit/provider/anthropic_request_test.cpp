// The OpenAI chat request → Anthropic Messages body (providers.md §3.3), and
// the adapter's URL, headers and auth chain (§3.1-3.2). Bodies are asserted
// whole, so every member the mapping writes is pinned.
#include <cstdlib>
#include <string>

#include "provider/anthropic.hpp"
#include "pricing/price_book.hpp"
#include "provider/anthropic_messages.hpp"
#include "unit/provider/provider_test_util.hpp"

namespace llmux::testing {
namespace {

using provider::anthropic::BodyOptions;
using provider::anthropic::build_messages_body;

std::string body_of(std::string_view request_json, BodyOptions options = {}) {
  if (options.model.empty() && !options.omit_model) options.model = "claude-x";
  auto req = parse(request_json);
  std::string out;
  Status s = build_messages_body(req, options, out);
  if (!s.ok()) FAIL(s.error().to_string());
  return out;
}

Error error_of(std::string_view request_json, BodyOptions options = {}) {
  options.model = "claude-x";
  auto req = parse(request_json);
  std::string out;
  Status s = build_messages_body(req, options, out);
  REQUIRE_FALSE(s.ok());
  return s.error();
}

// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const char* value) : name(std::move(n)) {
    if (value) {
      setenv(name.c_str(), value, 1);
    } else {
      unsetenv(name.c_str());
    }
  }
  ~ScopedEnv() { unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("anthropic body: system lifted, user string as text block, default max_tokens", "[anthropic]") {
  CHECK(body_of(R"({"model":"g","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]})") ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],)"
        R"("system":[{"type":"text","text":"Be brief."}],"max_tokens":4096})");
}

TEST_CASE("anthropic body: cache_control passes through on system, text parts, tools and messages", "[anthropic]") {
  const std::string body = body_of(R"({"model":"g","messages":[
    {"role":"system","content":[{"type":"text","text":"Long doc","cache_control":{"type":"ephemeral"}}]},
    {"role":"system","content":"x-anthropic-billing-header: skip me"},
    {"role":"user","content":"Q","cache_control":{"type":"ephemeral","ttl":"1h"}}],
    "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{},"title":"T"}},
              "cache_control":{"type":"ephemeral"}}]})");
  CHECK(body ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Q","cache_control":{"type":"ephemeral","ttl":"1h"}}]}],)"
        R"("system":[{"type":"text","text":"Long doc","cache_control":{"type":"ephemeral"}}],"max_tokens":4096,)"
        R"("tools":[{"name":"f","input_schema":{"type":"object","properties":{}},"cache_control":{"type":"ephemeral"}}]})");
}

TEST_CASE("anthropic body: multi-turn with same-side merging and tool_use/tool_result pairing", "[anthropic]") {
  const std::string body = body_of(R"({"model":"g","messages":[
    {"role":"user","content":"Weather in Paris and Rome?"},
    {"role":"assistant","content":"Checking.","tool_calls":[
      {"id":"call:1","type":"function","function":{"name":"weather","arguments":"{\"city\": \"Paris\"}"}},
      {"id":"call_2","type":"function","function":{"name":"weather","arguments":""}},
      {"id":"call_2","type":"function","function":{"name":"weather","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"call:1","content":"18C"},
    {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"21C"}]},
    {"role":"user","content":"Thanks"},
    {"role":"assistant","content":"You are welcome.  "}],
    "tools":[{"type":"function","function":{"name":"weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]})");
  CHECK(body ==
        R"({"model":"claude-x","messages":[)"
        R"({"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"}]},)"
        R"({"role":"assistant","content":[{"type":"text","text":"Checking."},)"
        R"({"type":"tool_use","id":"call_1","name":"weather","input":{"city":"Paris"}},)"
        R"({"type":"tool_use","id":"call_2","name":"weather","input":{}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"18C"},)"
        R"({"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"21C"}]},)"
        R"({"type":"text","text":"Thanks"}]},)"
        R"({"role":"assistant","content":[{"type":"text","text":"You are welcome."}]}],"max_tokens":4096,)"
        R"("tools":[{"name":"weather","description":"d","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]})");
}

TEST_CASE("anthropic body: images by data URI and https URL; http:// is refused", "[anthropic]") {
  const std::string body = body_of(R"({"model":"g","messages":[{"role":"user","content":[
    {"type":"text","text":"What is this?"},
    {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
    {"type":"image_url","image_url":"https://example.com/cat.jpg"}]}]})");
  CHECK(body == R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},)"
                R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},)"
                R"({"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}],"max_tokens":4096})");
  Error e = error_of(R"({"model":"g","messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"http://10.0.0.1/secret.png"}}]}]})");
  CHECK(e.kind == ErrorKind::kBadRequest);
  CHECK_THAT(e.message, Catch::Contains("http:// URLs are not fetched"));
  CHECK(error_of(R"({"model":"g","messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}]}]})").kind == ErrorKind::kBadRequest);
}

TEST_CASE("anthropic body: parameters map; stop, max_completion_tokens, temperature/top_p, user", "[anthropic]") {
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"temperature":0.2,"top_p":0.9,)"
                R"("stop":"END","max_tokens":100,"max_completion_tokens":200,"user":"user-42","top_k":5})") ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":200,)"
        R"("temperature":0.2,"top_p":0.9,"stop_sequences":["END"],"metadata":{"user_id":"user-42"},"top_k":5})");
  // E-mail and phone numbers never reach metadata.user_id.
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"user":"a@b.com","stop":["x","y"]})") ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":4096,)"
        R"("stop_sequences":["x","y"]})");
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"user":"+1 (555) 123-4567"})") ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":4096})");
}

TEST_CASE("anthropic body: tool_choice forms and parallel_tool_calls:false", "[anthropic]") {
  const std::string head = R"({"model":"g","messages":[{"role":"user","content":"Hi"}],)"
                           R"("tools":[{"type":"function","function":{"name":"f"}}],)";
  const std::string out_head = R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":4096,)"
                               R"("tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],)";
  CHECK(body_of(head + R"("tool_choice":"auto"})") == out_head + R"("tool_choice":{"type":"auto"}})");
  CHECK(body_of(head + R"("tool_choice":"required"})") == out_head + R"("tool_choice":{"type":"any"}})");
  CHECK(body_of(head + R"("tool_choice":"none"})") == out_head + R"("tool_choice":{"type":"none"}})");
  CHECK(body_of(head + R"("tool_choice":{"type":"function","function":{"name":"f"}}})") ==
        out_head + R"("tool_choice":{"type":"tool","name":"f"}})");
  CHECK(body_of(head + R"("parallel_tool_calls":false})") ==
        out_head + R"("tool_choice":{"type":"auto","disable_parallel_tool_use":true}})");
  CHECK(body_of(head + R"("tool_choice":"required","parallel_tool_calls":false})") ==
        out_head + R"("tool_choice":{"type":"any","disable_parallel_tool_use":true}})");
}

TEST_CASE("anthropic body: response_format becomes the forced json_tool_call tool", "[anthropic]") {
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema",)"
                R"("json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}})") ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":4096,)"
        R"("tools":[{"name":"json_tool_call","input_schema":{"type":"object","properties":{"a":{"type":"integer"}}}}],)"
        R"("tool_choice":{"type":"tool","name":"json_tool_call"}})");
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_object"}})") ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":4096,)"
        R"("tools":[{"name":"json_tool_call","input_schema":{"type":"object","additionalProperties":true,"properties":{}}}],)"
        R"("tool_choice":{"type":"tool","name":"json_tool_call"}})");
  auto req = parse(R"({"model":"g","messages":[],"response_format":{"type":"json_object"}})");
  CHECK(provider::anthropic::uses_json_tool(req));
  CHECK_FALSE(provider::anthropic::uses_json_tool(parse(R"({"model":"g","messages":[]})")));
}

TEST_CASE("anthropic body: reasoning_effort becomes thinking with room for the answer", "[anthropic]") {
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"reasoning_effort":"low"})") ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":5120,)"
        R"("thinking":{"type":"enabled","budget_tokens":1024}})");
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"reasoning_effort":"none"})") ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":4096})");
}

TEST_CASE("anthropic body: unsupported OpenAI params are a 400 unless drop_params", "[anthropic]") {
  const std::string req = R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"seed":7,"logprobs":true,"n":1})";
  Error e = error_of(req);
  CHECK(e.kind == ErrorKind::kBadRequest);
  CHECK(e.status == 400);
  CHECK_THAT(e.message, Catch::Contains("UnsupportedParamsError") && Catch::Contains("['seed', 'logprobs']"));
  BodyOptions drop;
  drop.drop_params = true;
  CHECK(body_of(req, drop) ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":4096})");
  // The request's own drop_params counts too (the adapter reads it).
  auto parsed = parse(R"({"model":"g","messages":[{"role":"user","content":"Hi"}],"seed":7,"drop_params":true})");
  CHECK(parsed.router.drop_params);
}

TEST_CASE("anthropic body: Vertex options — no model, anthropic_version, prefill, defaults", "[anthropic]") {
  BodyOptions v;
  v.omit_model = true;
  v.extra_members = R"("anthropic_version":"vertex-2023-10-16")";
  v.stream = true;
  v.prefill = "Hi! How ";
  v.default_max_tokens = 8192;
  const request::RawField defaults[] = {{"temperature", "0.5"}, {"max_tokens", "64"}, {"api_key", "\"no\""}};
  v.defaults = defaults;
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"Say hi"}],"max_tokens":10})", v) ==
        R"({"messages":[{"role":"user","content":[{"type":"text","text":"Say hi"}]},)"
        R"({"role":"assistant","content":[{"type":"text","text":"Hi! How"}]}],"max_tokens":10,"temperature":0.5,)"
        R"("stream":true,"anthropic_version":"vertex-2023-10-16"})");
  // The prefill joins a trailing assistant turn of the caller's.
  BodyOptions p;
  p.prefill = "more";
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]})", p) ==
        R"({"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"a"}]},)"
        R"({"role":"assistant","content":[{"type":"text","text":"b"},{"type":"text","text":"more"}]}],"max_tokens":4096})");
}

TEST_CASE("anthropic body: malformed requests are 400s", "[anthropic]") {
  CHECK(error_of(R"({"model":"g","messages":[{"role":"system","content":"only system"}]})").kind == ErrorKind::kBadRequest);
  CHECK(error_of(R"({"model":"g","messages":[{"role":"wizard","content":"x"}]})").kind == ErrorKind::kBadRequest);
  CHECK(error_of(R"({"model":"g","messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"{oops"}}]}]})")
            .kind == ErrorKind::kBadRequest);
  CHECK(error_of(R"({"model":"g","messages":[{"role":"tool","content":"x"}]})").kind == ErrorKind::kBadRequest);
}

TEST_CASE("anthropic default max_tokens: DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS, else 4096", "[anthropic]") {
  DeploymentConfig d = deployment("anthropic");
  {
    ScopedEnv e("DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS", nullptr);
    CHECK(provider::anthropic::default_max_tokens(d) == 4096);
  }
  ScopedEnv e("DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS", "1234");
  CHECK(provider::anthropic::default_max_tokens(d) == 1234);
}

TEST_CASE("anthropic default max_tokens: the model's max_output_tokens (model_info, else the model map) goes first",
          "[anthropic]") {
  ScopedEnv e("DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS", "1234");
  DeploymentConfig d = deployment("anthropic");
  d.model = "anthropic/claude-sonnet-4-5";
  d.provider_model = "claude-sonnet-4-5";
  pricing::PriceBook book;  // the bundled map
  book.resolve(d);
  CHECK(d.max_output_tokens == 64000);
  CHECK(provider::anthropic::default_max_tokens(d) == 64000);

  DeploymentConfig own = deployment("anthropic");
  own.provider_model = "claude-sonnet-4-5";
  own.max_output_tokens = 2048;  // model_info.max_output_tokens
  book.resolve(own);
  CHECK(provider::anthropic::default_max_tokens(own) == 2048);
}

TEST_CASE("anthropic adapter: URL, headers, key chain, OAuth and extra headers", "[anthropic]") {
  ScopedEnv no_base("ANTHROPIC_API_BASE", nullptr);
  ScopedEnv no_url("ANTHROPIC_BASE_URL", nullptr);
  const provider::Provider& p = provider_named("anthropic");
  CHECK(p.prefill_by_default());
  DeploymentConfig d = deployment("anthropic", "http://127.0.0.1:9000/", "sk-ant-secret");
  d.extra_headers = {{"anthropic-beta", "prompt-caching-2024-07-31"}, {"x-team", "a"}};
  auto req = parse(R"({"model":"group","messages":[{"role":"user","content":"Hi"}]})");
  transport::HttpRequest http;
  REQUIRE(p.build_request(provider::ProviderTarget::of(d), req, false, http).ok());
  CHECK(http.url == "http://127.0.0.1:9000/v1/messages");  // no "//v1/messages"
  CHECK(http.method == "POST");
  CHECK(http.headers == std::vector<std::string>{"content-type: application/json", "accept: application/json",
                                                 "anthropic-version: 2023-06-01", "x-api-key: sk-ant-secret",
                                                 "x-team: a", "anthropic-beta: prompt-caching-2024-07-31"});
  CHECK(http.body == R"({"model":"served-model","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":4096})");
  CHECK_FALSE(http.stream_body);

  // OAuth tokens go as a bearer token with OAuth's beta, unioned.
  d.api_key = "sk-ant-oat01-token";
  REQUIRE(p.build_request(provider::ProviderTarget::of(d), req, true, http).ok());
  CHECK(http.stream_body);
  CHECK(http.headers == std::vector<std::string>{"content-type: application/json", "accept: application/json",
                                                 "anthropic-version: 2023-06-01", "authorization: Bearer sk-ant-oat01-token",
                                                 "anthropic-dangerous-direct-browser-access: true", "x-team: a",
                                                 "anthropic-beta: oauth-2025-04-20,prompt-caching-2024-07-31"});

  // api_base chain and an api_base that already names the endpoint.
  CHECK(provider::AnthropicProvider::messages_url("https://gw.example/v1/messages") == "https://gw.example/v1/messages");
  CHECK(provider::AnthropicProvider::messages_url("") == "https://api.anthropic.com/v1/messages");
  {
    ScopedEnv base_url("ANTHROPIC_BASE_URL", "http://proxy.local:8080");
    CHECK(provider::AnthropicProvider::messages_url("") == "http://proxy.local:8080/v1/messages");
    ScopedEnv base("ANTHROPIC_API_BASE", "http://first.local");
    CHECK(provider::AnthropicProvider::messages_url("") == "http://first.local/v1/messages");
  }

  // No key anywhere: an AuthenticationError naming the deployment, before any I/O.
  ScopedEnv no_key("ANTHROPIC_API_KEY", nullptr);
  d.api_key.clear();
  Status s = p.build_request(provider::ProviderTarget::of(d), req, false, http);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kAuthentication);
  CHECK_THAT(s.error().message, Catch::Contains("dep-1") && Catch::Contains("ANTHROPIC_API_KEY"));
  ScopedEnv env_key("ANTHROPIC_API_KEY", "sk-ant-from-env");
  REQUIRE(p.build_request(provider::ProviderTarget::of(d), req, false, http).ok());
  CHECK(std::find(http.headers.begin(), http.headers.end(), "x-api-key: sk-ant-from-env") != http.headers.end());
}

TEST_CASE("anthropic adapter: deployment params preset the body; drop_params from the deployment", "[anthropic]") {
  const provider::Provider& p = provider_named("anthropic");
  DeploymentConfig d = deployment("anthropic", "http://127.0.0.1:9", "k");
  d.litellm_params_json = R"({"model":"anthropic/served-model","api_key":"k","temperature":0.1,"max_tokens":50,"rpm":3})";
  auto req = parse(R"({"model":"group","messages":[{"role":"user","content":"Hi"}],"temperature":0.7,"seed":1})");
  transport::HttpRequest http;
  Status s = p.build_request(provider::ProviderTarget::of(d), req, false, http);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kBadRequest);
  d.drop_params = true;
  REQUIRE(p.build_request(provider::ProviderTarget::of(d), req, false, http).ok());
  CHECK(http.body == R"({"model":"served-model","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],)"
                     R"("max_tokens":50,"temperature":0.7})");
}

TEST_CASE("anthropic adapter: the continuation request ends with the delivered text", "[anthropic]") {
  const provider::Provider& p = provider_named("anthropic");
  DeploymentConfig d = deployment("anthropic", "http://127.0.0.1:9", "k");
  CHECK(provider::accepts_assistant_prefill(d));
  auto req = parse(R"({"model":"group","messages":[{"role":"user","content":"Greet me"}],"stream":true})");
  transport::HttpRequest http;
  REQUIRE(p.build_continuation_request(provider::ProviderTarget::of(d), req, "Hi! How ", http).ok());
  CHECK(http.body == R"({"model":"served-model","messages":[{"role":"user","content":[{"type":"text","text":"Greet me"}]},)"
                     R"({"role":"assistant","content":[{"type":"text","text":"Hi! How"}]}],"max_tokens":4096,"stream":true})");
  CHECK(http.stream_body);
}

}  // namespace llmux::testing
