// -----------------------------------------------------------------------------
// File: router/call.hpp
// -----------------------------------------------------------------------------
// One user request: an explicit state machine with no thread of its own
// (DESIGN.md §2 step 3-8). It plans attempts — the primary group with its
// retries, then fallback groups —, picks a deployment per attempt, hands the
// HTTP request to the transport, classifies the outcome, records health, and
// either delivers or schedules the next attempt on a timer. Every method runs
// on the router's I/O thread. Exactly one final callback per call.
//
// Ownership: a Call owns itself. It is created with new, and deletes itself
// when the outermost of its entry points (start, cancel, a transfer event, a
// timer) returns after the call has finished — no extra loop turn to clean
// up, and never while one of its frames is still on the stack.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <deque>

#include "absl/container/flat_hash_map.h"
#include "health/budget_tracker.hpp"
#include "health/retry_policy.hpp"
#include "json/request.hpp"
#include "llmux/router.hpp"
#include "llmux/strategy.hpp"
#include "router/candidate_filter.hpp"
#include "router/deployment_pool.hpp"
#include "router/stream_continuation.hpp"
#include "transport/event_loop.hpp"
#include "transport/sse_parser.hpp"

namespace llmux::router {

class Call;

// What every call of one router shares. Owned by Router::Impl.
struct RouterCore {
  RouterSettings settings;
  transport::EventLoop* loop = nullptr;  // the one loop and clock of every call
  health::CooldownTracker* cooldowns = nullptr;
  health::BudgetTracker* budgets = nullptr;  // null when no budget is configured
  Strategy* strategy = nullptr;
  Random* rng = nullptr;            // I/O thread only
  EventCallback on_event;           // may be empty
  // Called (on the I/O thread) when a call has delivered its final callback.
  // The call deletes itself right after, once its own stack has unwound.
  std::function<void(uint64_t call_id)> on_call_finished;
  // Scratch space for one routing decision. Only the I/O thread routes, one
  // decision at a time, so every call shares it: no allocation per call.
  std::vector<const Deployment*> scratch_candidates;
  std::vector<const PoolEntry*> scratch_entries;
  FilterReport scratch_report;
  // Calls waiting for a max_parallel_requests slot, per model group, FIFO.
  absl::flat_hash_map<std::string, std::deque<Call*>> slot_waiters;

  void emit(const RouterEvent& event) const;
  // An attempt on a deployment of `group` ended: the first waiter of that
  // group (if any) tries again.
  void wake_slot_waiter(const std::string& group);
};

enum class CallMode { kCompletion, kStream, kEmbedding };

class Call final : public transport::TransferObserver {
 public:
  Call(RouterCore& core, std::shared_ptr<const DeploymentPool> pool, uint64_t id, CallMode mode,
       json::ParsedRequest request, ChunkCallback on_chunk, DoneCallback on_done);
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  void start();
  // Ends the call with kCancelled (after its transfer, if any, reports back).
  void cancel();
  // A max_parallel_requests slot may be free: try again (from RouterCore).
  void wake();
  bool finished() const { return state_ == State::kDone; }
  uint64_t id() const { return id_; }

  // TransferObserver
  void on_headers(int status, const transport::Headers& headers) override;
  bool on_body(std::string_view bytes) override;
  void on_complete(transport::TransferResult&& result) override;

 private:
  enum class State { kIdle, kInFlight, kWaiting, kWaitingForSlot, kDone };

  // How an attempt failed, beyond its error.
  struct FailureInfo {
    bool retryable = true;       // false: skip retries in this group (fallbacks may follow)
    bool silent = false;         // timed out before any response byte: fail over, never retry in place
    bool health = true;          // the failure is the deployment's (cooldown rules apply)
  };

  // Marks one entry point on the stack; the last one out deletes a finished call.
  class EntryGuard {
   public:
    explicit EntryGuard(Call* call) : call_(call) { ++call_->depth_; }
    ~EntryGuard() {
      if (--call_->depth_ == 0 && call_->state_ == State::kDone) delete call_;
    }
    EntryGuard(const EntryGuard&) = delete;
    EntryGuard& operator=(const EntryGuard&) = delete;

   private:
    Call* call_;
  };
  ~Call() override;  // only through EntryGuard

