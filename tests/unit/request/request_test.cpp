#include "request/request.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

using llmux::ErrorKind;
using llmux::request::Endpoint;
using llmux::request::ParsedRequest;
using llmux::request::SpliceOptions;
using llmux::request::parse_request;
using llmux::request::splice_request;

namespace {

ParsedRequest parse_ok(std::string_view body, Endpoint endpoint = Endpoint::kChatCompletions) {
  auto r = parse_request(body, endpoint);
  INFO(body);
  if (!r.ok()) FAIL("parse failed: " << r.error().message);
  return std::move(r).value();
}

// Kept fields as (key, value) strings, for readable comparisons.
std::vector<std::pair<std::string, std::string>> kept_of(const ParsedRequest& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : r.kept) out.emplace_back(std::string(f.key), std::string(f.value));
  return out;
}

// Re-parses `text` with simdjson's DOM parser (full validation).
simdjson::dom::element reparse(simdjson::dom::parser& parser, const std::string& text) {
  simdjson::dom::element root;
  auto err = parser.parse(text).get(root);
  INFO(text);
  REQUIRE(err == simdjson::SUCCESS);
  return root;
}

std::string splice(const ParsedRequest& r, std::string_view model, SpliceOptions o = {}) {
  std::string out;
  splice_request(r, model, o, out);
  return out;
}

}  // namespace

TEST_CASE("parse_request extracts the routing fields of a chat request") {
  const std::string body =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"hello there"}],"temperature":0.2,)"
      R"("stream":true,"stream_options":{"include_usage":true},"user":"u1"})";
  auto r = parse_ok(body);
  CHECK(r.model == "gpt-4o");
  CHECK(r.stream);
  CHECK(r.include_usage);
  CHECK(r.has_stream_options);
  CHECK(r.endpoint == Endpoint::kChatCompletions);
  const std::string messages = R"([{"role":"user","content":"hello there"}])";
  CHECK(r.prompt_bytes == static_cast<int64_t>(messages.size()));
  CHECK(r.estimated_prompt_tokens == (static_cast<int64_t>(messages.size()) + 3) / 4);
  using KV = std::vector<std::pair<std::string, std::string>>;
  CHECK(kept_of(r) == KV{{"messages", messages},
                         {"temperature", "0.2"},
                         {"stream", "true"},
                         {"stream_options", R"({"include_usage":true})"},
                         {"user", R"("u1")"}});
  // The views point into the owned body.
  for (const auto& f : r.kept) {
    CHECK(f.value.data() >= r.body.data());
    CHECK(f.value.data() + f.value.size() <= r.body.data() + r.body.size());
  }
  CHECK(r.body == body);
}

TEST_CASE("estimated_prompt_tokens rounds up") {
  auto r = parse_ok(R"({"model":"m","messages":[1]})");  // "[1]" = 3 bytes
  CHECK(r.prompt_bytes == 3);
  CHECK(r.estimated_prompt_tokens == 1);
  auto r2 = parse_ok(R"({"model":"m","messages":[1,2,3]})");  // 7 bytes
  CHECK(r2.estimated_prompt_tokens == 2);
  auto r3 = parse_ok(R"({"model":"m","messages":[1,23]})");  // 6 bytes... "[1,23]"
  CHECK(r3.prompt_bytes == 6);
  CHECK(r3.estimated_prompt_tokens == 2);
}

TEST_CASE("defaults when optional fields are absent") {
  auto r = parse_ok(R"({"model":"m","messages":[]})");
  CHECK_FALSE(r.stream);
  CHECK_FALSE(r.include_usage);
  CHECK_FALSE(r.has_stream_options);
  CHECK_FALSE(r.router.num_retries);
  CHECK_FALSE(r.router.timeout_seconds);
  CHECK_FALSE(r.router.fallbacks);
  CHECK_FALSE(r.router.client_fallbacks);
  CHECK_FALSE(r.router.mock_response);
  CHECK(r.router.tags.empty());
  CHECK_FALSE(r.router.disable_fallbacks);
}

