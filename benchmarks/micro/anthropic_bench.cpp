// Anthropic translation micro benchmarks: the OpenAI chat request mapped to a
// Messages body (provider::anthropic::build_messages_body) next to the OpenAI
// splice of the same ~2 KB request, and a ~2 KB Messages answer rewritten into
// a chat.completion next to reading an OpenAI answer of the same size
// (OpenAiCompatibleProvider::inspect_response, the per-answer work of an
// OpenAI-compatible deployment).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "micro/micro_registry.hpp"
#include "micro/payloads.hpp"
#include "micro/provider_fixture.hpp"
#include "provider/anthropic_messages.hpp"
#include "request/request.hpp"

namespace llmux::bench {
namespace {

// A Messages answer of about 2 KB: text, a tool call and cache usage.
std::string anthropic_answer() {
  std::string text;
  while (text.size() < 1700) {
    text += "Your order A-10293 is in transit with DHL; the last scan was at the Leipzig hub. ";
  }
  return R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022",)"
         R"("content":[{"type":"text","text":")" +
         text +
         R"("},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"create_exchange",)"
         R"("input":{"order_id":"A-10293","new_size":"M","reason":"size"}}],"stop_reason":"tool_use","stop_sequence":null,)"
         R"("usage":{"input_tokens":412,"output_tokens":131,"cache_creation_input_tokens":0,"cache_read_input_tokens":256}})";
}

void bm_anthropic_request(benchmark::State& state) {
  provider::anthropic::BodyOptions options;
  options.model = "claude-3-5-sonnet-20241022";
  run_request_mapping(state, [&](const request::ParsedRequest& r, std::string& out) {
    return provider::anthropic::build_messages_body(r, options, out);
  });
}

void bm_anthropic_response(benchmark::State& state) {
  provider::anthropic::ResponseOptions options;
  options.created = 1715000000;
  run_in_place(state, anthropic_answer(),
               [&](std::string& body) { return provider::anthropic::translate_messages_response(body, options); });
}

void bm_openai_inspect_response(benchmark::State& state) {
  // The OpenAI answer the translation produces: same content, same size class.
  std::string body = anthropic_answer();
  provider::anthropic::ResponseOptions options;
  if (!provider::anthropic::translate_messages_response(body, options).ok()) {
    state.SkipWithError("translation failed");
    return;
  }
  run_openai_inspect(state, body);
}

}  // namespace

void register_anthropic_benchmarks(std::vector<Comparison>& out) {
  benchmark::RegisterBenchmark("anthropic/request-translation", bm_anthropic_request);
  benchmark::RegisterBenchmark("anthropic/response-translation", bm_anthropic_response);
  benchmark::RegisterBenchmark("anthropic/baseline-openai-inspect_response", bm_openai_inspect_response);
  const std::string size = std::to_string(kChatRequestBody.size());
  out.push_back(Comparison{"anthropic request translation, " + size + " B chat body", "anthropic/request-translation",
                           0, "json/splice_request", "the OpenAI splice of the same request", true});
  out.push_back(Comparison{"anthropic response translation, " + std::to_string(anthropic_answer().size()) +
                               " B Messages answer",
                           "anthropic/response-translation", 0, "anthropic/baseline-openai-inspect_response",
                           "reading an OpenAI answer of the same content", true});
}

}  // namespace llmux::bench
