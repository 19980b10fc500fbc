// The OpenAI chat request → Gemini generateContent body mapping, and the AI
// Studio adapter's URL, headers and key chain (providers.md §4.1, 4.2, 4.4).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "provider/gemini.hpp"
#include "provider/gemini_content.hpp"
#include "request/request.hpp"
#include "unit/provider/provider_test_util.hpp"

using llmux::DeploymentConfig;
using llmux::ErrorKind;
using llmux::provider::ProviderTarget;
using llmux::request::Endpoint;
using llmux::transport::HttpRequest;
namespace gemini = llmux::provider::gemini;

namespace {

using llmux::testing::parse;

std::string body_of(const std::string& request, gemini::ContentOptions options = {}) {
  auto r = parse(request);
  std::string out;
  auto s = gemini::build_generate_content(r, options, out);
  if (!s.ok()) FAIL(s.error().message);
  return out;
}

llmux::Error error_of(const std::string& request, gemini::ContentOptions options = {}) {
  auto r = parse(request);
  std::string out;
  auto s = gemini::build_generate_content(r, options, out);
  REQUIRE_FALSE(s.ok());
  return s.error();
}

DeploymentConfig gemini_deployment(std::string api_base = "", std::string api_key = "AIza-test-key") {
  return llmux::testing::deployment("gemini", std::move(api_base), std::move(api_key));
}

HttpRequest build(const DeploymentConfig& d, const std::string& request, bool stream,
                  Endpoint endpoint = Endpoint::kChatCompletions) {
  const auto& p = llmux::testing::provider_named("gemini");
  auto r = parse(request, endpoint);
  HttpRequest out;
  auto s = p.build_request(ProviderTarget::of(d), r, stream, out);
  if (!s.ok()) FAIL(s.error().message);
  return out;
}

bool has_header(const HttpRequest& r, const std::string& line) {
  for (const auto& h : r.headers) {
    if (h == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("gemini request: system, user/model turns merged by side, stop and generation config") {
  const std::string body = body_of(R"({"model":"g","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","content":"Hi"},
      {"role":"user","content":[{"type":"text","text":"there"}]},
      {"role":"assistant","content":"Hello!"},
      {"role":"user","content":"Weather?"}],
    "temperature":0.2,"top_p":0.9,"max_tokens":100,"n":2,"stop":"END","seed":7,
    "presence_penalty":0.5,"frequency_penalty":0.25,"user":"u-1","metadata":{"tags":["a"]},"num_retries":3})");
  CHECK(body ==
        R"({"contents":[{"role":"user","parts":[{"text":"Hi"},{"text":"there"}]},{"role":"model","parts":[{"text":"Hello!"}]},)"
        R"({"role":"user","parts":[{"text":"Weather?"}]}],"system_instruction":{"parts":[{"text":"Be brief."}]},)"
        R"("generationConfig":{"temperature":0.2,"top_p":0.9,"candidate_count":2,"stop_sequences":["END"],"seed":7,)"
        R"("presence_penalty":0.5,"frequency_penalty":0.25,"max_output_tokens":100}})");
}

TEST_CASE("gemini request: max_completion_tokens wins, stop list, system-only and empty conversations") {
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":9,"stop":["a","b"]})") ==
        R"({"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"stop_sequences":["a","b"],"max_output_tokens":9}})");
  CHECK(body_of(R"({"model":"g","messages":[{"role":"system","content":"S"}]})") ==
        R"({"contents":[{"role":"user","parts":[{"text":"."}]}],"system_instruction":{"parts":[{"text":"S"}]}})");
  CHECK(body_of(R"({"model":"g","messages":[]})") == R"({"contents":[{"role":"user","parts":[{"text":" "}]}]})");
  // Without system support the system text joins the user turn.
  gemini::ContentOptions no_system;
  no_system.system_instruction = false;
  CHECK(body_of(R"({"model":"g","messages":[{"role":"system","content":"S"},{"role":"user","content":"U"}]})", no_system) ==
        R"({"contents":[{"role":"user","parts":[{"text":"S"},{"text":"U"}]}]})");
}