TEST_CASE("router-only keys are parsed and stripped") {
  const std::string body = R"({
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 10,
    "fallbacks": [{"gpt-4o": ["gpt-4o-mini", "claude"]}],
    "context_window_fallbacks": [{"gpt-4o": ["gpt-4o-128k"]}],
    "content_policy_fallbacks": [{"gpt-4o": ["safe-model"]}],
    "num_retries": 3,
    "timeout": 12.5,
    "request_timeout": 99,
    "stream_timeout": "7",
    "cooldown_time": 0,
    "max_fallbacks": 2,
    "disable_fallbacks": false,
    "metadata": {"tags": ["paid", "eu"], "user_id": {"deep": [1, 2]}},
    "litellm_metadata": {"x": 1},
    "mock_response": "hello from mock",
    "mock_timeout": true,
    "mock_testing_fallbacks": "true",
    "mock_testing_context_fallbacks": "False",
    "mock_testing_content_policy_fallbacks": false,
    "mock_testing_rate_limit_error": " TRUE ",
    "model_group_retry_policy": {"gpt-4o": {"RateLimitErrorRetries": 1}},
    "specific_deployment": true,
    "litellm_trace_id": "abc",
    "litellm_call_id": "def",
    "caching": false,
    "priority": 1,
    "allowed_model_region": "eu",
    "drop_params": true,
    "connect_timeout": 2,
    "first_token_timeout": 5.5,
    "stream_idle_timeout": 30,
    "total_timeout": 90,
    "top_p": 1
  })";
  auto r = parse_ok(body);
  std::vector<std::string> keys;
  for (const auto& f : r.kept) keys.emplace_back(f.key);
  CHECK(keys == std::vector<std::string>{"messages", "max_tokens", "top_p"});

  const auto& o = r.router;
  REQUIRE(o.fallbacks);
  REQUIRE(o.fallbacks->size() == 1);
  CHECK((*o.fallbacks)[0].group == "gpt-4o");
  CHECK((*o.fallbacks)[0].targets == std::vector<std::string>{"gpt-4o-mini", "claude"});
  CHECK_FALSE(o.client_fallbacks);
  REQUIRE(o.context_window_fallbacks);
  CHECK((*o.context_window_fallbacks)[0].targets == std::vector<std::string>{"gpt-4o-128k"});
  REQUIRE(o.content_policy_fallbacks);
  CHECK((*o.content_policy_fallbacks)[0].group == "gpt-4o");
  CHECK(o.num_retries == 3);
  CHECK(o.timeout_seconds == 12.5);  // "timeout" wins over "request_timeout"
  CHECK(o.stream_timeout_seconds == 7.0);
  REQUIRE(o.cooldown_time_seconds);
  CHECK(*o.cooldown_time_seconds == 0.0);  // 0 = never cool down, so it is kept
  CHECK(o.max_fallbacks == 2);
  CHECK_FALSE(o.disable_fallbacks);
  CHECK(o.tags == std::vector<std::string>{"paid", "eu"});
  CHECK(o.mock_response == std::optional<std::string>("hello from mock"));
  CHECK(o.mock_timeout);
  CHECK(o.mock_testing_fallbacks);
  CHECK_FALSE(o.mock_testing_context_fallbacks);
  CHECK_FALSE(o.mock_testing_content_policy_fallbacks);
  CHECK(o.mock_testing_rate_limit_error);
  CHECK(o.connect_timeout_seconds == 2.0);
  CHECK(o.first_token_timeout_seconds == 5.5);
  CHECK(o.stream_idle_timeout_seconds == 30.0);
  CHECK(o.total_timeout_seconds == 90.0);
  CHECK(o.allowed_model_region == std::optional<std::string>("eu"));

  const std::string out = splice(r, "gpt-4o-2024");
  for (const char* stripped : {"fallbacks", "num_retries", "metadata", "mock_", "litellm_", "timeout", "caching",
                               "priority", "drop_params", "specific_deployment", "allowed_model_region", "total_timeout"}) {
    INFO(stripped);
    CHECK(out.find(stripped) == std::string::npos);
  }
}

