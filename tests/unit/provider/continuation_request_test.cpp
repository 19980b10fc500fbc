// build_continuation_request (assistant prefill of text already streamed) and
// accepts_assistant_prefill.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "request/request.hpp"
#include "provider/openai_compatible.hpp"
#include "provider/provider.hpp"
#include "unit/provider/provider_test_util.hpp"

using llmux::DeploymentConfig;
using llmux::ErrorKind;
using llmux::request::Endpoint;
using llmux::request::ParsedRequest;
using llmux::provider::accepts_assistant_prefill;
using llmux::provider::find_provider;
using llmux::provider::Provider;
using llmux::transport::HttpRequest;

namespace {

using llmux::testing::parse;

DeploymentConfig deployment(std::string provider, std::string api_base = "http://h:8000/v1") {
  return llmux::testing::deployment(std::move(provider), std::move(api_base), "sk-test");
}

const Provider& provider(std::string_view name) { return llmux::testing::provider_named(name); }

HttpRequest continuation(std::string_view provider_name, std::string_view body, std::string_view delivered) {
  HttpRequest out;
  auto r = parse(body);
  auto s = provider(provider_name).build_continuation_request(llmux::provider::ProviderTarget::of(deployment(std::string(provider_name))), r, delivered, out);
  if (!s.ok()) FAIL(s.error().message);
  return out;
}

// The body parsed back (simdjson DOM keeps the document alive with the parser).
struct Parsed {
  simdjson::dom::parser parser;
  simdjson::dom::object top;
  explicit Parsed(const std::string& body) {
    auto e = parser.parse(body).get_object().get(top);
    INFO(body);
    REQUIRE_FALSE(e);
  }
  bool has(std::string_view key) { return !top.at_key(key).error(); }
  simdjson::dom::array messages() {
    simdjson::dom::array a;
    REQUIRE_FALSE(top["messages"].get_array().get(a));
    return a;
  }
  simdjson::dom::object last_message() {
    simdjson::dom::element last;
    for (simdjson::dom::element m : messages()) last = m;
    simdjson::dom::object o;
    REQUIRE_FALSE(last.get_object().get(o));
    return o;
  }
};

std::string_view str(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view s;
  REQUIRE_FALSE(e.get_string().get(s));
  return s;
}

bool boolean(simdjson::simdjson_result<simdjson::dom::element> e) {
  bool b = false;
  REQUIRE_FALSE(e.get_bool().get(b));
  return b;
}

size_t count(simdjson::dom::array a) {
  size_t n = 0;
  for (auto it = a.begin(); it != a.end(); ++it) ++n;
  return n;
}

size_t count(simdjson::dom::object o) {
  size_t n = 0;
  for (auto it = o.begin(); it != o.end(); ++it) ++n;
  return n;
}

const char* kChat =
    R"({"model":"group","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Tell me"}],)"
    R"("temperature":0.2,"stream":true,"num_retries":2})";

}  // namespace

TEST_CASE("build_continuation_request: vLLM continues the final message") {
  for (const char* name : {"hosted_vllm", "vllm"}) {
    INFO(name);
    auto out = continuation(name, kChat, "Once upon");
    CHECK(out.body ==
          R"({"model":"served-model","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":)"
          R"("Tell me"},{"role":"assistant","content":"Once upon"}],"temperature":0.2,"stream":true,)"
          R"("stream_options":{"include_usage":true},"continue_final_message":true,"add_generation_prompt":false})");
    Parsed p(out.body);
    CHECK(str(p.top["model"]) == "served-model");
    CHECK(count(p.messages()) == 3);
    auto last = p.last_message();
    CHECK(str(last["role"]) == "assistant");
    CHECK(str(last["content"]) == "Once upon");
    CHECK(count(last) == 2);  // no "prefix" for vLLM
    CHECK(boolean(p.top["continue_final_message"]));
    CHECK_FALSE(boolean(p.top["add_generation_prompt"]));
    CHECK(boolean(p.top["stream"]));
    CHECK_FALSE(p.has("num_retries"));  // router-only keys stripped as always
    CHECK(out.stream_body);
    CHECK(out.url == "http://h:8000/v1/chat/completions");
    CHECK(std::find(out.headers.begin(), out.headers.end(), "Accept: text/event-stream") != out.headers.end());
    CHECK(std::find(out.headers.begin(), out.headers.end(), "Authorization: Bearer sk-test") != out.headers.end());
  }
}

TEST_CASE("build_continuation_request: other families mark the message with prefix") {
  for (const char* name : {"openai", "deepseek", "mistral", "litellm_proxy", "openai_like"}) {
    INFO(name);
    auto out = continuation(name, kChat, "Once upon");
    CHECK(out.body ==
          R"({"model":"served-model","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":)"
          R"("Tell me"},{"role":"assistant","content":"Once upon","prefix":true}],"temperature":0.2,"stream":true,)"
          R"("stream_options":{"include_usage":true}})");
    Parsed p(out.body);
    CHECK(count(p.messages()) == 3);
    auto last = p.last_message();
    CHECK(str(last["role"]) == "assistant");
    CHECK(str(last["content"]) == "Once upon");
    CHECK(boolean(last["prefix"]));
    CHECK_FALSE(p.has("continue_final_message"));
    CHECK_FALSE(p.has("add_generation_prompt"));
    CHECK(out.stream_body);
  }
}

