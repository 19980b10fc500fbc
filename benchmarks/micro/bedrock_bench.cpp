// Bedrock Converse translation micro benchmarks: the OpenAI chat request mapped
// to a Converse body (provider::bedrock::build_converse_body) next to the
// OpenAI splice of the same ~2 KB request, and a ~2 KB Converse answer
// rewritten into a chat.completion next to reading an OpenAI answer of the
// same content (OpenAiCompatibleProvider::inspect_response).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "micro/micro_registry.hpp"
#include "micro/payloads.hpp"
#include "micro/provider_fixture.hpp"
#include "provider/bedrock_converse.hpp"
#include "request/request.hpp"

namespace llmux::bench {
namespace {

// A Converse answer of about 2 KB: text, a tool call and cache usage.
std::string converse_answer() {
  std::string text;
  while (text.size() < 1700) {
    text += "Your order A-10293 is in transit with DHL; the last scan was at the Leipzig hub. ";
  }
  return R"({"output":{"message":{"role":"assistant","content":[{"text":")" + text +
         R"("},{"toolUse":{"toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","name":"create_exchange",)"
         R"("input":{"order_id":"A-10293","new_size":"M","reason":"size"}}}]}},"stopReason":"tool_use",)"
         R"("usage":{"inputTokens":412,"outputTokens":131,"totalTokens":543,"cacheReadInputTokens":256,)"
         R"("cacheWriteInputTokens":0},"metrics":{"latencyMs":812}})";
}

void bm_converse_request(benchmark::State& state) {
  provider::bedrock::ConverseOptions options;
  options.model = "anthropic.claude-3-5-sonnet-20240620-v1:0";
  options.drop_params = true;
  run_request_mapping(state, [&](const request::ParsedRequest& r, std::string& out) {
    return provider::bedrock::build_converse_body(r, options, out);
  });
}

void bm_converse_response(benchmark::State& state) {
  provider::bedrock::ResponseOptions options;
  options.model = "anthropic.claude-3-5-sonnet-20240620-v1:0";
  options.created = 1715000000;
  run_in_place(state, converse_answer(),
               [&](std::string& body) { return provider::bedrock::translate_converse_response(body, options); });
}

void bm_openai_inspect_response(benchmark::State& state) {
  // The OpenAI answer the translation produces: same content, same size class.
  std::string body = converse_answer();
  provider::bedrock::ResponseOptions options;
  if (!provider::bedrock::translate_converse_response(body, options).ok()) {
    state.SkipWithError("translation failed");
    return;
  }
  run_openai_inspect(state, body);
}

}  // namespace

void register_bedrock_benchmarks(std::vector<Comparison>& out) {
  benchmark::RegisterBenchmark("bedrock/converse-request-translation", bm_converse_request);
  benchmark::RegisterBenchmark("bedrock/converse-response-translation", bm_converse_response);
  benchmark::RegisterBenchmark("bedrock/baseline-openai-inspect_response", bm_openai_inspect_response);
  const std::string size = std::to_string(kChatRequestBody.size());
  out.push_back(Comparison{"bedrock Converse request translation, " + size + " B chat body",
                           "bedrock/converse-request-translation", 0, "json/splice_request",
                           "the OpenAI splice of the same request", true});
  out.push_back(Comparison{"bedrock Converse response translation, " + std::to_string(converse_answer().size()) +
                               " B Converse answer",
                           "bedrock/converse-response-translation", 0, "bedrock/baseline-openai-inspect_response",
                           "reading an OpenAI answer of the same content", true});
}

}  // namespace llmux::bench