TEST_CASE("request_timeout is used when timeout is absent; 0 means unset") {
  auto r = parse_ok(R"({"model":"m","messages":[],"request_timeout":"30"})");
  CHECK(r.router.timeout_seconds == 30.0);
  auto r0 = parse_ok(R"({"model":"m","messages":[],"timeout":0,"request_timeout":5})");
  CHECK(r0.router.timeout_seconds == 5.0);
  auto rn = parse_ok(R"({"model":"m","messages":[],"timeout":null,"num_retries":null,"fallbacks":null})");
  CHECK_FALSE(rn.router.timeout_seconds);
  CHECK_FALSE(rn.router.num_retries);
  CHECK_FALSE(rn.router.fallbacks);
  auto r2 = parse_ok(R"({"model":"m","messages":[],"num_retries":2.0})");
  CHECK(r2.router.num_retries == 2);
}

TEST_CASE("client-side fallbacks: list of names or of model objects") {
  auto r = parse_ok(R"({"model":"m","messages":[],"fallbacks":["a","b"]})");
  REQUIRE(r.router.client_fallbacks);
  CHECK(*r.router.client_fallbacks == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(r.router.fallbacks);

  auto r2 = parse_ok(
      R"({"model":"m","messages":[],"fallbacks":[{"model":"a","messages":[{"role":"user","content":"x"}]},{"model":"b"}]})");
  REQUIRE(r2.router.client_fallbacks);
  CHECK(*r2.router.client_fallbacks == std::vector<std::string>{"a", "b"});

  // [] is a standard (empty) list: it disables the router's fallbacks.
  auto r3 = parse_ok(R"({"model":"m","messages":[],"fallbacks":[]})");
  REQUIRE(r3.router.fallbacks);
  CHECK(r3.router.fallbacks->empty());
  CHECK_FALSE(r3.router.client_fallbacks);

  auto r4 = parse_ok(R"({"model":"m","messages":[],"fallbacks":[{"a":["b"]},{"*":["c","d"]}]})");
  REQUIRE(r4.router.fallbacks);
  REQUIRE(r4.router.fallbacks->size() == 2);
  CHECK((*r4.router.fallbacks)[1].group == "*");
  CHECK((*r4.router.fallbacks)[1].targets == std::vector<std::string>{"c", "d"});
}

TEST_CASE("kept values are byte-identical to the input") {
  const std::string nested = R"({ "a" : [1, 2, {"b": null}] ,"c":{"d":{"e":"f"}} })";
  const std::string unicode = R"("caf\u00e9 \ud83d\ude00 \"quoted\" \\ \/ \n")";
  const std::string messages =
      R"([ {"role" : "system", "content" : "  spaced   out  "},
          {"role":"user","content":[{"type":"text","text":"h\u00e9llo"}]} ])";
  const std::string body = std::string("{\"model\":\"x\",\"messages\":") + messages +
                           ",\n  \"response_format\" :  " + nested + "  ,\t\"n\":1e-7,\"neg\":-0.5E+3,\"big\":" +
                           "18446744073709551615" + ",\"u\":" + unicode +
                           ",\"raw\":\"é日本\",\"t\":true,\"f\":false,\"z\":null,\"e\":{},\"ea\":[]  }";
  auto r = parse_ok(body);
  using KV = std::vector<std::pair<std::string, std::string>>;
  CHECK(kept_of(r) == KV{{"messages", messages},
                         {"response_format", nested},
                         {"n", "1e-7"},
                         {"neg", "-0.5E+3"},
                         {"big", "18446744073709551615"},
                         {"u", unicode},
                         {"raw", "\"é日本\""},
                         {"t", "true"},
                         {"f", "false"},
                         {"z", "null"},
                         {"e", "{}"},
                         {"ea", "[]"}});
  const std::string out = splice(r, "other-model");
  CHECK(out.find(nested) != std::string::npos);
  CHECK(out.find(unicode) != std::string::npos);
  CHECK(out.find(messages) != std::string::npos);
  simdjson::dom::parser p;
  auto root = reparse(p, out);
  CHECK(std::string_view(root["model"]) == "other-model");
  CHECK(double(root["n"]) == 1e-7);
  CHECK(std::string_view(root["u"]).substr(0, 5) == "caf\xc3\xa9");
  CHECK(std::string_view(root["response_format"]["c"]["d"]["e"]) == "f");
}

