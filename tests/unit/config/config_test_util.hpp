// Helpers shared by the config tests.
#pragma once

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "llmux/config.hpp"

namespace llmux::config_test {

// An injected environment: only `vars` are set.
inline EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Whether some warning starts with `prefix`.
inline bool has_warning(const RouterConfig& config, std::string_view prefix) {
  for (const std::string& w : config.warnings) {
    if (std::string_view(w).substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// The config `text` parses to, with `env` as the environment; a parse error
// fails the test case with the error's message.
inline RouterConfig parse_ok(const std::string& text, const EnvLookup& env = env_of({})) {
  auto result = parse_config(text, env);
  if (!result.ok()) FAIL(result.error().message);
  return std::move(result).value();
}

}  // namespace llmux::config_test
