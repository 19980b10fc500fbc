// Uses only the installed public headers: a mock deployment answers without a network.
#include <cstdio>
#include <string_view>

#include "llmux/router.hpp"

int main() {
  auto router = llmux::Router::from_config(R"(
model_list:
  - model_name: m
    litellm_params: {model: openai/m, mock_response: "installed llmux works"}
)");
  if (!router.ok()) {
    std::fprintf(stderr, "%s\n", router.error().to_string().c_str());
    return 1;
  }
  auto resp = (*router)->completion(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  if (!resp.ok() || resp->body.find("installed llmux works") == std::string::npos) {
    std::fprintf(stderr, "unexpected answer\n");
    return 1;
  }
  // LLMUX_VERSION_STRING comes from the installed, generated llmux_version.h.
  if (llmux::version() != std::string_view(LLMUX_VERSION_STRING)) {
    std::fprintf(stderr, "library %s, header %s\n", std::string(llmux::version()).c_str(), LLMUX_VERSION_STRING);
    return 1;
  }
  std::printf("llmux %s consumer: ok\n", std::string(llmux::version()).c_str());
  return 0;
}