TEST_CASE("splice replaces the model, escapes it, and keeps order") {
  auto r = parse_ok(R"({"messages":[{"role":"user","content":"x"}],"model":"alias","temperature":1})");
  const std::string out = splice(r, "org/model \"v2\"\\\n\x01é");
  CHECK(out ==
        "{\"model\":\"org/model \\\"v2\\\"\\\\\\n\\u0001é\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
        "\"temperature\":1}");
  simdjson::dom::parser p;
  auto root = reparse(p, out);
  CHECK(std::string_view(root["model"]) == "org/model \"v2\"\\\n\x01é");
}

TEST_CASE("splice: stream handling") {
  simdjson::dom::parser p;
  SECTION("non-stream request, no options: caller's fields as they were") {
    auto r = parse_ok(R"({"model":"a","messages":[],"stream":false})");
    CHECK(splice(r, "b") == R"({"model":"b","messages":[],"stream":false})");
  }
  SECTION("force_stream replaces the caller's stream and adds include_usage") {
    auto r = parse_ok(R"({"model":"a","stream":false,"messages":[]})");
    SpliceOptions o;
    o.force_stream = true;
    o.add_include_usage = true;
    const std::string out = splice(r, "b", o);
    CHECK(out == R"({"model":"b","messages":[],"stream":true,"stream_options":{"include_usage":true}})");
    auto root = reparse(p, out);
    CHECK(bool(root["stream"]));
  }
  SECTION("the caller's stream_options are kept as they are") {
    auto r = parse_ok(R"({"model":"a","messages":[],"stream":true,"stream_options":{"include_usage":false}})");
    CHECK(r.has_stream_options);
    CHECK_FALSE(r.include_usage);
    SpliceOptions o;
    o.force_stream = true;
    o.add_include_usage = true;
    CHECK(splice(r, "b", o) == R"({"model":"b","messages":[],"stream_options":{"include_usage":false},"stream":true})");
  }
  SECTION("add_include_usage without force_stream") {
    auto r = parse_ok(R"({"model":"a","messages":[],"stream":true})");
    SpliceOptions o;
    o.add_include_usage = true;
    CHECK(splice(r, "b", o) == R"({"model":"b","messages":[],"stream":true,"stream_options":{"include_usage":true}})");
  }
  SECTION("stream_options: null counts as absent") {
    auto r = parse_ok(R"({"model":"a","messages":[],"stream_options":null})");
    CHECK_FALSE(r.has_stream_options);
    SpliceOptions o;
    o.force_stream = true;
    o.add_include_usage = true;
    CHECK(splice(r, "b", o) == R"({"model":"b","messages":[],"stream":true,"stream_options":{"include_usage":true}})");
  }
  SECTION("force_no_stream drops stream and stream_options") {
    auto r = parse_ok(R"({"model":"a","input":"x","stream":true,"stream_options":{"include_usage":true}})",
                      Endpoint::kEmbeddings);
    SpliceOptions o;
    o.force_no_stream = true;
    o.add_include_usage = true;
    CHECK(splice(r, "b", o) == R"({"model":"b","input":"x"})");
  }
}

