// -----------------------------------------------------------------------------
// File: config/settings_parser.hpp
// -----------------------------------------------------------------------------
// router_settings and the routing subset of litellm_settings → RouterSettings,
// validated (type and range) key by key. Keys of other LiteLLM features are
// accepted with a warning; unknown keys get a warning with a did-you-mean.
// router_settings wins over litellm_settings when both set a key (apply
// litellm_settings first). One builder per parse, single-threaded.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_value.hpp"
#include "config/value_reader.hpp"
#include "llmux/config.hpp"

namespace llmux::config {

class SettingsBuilder {
 public:
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
  };

 private:
  State state_;
};

// The routing strategies routing_strategy accepts, in LiteLLM's order
// (power-of-two-choices is llmux's own).
std::span<const std::string_view> routing_strategy_names();

}  // namespace llmux::config