TEST_CASE("build_continuation_request: delivered text is escaped and round-trips") {
  const std::string delivered = "line 1\nsaid \"hi\" \\ caf\xC3\xA9 \xF0\x9F\x98\x80\t\x01";
  for (const char* name : {"hosted_vllm", "groq"}) {
    INFO(name);
    auto out = continuation(name, kChat, delivered);
    Parsed p(out.body);
    CHECK(str(p.last_message()["content"]) == delivered);
  }
}

TEST_CASE("build_continuation_request: message shapes") {
  SECTION("the caller's last message is already an assistant prefill: a new one is appended") {
    auto out = continuation(
        "deepseek",
        R"({"model":"g","messages":[{"role":"user","content":"Q"},{"role":"assistant","content":"A:","prefix":true}]})",
        " forty");
    Parsed p(out.body);
    auto messages = p.messages();
    REQUIRE(count(messages) == 3);
    CHECK(str(messages.at(1)["content"]) == "A:");
    CHECK(str(messages.at(2)["content"]) == " forty");
    CHECK(str(messages.at(2)["role"]) == "assistant");
  }
  SECTION("whitespace inside the caller's array") {
    auto out = continuation("hosted_vllm", "{\"model\":\"g\",\"messages\" : [ {\"role\":\"user\",\"content\":\"Q\"} \n ] }",
                            "A");
    Parsed p(out.body);
    auto messages = p.messages();
    REQUIRE(count(messages) == 2);
    CHECK(str(messages.at(0)["content"]) == "Q");
    CHECK(str(messages.at(1)["content"]) == "A");
  }
  SECTION("an empty messages array") {
    auto out = continuation("openai", R"({"model":"g","messages":[ ]})", "A");
    Parsed p(out.body);
    REQUIRE(count(p.messages()) == 1);
    CHECK(str(p.last_message()["content"]) == "A");
  }
  SECTION("a non-streaming request gets a streaming continuation") {
    auto out = continuation("hosted_vllm", R"({"model":"g","messages":[{"role":"user","content":"Q"}]})", "A");
    Parsed p(out.body);
    CHECK(boolean(p.top["stream"]));
    CHECK(out.stream_body);
  }
  SECTION("the caller's stream_options are kept, not doubled") {
    auto out = continuation(
        "hosted_vllm",
        R"({"model":"g","messages":[],"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}})",
        "A");
    CHECK(out.body ==
          R"({"model":"served-model","messages":[{"role":"assistant","content":"A"}],)"
          R"("stream_options":{"include_usage":true,"continuous_usage_stats":true},"stream":true,)"
          R"("continue_final_message":true,"add_generation_prompt":false})");
  }
}

TEST_CASE("build_continuation_request: refusals") {
  HttpRequest out;
  SECTION("embeddings cannot be continued") {
    auto r = parse(R"({"model":"g","input":"x"})", Endpoint::kEmbeddings);
    auto s = provider("hosted_vllm").build_continuation_request(llmux::provider::ProviderTarget::of(deployment("hosted_vllm")), r, "A", out);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kInvalidArgument);
  }
  SECTION("deployment errors are build_request's") {
    auto r = parse(kChat);
    auto s = provider("hosted_vllm").build_continuation_request(llmux::provider::ProviderTarget::of(deployment("hosted_vllm", "")), r, "A", out);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kInvalidConfig);
  }
  SECTION("the base class has no prefill") {
    struct NoPrefill final : Provider {
      std::string_view name() const override { return "noprefill"; }
      llmux::Status build_request(const llmux::provider::ProviderTarget&, const ParsedRequest&, bool, HttpRequest&) const override {
        return {};
      }
      llmux::Error classify_failure(const llmux::transport::TransferResult&) const override {
        return llmux::Error(ErrorKind::kApiError, "x");
      }
      llmux::Result<llmux::provider::ResponseInfo> inspect_response(std::string_view, Endpoint) const override {
        return llmux::provider::ResponseInfo{};
      }
      llmux::provider::ChunkInfo inspect_chunk(std::string_view) const override { return {}; }
    } p;
    auto r = parse(kChat);
    auto s = p.build_continuation_request(llmux::provider::ProviderTarget::of(deployment("noprefill")), r, "A", out);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kInvalidArgument);
    CHECK(s.error().message == "provider noprefill: assistant prefill not supported");
  }
}

TEST_CASE("accepts_assistant_prefill: explicit value, else vLLM only") {
  CHECK(accepts_assistant_prefill(deployment("hosted_vllm")));
  CHECK(accepts_assistant_prefill(deployment("vllm")));
  for (const char* name : {"openai", "deepseek", "mistral", "groq", "litellm_proxy", "bedrock"}) {
    INFO(name);
    CHECK_FALSE(accepts_assistant_prefill(deployment(name)));
  }
  auto d = deployment("deepseek");
  d.supports_assistant_prefill = true;
  CHECK(accepts_assistant_prefill(d));
  auto v = deployment("hosted_vllm");
  v.supports_assistant_prefill = false;
  CHECK_FALSE(accepts_assistant_prefill(v));
}
