// Vertex AI translation micro benchmarks (issue 10): build_request of the
// 1.9 KB chat request on the MaaS route (the OpenAI splice at the
// endpoints/openapi URL plus the bearer token) and on the Gemini route (the
// generateContent mapping at the publisher model's URL), with the Google
// token already in the deployment's cache, each next to the plain
// OpenAI-compatible splice of the same request in the same run. The token is
// put there the way the adapter gets it: prepare() on a loop whose one
// transfer (the metadata server's token answer) is answered in process.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "micro/micro_registry.hpp"
#include "micro/payloads.hpp"
#include "micro/provider_fixture.hpp"
#include "provider/vertex_ai.hpp"
#include "transport/event_loop.hpp"

namespace llmux::bench {
namespace {

// Just enough of an event loop for TokenCache::prepare: every transfer is
// answered with the metadata server's token JSON when run() drains it.
class TokenOnlyLoop final : public transport::EventLoop {
 public:
  const TimeSource& clock() const override { return TimeSource::steady(); }
  void post(std::function<void()> task) override { tasks_.push_back(std::move(task)); }
  transport::TimerId schedule(Duration, std::function<void()>) override { return ++next_id_; }
  void cancel_timer(transport::TimerId) override {}
  transport::TransferId start_transfer(transport::HttpRequest, transport::TransferObserver* observer) override {
    tasks_.push_back([observer] {
      transport::TransferResult result;
      result.status = 200;
      result.headers = {{"metadata-flavor", "Google"}, {"content-type", "application/json"}};
      result.body = R"({"access_token":"ya29.bench-token","expires_in":3600,"token_type":"Bearer"})";
      observer->on_complete(std::move(result));
    });
    return ++next_id_;
  }
  void cancel_transfer(transport::TransferId) override {}
  bool in_loop_thread() const override { return true; }

  void run() {
    while (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      task();
    }
  }

 private:
  std::deque<std::function<void()>> tasks_;
  uint64_t next_id_ = 0;
};

// No credentials anywhere: the ADC chain ends at the metadata server, whose
// token the loop above answers; the project is configured.
provider::GoogleEnv no_credentials() {
  return [](std::string_view name) -> std::optional<std::string> {
    if (name == "HOME") return std::string("/nonexistent-llmux-bench");
    return std::nullopt;
  };
}

DeploymentConfig vertex_deployment(std::string model) {
  DeploymentConfig d = bench_deployment("vertex_ai", std::move(model), "", "");
  d.litellm_params_json = R"({"vertex_project":"bench-proj","vertex_location":"us-central1"})";
  return d;
}

void bm_vertex_build_request(benchmark::State& state, const char* model) {
  const provider::VertexAiProvider vertex(no_credentials(), provider::system_wall_seconds());
  const DeploymentConfig d = vertex_deployment(model);
  auto auth = vertex.make_auth(d);
  const provider::ProviderTarget target = provider::ProviderTarget::of(d, auth.get());
  TokenOnlyLoop loop;
  bool ready = false;
  vertex.prepare(target, loop, [&](Status s) { ready = s.ok(); });
  loop.run();
  if (!ready) {
    state.SkipWithError("no token in the cache");
    return;
  }
  run_build_request(state, vertex, target);
}

}  // namespace

void register_vertex_benchmarks(std::vector<Comparison>& out) {
  benchmark::RegisterBenchmark("vertex/build_request-maas", bm_vertex_build_request, "openai/gpt-oss-120b-maas");
  benchmark::RegisterBenchmark("vertex/build_request-gemini", bm_vertex_build_request, "gemini-2.5-flash");
  benchmark::RegisterBenchmark("vertex/baseline-openai-build_request", bm_openai_build_request);
  const std::string size = std::to_string(kChatRequestBody.size());
  out.push_back(Comparison{"vertex build_request, MaaS route (splice + endpoints/openapi URL + bearer), " + size +
                               " B chat request",
                           "vertex/build_request-maas", 0, "vertex/baseline-openai-build_request",
                           "OpenAI-compatible build_request (splice) of the same request", true});
  out.push_back(Comparison{"vertex build_request, Gemini route (generateContent mapping + bearer), " + size +
                               " B chat request",
                           "vertex/build_request-gemini", 0, "vertex/baseline-openai-build_request",
                           "OpenAI-compatible build_request (splice) of the same request", true});
}

}  // namespace llmux::bench
