// -----------------------------------------------------------------------------
// File: router/fleet_sync.hpp
// -----------------------------------------------------------------------------
// How one router agrees with the rest of its fleet through Redis (other llmux
// replicas, and LiteLLM workers on the same keys). Present only when Redis is
// configured.
//
// What travels, and how:
// - cooldowns: a cooldown this replica opens is written where LiteLLM keeps it
//   (deployment:{id}:cooldown, LiteLLM's JSON, expiring with the cooldown) and
//   announced on llmux's pub/sub channel, so other replicas obey it within
//   milliseconds; cooldown keys are also re-read every sync interval (LiteLLM
//   workers announce nothing) and after Redis comes back;
// - recovery: when a cooldown expires, exactly one replica of the fleet probes
//   the deployment — the one whose probe call wins the lease
//   (SET llmux:probe:{id} NX PX); the others hold the deployment until the
//   probe's verdict is announced (recovered, or a new cooldown) or the lease
//   runs out;
// - rpm: each attempt counts in the usage key {id}:{model}:rpm:{minute}; a
//   deployment near its fleet-wide rpm limit is admitted by one atomic Lua
//   reservation (count and check in Redis), so an `rpm: N` limit admits N a
//   minute across the fleet; far from the limit the count is pipelined and
//   not waited for (summed over a few calls: a burst of calls is one
//   increment per key). LiteLLM's global_router:{id}:{model}:rpm|tpm:{minute} keys
//   are kept as LiteLLM keeps them (its response headers and dashboards read
//   them), and the tpm one feeds the fleet tpm filter;
// - budget spend: provider budgets and deployment budgets with a duration are
//   spent once across the fleet, in LiteLLM's keys
//   (provider_spend:{provider}:{duration}, deployment_spend:{id}:{duration},
//   and the window's start in provider_budget_start_time:{provider} /
//   deployment_budget_start_time:{id}, a JSON float of epoch seconds). Each
//   spend is one atomic Lua script: the first spend of a window SETs both
//   keys with the window as expiry, later ones INCRBYFLOAT the spend and
//   re-arm its expiry to the seconds left, as LiteLLM does; the answer is the
//   fleet's total, which the budget filter uses. Every sync interval all
//   configured spend keys are read (one MGET). Spend recorded while Redis is
//   unreachable is kept and pushed once when it returns; a push whose answer
//   was lost is never re-sent (it may have been applied). When Redis comes
//   back empty, the windows this replica knew are written back first (the
//   larger total wins). A read never hides spend Redis has not counted yet
//   (what is in flight or unsent is added to the total read), so LiteLLM's
//   read-before-push race (#20886) cannot happen here;
// - the allowed-fails count: when LiteLLM's allowed_fails rule is in force,
//   every failure it counts is also counted in
//   deployment:{id}:allowed_fails (INCRBYFLOAT, expiring after cooldown_time
//   from the first failure, as LiteLLM 1.110 keeps it); an answer above the
//   allowance cools the deployment here and, through the cooldown above,
//   everywhere: N replicas seeing one failure each trip it together. The
//   local count goes on as before, so the rule holds with Redis down;
// - load, for the strategies that read it: least-busy's in-flight counts and
//   latency-based routing's latency windows (router/fleet_load.hpp).
//
// The hot path never waits for Redis: routing reads atomics that replies and
// refreshes keep fresh; the only waits are the admission round trips above,
// each bounded by redis_max_wait, after which the call goes on with its local
// decision (fail open). Redis down, slow, refusing or restarted: every call
// still routes on local state, the link's breaker keeps reconnects rare, an
// event and a metric say so, and state is re-published when Redis returns.
//
// Threading: the public methods run on the router's loop thread (the calls'
// thread). The Redis link answers on its own thread; FleetSync only touches
// atomics and the budget tracker (thread-safe) there and posts everything
// else to the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/notification.hpp"
#include "health/budget_tracker.hpp"
#include "health/cooldown_tracker.hpp"
#include "llmux/config.hpp"
#include "llmux/router.hpp"
#include "router/deployment_pool.hpp"
#include "router/fleet_load.hpp"
#include "state/litellm_keys.hpp"
#include "state/redis_link.hpp"
#include "state/redis_settings.hpp"
#include "transport/event_loop.hpp"