  struct Stage {
    std::string group_name;
    const ModelGroup* group = nullptr;
    const PoolEntry* single = nullptr;  // group addressed by deployment id
    std::optional<std::vector<std::string>> wildcard_captures;
    int attempts = 0;
    int retries_allowed = 0;
    int retries_allowed_effective = -1;  // after deployment num_retries / retry policy; -1 = not decided yet
    bool retries_from_deployment = false;
  };

  void begin_stage(Stage stage);
  void attempt();
  void wait_for_slot();
  void stop_waiting_for_slot();
  void serve_mock(const PoolEntry& entry, const std::string& mock);
  void handle_failure(Error error, const PoolEntry* entry, FailureInfo info);
  void close_attempt(const PoolEntry& entry, bool success, std::optional<ErrorKind> error);
  bool has_alternative(size_t candidates_left) const;
  void next_stage_or_fail();
  health::FallbackInputs fallback_inputs() const;
  bool content_filter_fallback_exists() const;
  Duration remaining() const;
  void emit(RouterEventType type, const Error* error = nullptr, const PoolEntry* entry = nullptr,
            double seconds = 0, std::string_view fallback_group = {});
  void succeed(Response response);
  void fail(Error error);
  void finish(Result<Response> result);
  void fill_metadata(RouterMetadata& m);
  bool process_event(std::string_view data);
  bool flush_pending_chunks();
  bool deliver_chunk(std::string_view chunk);
  size_t healthy_in_stage(TimePoint now) const;
  Duration attempt_timeout() const;
  void reset_attempt_state();

  RouterCore& core_;
  std::shared_ptr<const DeploymentPool> pool_;
  const uint64_t id_;
  const CallMode mode_;
  json::ParsedRequest request_;
  ChunkCallback on_chunk_;
  DoneCallback on_done_;

  State state_ = State::kIdle;
  int depth_ = 0;  // entry points on the stack
  bool cancel_requested_ = false;
  TimePoint started_{};
  TimePoint deadline_{};  // started_ + total_timeout

  // Plan.
  Stage stage_;
  bool in_fallbacks_ = false;
  std::vector<std::string> fallback_queue_;
  size_t next_fallback_ = 0;
  int fallbacks_entered_ = 0;
  mutable std::optional<bool> timeout_fallback_exists_;  // has_alternative()'s cache (primary group only)
  std::optional<Error> primary_error_;
  std::vector<std::string> fallback_errors_;
  int total_attempts_ = 0;
  const PoolEntry* last_failed_ = nullptr;
  std::vector<const PoolEntry*> excluded_;  // timed out before answering: not used again by this call
  std::vector<AttemptRecord> attempt_log_;
  std::string waiting_group_;               // kWaitingForSlot: the slot_waiters key

  // Current attempt.
  const PoolEntry* current_ = nullptr;
  transport::TransferId transfer_ = 0;
  transport::TimerId timer_ = 0;
  transport::HttpRequest http_;
  TimePoint attempt_started_{};
  bool attempt_open_ = false;  // the strategy saw on_attempt_start and awaits on_attempt_end
  bool probe_ = false;         // this attempt is its deployment's half-open probe
  Duration first_token_limit_ = Duration::max();  // streaming: time to this attempt's first content token
  bool attempt_has_content_ = false;              // this attempt produced a content token
  bool first_token_expired_ = false;              // the first-token timer cancelled the transfer
  std::string served_model_;

  // Streaming state of the current attempt.
  transport::SseParser sse_;
  // Held back until the first content token, with what they carry.
  std::vector<std::pair<std::string, provider::ChunkInfo>> pending_chunks_;
  bool content_delivered_ = false;
  bool saw_done_ = false;
  bool user_stopped_ = false;
  std::optional<Error> stream_error_;
  Usage usage_;
  std::string finish_reason_;
  int malformed_events_ = 0;
  TimePoint first_token_at_{};
  // After content was delivered, a failed stream goes on elsewhere.
  StreamContinuation continuation_;
  bool continuing_ = false;    // the current attempt continues a delivered stream
  bool diverged_ = false;      // a restarted stream did not repeat what was delivered
  int continuations_ = 0;
};

}  // namespace llmux::router
