// The README's C++ quickstart: build a Router from a LiteLLM config and call it.
// A local fake OpenAI-compatible server stands in for a real endpoint so the
// program runs offline.
#include <iostream>

#include "llmux/router.hpp"
#include "support/fake_provider.hpp"

int main() {
  llmux::testing::FakeProvider server;  // your vLLM / OpenAI endpoint in real life
  const std::string config = R"(
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: )" + server.base_url() + R"(
      api_key: sk-anything
router_settings:
  num_retries: 2
)";
  auto router = llmux::Router::from_config(config);
  if (!router.ok()) {
    std::cerr << router.error().to_string() << "\n";
    return 1;
  }
  auto resp = (*router)->completion(R"({"model":"gpt-4o","messages":[{"role":"user","content":"Hello!"}]})");
  if (!resp.ok()) {
    std::cerr << resp.error().to_string() << "\n";
    return 1;
  }
  std::cout << resp->body << "\n"
            << "served by " << resp->metadata.deployment_id << " in " << resp->metadata.latency_ms << " ms\n";
  return 0;
}
