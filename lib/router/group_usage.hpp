// -----------------------------------------------------------------------------
// File: router/group_usage.hpp
// -----------------------------------------------------------------------------
// A model group's use in the current minute (LiteLLM's get_model_group_usage)
// and the x-ratelimit-* headers LiteLLM derives from it. Reads the same
// per-deployment minute counters as the rpm/tpm filters (fleet-wide with
// shared state). Any thread: the counters are atomic.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "llmux/router.hpp"
#include "router/deployment_pool.hpp"

namespace llmux::router {

class FleetSync;

// Sums over `group`'s deployments. `fleet` may be null.
ModelGroupUsage group_usage(const ModelGroup& group, TimePoint now, const FleetSync* fleet);

// LiteLLM's x-ratelimit-remaining-tokens/-requests and
// x-ratelimit-limit-tokens/-requests for the limits `usage` has (none when it
// has no limit).
std::vector<std::pair<std::string, std::string>> rate_limit_headers(const ModelGroupUsage& usage);

// On a success: fills `out` with the group's rate-limit headers, unless the
// group has no rpm/tpm limit or the provider sent x-ratelimit-remaining-*
// headers of its own (LiteLLM's set_response_headers). Cheap when the group
// has no limit (no counter is read).
void add_rate_limit_headers(const ModelGroup& group, const std::vector<std::pair<std::string, std::string>>& provider_headers,
                            const FleetSync* fleet, TimePoint now,
                            std::vector<std::pair<std::string, std::string>>& out);

}  // namespace llmux::router
