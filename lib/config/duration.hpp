// -----------------------------------------------------------------------------
// File: config/duration.hpp
// -----------------------------------------------------------------------------
// LiteLLM's budget durations ("30s", "10m", "1h", "1d", "2w", "1mo"), as
// budget_duration and provider_budget_config.time_period use them
// (litellm_core_utils/duration_parser.py:duration_in_seconds). Stateless.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace llmux::config {

// Seconds in `duration`, or nullopt when it is not <digits><unit> with unit
// one of s, m, h, d, w, mo. A month counts as 30 days (LiteLLM uses the
// calendar; budgets only need the window length).
std::optional<int64_t> parse_duration_seconds(std::string_view duration);

}  // namespace llmux::config
