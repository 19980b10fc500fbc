// -----------------------------------------------------------------------------
// File: router/router_core.hpp
// -----------------------------------------------------------------------------
// What every call of one router shares: settings, the loop, the trackers, the
// strategy, randomness, the event sink, and scratch space for routing
// decisions. Owned by Router::Impl; used on the loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "health/budget_tracker.hpp"
#include "health/cooldown_tracker.hpp"
#include "llmux/router.hpp"
#include "llmux/strategy.hpp"
#include "router/candidate_filter.hpp"
#include "router/client_side_deployments.hpp"
#include "router/deployment_pool.hpp"
#include "transport/event_loop.hpp"

namespace llmux::router {

class Call;
class FleetSync;

struct RouterCore {
  // The router's settings now: update_settings swaps in a new snapshot; a
  // call keeps the one it started with.
  std::shared_ptr<const RouterSettings> settings;
  transport::EventLoop* loop = nullptr;  // the one loop and clock of every call
  health::CooldownTracker* cooldowns = nullptr;
  health::BudgetTracker* budgets = nullptr;  // null when no budget is configured
  FleetSync* fleet = nullptr;                // null without Redis: no shared state
  Strategy* strategy = nullptr;
  Random* rng = nullptr;
  EventCallback on_event;  // may be empty
  // Called when a call has delivered its final callback. The call deletes
  // itself right after, once its own stack has unwound.
  std::function<void(uint64_t call_id)> on_call_finished;
  // Scratch space for one routing decision. Only the loop thread routes, one
  // decision at a time, so every call shares it: no allocation per call.
  FilterScratch scratch;
  FilterReport scratch_report;
  // Twins of deployments for calls with client-side credentials.
  ClientSideDeployments client_side;
  // Calls waiting for a max_parallel_requests slot, per model group, FIFO.
  absl::flat_hash_map<std::string, std::deque<Call*>> slot_waiters;

  void emit(const RouterEvent& event) const;
  // A routing event of a call (retry, fallback, cooldown, recovered): `seconds`
  // is the cooldown length or the retry wait.
  void emit(RouterEventType type, uint64_t call_id, std::string_view group, const PoolEntry* entry,
            const Error* error = nullptr, double seconds = 0, std::string_view fallback_group = {}) const;
  // The one final event of a call (success or failure).
  void emit_outcome(uint64_t call_id, std::string_view group, const PoolEntry* entry,
                    const Result<Response>& result) const;

  // Calls waiting for a max_parallel_requests slot of `group`.
  void add_slot_waiter(const std::string& group, Call* call);
  void remove_slot_waiter(const std::string& group, Call* call);
  // An attempt on a deployment of `group` ended: the first waiter of that
  // group (if any) tries again.
  void wake_slot_waiter(const std::string& group);
};

}  // namespace llmux::router
