// Helpers shared by the router integration tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "llmux/router.hpp"
#include "support/fake_provider.hpp"

namespace llmux::testing {

inline std::unique_ptr<Router> make_router(const std::string& yaml, uint64_t seed = 42) {
  RouterOptions opts;
  opts.random_seed = seed;
  opts.log = [](std::string_view) {};
  auto r = Router::from_config(yaml, opts);
  if (!r.ok()) FAIL("router config rejected: " << r.error().to_string());
  return std::move(r).value();
}

inline std::string chat_request(const std::string& model, const std::string& extra = "") {
  return fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"Say hello"}}]{}}})", model,
                     extra.empty() ? "" : "," + extra);
}

// One deployment entry of a model_list, as YAML.
inline std::string deployment_yaml(const std::string& group, const std::string& model, const FakeProvider& p,
                                   const std::string& extra_params = "", const std::string& id = "") {
  std::string s = fmt::format("  - model_name: {}\n    litellm_params:\n      model: openai/{}\n      api_base: {}\n"
                              "      api_key: sk-test-secret-key\n",
                              group, model, p.base_url());
  if (!extra_params.empty()) s += extra_params;
  if (!id.empty()) s += fmt::format("    model_info:\n      id: {}\n", id);
  return s;
}

inline double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace llmux::testing
