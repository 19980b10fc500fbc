// -----------------------------------------------------------------------------
// File: router/fleet_load.hpp
// -----------------------------------------------------------------------------
// Load shared across the fleet for the strategies that read it: least-busy's
// in-flight counts and latency-based routing's latency windows, in llmux's own
// keys (state/fleet_load_record.hpp has the formats and why). Part of
// FleetSync, created only when the router's strategy is one of the two; with
// any other strategy nothing of this is written or read.
//
// - Writes: an attempt starting or ending only marks its deployment (one
//   flag, one queue push); at most kLoadWriteDelay later the deployment's
//   absolute in-flight count is written if it changed (HSET of this
//   replica's field, PEXPIRE of the key; HDEL at zero). Every tick (the sync
//   interval, at most 1 s) counts that are nonzero, or differ from what was
//   written, are rewritten: the heartbeat that keeps them fresh. Latency
//   summaries are rewritten on the tick when the strategy recorded new
//   outcomes, and as a slower heartbeat.
// - Reads: every tick one HGETALL per deployment; the other replicas' fresh
//   fields are summed / combined into Deployment::fleet_view(), which the
//   strategies read. Stale fields (a replica that died) are deleted with a
//   compare-and-delete script, so a field rewritten meanwhile survives.
// - Fail open: when Redis has not answered for the freshness bound, every
//   fleet view goes back to empty (local state only).
//
// Threading: every method runs on the router's loop thread (quiesce() also
// after the loop stopped, as FleetSync::quiesce). Replies arrive on the link
// thread and only store atomics (the fleet views) or queue commands.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "router/deployment_pool.hpp"
#include "state/litellm_keys.hpp"
#include "state/redis_link.hpp"

namespace llmux::strategy {
class LatencyBased;
}

namespace llmux::router {

struct RouterCore;

class FleetLoad {
 public:
  using PoolSource = std::function<std::shared_ptr<const DeploymentPool>()>;
  using WallClock = std::function<std::chrono::system_clock::time_point(TimePoint)>;

  // Null when the router's strategy reads no fleet load (neither least-busy
  // nor latency-based routing). `core`, `keys`, `link` outlive it.
  static std::unique_ptr<FleetLoad> create(RouterCore& core, const state::SharedKeys& keys, state::RedisLink& link,
                                           std::string replica_id, Duration sync_interval, PoolSource pool,
                                           WallClock wall);
  ~FleetLoad();

  // Schedules the tick. Loop thread.
  void start();
  // An attempt on `e` started or ended. Loop thread; never waits.
  void on_attempt_change(const PoolEntry& e) {
    if (share_in_flight_ && e.fleet && !e.fleet->load.queued) queue(e);
  }
  // Cancels the timers and withdraws this replica's in-flight fields (a
  // replica that stops cleanly leaves nothing behind). Loop thread.
  void quiesce();

  // The freshness bound of in-flight fields and of latency summaries.
  Duration in_flight_max_age() const { return in_flight_max_age_; }
  Duration latency_max_age() const { return latency_max_age_; }

 private:
  FleetLoad(RouterCore& core, const state::SharedKeys& keys, state::RedisLink& link, std::string replica_id,
            Duration sync_interval, PoolSource pool, WallClock wall, bool in_flight,
            const strategy::LatencyBased* latency);
  void queue(const PoolEntry& e);
  void flush();
  void tick();
  void schedule_tick();
  void write_in_flight(FleetDeploymentState& fleet, const Deployment& d, int64_t now_ms, bool heartbeat);
  void write_latency(const PoolEntry& e, TimePoint now, int64_t now_ms);
  void read(const std::shared_ptr<const DeploymentPool>& pool, int64_t now_ms);
  int64_t unix_ms(TimePoint t) const;
  const std::string& in_flight_key(FleetDeploymentState& fleet, const Deployment& d);
  const std::string& latency_key(const PoolEntry& e);

  RouterCore& core_;
  const state::SharedKeys& keys_;
  state::RedisLink& link_;
  const std::string replica_id_;
  const Duration tick_interval_;
  const Duration in_flight_max_age_;
  const Duration latency_max_age_;
  const Duration latency_heartbeat_;
  PoolSource pool_;
  WallClock wall_;
  const bool share_in_flight_;
  const strategy::LatencyBased* const latency_;  // null: latency not shared
  // Deployments whose in-flight count changed since the last write (loop thread).
  std::vector<std::pair<std::shared_ptr<FleetDeploymentState>, std::shared_ptr<Deployment>>> queued_;
  transport::TimerId flush_timer_ = 0;
  transport::TimerId tick_timer_ = 0;
  // Unix ms (sent-at) of the newest answered read; 0 = none yet. Written on
  // the link thread.
  std::shared_ptr<std::atomic<int64_t>> last_answer_ms_;
  std::shared_ptr<std::atomic<bool>> alive_;
};

}  // namespace llmux::router
