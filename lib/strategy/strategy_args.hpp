// -----------------------------------------------------------------------------
// File: strategy/strategy_args.hpp
// -----------------------------------------------------------------------------
// Reads numeric `router_settings.routing_strategy_args` (JSON text) for the
// strategy factories. Unknown keys are ignored (LiteLLM passes the dict to a
// pydantic model that ignores extras); a known key with a wrong value is an
// kInvalidConfig error naming its path, e.g.
// "router_settings.routing_strategy_args.ttl must be a number > 0 (got -1)".
// Like pydantic's lax mode, a numeric string ("3600") is accepted.
#pragma once

#include <span>
#include <string_view>

#include "llmux/error.hpp"

namespace llmux::strategy {

struct NumberArg {
  std::string_view key;
  double* value;  // holds the default on entry; overwritten when the key is present
  double min = 0;
  bool min_exclusive = false;  // the value must be > min (else >= min)
  double max = 1e18;           // inclusive
  bool integer = false;
};

// Parses `args_json` (empty or "null" = no arguments; otherwise a JSON object)
// and fills every arg present. Leaves the values untouched on error.
Status parse_number_args(std::string_view args_json, std::span<const NumberArg> args);

}  // namespace llmux::strategy