namespace llmux::router {

struct RouterCore;
class FleetHealthChecks;

class FleetSync final : public state::RedisLinkObserver {
 public:
  using PoolSource = std::function<std::shared_ptr<const DeploymentPool>()>;

  // `core` and `pool` must outlive it. start() connects; nothing happens
  // before.
  FleetSync(RouterCore& core, state::SharedStateSettings settings, PoolSource pool);
  ~FleetSync() override;
  FleetSync(const FleetSync&) = delete;
  FleetSync& operator=(const FleetSync&) = delete;

  // Shares `budgets`' windowed budgets with the fleet (it must outlive this
  // object). Before start().
  void share_budgets(health::BudgetTracker* budgets);
  // Starts the Redis link and (on the loop) the refresh timer. Once, from any
  // thread (the router calls it while it is being built).
  void start();
  // Winds down what lives on the loop: no task of FleetSync's runs after it
  // (timers cancelled, tasks the link posts become no-ops) and usage not yet
  // written is queued on the link. Loop thread (idempotent).
  void quiesce();
  // Stops the link (no callbacks after it returns), after quiesce() — which
  // it calls itself when it was not: then on the loop thread, or after the
  // loop stopped. A router stops its fleet from another thread while the loop
  // still runs (the link's thread posts to the loop), so it quiesces on the
  // loop first.
  void stop();

  // --- Wall clock (UTC), derived from the router's clock ---
  std::chrono::system_clock::time_point wall(TimePoint now) const;
  int64_t utc_minute(TimePoint now) const;

  // --- Admission: before an attempt goes out (loop thread) ---
  enum class Verdict {
    kAdmitted,    // go (rpm reserved in Redis, probe lease won)
    kRateLimited, // the fleet used this minute's rpm: choose again
    kProbeTaken,  // another replica probes this deployment: choose again
    kFailOpen,    // Redis did not answer in time, or is down: go on the local decision
  };
  // Whether the attempt must ask Redis first: a probe (the fleet-wide lease),
  // or a deployment whose rpm limit is near its fleet-wide count.
  bool needs_admission(const PoolEntry& e, bool probe, TimePoint now) const;
  // An rpm reservation that admit() stopped waiting for (kFailOpen): Redis may
  // still count it. Its call goes on with its local decision, and an attempt
  // it makes counts itself like any unreserved one; so the call gives the
  // reservation up (at its next choice, or when it ends), and one that Redis
  // admitted, before or after, is counted back: the fleet never counts a
  // request that did not go, nor one twice. Loop thread only.
  struct LateReservation {
    std::string usage_key;  // the minute key it counts in
    bool answered = false;
    bool admitted = false;  // Redis counted it
    bool given_up = false;
  };
  // Asks; `done` runs on the loop thread exactly once, at the latest
  // redis_max_wait later. `lease` bounds the probe lease (the call's time).
  // Returns the reservation an rpm admission makes (null for a probe), for the
  // call to give_up() should `done` say kFailOpen.
  std::shared_ptr<LateReservation> admit(const PoolEntry& e, bool probe, Duration lease, TimePoint now,
                                         std::function<void(Verdict)> done);
  // The call no longer waits for `reservation` (null: nothing); idempotent.
  void give_up(const std::shared_ptr<LateReservation>& reservation);

  // --- Bookkeeping of attempts (loop thread, never waiting) ---
  // An attempt went out; `reserved` when admit() already counted it in Redis.
  void on_attempt_start(const PoolEntry& e, bool reserved, TimePoint now);
  void on_attempt_success(const PoolEntry& e, int64_t total_tokens, bool usage_reported, TimePoint now);
  void on_attempt_failure(const PoolEntry& e, TimePoint now);
  // Spend was recorded in the budget tracker: push it to the fleet.
  void on_spend(TimePoint now);
  // A failure LiteLLM's allowed-fails rule counts (not a probe's), with the
  // allowance CooldownTracker::fleet_allowed_fails gave: count it fleet-wide.
  void on_counted_failure(const PoolEntry& e, const health::FailureEvent& event, int allowed);
  // This replica opened (or re-opened, `after_probe`: its probe failed) the
  // deployment's circuit / saw its probe succeed. Both end the probe lease.
  void on_cooldown(const PoolEntry& e, TimePoint now, bool after_probe);
  void on_recovered(const PoolEntry& e);
  // admit() said kProbeTaken: the deployment is held (excluded) here until
  // the probing replica's verdict arrives, for `lease` at most (re-asked
  // every second).
  void on_probe_taken(const PoolEntry& e, Duration lease);