TEST_CASE("splice: extra members and messages override") {
  auto r = parse_ok(R"({"model":"a","messages":[{"role":"user","content":"q"}],"n":1})");
  SpliceOptions o;
  o.extra_members = R"("continue_final_message":true,"add_generation_prompt":false)";
  o.messages_override = R"([{"role":"user","content":"q"},{"role":"assistant","content":"partial"}])";
  const std::string out = splice(r, "b", o);
  CHECK(out ==
        R"({"model":"b","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"partial"}],"n":1,)"
        R"("continue_final_message":true,"add_generation_prompt":false})");
  simdjson::dom::parser p;
  auto root = reparse(p, out);
  CHECK(simdjson::dom::array(root["messages"]).size() == 2);
}

TEST_CASE("splice reuses the output buffer") {
  auto r = parse_ok(R"({"model":"a","messages":[{"role":"user","content":"some prompt text"}]})");
  std::string out;
  splice_request(r, "model-b", {}, out);
  const std::string first = out;
  const auto* data = out.data();
  splice_request(r, "model-b", {}, out);
  CHECK(out == first);
  CHECK(out.data() == data);  // same size: no reallocation
}

TEST_CASE("embeddings: input is the prompt") {
  auto r = parse_ok(R"({"model":"text-embedding-3-small","input":["a","bb"],"encoding_format":"float"})",
                    Endpoint::kEmbeddings);
  CHECK(r.endpoint == Endpoint::kEmbeddings);
  CHECK(r.prompt_bytes == static_cast<int64_t>(std::string(R"(["a","bb"])").size()));
  auto r2 = parse_ok(R"({"model":"e","input":"just text"})", Endpoint::kEmbeddings);
  CHECK(r2.prompt_bytes == 11);
  // messages is not required for embeddings (and input is not the prompt of a chat call).
  auto r3 = parse_ok(R"({"model":"m","messages":[],"input":42})");
  CHECK(r3.prompt_bytes == 2);
}

TEST_CASE("duplicate keys: last one wins, never duplicated in the output") {
  auto r = parse_ok(R"({"model":"first","messages":[1],"stream":true,"model":"second","stream":false,"messages":[2,3],)"
                    R"("num_retries":1,"num_retries":4})");
  CHECK(r.model == "second");
  CHECK_FALSE(r.stream);
  CHECK(r.router.num_retries == 4);
  CHECK(r.prompt_bytes == 5);
  CHECK(splice(r, "x") == R"({"model":"x","messages":[2,3],"stream":false})");
}

TEST_CASE("escaped keys are recognised by their decoded name") {
  // "mod\u0065l" is "model": passing it through would let the caller override
  // the model the router chose.
  auto r = parse_ok(R"({"mod\u0065l":"a","messages":[],"str\u0065am":true,"num\u005fretries":2,"x\"y":1})");
  CHECK(r.model == "a");
  CHECK(r.stream);
  CHECK(r.router.num_retries == 2);
  SpliceOptions o;
  o.force_stream = true;
  CHECK(splice(r, "b", o) == R"({"model":"b","messages":[],"x\"y":1,"stream":true})");
}

