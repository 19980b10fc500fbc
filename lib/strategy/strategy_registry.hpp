// -----------------------------------------------------------------------------
// File: strategy/strategy_registry.hpp
// -----------------------------------------------------------------------------
// What the router asks the process-wide strategy registry (llmux/strategy.hpp
// holds register_strategy / make_strategy) when it checks a config's
// routing_strategy: the registry is the one list of strategy names, built-in
// and registered by the program alike. Thread-safe.
#pragma once

#include <string_view>

#include "llmux/error.hpp"

namespace llmux::strategy {

// Whether a strategy is registered under `name`.
bool is_registered(std::string_view name);

// kInvalidConfig "router_settings.routing_strategy: '<name>' is not one of
// simple-shuffle, least-busy, ..." listing every registered name: the
// built-ins in LiteLLM's order, then the program's own in registration order.
Error unknown_strategy_error(std::string_view name);

}  // namespace llmux::strategy
