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

// `json` with what varies between runs made constant, so translated answers
// compare byte for byte: "created":<digits> → "created":0, call_<28 hex> →
// call_X, chatcmpl-<32 hex> → chatcmpl-X. (No std::regex: GCC 12 warns
// inside it under sanitizers.)
inline std::string stable_ids(std::string json) {
  // Replaces `prefix` + a run of `length` characters accepted by `accept`
  // (length 0: any non-empty run) by `with`.
  auto replace = [&json](std::string_view prefix, size_t length, bool (*accept)(char), std::string_view with) {
    size_t at = json.find(prefix);
    while (at != std::string::npos) {
      size_t end = at + prefix.size();
      while (end < json.size() && accept(json[end])) ++end;
      const size_t run = end - at - prefix.size();
      if (run > 0 && (length == 0 || run == length)) {
        json.replace(at, end - at, with);
        at += with.size();
      } else {
        at += prefix.size();
      }
      at = json.find(prefix, at);
    }
  };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  replace("\"created\":", 0, +digit, "\"created\":0");
  replace("call_", 28, +hex, "call_X");
  replace("chatcmpl-", 32, +hex, "chatcmpl-X");
  return json;
}

}  // namespace llmux::testing
