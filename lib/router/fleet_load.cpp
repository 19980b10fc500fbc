#include "router/fleet_load.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "router/router_core.hpp"
#include "state/fleet_load_record.hpp"
#include "strategy/latency_based.hpp"

namespace llmux::router {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Counts that changed are written at most this long after the first change
// (a burst of attempts is one write), like the usage counts.
constexpr Duration kLoadWriteDelay = std::chrono::milliseconds(100);
// The tick (heartbeat and read) runs every sync interval, at least every
// second, so that a dead replica's count never lingers for long whatever the
// sync interval.
constexpr Duration kMaxTick = std::chrono::seconds(1);
// A field is fresh for this many ticks (plus slack for a slow loop).
constexpr int kFreshTicks = 4;
constexpr Duration kFreshSlack = std::chrono::milliseconds(500);
// Latency summaries change only with outcomes: their heartbeat is slower.
constexpr Duration kLatencyHeartbeat = std::chrono::seconds(5);
constexpr int kLatencyFreshHeartbeats = 3;

// Deletes a hash field only if it still holds the value seen (the replica
// may have rewritten it since). KEYS: key. ARGV: field, value.
constexpr std::string_view kDeleteIfUnchangedScript =
    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end\n"
    "return 0\n";

state::HashFields fields_of(const state::RedisReply& r) {
  state::HashFields out;
  if (r.type != state::RedisReply::Type::kArray) return out;
  out.reserve(r.elements.size() / 2);
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    if (r.elements[i].type != state::RedisReply::Type::kString ||
        r.elements[i + 1].type != state::RedisReply::Type::kString) {
      continue;
    }
    out.emplace_back(r.elements[i].str, r.elements[i + 1].str);
  }
  return out;
}

void delete_stale(state::RedisLink& link, const std::string& key, const state::HashFields& stale) {
  for (const auto& [field, value] : stale) link.command({"EVAL", kDeleteIfUnchangedScript, "1", key, field, value});
}

std::string ms_text(Duration d) { return fmt::format("{}", std::max<int64_t>(1, duration_cast<milliseconds>(d).count())); }

}  // namespace

std::unique_ptr<FleetLoad> FleetLoad::create(RouterCore& core, const state::SharedKeys& keys, state::RedisLink& link,
                                             std::string replica_id, Duration sync_interval, PoolSource pool,
                                             WallClock wall) {
  const bool in_flight = core.strategy != nullptr && core.strategy->name() == "least-busy";
  const auto* latency = dynamic_cast<const strategy::LatencyBased*>(core.strategy);
  if (!in_flight && latency == nullptr) return nullptr;
  return std::unique_ptr<FleetLoad>(new FleetLoad(core, keys, link, std::move(replica_id), sync_interval,
                                                  std::move(pool), std::move(wall), in_flight, latency));
}

FleetLoad::FleetLoad(RouterCore& core, const state::SharedKeys& keys, state::RedisLink& link, std::string replica_id,
                     Duration sync_interval, PoolSource pool, WallClock wall, bool in_flight,
                     const strategy::LatencyBased* latency)
    : core_(core),
      keys_(keys),
      link_(link),
      replica_id_(std::move(replica_id)),
      tick_interval_(std::clamp<Duration>(sync_interval, std::chrono::milliseconds(1), kMaxTick)),
      in_flight_max_age_(kFreshTicks * tick_interval_ + kFreshSlack),
      latency_max_age_(kLatencyFreshHeartbeats * std::max<Duration>(kLatencyHeartbeat, tick_interval_) + kFreshSlack),
      latency_heartbeat_(std::max<Duration>(kLatencyHeartbeat, tick_interval_)),
      pool_(std::move(pool)),
      wall_(std::move(wall)),
      share_in_flight_(in_flight),
      latency_(latency),
      last_answer_ms_(std::make_shared<std::atomic<int64_t>>(0)),
      alive_(std::make_shared<std::atomic<bool>>(true)) {}

FleetLoad::~FleetLoad() { alive_->store(false); }

int64_t FleetLoad::unix_ms(TimePoint t) const {
  return duration_cast<milliseconds>(wall_(t).time_since_epoch()).count();
}