TEST_CASE("bad requests are kInvalidArgument naming the problem") {
  struct Case {
    std::string body;
    std::string expected;  // substring of the message
    Endpoint endpoint = Endpoint::kChatCompletions;
  };
  const std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"   ", "not valid JSON"},
      {R"({"model":"m","messages":[)", "not valid JSON"},
      {R"({"model":"m","messages":[{"role":"user")", "not valid JSON"},
      {R"({"model":"m","messages":[]} trailing)", "not valid JSON"},
      {R"({"model":"m","messages":[]}{"a":1})", "not valid JSON"},
      {"{\"model\":\"m\",\"messages\":[\"\xff\xfe\"]}", "not valid JSON"},
      {"{\"model\":\"\xc3\x28\",\"messages\":[]}", "not valid JSON"},
      {R"({"model":"m","messages":[1,2},"a":1})", "not valid JSON"},
      {R"({"model":"m","messages":[],"x":[tru]})", "not valid JSON"},
      {R"({"model":"m","messages":[],"x":01})", "not valid JSON"},
      // Escapes in passed-through values are checked too (found by fuzzing).
      {R"({"model":"m","messages":[],"x":"\q"})", "not valid JSON"},
      {R"({"model":"m","messages":[],"x":"\u12"})", "not valid JSON"},
      {R"({"model":"m","messages":[],"x":"\ude00"})", "not valid JSON"},
      {R"({"model":"m","messages":[{"c\q":1}]})", "not valid JSON"},
      {R"({"model":"m","messages":[],})", "not valid JSON"},
      {R"({"model":"m" "messages":[]})", "not valid JSON"},
      {R"({'model':'m'})", "not valid JSON"},
      // A bad escape after valid ones (the reader searches the body for
      // backslashes once, in document order): in a string, a nested key, a
      // top-level key, in metadata and in a stripped key.
      {R"({"model":"m","messages":[{"content":"a\"b\n"}],"x":["\u00e9","ok","\q"]})", "not valid JSON"},
      {R"({"model":"m","messages":[{"c\n":"\t"},{"d":1,"e\x":2}]})", "not valid JSON"},
      {R"({"model":"m","messages":[{"c":"\\"}],"k\q":1})", "not valid JSON"},
      {R"({"model":"m\n","messages":[],"metadata":{"a":"\"","b":"\ud800"}})", "not valid JSON"},
      {R"({"model":"m","messages":[],"litellm_metadata":{"\u0061":"\/","b":["\u12"]}})", "not valid JSON"},
      {R"([{"model":"m"}])", "must be a JSON object"},
      {R"("just a string")", "must be a JSON object"},
      {R"({"messages":[]})", "'model' is required"},
      {R"({"model":42,"messages":[]})", "'model' must be a string"},
      {R"({"model":null,"messages":[]})", "'model' must be a string"},
      {R"({"model":"","messages":[]})", "'model' must not be empty"},
      {R"({"model":"m"})", "'messages' is required"},
      {R"({"model":"m","messages":"hi"})", "'messages' must be an array"},
      {R"({"model":"m"})", "'input' is required", Endpoint::kEmbeddings},
      {R"({"model":"m","input":{"a":1}})", "'input' must be a string or an array", Endpoint::kEmbeddings},
      {R"({"model":"m","messages":[],"stream":"yes"})", "'stream' must be a boolean"},
      {R"({"model":"m","messages":[],"stream_options":true})", "'stream_options' must be an object"},
      {R"({"model":"m","messages":[],"stream_options":{"include_usage":1}})", "'stream_options.include_usage'"},
      {R"({"model":"m","messages":[],"num_retries":-1})", "'num_retries' must be a non-negative integer"},
      {R"({"model":"m","messages":[],"num_retries":1.5})", "'num_retries' must be a non-negative integer"},
      {R"({"model":"m","messages":[],"num_retries":"2"})", "'num_retries' must be a non-negative integer"},
      {R"({"model":"m","messages":[],"max_fallbacks":true})", "'max_fallbacks' must be a non-negative integer"},
      {R"({"model":"m","messages":[],"timeout":-3})", "'timeout' must be a non-negative number"},
      {R"({"model":"m","messages":[],"stream_timeout":"soon"})", "'stream_timeout' must be a non-negative number"},
      {R"({"model":"m","messages":[],"fallbacks":"gpt-4"})", "'fallbacks' must be a list"},
      {R"({"model":"m","messages":[],"fallbacks":[{"a":1}]})", "'fallbacks' must be a list"},
      {R"({"model":"m","messages":[],"fallbacks":[{"a":["b"],"c":["d"]}]})", "'fallbacks' must be a list"},
      {R"({"model":"m","messages":[],"fallbacks":["a",{"b":["c"]}]})", "'fallbacks' must be a list"},
      {R"({"model":"m","messages":[],"fallbacks":[1]})", "'fallbacks' must be a list"},
      {R"({"model":"m","messages":[],"fallbacks":[{"a":["b",2]}]})", "'fallbacks' must be a list"},
      {R"({"model":"m","messages":[],"context_window_fallbacks":["a"]})", "'context_window_fallbacks' must be"},
      {R"({"model":"m","messages":[],"metadata":"tags"})", "'metadata' must be an object"},
      {R"({"model":"m","messages":[],"metadata":{"tags":"a"}})", "'metadata.tags' must be a list of strings"},
      {R"({"model":"m","messages":[],"metadata":{"tags":["a",1]}})", "'metadata.tags' must be a list of strings"},
      {R"({"model":"m","messages":[],"mock_response":[1]})", "'mock_response' must be a string"},
      {R"({"model":"m","messages":[],"llmux_mock_error":"429"})", "'llmux_mock_error' must be an object"},
      {R"({"model":"m","messages":[],"api_key":1})", "'api_key' must be a string"},
      {R"({"model":"m","messages":[],"mock_testing_rate_limit_error":"yes"})",
       "'mock_testing_rate_limit_error' must be a boolean"},
      {R"({"model":"m","messages":[],"disable_fallbacks":1})", "'disable_fallbacks' must be a boolean"},
      // A syntax error inside a stripped key is still a syntax error.
      {R"({"model":"m","messages":[],"litellm_metadata":{"a":[1,}})", "not valid JSON"},
      // Deep inside a passed-through value (as in a tool schema): atoms,
      // numbers, missing ':' and brackets are all checked, not only skipped.
      {R"({"model":"m","messages":[],"tools":[{"function":{"parameters":{"enum":[nul]}}}]})", "not valid JSON"},
      {R"({"model":"m","messages":[],"tools":[{"function":{"parameters":{"max":-}}}]})", "not valid JSON"},
      {R"({"model":"m","messages":[],"tools":[{"function":{"parameters":{"max":1.e5}}}]})", "not valid JSON"},
      {R"({"model":"m","messages":[],"tools":[{"function":{"parameters" {}}}]})", "not valid JSON"},
      {R"({"model":"m","messages":[],"tools":[{"function":{"parameters":{}]}]})", "not valid JSON"},
      {R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"\x"}]}]})", "not valid JSON"},
  };
  for (const auto& c : cases) {
    INFO("body: " << c.body);
    auto r = parse_request(c.body, c.endpoint);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains(c.expected));
  }
  CHECK(cases.size() >= 15);
}

