// -----------------------------------------------------------------------------
// File: router/fleet_deployment_state.hpp
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cstdint>

#include "state/fleet_minute_count.hpp"

namespace llmux::router {

// What a deployment shares with the fleet, kept across pool snapshots with
// the deployment (PoolEntry::fleet). Lock-free.
struct FleetDeploymentState {
  state::FleetMinuteCount requests;  // attempts started this UTC minute, fleet-wide
  state::FleetMinuteCount tokens;    // tokens of successful attempts this UTC minute, fleet-wide
  // Bumped whenever this replica learns news of the deployment's circuit, so
  // that a stale "release the hold" timer does nothing.
  std::atomic<uint64_t> news{0};
};

}  // namespace llmux::router
