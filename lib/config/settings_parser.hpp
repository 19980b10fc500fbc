// -----------------------------------------------------------------------------
// File: config/settings_parser.hpp
// -----------------------------------------------------------------------------
// router_settings, the routing subset of litellm_settings and the health-check
// keys of general_settings → RouterSettings, validated (type and range) key
// by key. Keys of other LiteLLM features are accepted with a warning; unknown
// keys get a warning with a did-you-mean. router_settings wins over
// litellm_settings, which wins over general_settings, when several set a key
// (apply general_settings, then litellm_settings, then router_settings). One
// builder per parse, single-threaded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_value.hpp"
#include "config/value_reader.hpp"
#include "llmux/config.hpp"

namespace llmux::config {

class SettingsBuilder {
 public:
  // `section` is the general_settings section as written (any kind): its
  // health-check keys are read (os.environ/ resolved in them only), every
  // other key gets a warning naming it, never its value.
  Status apply_general_settings(Value& section, ParseContext& ctx);
  // `section` is the (os.environ-resolved) litellm_settings map or null.
  Status apply_litellm_settings(const Value& section, ParseContext& ctx);
  // `section` is the (os.environ-resolved) router_settings map or null.
  Status apply_router_settings(const Value& section, ParseContext& ctx);
  // Final settings: default_fallbacks appended as the "*" rule.
  RouterSettings finish() &&;

  // Mutable state the per-key handlers write.
  struct State {
    RouterSettings settings;
    std::optional<std::vector<std::string>> default_fallbacks;
    int routing_strategy_line = 0;
  };

  // Where routing_strategy was set (0 = not set or unknown).
  int routing_strategy_line() const { return state_.routing_strategy_line; }

 private:
  State state_;
};

}  // namespace llmux::config