TEST_CASE("a fallback target written as a single string is a one-element list, as LiteLLM reads it") {
  auto r = parse_request(R"({"model":"m","messages":[],"fallbacks":[{"a":"b"}]})", Endpoint::kChatCompletions);
  REQUIRE(r.ok());
  REQUIRE(r.value().router.fallbacks);
  REQUIRE(r.value().router.fallbacks->size() == 1);
  CHECK((*r.value().router.fallbacks)[0].group == "a");
  CHECK((*r.value().router.fallbacks)[0].targets == std::vector<std::string>{"b"});
}

TEST_CASE("anything but whitespace after the top-level object is rejected, also in an exact-size buffer") {
  // A caller's buffer of exactly the body's size with nothing readable after
  // it (as libFuzzer hands its inputs): parse_request must not depend on the
  // bytes past the end (under ASan, reading one is a failure of its own).
  using namespace std::string_view_literals;
  auto parse_exact = [](const std::string& body, Endpoint endpoint) {
    auto bytes = std::make_unique<char[]>(body.size());
    std::memcpy(bytes.get(), body.data(), body.size());
    return parse_request(std::string_view(bytes.get(), body.size()), endpoint);
  };
  const std::string head = R"({"model":"a","messages":[],"input":"i"})";
  for (const Endpoint endpoint : {Endpoint::kChatCompletions, Endpoint::kEmbeddings}) {
    for (const std::string_view tail : {" x"sv, "x"sv, " 1"sv, " {}"sv, R"( "s")"sv, "]"sv, "}"sv, " }"sv, "}}"sv,
                                        " ]"sv, ","sv, " null"sv, "\0"sv, " \0"sv, "\f"sv, "\n\t x"sv,
                                        R"( {"model":"b","messages":[]})"sv}) {
      const std::string body = head + std::string(tail);
      // Not even a JSON value: simdjson's DOM parser says so too.
      simdjson::dom::parser dom;
      simdjson::dom::element root;
      INFO("body: " << body);
      REQUIRE(dom.parse(body).get(root) != simdjson::SUCCESS);
      auto r = parse_exact(body, endpoint);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kInvalidArgument);
      CHECK_THAT(r.error().message, Catch::Contains("not valid JSON"));
      // The same body in an ordinary (padded) string is rejected too.
      CHECK_FALSE(parse_request(body, endpoint).ok());
    }
    // Trailing whitespace is allowed, in any amount and kind.
    for (const char* tail : {"", " ", "\n", "\r\n", "\t \n ", "                                                                 "}) {
      const std::string body = head + tail;
      INFO("body: " << body);
      auto r = parse_exact(body, endpoint);
      REQUIRE(r.ok());
      CHECK(r.value().model == "a");
    }
  }
}

