// -----------------------------------------------------------------------------
// File: router/attempt.hpp
// -----------------------------------------------------------------------------
// One attempt of a call: which deployment it goes to (the candidate filters,
// then the strategy's pick), its deadlines, its bookkeeping on the deployment
// (in-flight count, rpm window, strategy outcome, half-open probe) and the
// health verdict of a failure. The Call state machine (call.hpp) strings
// attempts together; everything here runs on the router's loop thread.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "request/request.hpp"
#include "llmux/error.hpp"
#include "llmux/strategy.hpp"
#include "router/call_options.hpp"
#include "router/candidate_filter.hpp"
#include "router/deployment_pool.hpp"
#include "router/router_core.hpp"
#include "router/stream_relay.hpp"
#include "transport/transfer.hpp"

namespace llmux::router {

// The model group a call is trying (the primary, then each fallback).
struct Stage {
  std::string group_name;
  const ModelGroup* group = nullptr;
  const PoolEntry* single = nullptr;  // group addressed by deployment id
  std::optional<std::vector<std::string>> wildcard_captures;
  int attempts = 0;
  int retries_allowed = 0;
  int retries_allowed_effective = -1;  // after deployment num_retries / retry policy; -1 = not decided yet

  static Stage from(std::string name, Resolution resolution);
  size_t size() const { return single ? 1 : (group ? group->members.size() : 0); }
};

// How an attempt failed, beyond its error.
struct FailureInfo {
  bool retryable = true;  // false: skip retries in this group (fallbacks may follow)
  bool silent = false;    // the deployment went silent: fail over, never retry in place
  bool health = true;     // the failure is the deployment's (cooldown rules apply)
};

// The deployment went silent: no connection, no first byte or token in time,
// or a stream that stalled (even after content). LiteLLM would retry it in
// place; llmux excludes it for the rest of the call and fails over at once.
bool silent_timeout(const transport::TransferResult& result);

// The deployment chosen for an attempt, or why there is none.
struct Selection {
  const PoolEntry* entry = nullptr;  // null: none
  size_t candidates = 0;             // left after the filters
  size_t later_tiers = 0;            // usable too, but dropped for a lower `order` tier
  bool wait_for_slot = false;        // none only because every one is at max_parallel_requests
  std::optional<Error> error;        // none for another reason
};

struct SelectionInput {
  const Stage* stage = nullptr;
  const request::ParsedRequest* request = nullptr;
  bool stream = false;
  std::span<const PoolEntry* const> excluded;  // went silent earlier in this call
  const PoolEntry* avoid = nullptr;            // failed just now: avoided when another is left
  TimePoint now{};
  const RouterSettings* settings = nullptr;  // the call's snapshot; null = the router's current
  // rpm/tpm limits on this replica's counts alone, as without Redis: the
  // call found Redis too slow to admit it (its fleet view may be behind).
  bool own_counts = false;
};
Selection select_deployment(RouterCore& core, const SelectionInput& in);

// One attempt in flight: the deployment, the adapter serving it and what it
// answered so far.
struct Attempt {
  const PoolEntry* entry = nullptr;
  const provider::Provider* provider = nullptr;  // the deployment's, or the mock
  std::string wildcard_model;                    // the provider model of a wildcard match; else empty
  Strategy* strategy = nullptr;                  // the strategy told of its start (kept alive by the router)
  bool probe = false;                            // its deployment's half-open probe
  bool open = false;                             // counted on the deployment, awaiting close()
  bool reserved = false;                         // its rpm was reserved in Redis (shared state)
  TimePoint started{};
  Duration first_token_limit = Duration::max();  // streaming: time to its first content token
  bool first_token_expired = false;              // that limit cancelled the transfer
  AnswerInfo answer;
};

// The deployment the attempt goes to, as its adapter sees it.
provider::ProviderTarget target_of(const Attempt& attempt);

// Counts the attempt on its deployment (in flight, rpm minute, strategy).
void open_attempt(RouterCore& core, Attempt& attempt, TimePoint now);
// Reports the outcome to the strategy and frees the deployment's slot (once).
void close_attempt(RouterCore& core, Attempt& attempt, bool success, std::optional<ErrorKind> error, bool stream,
                   TimePoint first_token_at);

// Sets `out`'s deadlines for an attempt on `deployment`: connect, the read
// limit, stream idle, the call's remaining time; returns the first-token
// limit the call enforces itself (streams; Duration::max() = none).
Duration apply_deadlines(const CallOptions& options, const DeploymentConfig& deployment, Duration remaining,
                         bool has_alternative, transport::HttpRequest& out);

// What a finished transfer means for its call.
struct Judgement {
  enum class Verdict { kServed, kFailed, kCancelled };
  Verdict verdict = Verdict::kServed;
  std::optional<Error> error;  // kFailed, kCancelled
  FailureInfo info;            // kFailed
};
// Judges the transfer of `attempt`: cancelled (by the caller, the consumer,
// or the loop), failed (an HTTP error, a transport failure, a first-token
// limit, a provider error event, a restart that diverged, a body that is not
// an answer) or served — then `attempt.answer` holds what it said (for a
// stream the relay has recorded it; a non-streaming body is translated to
// OpenAI's shape, when its provider's is another, and read here).
Judgement judge_transfer(Attempt& attempt, StreamRelay& relay, transport::TransferResult& result, bool stream,
                         const request::ParsedRequest& request, bool cancel_requested);

// Deployments of the stage that may still serve: not cooling down, not
// excluded, not failing their health check when `health_check_routing`. 0
// for a deployment addressed by id (LiteLLM reports none healthy).
size_t healthy_in_stage(const Stage& stage, std::span<const PoolEntry* const> excluded, TimePoint now,
                        bool health_check_routing);

// A served attempt: its deployment is healthy (a half-open probe closes the
// circuit), its tokens count in the tpm minute and its cost in the budgets.
// Returns whether it was the deployment's half-open probe (it recovered).
bool record_success(RouterCore& core, Attempt& attempt);

// The deployment part of a call's metadata: the current attempt's deployment
// (else the last that failed), the model that served, and — only for the
// attempt that served — its cost.
void describe_attempt(const Attempt& attempt, const PoolEntry* last_failed, RouterMetadata& m);

// The verdict on a failed attempt on `entry`: the error names the provider
// and never the key; when the failure is the deployment's (`health`) the
// cooldown rules apply, else a half-open probe is released without a
// verdict. Returns the cooldown length when the deployment was cooled down.
std::optional<double> judge_failure(RouterCore& core, Attempt& attempt, const PoolEntry& entry, Error& error,
                                    size_t group_size, std::optional<double> request_cooldown_seconds, bool health);

}  // namespace llmux::router