const std::string& FleetLoad::in_flight_key(FleetDeploymentState& fleet, const Deployment& d) {
  std::string& k = fleet.load.in_flight_key;
  if (k.empty()) k = keys_.in_flight(d.id());
  return k;
}

const std::string& FleetLoad::latency_key(const PoolEntry& e) {
  std::string& k = e.fleet->load.latency_key;
  if (k.empty()) k = keys_.latency_samples(e.deployment->id());
  return k;
}

void FleetLoad::start() {
  schedule_tick();
}

void FleetLoad::schedule_tick() {
  tick_timer_ = core_.loop->schedule(tick_interval_, [this, alive = alive_] {
    if (!alive->load()) return;
    tick_timer_ = 0;
    tick();
    schedule_tick();
  });
}

void FleetLoad::queue(const PoolEntry& e) {
  e.fleet->load.queued = true;
  queued_.emplace_back(e.fleet, e.deployment);
  if (flush_timer_ != 0) return;
  flush_timer_ = core_.loop->schedule(kLoadWriteDelay, [this, alive = alive_] {
    if (!alive->load()) return;
    flush_timer_ = 0;
    flush();
  });
}

void FleetLoad::flush() {
  if (queued_.empty()) return;
  const int64_t now_ms = unix_ms(core_.loop->now());
  for (auto& [fleet, deployment] : queued_) {
    fleet->load.queued = false;
    write_in_flight(*fleet, *deployment, now_ms, /*heartbeat=*/false);
  }
  queued_.clear();
}

// This replica's absolute count: rewritten when it changed (or as a
// heartbeat while nonzero), deleted at zero.
void FleetLoad::write_in_flight(FleetDeploymentState& fleet, const Deployment& d, int64_t now_ms, bool heartbeat) {
  FleetLoadState& s = fleet.load;
  const int64_t n = std::max<int64_t>(0, d.in_flight());
  if (n == s.written_in_flight && !(heartbeat && n > 0)) return;
  const std::string& key = in_flight_key(fleet, d);
  if (n == 0) {
    link_.command({"HDEL", key, replica_id_});
  } else {
    link_.command({"HSET", key, replica_id_, state::encode_in_flight_entry({n, now_ms})});
    // The key outlives its writers by twice the freshness bound at most.
    link_.command({"PEXPIRE", key, ms_text(2 * in_flight_max_age_)});
  }
  s.written_in_flight = n;
}

void FleetLoad::write_latency(const PoolEntry& e, TimePoint now, int64_t now_ms) {
  FleetLoadState& s = e.fleet->load;
  const Deployment& d = *e.deployment;
  const uint64_t outcomes = latency_->outcomes_recorded(d);
  const bool changed = outcomes != s.latency_outcomes;
  if (!changed && !(s.latency_written && now - s.latency_written_at >= latency_heartbeat_)) return;
  const FleetView::Latency latency = latency_->own_window(d, /*ttft=*/false, now);
  const FleetView::Latency ttft = latency_->own_window(d, /*ttft=*/true, now);
  s.latency_outcomes = outcomes;
  s.latency_written_at = now;
  const std::string& key = latency_key(e);
  if (latency.samples == 0 && ttft.samples == 0) {
    if (s.latency_written) link_.command({"HDEL", key, replica_id_});
    s.latency_written = false;
    return;
  }
  link_.command({"HSET", key, replica_id_,
                 state::encode_latency_entry({latency.mean, latency.samples, ttft.mean, ttft.samples, now_ms})});
  link_.command({"PEXPIRE", key, ms_text(2 * latency_max_age_)});
  s.latency_written = true;
}

