// -----------------------------------------------------------------------------
// File: router/health_checker.hpp
// -----------------------------------------------------------------------------
// Active health checks of a router's deployments (LiteLLM proxy's background
// health checks, run inside the router): on the router's own loop — a timer,
// never a thread — each deployment gets a minimal request (health_probe.hpp)
// through its provider adapter, outside routing: no candidate filter,
// cooldown, rpm/tpm counter, in-flight count or strategy sees it, as
// LiteLLM's direct litellm call does not either.
//
// Schedule: with background checks on, every eligible deployment is checked
// once per health_check_interval, the deployments spread evenly over the
// interval (deployment i of n at i/n of it) so they never all fire at once;
// health_check_concurrency caps the checks in flight (the rest wait in
// order). check_now() runs a round on demand (LiteLLM's /health).
//
// Each result is recorded in the deployment's HealthCheckState (routing
// verdict and report), then handed to the observer: the seam through which
// the shared-state layer publishes this replica's results; apply() is the
// other half, for results other replicas saw (newer wins).
//
// One replica's check serves the fleet: a background check that comes due
// while the deployment's latest result is another replica's and younger
// than half the interval is skipped (the slot moves on by one interval), so
// N replicas out of phase do not check a deployment N times per interval.
// Checks on demand (check_now) always run.
//
// Thread safety: start, stop, check_now, pool_changed, idle and the
// destructor run on the loop thread (or after the loop stopped); apply()
// and add_observer() may be called from any thread (add_observer before
// start). The observer and round callbacks run on the loop thread and must
// not block.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "llmux/config.hpp"
#include "llmux/health_check.hpp"
#include "router/deployment_pool.hpp"
#include "router/health_check_state.hpp"
#include "transport/event_loop.hpp"

namespace llmux::router {

class HealthChecker {
 public:
  // The router's current deployments (thread-safe; a snapshot).
  using PoolSource = std::function<std::shared_ptr<const DeploymentPool>()>;
  // The model map's mode of a deployment whose model_info sets none ("" when
  // unknown). Called on the loop thread, once per check of such a deployment.
  using ModeLookup = std::function<std::string(const DeploymentConfig&)>;
  // Receives every result of this router's own checks (skipped ones
  // excluded), after it was recorded. Must not throw or block.
  using ResultObserver = std::function<void(const HealthCheckResult&)>;
  // A round's results, one per deployment checked, in pool order.
  using RoundDone = std::function<void(std::vector<HealthCheckResult>)>;

  struct Options {
    transport::EventLoop* loop = nullptr;
    const RouterSettings* settings = nullptr;  // must outlive the checker
    PoolSource pool;
    ModeLookup mode_lookup;  // may be empty: the model map is not consulted
    WallClock wall;
    // Where in the interval this router's first background round starts, as
    // a fraction in [0, 1): replicas sharing results (Redis) each draw one,
    // so that replicas started together do not check in step — the first to
    // check serves the others, who skip while its result is fresh.
    double first_round_offset = 0;
  };

  explicit HealthChecker(Options options);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Adds an observer (the router's option, the shared-state layer). Call
  // before start().
  void add_observer(ResultObserver observer);

  // Starts the background schedule when background checks are configured
  // (no-op otherwise).
  void start();
  // Stops for good: the timer, queued and in-flight checks (their transfers
  // are cancelled; a pending round gets its results so far plus cancelled
  // ones, none recorded).
  void stop();
  // No check in flight (after stop(): every cancelled transfer reported back).
  bool idle() const { return runs_.empty(); }

  // Deployments were added or removed: new ones join the schedule.
  void pool_changed();

  // Checks every deployment of `model_group` (all when empty) now, whatever
  // the schedule; `done` gets the results once all ended. `skip_disabled`
  // leaves out deployments with disable_background_health_check.
  void check_now(const std::string& model_group, bool skip_disabled, RoundDone done);

  // A result another replica saw: recorded when newer than what the
  // deployment holds. False when the deployment is unknown or the result
  // not newer. Never calls the observer.
  bool apply(const HealthCheckResult& result);

  // Records `result` of this router's own check (also what apply() does,
  // without the observer). The result's deployment must be in `entry`.
  bool record(const PoolEntry& entry, const HealthCheckResult& result) const;

  const WallClock& wall() const { return wall_; }
  // The router's current deployments (thread-safe).
  std::shared_ptr<const DeploymentPool> pool() const { return pool_(); }

 private:
  struct Round;
  struct Job {
    std::shared_ptr<const DeploymentPool> pool;  // keeps `entry` alive
    const PoolEntry* entry = nullptr;
    std::shared_ptr<Round> round;  // null: a background check
    size_t round_index = 0;
  };
  class Run;
  struct Slot {
    std::string id;
    TimePoint due{};
  };

  void tick();
  void sync_slots(const DeploymentPool& pool, TimePoint now);
  void arm(TimePoint now);
  bool background_eligible(const PoolEntry& e) const;
  // Another replica's result of `e` is younger than half the interval.
  bool fresh_from_fleet(const PoolEntry& e, TimePoint now, Duration interval) const;
  void enqueue(Job job);
  void start_next();
  void launch(Job job);
  void prepared(uint64_t run_id, Status status);
  void send(Run& run);
  // Ends a check: records (unless cancelled), tells the observer and the round.
  void finish(uint64_t run_id, HealthCheckResult result, bool record_it);
  void deliver(const Job& job, HealthCheckResult result, bool record_it);
  HealthCheckResult failure_result(const Run& run, Error error) const;

  friend class Run;
  void on_transfer_done(uint64_t run_id, transport::TransferResult&& result);

  transport::EventLoop& loop_;
  const RouterSettings& settings_;
  PoolSource pool_;
  ModeLookup mode_lookup_;
  WallClock wall_;
  double first_round_offset_;

  std::mutex observer_mu_;
  std::vector<ResultObserver> observers_;  // guarded by observer_mu_

  // Loop thread only from here on.
  bool started_ = false;
  bool first_round_spread_ = false;  // the first round's offset was applied
  bool stopped_ = false;
  transport::TimerId timer_ = 0;
  std::vector<Slot> slots_;                  // background schedule, pool order
  std::deque<Job> queue_;                    // waiting for a concurrency slot
  absl::flat_hash_map<uint64_t, std::unique_ptr<Run>> runs_;  // started, not ended
  size_t in_flight_ = 0;                     // runs counted against health_check_concurrency
  uint64_t next_run_id_ = 1;
  bool draining_ = false;                    // start_next() is on the stack
  absl::flat_hash_set<std::string> background_busy_;  // background check queued or running
  // Expires with the checker: late provider callbacks check it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace llmux::router
