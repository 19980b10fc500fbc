// Helpers shared by the provider unit tests.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <catch2/catch.hpp>

#include "request/request.hpp"
#include "provider/provider.hpp"

namespace llmux::testing {

inline request::ParsedRequest parse(std::string_view body, request::Endpoint endpoint = request::Endpoint::kChatCompletions) {
  auto r = request::parse_request(body, endpoint);
  REQUIRE(r.ok());
  return std::move(r).value();
}

// A deployment of `provider` serving "served-model" in group "group".
inline DeploymentConfig deployment(std::string provider, std::string api_base = "", std::string api_key = "") {
  DeploymentConfig d;
  d.id = "dep-1";
  d.model_name = "group";
  d.provider = provider;
  d.model = provider + "/served-model";
  d.provider_model = "served-model";
  d.api_base = std::move(api_base);
  d.api_key = std::move(api_key);
  return d;
}

inline const provider::Provider& provider_named(std::string_view name) {
  const provider::Provider* p = provider::find_provider(name);
  REQUIRE(p != nullptr);
  return *p;
}

}  // namespace llmux::testing
