// -----------------------------------------------------------------------------
// File: router/call.hpp
// -----------------------------------------------------------------------------
// One user request: an explicit state machine with no thread of its own
// (DESIGN.md §2 step 3-8). It plans attempts — the primary group with its
// retries, then fallback groups —, runs each (attempt.hpp: filters, pick,
// deadlines, health verdicts), relays a stream (stream_relay.hpp), and either
// delivers or schedules the next attempt on a timer. Its options are resolved
// once (call_options.hpp). Every method runs on the router's loop thread.
// Exactly one final callback per call.
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

#include "request/request.hpp"
#include "llmux/router.hpp"
#include "router/attempt.hpp"
#include "router/call_options.hpp"
#include "router/deployment_pool.hpp"
#include "router/fallback_plan.hpp"
#include "router/fleet_sync.hpp"
#include "router/router_core.hpp"
#include "router/stream_relay.hpp"
#include "transport/event_loop.hpp"

namespace llmux::router {

class Call final : public transport::TransferObserver {
 public:
  // `settings`: the router's settings when the call was made, kept for the
  // call's whole life (a settings update does not reach calls in flight).
  Call(RouterCore& core, std::shared_ptr<const DeploymentPool> pool, std::shared_ptr<const RouterSettings> settings,
       uint64_t id, CallMode mode,
       request::ParsedRequest request, ChunkCallback on_chunk, DoneCallback on_done);
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
  bool on_body(std::string_view bytes) override;
  void on_complete(transport::TransferResult&& result) override;

 private:
  enum class State { kIdle, kPreparing, kInFlight, kWaiting, kWaitingForSlot, kDone };

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

  void begin_stage(Stage stage);
  void attempt();
  // The fleet's admission of the chosen deployment (shared state only).
  // `usable`: the candidates of every `order` tier (where else a held
  // probe's call can go).
  void ask_fleet(size_t candidates, size_t usable, TimePoint now);
  // The chosen deployment's attempt: credentials, then launch.
  void go(size_t candidates);
  // Client-side credentials: moves the attempt to the chosen deployment's
  // twin. False when the call cannot go on (it was failed or moved on).
  bool use_client_side_twin(TimePoint now);
  void launch(size_t candidates);
  void answer_locally(provider::LocalAnswer answer);
  void schedule_attempt(Duration wait);
  void wait_for_slot();
  void stop_waiting_for_slot();
  void cancel_timer();
  void attempt_failed(Error error, FailureInfo info);
  void handle_failure(Error error, const PoolEntry* entry, FailureInfo info);
  bool retry_in_group(const Error& error, const PoolEntry* entry, FailureInfo info);
  void next_stage_or_fail();
  bool has_alternative(size_t candidates_left);
  Duration remaining() const;
  void succeed(Response response);
  void fail(Error error);
  void finish(Result<Response> result);
  void fill_metadata(RouterMetadata& m);

  RouterCore& core_;
  std::shared_ptr<const DeploymentPool> pool_;
  const uint64_t id_;
  request::ParsedRequest request_;
  // The router's settings when the call was made: kept for its whole life.
  const std::shared_ptr<const RouterSettings> settings_;
  const CallOptions options_;  // points into request_ and settings_
  DoneCallback on_done_;

  State state_ = State::kIdle;
  int depth_ = 0;  // entry points on the stack
  bool cancel_requested_ = false;
  TimePoint started_{};
  TimePoint deadline_{};  // started_ + total_timeout
  transport::TimerId timer_ = 0;  // retry wait, slot wait, or the current attempt's first-token limit

  // Plan.
  Stage stage_;
  FallbackPlan plan_;
  int total_attempts_ = 0;
  const PoolEntry* last_failed_ = nullptr;
  std::vector<const PoolEntry*> excluded_;  // went silent: not used again by this call
  // An rpm reservation of this call found Redis too slow (redis_max_wait):
  // its later choices are local decisions, without asking again. The
  // reservation itself may still land in Redis (and is counted back).
  bool fleet_too_slow_ = false;
  // The reservation admit() made for the attempt being admitted; kept as
  // late_reservation_ when Redis did not answer in time, and given up at the
  // next choice or when the call ends (FleetSync::give_up): the attempts that
  // follow count themselves.
  std::shared_ptr<FleetSync::LateReservation> asked_reservation_;
  std::shared_ptr<FleetSync::LateReservation> late_reservation_;
  std::vector<AttemptRecord> attempt_log_;
  // Twins (client-side credentials) this call used: kept alive until it ends.
  std::vector<std::shared_ptr<const PoolEntry>> twins_;
  std::string waiting_group_;               // kWaitingForSlot: the slot_waiters key

  // The current attempt.
  Attempt attempt_;
  transport::TransferId transfer_ = 0;
  transport::HttpRequest http_;
  // Streaming: what the consumer sees, across attempts.
  StreamRelay relay_;
  int continuations_ = 0;
  // Expires with the call: a provider's late prepare() answer checks it.
  std::shared_ptr<Call*> self_ = std::make_shared<Call*>(this);
};

}  // namespace llmux::router