  // The fleet-wide counts the rate filter compares with the limits.
  int64_t fleet_requests(const PoolEntry& e, TimePoint now) const;
  int64_t fleet_tokens(const PoolEntry& e, TimePoint now) const;

  bool up() const { return link_up_.load(std::memory_order_relaxed); }
  const std::string& replica_id() const { return replica_id_; }
  const state::SharedKeys& keys() const { return keys_; }
  // The link (after start(); until stop()).
  state::RedisLink* link() const { return link_.get(); }
  // Health-check results travel through `checks` (fleet_health_checks.hpp):
  // it hears the channel's messages and the refresh, and winds down with
  // quiesce(). Loop thread; it must outlive this object's quiesce().
  void share_health_checks(FleetHealthChecks* checks) { health_checks_ = checks; }
  state::RedisLinkStats link_stats() const;

  // state::RedisLinkObserver (the link thread).
  void on_link_up() override;
  void on_link_down(std::string_view reason) override;
  void on_message(std::string_view channel, std::string_view payload) override;

 private:
  struct Cooldown;  // a decoded cooldown announcement or key value
  void refresh(bool resync);
  void schedule_refresh();
  void apply_cooldown_value(const PoolEntry& e, std::string_view value, TimePoint now);
  void apply_announcement(std::string_view payload);
  void publish_cooldown(const PoolEntry& e, TimePoint now, bool announce);
  bool rpm_near_limit(const PoolEntry& e, TimePoint now) const;
  // Budgets: the keys of one, pushes, the periodic read, and re-seeding a
  // Redis that lost them.
  std::string spend_key(const health::BudgetTracker::SharedBudget& b) const;
  std::string start_key(const health::BudgetTracker::SharedBudget& b) const;
  void push_spend(TimePoint now);
  void read_budgets(const DeploymentPool& pool);
  void restore_budgets(TimePoint now);
  double wall_seconds(TimePoint t) const;
  TimePoint from_wall_seconds(double seconds, TimePoint now) const;
  std::string minute_tag(TimePoint now) const;
  const PoolEntry* find(const DeploymentPool& pool, std::string_view id) const;
  // Usage writes: summed per deployment on the loop thread (keys built once
  // a minute), written after a few counts or a short while (fleet_sync.cpp).
  FleetUsageBuffer& usage_buffer(const PoolEntry& e, int64_t minute);
  void usage_counted(const std::shared_ptr<FleetDeploymentState>& fleet);
  void flush_usage();
  void write_usage(const std::shared_ptr<FleetDeploymentState>& fleet);
  void release(const LateReservation& reservation);

  RouterCore& core_;
  state::SharedStateSettings settings_;
  state::SharedKeys keys_;
  PoolSource pool_;
  std::string replica_id_;
  std::string channel_;
  // Wall clock = wall_anchor_ + (router clock - steady_anchor_): one clock,
  // so virtual-time tests move UTC minutes too.
  std::chrono::system_clock::time_point wall_anchor_;
  TimePoint steady_anchor_;
  health::BudgetTracker* budgets_ = nullptr;  // shared when set
  FleetHealthChecks* health_checks_ = nullptr;  // loop thread
  std::unique_ptr<state::RedisLink> link_;
  std::unique_ptr<FleetLoad> load_;  // null unless the strategy reads fleet load
  Notification link_started_;  // link_ is assigned (start() ran)
  std::atomic<bool> link_up_{false};
  transport::TimerId refresh_timer_ = 0;
  // Deployments with usage summed and not written yet (loop thread).
  std::vector<std::shared_ptr<FleetDeploymentState>> usage_queue_;
  transport::TimerId usage_timer_ = 0;
  bool quiesced_ = false;  // loop thread; read by stop() after it
  bool stopped_ = false;
  // Set while the object lives; posted tasks check it (the loop may run a
  // task after stop()).
  std::shared_ptr<std::atomic<bool>> alive_;
};

}  // namespace llmux::router