TEST_CASE("gemini request: images by data URI inline, gs:// and https by reference, never downloaded") {
  const std::string body = body_of(R"({"model":"g","messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0K"}},
      {"type":"image_url","image_url":"gs://bucket/cat.jpg"},
      {"type":"image_url","image_url":{"url":"https://example.com/a/photo.webp?sig=1"}},
      {"type":"image_url","image_url":{"url":"https://example.com/noext","format":"image/jpeg"}}]}]})");
  CHECK(body ==
        R"({"contents":[{"role":"user","parts":[{"inline_data":{"mime_type":"image/png","data":"iVBORw0K"}},)"
        R"({"file_data":{"mime_type":"image/jpeg","file_uri":"gs://bucket/cat.jpg"}},)"
        R"({"file_data":{"mime_type":"image/webp","file_uri":"https://example.com/a/photo.webp?sig=1"}},)"
        R"({"file_data":{"mime_type":"image/jpeg","file_uri":"https://example.com/noext"}},{"text":" "}]}]})");
  auto e = error_of(R"({"model":"g","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/img"}}]}]})");
  CHECK(e.kind == ErrorKind::kBadRequest);
  CHECK(e.message.find("image_url.format") != std::string::npos);
  CHECK(error_of(R"({"model":"g","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/a.png"}}]}]})").kind ==
        ErrorKind::kBadRequest);
}

TEST_CASE("gemini request: tool calls and tool results with the matching call's name") {
  const std::string body = body_of(R"({"model":"g","messages":[
      {"role":"user","content":"Weather in Paris and Rome?"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
        {"id":"call_2","type":"function","function":{"name":"get_time","arguments":""}}]},
      {"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21}"},
      {"role":"tool","tool_call_id":"call_2","content":"noon"},
      {"role":"user","content":"Thanks"}]})");
  CHECK(body ==
        R"({"contents":[{"role":"user","parts":[{"text":"Weather in Paris and Rome?"}]},)"
        R"({"role":"model","parts":[{"function_call":{"name":"get_weather","args":{"city":"Paris"}}},{"function_call":{"name":"get_time","args":{}}}]},)"
        R"({"parts":[{"function_response":{"name":"get_weather","response":{"temp":21}}},{"function_response":{"name":"get_time","response":{"content":"noon"}}}]},)"
        R"({"role":"user","parts":[{"text":"Thanks"}]}]})");
  auto e = error_of(R"({"model":"g","messages":[{"role":"tool","tool_call_id":"nope","content":"x"}]})");
  CHECK(e.kind == ErrorKind::kBadRequest);
  CHECK(error_of(R"({"model":"g","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]})").kind ==
        ErrorKind::kBadRequest);
}

TEST_CASE("gemini request: tools converted to Google's schema subset, tool_choice") {
  const std::string body = body_of(R"({"model":"g","messages":[{"role":"user","content":"x"}],
    "tools":[{"type":"function","function":{"name":"lookup","description":"Find","strict":true,"parameters":{
      "type":"object","additionalProperties":false,"$defs":{"Unit":{"type":"string","enum":["c","f"]}},
      "properties":{"q":{"type":"string"},"unit":{"anyOf":[{"$ref":"#/$defs/Unit"},{"type":"null"}],"description":"u"},
        "n":{"type":["integer","null"]},"tags":{"type":"array","items":{"type":"string","const":"x"}}},
      "required":["q"]}}},
      {"type":"function","function":{"name":"ping","parameters":{"type":"object","properties":{}}}}],
    "tool_choice":{"type":"function","function":{"name":"lookup"}}})");
  CHECK(body ==
        R"({"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"function_declarations":[)"
        R"({"name":"lookup","description":"Find","parameters":{"type":"object","properties":{"q":{"type":"string"},)"
        R"("unit":{"description":"u","type":"string","enum":["c","f"],"nullable":true},"n":{"type":"integer","nullable":true},)"
        R"("tags":{"type":"array","items":{"type":"string","enum":["x"]}}},"required":["q"]}},{"name":"ping"}]}],)"
        R"("toolConfig":{"functionCallingConfig":{"mode":"ANY","allowed_function_names":["lookup"]}}})");
  for (auto [choice, mode] : {std::pair{"\"none\"", "NONE"}, {"\"auto\"", "AUTO"}, {"\"required\"", "ANY"}}) {
    const std::string b = body_of(std::string(R"({"model":"g","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":)") +
                                  choice + "}");
    CHECK(b.find(std::string(R"("functionCallingConfig":{"mode":")") + mode + "\"}") != std::string::npos);
  }
}