void FleetLoad::tick() {
  std::shared_ptr<const DeploymentPool> pool = pool_();
  if (!pool) return;
  const TimePoint now = core_.loop->now();
  const int64_t now_ms = unix_ms(now);
  // Redis silent for longer than a field stays fresh: local state only.
  const int64_t answered = last_answer_ms_->load();
  const int64_t max_age_ms = duration_cast<milliseconds>(std::max(in_flight_max_age_, latency_max_age_)).count();
  const bool silent_in_flight =
      now_ms - answered > duration_cast<milliseconds>(in_flight_max_age_).count();
  const bool silent_latency = now_ms - answered > max_age_ms;
  for (const auto& e : pool->entries()) {
    const FleetView& view = e->deployment->fleet_view();
    if (silent_in_flight) view.set_others_in_flight(0);
    if (silent_latency) {
      view.set_others_latency(false, {});
      view.set_others_latency(true, {});
    }
  }
  if (!link_.up()) return;
  for (const auto& e : pool->entries()) {
    if (!e->fleet) continue;
    if (share_in_flight_) write_in_flight(*e->fleet, *e->deployment, now_ms, /*heartbeat=*/true);
    if (latency_) write_latency(*e, now, now_ms);
  }
  read(pool, now_ms);
}

void FleetLoad::read(const std::shared_ptr<const DeploymentPool>& pool, int64_t now_ms) {
  const std::string& self = replica_id_;
  for (const auto& entry : pool->entries()) {
    if (!entry->fleet) continue;
    // The deployment is kept alive by the callback (its fleet view is written there).
    std::shared_ptr<const Deployment> d = entry->deployment;
    if (share_in_flight_) {
      const int64_t max_age = duration_cast<milliseconds>(in_flight_max_age_).count();
      link_.command({"HGETALL", in_flight_key(*entry->fleet, *entry->deployment)},
                    [d, self, now_ms, max_age, key = in_flight_key(*entry->fleet, *entry->deployment), link = &link_,
                     answered = last_answer_ms_](Result<state::RedisReply> r) {
                      if (!r.ok() || r->type != state::RedisReply::Type::kArray) return;
                      state::HashFields stale;
                      const int64_t others = state::sum_in_flight(fields_of(*r), self, now_ms, max_age, &stale);
                      d->fleet_view().set_others_in_flight(others);
                      delete_stale(*link, key, stale);
                      int64_t prev = answered->load();
                      while (prev < now_ms && !answered->compare_exchange_weak(prev, now_ms)) {
                      }
                    });
    }
    if (latency_) {
      const int64_t max_age = duration_cast<milliseconds>(latency_max_age_).count();
      link_.command({"HGETALL", latency_key(*entry)},
                    [d, self, now_ms, max_age, key = latency_key(*entry), link = &link_,
                     answered = last_answer_ms_](Result<state::RedisReply> r) {
                      if (!r.ok() || r->type != state::RedisReply::Type::kArray) return;
                      state::HashFields stale;
                      const state::LatencySummaryEntry c =
                          state::combine_latency(fields_of(*r), self, now_ms, max_age, &stale);
                      d->fleet_view().set_others_latency(false, {c.latency_mean, c.latency_samples});
                      d->fleet_view().set_others_latency(true, {c.ttft_mean, c.ttft_samples});
                      delete_stale(*link, key, stale);
                      int64_t prev = answered->load();
                      while (prev < now_ms && !answered->compare_exchange_weak(prev, now_ms)) {
                      }
                    });
    }
  }
}

void FleetLoad::quiesce() {
  alive_->store(false);
  const bool in_loop = core_.loop->in_loop_thread();
  if (tick_timer_ != 0 && in_loop) core_.loop->cancel_timer(tick_timer_);
  tick_timer_ = 0;
  if (flush_timer_ != 0 && in_loop) core_.loop->cancel_timer(flush_timer_);
  flush_timer_ = 0;
  for (auto& [fleet, deployment] : queued_) fleet->load.queued = false;
  queued_.clear();
  // Withdraw this replica's counts: a replica that stops cleanly leaves
  // nothing for the others to wait out.
  std::shared_ptr<const DeploymentPool> pool = pool_();
  if (!pool || !share_in_flight_) return;
  for (const auto& e : pool->entries()) {
    if (!e->fleet || e->fleet->load.written_in_flight == 0) continue;
    link_.command({"HDEL", in_flight_key(*e->fleet, *e->deployment), replica_id_});
    e->fleet->load.written_in_flight = 0;
  }
}

}  // namespace llmux::router
