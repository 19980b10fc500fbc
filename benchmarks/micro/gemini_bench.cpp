// Gemini translation micro benchmarks (issue 10): the OpenAI chat request
// mapped to a generateContent request (URL, headers, body) next to the
// OpenAI-compatible adapter's splice of the same 1.9 KB request; a ~2 KB
// generateContent answer translated to a chat.completion and read, next to
// reading the same answer already in OpenAI's shape (what an OpenAI target
// costs); and a streamed answer through the translator next to the same
// stream in OpenAI's SSE.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "micro/micro_registry.hpp"
#include "micro/payloads.hpp"
#include "micro/provider_fixture.hpp"
#include "provider/gemini.hpp"
#include "provider/gemini_content.hpp"
#include "provider/openai_compatible.hpp"
#include "request/request.hpp"
#include "transport/sse_parser.hpp"

namespace llmux::bench {
namespace {

// ~1.6 KB of answer text, the same in both shapes.
std::string answer_text() {
  std::string t;
  while (t.size() < 1600) {
    t += "Yes. Once the jacket has arrived you can exchange it for a size M within 60 days; ";
    t += "I can open the exchange for you then. ";
  }
  return t;
}

std::string gemini_response() {
  return fmt::format(
      R"({{"candidates":[{{"content":{{"role":"model","parts":[{{"text":"{}"}}]}},"finishReason":"STOP","index":0,)"
      R"("safetyRatings":[{{"category":"HARM_CATEGORY_HATE_SPEECH","probability":"NEGLIGIBLE"}}]}}],)"
      R"("usageMetadata":{{"promptTokenCount":412,"candidatesTokenCount":310,"totalTokenCount":722}},)"
      R"("modelVersion":"gemini-2.0-flash","responseId":"bench-resp-1"}})",
      answer_text());
}

std::string openai_response() {
  return fmt::format(
      R"({{"id":"chatcmpl-bench0001","object":"chat.completion","created":1715000000,"model":"gemini-2.0-flash",)"
      R"("choices":[{{"index":0,"message":{{"role":"assistant","content":"{}"}},"logprobs":null,"finish_reason":"stop"}}],)"
      R"("usage":{{"prompt_tokens":412,"completion_tokens":310,"total_tokens":722}}}})",
      answer_text());
}

std::string gemini_stream(int events) {
  std::string s;
  for (int i = 0; i < events; ++i) {
    s += fmt::format(R"(data: {{"candidates":[{{"content":{{"role":"model","parts":[{{"text":" word{}"}}]}},"index":0{}}}],)"
                     R"("usageMetadata":{{"promptTokenCount":412{}}},"responseId":"bench-stream"}})"
                     "\r\n\r\n",
                     i, i + 1 == events ? R"(,"finishReason":"STOP")" : "",
                     i + 1 == events ? R"(,"candidatesTokenCount":64,"totalTokenCount":476)" : "");
  }
  return s;
}

void bm_gemini_build_request(benchmark::State& state) {
  const provider::GeminiProvider gemini;
  const DeploymentConfig d = bench_deployment("gemini", "gemini-2.0-flash");
  auto auth = gemini.make_auth(d);
  run_build_request(state, gemini, provider::ProviderTarget{d, d.provider_model, auth.get()});
}

void bm_gemini_response(benchmark::State& state) {
  const provider::GeminiProvider gemini;
  const DeploymentConfig d = bench_deployment("gemini", "gemini-2.0-flash");
  const provider::ProviderTarget target = provider::ProviderTarget::of(d);
  const request::ParsedRequest r = parsed_chat();
  run_in_place(state, gemini_response(), [&](std::string& body) {
    Status s = gemini.translate_response(target, r, body);
    if (s.ok()) {
      auto info = gemini.inspect_response(body, request::Endpoint::kChatCompletions);
      benchmark::DoNotOptimize(info);
    }
    return s;
  });
}

void bm_openai_response(benchmark::State& state) { run_openai_inspect(state, openai_response()); }

constexpr int kStreamEvents = 64;

void bm_gemini_stream(benchmark::State& state) {
  const provider::GeminiProvider gemini;
  const DeploymentConfig d = bench_deployment("gemini", "gemini-2.0-flash");
  const provider::ProviderTarget target = provider::ProviderTarget::of(d);
  const request::ParsedRequest r = parsed_chat();
  const std::string wire = gemini_stream(kStreamEvents);
  for (auto _ : state) {
    auto t = gemini.make_stream_translator(target, r);
    size_t n = 0;
    auto sink = [&](std::string_view chunk) {
      auto info = gemini.inspect_chunk(chunk);
      n += info.content.size();
      return true;
    };
    t->feed(wire, sink);
    t->finish(sink);
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(wire.size()));
}

void bm_openai_stream(benchmark::State& state) {
  provider::OpenAiCompatibleProvider openai("openai", "https://api.openai.com/v1");
  const std::string wire = make_chat_stream(kStreamEvents);
  for (auto _ : state) {
    transport::SseParser sse;
    size_t n = 0;
    sse.feed(wire, [&](const transport::SseEvent& ev) {
      auto info = openai.inspect_chunk(ev.data);
      n += info.content.size();
      return true;
    });
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(wire.size()));
}

}  // namespace

void register_gemini_benchmarks(std::vector<Comparison>& out) {
  benchmark::RegisterBenchmark("gemini/build_request", bm_gemini_build_request);
  benchmark::RegisterBenchmark("gemini/baseline-openai-build_request", bm_openai_build_request);
  benchmark::RegisterBenchmark("gemini/translate+inspect_response", bm_gemini_response);
  benchmark::RegisterBenchmark("gemini/baseline-openai-inspect_response", bm_openai_response);
  benchmark::RegisterBenchmark("gemini/stream_translate+inspect", bm_gemini_stream);
  benchmark::RegisterBenchmark("gemini/baseline-openai-sse+inspect", bm_openai_stream);
  const std::string size = std::to_string(kChatRequestBody.size());
  out.push_back(Comparison{"gemini build_request (generateContent mapping), " + size + " B chat request",
                           "gemini/build_request", 0, "gemini/baseline-openai-build_request",
                           "OpenAI-compatible build_request (splice) of the same request", true});
  out.push_back(Comparison{"gemini translate_response + inspect, " + std::to_string(gemini_response().size()) +
                               " B generateContent answer",
                           "gemini/translate+inspect_response", 0, "gemini/baseline-openai-inspect_response",
                           "inspect_response of the same answer in OpenAI's shape", true});
  out.push_back(Comparison{"gemini stream translator + inspect_chunk, " + std::to_string(kStreamEvents) + " events",
                           "gemini/stream_translate+inspect", 0, "gemini/baseline-openai-sse+inspect",
                           "SSE framing + inspect_chunk of an OpenAI stream of as many events", true});
}

}  // namespace llmux::bench
