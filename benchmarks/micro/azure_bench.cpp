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
#include "micro/provider_fixture.hpp"
#include "provider/azure.hpp"

namespace llmux::bench {
namespace {

void bm_azure_build_request(benchmark::State& state) {
  const provider::AzureProvider azure;
  DeploymentConfig d =
      bench_deployment("azure", "gpt4o-prod", "https://bench-resource.openai.azure.com", "bench-azure-key");
  d.api_version = "2024-10-21";
  auto auth = azure.make_auth(d);  // api-key auth: nothing to fetch
  run_build_request(state, azure, provider::ProviderTarget::of(d, auth.get()));
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
