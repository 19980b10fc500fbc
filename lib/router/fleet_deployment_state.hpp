// -----------------------------------------------------------------------------
// File: router/fleet_deployment_state.hpp
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "llmux/clock.hpp"
#include "state/fleet_minute_count.hpp"

namespace llmux::router {

// Usage this replica counted and has not written to Redis yet (FleetSync
// sums a burst of attempts into one increment per key), with the keys of its
// minute built once. Touched only on the router's loop thread.
struct FleetUsageBuffer {
  int64_t minute = -1;  // UTC minute the sums and keys belong to; -1: none yet
  std::string model;    // litellm_params.model the keys were built with
  std::string rpm_usage_key;   // {id}:{model}:rpm:{minute} (usage-based-routing-v2)
  std::string rpm_global_key;  // global_router:{id}:{model}:rpm:{minute}
  std::string tpm_global_key;  // global_router:{id}:{model}:tpm:{minute}
  std::string tpm_usage_key;   // {id}:{model}:tpm:{minute}
  int64_t attempts = 0;        // → rpm_usage_key (and FleetDeploymentState::requests, pending)
  int64_t finished = 0;        // successes and failures → rpm_global_key
  int64_t tokens = 0;          // → both tpm keys (and FleetDeploymentState::tokens, pending)
  int64_t counted = 0;         // attempts and completions summed since the last write
  int64_t write_after = 1;     // written as soon as `counted` reaches this,
  int64_t write_after_tokens = 0;  // or `tokens` this
  bool queued = false;         // on FleetSync's list of buffers to write
  bool empty() const { return attempts == 0 && finished == 0 && tokens == 0; }
};

// What this replica last wrote of a deployment's load (router/fleet_load.hpp).
// Touched only on the router's loop thread.
struct FleetLoadState {
  int64_t written_in_flight = 0;  // the count in this replica's field (0: no field)
  bool queued = false;            // on FleetLoad's list of counts to write
  bool latency_written = false;   // this replica's latency field exists
  uint64_t latency_outcomes = 0;  // the strategy's outcome count when it was written
  TimePoint latency_written_at{};
  std::string in_flight_key;  // built on first use
  std::string latency_key;
};

// What a deployment shares with the fleet, kept across pool snapshots with
// the deployment (PoolEntry::fleet). The counts are lock-free (read by any
// thread, updated by the loop and the Redis link); `usage` is the loop's.
struct FleetDeploymentState {
  state::FleetMinuteCount requests;  // attempts started this UTC minute, fleet-wide
  state::FleetMinuteCount tokens;    // tokens of successful attempts this UTC minute, fleet-wide
  // Bumped whenever this replica learns news of the deployment's circuit, so
  // that a stale "release the hold" timer does nothing.
  std::atomic<uint64_t> news{0};
  FleetUsageBuffer usage;  // loop thread only
  FleetLoadState load;     // loop thread only
};

}  // namespace llmux::router