TEST_CASE("gemini request: response_format, reasoning_effort, safety settings") {
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})") ==
        R"({"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"response_mime_type":"application/json"}})");
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}}}})") ==
        R"({"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"response_mime_type":"application/json","response_schema":{"type":"object","properties":{"a":{"type":"string"}}}}})");
  gemini::ContentOptions flash;
  flash.model = "gemini-2.5-flash";
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"})", flash) ==
        R"({"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":1024,"includeThoughts":true}}})");
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"x"}],"reasoning_effort":"none"})", flash)
            .find(R"("thinkingConfig":{"thinkingBudget":0,"includeThoughts":false})") != std::string::npos);
  gemini::ContentOptions three;
  three.model = "gemini-3-pro-preview";
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"})", three)
            .find(R"("thinkingConfig":{"thinkingLevel":"high","includeThoughts":true})") != std::string::npos);
  CHECK(error_of(R"({"model":"g","messages":[{"role":"user","content":"x"}],"reasoning_effort":"extreme"})").kind ==
        ErrorKind::kBadRequest);
  const std::string safety = R"([{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_NONE"}])";
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"x"}],"safety_settings":)" + safety + "}") ==
        R"({"contents":[{"role":"user","parts":[{"text":"x"}]}],"safetySettings":)" + safety + "}");
  gemini::ContentOptions from_deployment;
  const std::string params = R"({"model":"gemini/x","safety_settings":)" + safety + "}";
  from_deployment.deployment_params_json = params;
  CHECK(body_of(R"({"model":"g","messages":[{"role":"user","content":"x"}]})", from_deployment) ==
        R"({"contents":[{"role":"user","parts":[{"text":"x"}]}],"safetySettings":)" + safety + "}");
}

TEST_CASE("gemini request: unsupported parameters fail unless drop_params") {
  const std::string req = R"({"model":"g","messages":[{"role":"user","content":"x"}],"logit_bias":{"1":2}})";
  auto e = error_of(req);
  CHECK(e.kind == ErrorKind::kBadRequest);
  CHECK(e.status == 400);
  CHECK(e.message.find("logit_bias") != std::string::npos);
  CHECK(e.message.find("drop_params") != std::string::npos);
  gemini::ContentOptions drop;
  drop.drop_params = true;
  CHECK(body_of(req, drop) == R"({"contents":[{"role":"user","parts":[{"text":"x"}]}]})");
  // The request's own drop_params wins either way, wherever it stands.
  const std::string req_drop = R"({"model":"g","logit_bias":{"1":2},"messages":[{"role":"user","content":"x"}],"drop_params":true})";
  CHECK(body_of(req_drop) == R"({"contents":[{"role":"user","parts":[{"text":"x"}]}]})");
  const std::string req_keep = R"({"model":"g","drop_params":false,"messages":[{"role":"user","content":"x"}],"logit_bias":{"1":2}})";
  CHECK(error_of(req_keep, drop).kind == ErrorKind::kBadRequest);
  const std::string parallel =
      R"({"model":"g","messages":[{"role":"user","content":"x"}],"parallel_tool_calls":false,"tools":[)"
      R"({"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}]})";
  CHECK(error_of(parallel).kind == ErrorKind::kBadRequest);
  CHECK(body_of(parallel, drop).find("parallel") == std::string::npos);
}