TEST_CASE("the invalid-JSON message carries simdjson's reason") {
  auto r = parse_request("{\"model\":\"\xff\",\"messages\":[]}", Endpoint::kChatCompletions);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "request body is not valid JSON: The input is not valid UTF-8");
}

TEST_CASE("a moved ParsedRequest keeps valid views") {
  auto r = parse_ok(R"({"model":"m","messages":[{"role":"user","content":"abc"}],"seed":7})");
  std::vector<ParsedRequest> v;
  v.push_back(std::move(r));
  v.emplace_back();  // may reallocate and move again
  const auto& moved = v.front();
  CHECK(splice(moved, "z") == R"({"model":"z","messages":[{"role":"user","content":"abc"}],"seed":7})");
}

TEST_CASE("router keys of mock objects, mock errors and client-side credentials are read and stripped", "[request]") {
  auto r = parse_request(
      R"({"model":"m","messages":[],"mock_response":{"id":"x","choices":[]},"llmux_mock_error":{"status_code":429},)"
      R"("api_key":"sk-client","base_url":"http://h/v1","temperature":1})",
      Endpoint::kChatCompletions);
  REQUIRE(r.ok());
  CHECK(r->router.mock_response_json == std::optional<std::string>(R"({"id":"x","choices":[]})"));
  CHECK(r->router.mock_error_json == std::optional<std::string>(R"({"status_code":429})"));
  CHECK(r->router.api_key == std::optional<std::string>("sk-client"));
  CHECK(r->router.api_base == std::optional<std::string>("http://h/v1"));
  CHECK_FALSE(r->router.mock_response);
  std::string out;
  splice_request(*r, "served", {}, out);
  CHECK(out == R"({"model":"served","messages":[],"temperature":1})");

  auto text = parse_request(R"({"model":"m","prompt":["a","b"],"max_tokens":2})", Endpoint::kTextCompletions);
  REQUIRE(text.ok());
  CHECK(text->prompt_bytes == 9);
  auto bad = parse_request(R"({"model":"m","prompt":3})", Endpoint::kTextCompletions);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("'prompt' must be a string or an array") != std::string::npos);
  CHECK(endpoint_path(Endpoint::kResponses) == "/responses");
}
