// -----------------------------------------------------------------------------
// File: router/fleet_health_checks.hpp
// -----------------------------------------------------------------------------
// Active health-check results shared across the fleet through Redis, so that
// one replica's check serves every replica. Present only when Redis is
// configured (beside FleetSync, whose link and channel it uses).
//
// What travels, and how:
// - llmux replicas, always (whenever Redis is configured): each result of this
//   router's own checks is announced on llmux's pub/sub channel as
//   {"event":"health_check","replica":<this replica's id>,"id":...,
//   "model_group","mode","model","healthy","error_type","status","reason",
//   "checked_at","latency_ms"}; the others record it through
//   HealthChecker::apply with checked_by = the announcing replica (the newer
//   checked_at wins, so an echo or a duplicate changes nothing);
// - LiteLLM workers, with use_shared_health_check (LiteLLM's own switch for
//   this key, so one config means the same on both sides): each result is
//   also merged into LiteLLM's dict key (state/health_state_record.hpp), with
//   LiteLLM's TTL (int(1.5 × staleness)). The merge is atomic without a lock:
//   GET, decode (JSON or LiteLLM's Python repr, which Lua cannot parse),
//   merge here, then a Lua compare-and-set that writes only if the value is
//   still the one decoded, else answers the new value to merge again (a few
//   tries). Entries of other writers are kept (a newer one for the same id
//   wins), entries past the TTL dropped. The key is also read every
//   kLiteLLMReadInterval (and when Redis comes back): entries younger than
//   the staleness threshold are recorded, checked_by = the llmux replica that
//   wrote it, or "redis" for a LiteLLM worker's (as cooldowns read back are
//   reported cooled_by "redis"). A result never replaces a newer one.
//
// Redis down changes nothing for local checks: announcements and writes are
// dropped (fail-open), and reads resume with the link.
//
// Thread safety: every method runs on the router's loop thread; the link's
// callbacks only decode and post to it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/clock.hpp"
#include "llmux/health_check.hpp"
#include "router/deployment_pool.hpp"
#include "router/health_checker.hpp"
#include "state/health_state_record.hpp"
#include "state/redis_link.hpp"
#include "transport/event_loop.hpp"

namespace llmux::router {

class FleetSync;

class FleetHealthChecks {
 public:
  // The LiteLLM key is read at most this often (LiteLLM's checks run every
  // few minutes; the pub/sub announcements carry llmux's at once).
  static constexpr Duration kLiteLLMReadInterval = std::chrono::seconds(1);

  struct Options {
    transport::EventLoop* loop = nullptr;
    FleetSync* fleet = nullptr;        // its link, replica id and keys; must outlive this
    HealthChecker* checker = nullptr;  // must outlive this
    // use_shared_health_check: LiteLLM's key is written and read too.
    bool use_litellm_key = false;
    double staleness_seconds = 600;
  };

  explicit FleetHealthChecks(Options options);
  ~FleetHealthChecks();
  FleetHealthChecks(const FleetHealthChecks&) = delete;
  FleetHealthChecks& operator=(const FleetHealthChecks&) = delete;

  // A result of this router's own check (the checker's observer).
  void on_own_result(const HealthCheckResult& result);
  // A message on the events channel: true when it was a health-check
  // announcement (handled here, an echo of our own included).
  bool on_announcement(std::string_view payload);
  // FleetSync's periodic refresh (Redis is up); `resync`: it just came back.
  void refresh(bool resync);
  // No task of this object runs after it (FleetSync::quiesce calls it).
  void quiesce();

 private:
  void announce(const HealthCheckResult& result);
  void start_write();
  // One compare-and-set round of the merge; link thread.
  void write_merged(std::shared_ptr<const std::vector<state::HealthStateEntry>> batch, const state::RedisReply& stored,
                    int tries_left);
  void write_done();
  void apply_stored(const std::vector<state::HealthStateEntry>& entries);
  double wall_now() const;

  transport::EventLoop& loop_;
  FleetSync& fleet_;
  HealthChecker& checker_;
  const bool use_litellm_key_;
  const double staleness_seconds_;
  const std::string key_;
  const std::string channel_;
  const std::string replica_id_;
  state::RedisLink* link_ = nullptr;  // FleetSync's; valid until it stops (after quiesce)

  // Loop thread.
  std::vector<state::HealthStateEntry> pending_;  // own results not yet merged into the key
  bool writing_ = false;
  TimePoint last_read_{};
  bool read_once_ = false;
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace llmux::router
