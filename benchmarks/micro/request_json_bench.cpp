// Request JSON micro benchmarks: request::parse_request (one simdjson on-demand
// pass that validates every value) and request::splice_request (the outgoing
// body) on a realistic 1.9 KB chat body, as MB/s. Baselines: a simdjson DOM
// parse of the same bytes (full validation, the library's fastest complete
// parse) and a plain copy of the same bytes into a reused string.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "request/request.hpp"
#include "micro/micro_registry.hpp"
#include "micro/payloads.hpp"

namespace llmux::bench {
namespace {

constexpr std::string_view kProviderModel = "qwen3-14b";

void bm_parse_request(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = request::parse_request(kChatRequestBody, request::Endpoint::kChatCompletions);
    if (!parsed.ok()) {
      state.SkipWithError(parsed.error().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kChatRequestBody.size()));
}

void bm_dom_parse_baseline(benchmark::State& state) {
  simdjson::dom::parser parser;
  const simdjson::padded_string body(kChatRequestBody);
  for (auto _ : state) {
    simdjson::dom::element doc;
    if (parser.parse(body).get(doc) != simdjson::SUCCESS) {
      state.SkipWithError("simdjson rejected the body");
      return;
    }
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kChatRequestBody.size()));
}

void bm_splice_request(benchmark::State& state) {
  auto parsed = request::parse_request(kChatRequestBody, request::Endpoint::kChatCompletions);
  if (!parsed.ok()) {
    state.SkipWithError(parsed.error().to_string().c_str());
    return;
  }
  std::string out;
  for (auto _ : state) {
    request::splice_request(*parsed, kProviderModel, {}, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kChatRequestBody.size()));
}

void bm_copy_baseline(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    out.assign(kChatRequestBody);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kChatRequestBody.size()));
}

// Both steps as one call does them (the parsed request is per call; the
// outgoing buffer is reused).
void bm_parse_and_splice(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    auto parsed = request::parse_request(kChatRequestBody, request::Endpoint::kChatCompletions);
    if (!parsed.ok()) {
      state.SkipWithError(parsed.error().to_string().c_str());
      return;
    }
    request::splice_request(*parsed, kProviderModel, {}, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kChatRequestBody.size()));
}

}  // namespace

void register_request_json_benchmarks(std::vector<Comparison>& out) {
  benchmark::RegisterBenchmark("json/parse_request", bm_parse_request);
  benchmark::RegisterBenchmark("json/baseline-simdjson-dom-parse", bm_dom_parse_baseline);
  benchmark::RegisterBenchmark("json/splice_request", bm_splice_request);
  benchmark::RegisterBenchmark("json/baseline-copy", bm_copy_baseline);
  benchmark::RegisterBenchmark("json/parse_request+splice_request", bm_parse_and_splice);
  const std::string size = std::to_string(kChatRequestBody.size());
  out.push_back(Comparison{"request::parse_request, " + size + " B chat body", "json/parse_request", 0,
                           "json/baseline-simdjson-dom-parse", "simdjson DOM parse of the same bytes", true});
  out.push_back(Comparison{"request::splice_request, " + size + " B chat body", "json/splice_request", 0,
                           "json/baseline-copy", "copying the same bytes into a reused string", true});
  out.push_back(Comparison{"parse_request + splice_request, " + size + " B chat body",
                           "json/parse_request+splice_request", 0, "json/baseline-simdjson-dom-parse",
                           "simdjson DOM parse of the same bytes", true});
}

}  // namespace llmux::bench
