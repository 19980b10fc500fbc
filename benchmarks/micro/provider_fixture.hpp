// -----------------------------------------------------------------------------
// File: benchmarks/micro/provider_fixture.hpp
// -----------------------------------------------------------------------------
// The setup and loops the provider translation benchmarks share (anthropic,
// bedrock, gemini, azure, vertex): the chat request of payloads.hpp parsed, a
// bench deployment, a build_request loop, an in-place answer translation loop,
// and the OpenAI-compatible baselines every figure is judged against (the
// splice of the same request, reading an OpenAI answer). Templates over the
// concrete provider and the callable, so a loop costs what the code measured
// costs (no virtual or std::function call per iteration). Header-only; used
// from the benchmark thread only.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "micro/payloads.hpp"
#include "provider/openai_compatible.hpp"
#include "provider/provider.hpp"
#include "request/request.hpp"

namespace llmux::bench {

// kChatRequestBody parsed as a chat completion (a fixed payload: aborts when
// it does not parse).
inline request::ParsedRequest parsed_chat() {
  auto r = request::parse_request(kChatRequestBody, request::Endpoint::kChatCompletions);
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

// Deployment "bench" of group "production-llm" serving provider/model.
inline DeploymentConfig bench_deployment(std::string provider, std::string model,
                                         std::string api_base = "http://127.0.0.1:8080",
                                         std::string api_key = "bench-key") {
  DeploymentConfig d;
  d.id = "bench";
  d.model_name = "production-llm";
  d.provider = std::move(provider);
  d.provider_model = std::move(model);
  d.model = d.provider + "/" + d.provider_model;
  d.api_base = std::move(api_base);
  d.api_key = std::move(api_key);
  return d;
}

inline void set_chat_bytes(benchmark::State& state, size_t bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes_per_iteration));
}

// provider.build_request(target, the chat request, not streaming) per
// iteration; bytes: the chat body.
template <class Provider>
void run_build_request(benchmark::State& state, const Provider& provider, const provider::ProviderTarget& target) {
  const request::ParsedRequest r = parsed_chat();
  transport::HttpRequest out;
  for (auto _ : state) {
    if (!provider.build_request(target, r, false, out).ok()) {
      state.SkipWithError("build_request failed");
      return;
    }
    benchmark::DoNotOptimize(out.body.data());
  }
  set_chat_bytes(state, kChatRequestBody.size());
}

// map(request, out) -> Status per iteration, a mapping of the chat request to
// another format's body; bytes: the chat body.
template <class Map>
void run_request_mapping(benchmark::State& state, Map&& map) {
  auto parsed = request::parse_request(kChatRequestBody, request::Endpoint::kChatCompletions);
  if (!parsed.ok()) {
    state.SkipWithError(parsed.error().to_string().c_str());
    return;
  }
  std::string out;
  for (auto _ : state) {
    Status s = map(*parsed, out);
    if (!s.ok()) {
      state.SkipWithError(s.error().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_chat_bytes(state, kChatRequestBody.size());
}

// translate(body) -> Status per iteration on a fresh copy of `answer` (the
// transfer's buffer, rewritten in place, as each call has); bytes: the answer.
template <class Translate>
void run_in_place(benchmark::State& state, const std::string& answer, Translate&& translate) {
  std::string body;
  for (auto _ : state) {
    body.assign(answer);
    Status s = translate(body);
    if (!s.ok()) {
      state.SkipWithError(s.error().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(body.data());
  }
  set_chat_bytes(state, answer.size());
}

// The baseline of the build_request figures: the OpenAI-compatible splice of
// the same request at an openai/gpt-4o deployment.
inline void bm_openai_build_request(benchmark::State& state) {
  const provider::OpenAiCompatibleProvider openai("openai", "https://api.openai.com/v1");
  const DeploymentConfig d = bench_deployment("openai", "gpt-4o");
  run_build_request(state, openai, provider::ProviderTarget::of(d));
}

// The baseline of the answer figures: inspect_response of an answer already
// in OpenAI's shape, on a fresh copy per iteration.
inline void run_openai_inspect(benchmark::State& state, const std::string& openai_answer) {
  const provider::OpenAiCompatibleProvider openai("openai", "https://api.openai.com/v1");
  std::string copy;
  for (auto _ : state) {
    copy.assign(openai_answer);
    auto info = openai.inspect_response(copy, request::Endpoint::kChatCompletions);
    benchmark::DoNotOptimize(info);
  }
  set_chat_bytes(state, openai_answer.size());
}

}  // namespace llmux::bench
