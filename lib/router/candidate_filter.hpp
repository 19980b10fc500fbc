// -----------------------------------------------------------------------------
// File: router/candidate_filter.hpp
// -----------------------------------------------------------------------------
// The candidate filters that run before the strategy (DESIGN.md §2 step 4,
// reference §4.0 and §7), in LiteLLM's order: cooldown (with half-open
// probes) → failed health check (enable_health_check_routing) → budgets → pre-call checks (context window, region) → rpm/tpm
// headroom → `order` tier → tags → max_parallel_requests. Each filter removes
// candidates in place and counts why, so that an empty result turns into an
// error that says why (all cooling down and when the first recovers, over rate
// limit, over budget, no context window large enough, tags).
//
// Runs on the router's I/O thread; reads only atomics and thread-safe trackers.
// No allocation in steady state (the candidate vector is the caller's scratch).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "health/budget_tracker.hpp"
#include "request/request.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "router/deployment_pool.hpp"

namespace llmux::router {

class FleetSync;

struct FilterInput {
  TimePoint now{};  // the router's clock (cooldowns, minute windows, budgets)
  const RouterSettings* settings = nullptr;
  const request::ParsedRequest* request = nullptr;
  std::string_view group_name;
  bool enforce_rate_limits = false;               // strategy asks for it, or enable_pre_call_checks
  const health::BudgetTracker* budgets = nullptr;  // null: no budgets configured
  const FleetSync* fleet = nullptr;                // null: no shared state (rpm/tpm are this replica's)
  // Deployments this call must not use again (they timed out before answering).
  std::span<const PoolEntry* const> excluded;
  // The deployment that just failed: avoided when another candidate is left.
  const PoolEntry* avoid = nullptr;
  // A deployment addressed by id: LiteLLM skips cooldown, pre-call checks,
  // tags and budgets; only the concurrency cap applies.
  bool addressed_by_id = false;
};

// Why candidates were removed (counts), for the "nothing left" error.
struct FilterReport {
  size_t considered = 0;
  size_t cooling_down = 0;     // open circuit, or half-open with its probe in flight
  double soonest_recovery_seconds = -1;
  // Latest health check failed (enable_health_check_routing), not stale.
  size_t failed_health_check = 0;
  double soonest_health_check_seconds = -1;  // until the next check, or the failure goes stale
  const PoolEntry* first_failed_health_check = nullptr;
  size_t excluded = 0;         // timed out earlier in this call
  size_t over_budget = 0;
  std::string budget_reason;   // first over-budget reason
  size_t context_too_small = 0;
  int64_t largest_context = -1;
  size_t wrong_region = 0;
  size_t over_rate_limit = 0;
  size_t not_in_tier = 0;      // dropped by `order` (never the only reason for empty)
  size_t tag_mismatch = 0;
  size_t at_max_parallel = 0;  // all slots taken: the call may wait

  void clear() { *this = FilterReport{}; }
  // Nothing left only because every remaining candidate is at its
  // max_parallel_requests: the call should wait for a slot.
  bool only_busy(size_t left) const { return left == 0 && at_max_parallel > 0; }
};

// Filters `candidates` (the group's members) in place.
void filter_candidates(const FilterInput& in, std::vector<const PoolEntry*>& candidates, FilterReport& report);

// Where the candidates of one decision live: the group's own arrays when no
// rule removed anyone (nothing copied), else the caller's scratch vectors.
// Valid until the next filter call with the same scratch, or until the group
// goes away.
struct Candidates {
  std::span<const PoolEntry* const> entries;
  std::span<const Deployment* const> deployments;  // entries[i]->deployment, index for index
  // Their slots in the group's columns, index for index (table null: none).
  CandidateColumns columns;
  size_t size() const { return entries.size(); }
  bool empty() const { return entries.empty(); }
};

// The caller's scratch space for filter_group (kept from decision to
// decision: no allocation in steady state).
struct FilterScratch {
  std::vector<const PoolEntry*> entries;
  std::vector<const Deployment*> deployments;
  std::vector<uint32_t> slots;  // column slots, for Candidates::columns
};

// filter_candidates over a group's members, with the same result and report,
// reading the group's flat arrays (ModelGroup::deployments, health): a rule
// no member configures costs one flag test, and with no circuit tripped in
// the group (its TripCounter at 0) the members' circuit words are not read.
// `in.addressed_by_id` must be false.
Candidates filter_group(const FilterInput& in, const ModelGroup& group, FilterScratch& scratch, FilterReport& report);

// Whether `e` is half-open and would be this call's probe.
bool is_probe_candidate(const PoolEntry& e, TimePoint now);

// The error for an empty candidate list: the kind and LiteLLM's message for
// the reason, with every reason counted.
Error no_candidates_error(const FilterInput& in, const FilterReport& report);

}  // namespace llmux::router