TEST_CASE("gemini embeddings: batchEmbedContents and predict bodies") {
  auto r = parse(R"({"model":"e","input":["a","b"],"dimensions":256})", Endpoint::kEmbeddings);
  std::string out;
  REQUIRE(gemini::build_batch_embed_contents(r, "text-embedding-004", out).ok());
  CHECK(out ==
        R"({"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]},"outputDimensionality":256},)"
        R"({"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]},"outputDimensionality":256}]})");
  REQUIRE(gemini::build_predict_embeddings(r, out).ok());
  CHECK(out == R"({"instances":[{"content":"a"},{"content":"b"}],"parameters":{"outputDimensionality":256}})");
  auto tokens = parse(R"({"model":"e","input":[[1,2]]})", Endpoint::kEmbeddings);
  CHECK(gemini::build_batch_embed_contents(tokens, "m", out).error().kind == ErrorKind::kBadRequest);
}

TEST_CASE("gemini adapter: default URL, custom api_base, key in x-goog-api-key, never in the URL") {
  const std::string chat = R"({"model":"group","messages":[{"role":"user","content":"hi"}]})";
  auto d = gemini_deployment();
  d.provider_model = "gemini-2.0-flash";
  HttpRequest r = build(d, chat, false);
  CHECK(r.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
  CHECK(has_header(r, "x-goog-api-key: AIza-test-key"));
  CHECK(has_header(r, "Content-Type: application/json"));
  CHECK(r.url.find("key") == std::string::npos);
  CHECK_FALSE(r.stream_body);
  r = build(d, chat, true);
  CHECK(r.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
  CHECK(r.stream_body);
  d.provider_model = "gemini-3-pro-preview";
  CHECK(build(d, chat, false).url == "https://generativelanguage.googleapis.com/v1alpha/models/gemini-3-pro-preview:generateContent");

  auto custom = gemini_deployment("http://127.0.0.1:9/gem/");
  custom.provider_model = "models/gemini-1.5-flash";
  CHECK(build(custom, chat, true).url == "http://127.0.0.1:9/gem/models/gemini-1.5-flash:streamGenerateContent?alt=sse");
  CHECK(build(custom, R"({"model":"e","input":"x"})", false, Endpoint::kEmbeddings).url ==
        "http://127.0.0.1:9/gem/models/gemini-1.5-flash:batchEmbedContents");

  custom.provider_model = "../evil?x=1";
  auto r2 = parse(chat);
  HttpRequest out;
  CHECK(llmux::testing::provider_named("gemini").build_request(ProviderTarget::of(custom), r2, false, out).error().kind ==
        ErrorKind::kInvalidConfig);
}

TEST_CASE("gemini adapter: key chain api_key → GOOGLE_API_KEY → GEMINI_API_KEY → PALM_API_KEY; none is an auth error") {
  const std::string chat = R"({"model":"group","messages":[{"role":"user","content":"hi"}]})";
  const auto& p = llmux::testing::provider_named("gemini");
  for (const char* v : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "PALM_API_KEY"}) ::unsetenv(v);
  auto d = gemini_deployment("", "");
  auto r = parse(chat);
  HttpRequest out;
  auto s = p.build_request(ProviderTarget::of(d), r, false, out);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kAuthentication);
  CHECK(s.error().message.find("GOOGLE_API_KEY") != std::string::npos);
  ::setenv("PALM_API_KEY", "palm-key", 1);
  CHECK(has_header(build(d, chat, false), "x-goog-api-key: palm-key"));
  ::setenv("GEMINI_API_KEY", "gemini-key", 1);
  CHECK(has_header(build(d, chat, false), "x-goog-api-key: gemini-key"));
  ::setenv("GOOGLE_API_KEY", "google-key", 1);
  CHECK(has_header(build(d, chat, false), "x-goog-api-key: google-key"));
  // The deployment's own key wins; make_auth resolves once, at pool join.
  d.api_key = "own-key";
  auto auth = p.make_auth(d);
  ::setenv("GEMINI_API_BASE", "http://127.0.0.1:1/base", 1);
  auto auth2 = p.make_auth(d);
  ProviderTarget t{d, "gemini-x", auth2.get()};
  REQUIRE(p.build_request(t, r, false, out).ok());
  CHECK(has_header(out, "x-goog-api-key: own-key"));
  CHECK(out.url == "http://127.0.0.1:1/base/models/gemini-x:generateContent");
  for (const char* v : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "PALM_API_KEY", "GEMINI_API_BASE"}) ::unsetenv(v);
}
