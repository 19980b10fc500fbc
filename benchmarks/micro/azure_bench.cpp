// Azure OpenAI translation micro benchmark (issue 10): build_request of the
// 1.9 KB chat request for an azure/<deployment> target — the OpenAI splice
// plus Azure's deployment URL with ?api-version= and the api-key header —
// next to the plain OpenAI-compatible splice of the same request in the same
// run. Azure answers in OpenAI's shape, so there is no response translation
// to measure.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "micro/micro_registry.hpp"
#include "micro/payloads.hpp"
#include "provider/azure.hpp"
#include "provider/openai_compatible.hpp"
#include "request/request.hpp"

namespace llmux::bench {
namespace {

request::ParsedRequest parsed_chat() {
  auto r = request::parse_request(kChatRequestBody, request::Endpoint::kChatCompletions);
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

DeploymentConfig azure_deployment() {
  DeploymentConfig d;
  d.id = "bench";
  d.model_name = "production-llm";
  d.provider = "azure";
  d.provider_model = "gpt4o-prod";
  d.model = "azure/gpt4o-prod";
  d.api_base = "https://bench-resource.openai.azure.com";
  d.api_key = "bench-azure-key";
  d.api_version = "2024-10-21";
  return d;
}

void bm_azure_build_request(benchmark::State& state) {
  provider::AzureProvider azure;
  const DeploymentConfig d = azure_deployment();
  auto auth = azure.make_auth(d);  // api-key auth: nothing to fetch
  const provider::ProviderTarget target = provider::ProviderTarget::of(d, auth.get());
  const request::ParsedRequest r = parsed_chat();
  transport::HttpRequest out;
  for (auto _ : state) {
    if (!azure.build_request(target, r, false, out).ok()) {
      state.SkipWithError("build_request failed");
      return;
    }
    benchmark::DoNotOptimize(out.body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kChatRequestBody.size()));
}

void bm_openai_build_request(benchmark::State& state) {
  provider::OpenAiCompatibleProvider openai("openai", "https://api.openai.com/v1");
  DeploymentConfig d;
  d.id = "bench";
  d.model_name = "production-llm";
  d.provider = "openai";
  d.provider_model = "gpt-4o";
  d.model = "openai/gpt-4o";
  d.api_base = "http://127.0.0.1:8080";
  d.api_key = "bench-key";
  const provider::ProviderTarget target = provider::ProviderTarget::of(d);
  const request::ParsedRequest r = parsed_chat();
  transport::HttpRequest out;
  for (auto _ : state) {
    if (!openai.build_request(target, r, false, out).ok()) {
      state.SkipWithError("build_request failed");
      return;
    }
    benchmark::DoNotOptimize(out.body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kChatRequestBody.size()));
}

}  // namespace

void register_azure_benchmarks(std::vector<Comparison>& out) {
  benchmark::RegisterBenchmark("azure/build_request", bm_azure_build_request);
  benchmark::RegisterBenchmark("azure/baseline-openai-build_request", bm_openai_build_request);
  out.push_back(Comparison{"azure build_request (splice + deployment URL + api-key), " +
                               std::to_string(kChatRequestBody.size()) + " B chat request",
                           "azure/build_request", 0, "azure/baseline-openai-build_request",
                           "OpenAI-compatible build_request (splice) of the same request", true});
}

}  // namespace llmux::bench
