#include "router/fleet_sync.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "json/scratch_parser.hpp"
#include "json/writer.hpp"
#include "router/fleet_health_checks.hpp"
#include "router/router_core.hpp"
#include "state/cooldown_record.hpp"
#include "state/litellm_keys.hpp"

namespace llmux::router {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// A deployment far from its rpm limit is counted without waiting; within this
// many requests of it (or a fifth of it, whichever is more) every admission
// is an atomic reservation in Redis. Overshoot beyond the limit needs the rest
// of the fleet to start more than this many requests within one sync interval
// unseen by this replica.
constexpr int64_t kExactRpmMargin = 10;
// A replica that lost the probe lease asks again after this long at most
// (the winner's verdict usually arrives first and ends the hold).
constexpr Duration kProbeHoldRecheck = std::chrono::seconds(1);
constexpr int64_t kMinuteKeySeconds = 60;
// A foreign cooldown is never taken for longer than this (whatever its
// cooldown_time says), so that converting it to the loop's clock cannot
// overflow the circuit's expiry field.
constexpr double kMaxRemoteCooldownSeconds = 365.0 * 86400;
// Our own cooldown read back from Redis (or another replica's, announced and
// then read back) comes back with its expiry rounded through a float of
// Unix seconds: a remote expiry this close to the running one is the same
// cooldown, not news.
constexpr Duration kSameCooldown = std::chrono::milliseconds(1);
// Usage far from the limit is summed per deployment and written as one
// increment per key (one wake of the Redis link for a burst of calls instead
// of eight commands and two wakes per call): once a deployment has
// `write_after` attempts and completions summed, or kUsageWriteMaxDelay after
// the first (LiteLLM's usage-v2 queue flushes every 0.1 s the same way).
// `write_after` is a tenth of the rpm margin, at most kMaxUsageBatch (and the
// tokens summed at most a tenth of a fifth of the tpm limit): what this
// replica counted and the fleet has not seen stays within the margin for
// fleets of up to kReplicasWithinMargin replicas. (No shorter timer: a loop
// waiting on a sub-tick timeout pays for it on every poll on a VM.)
constexpr Duration kUsageWriteMaxDelay = std::chrono::milliseconds(100);
constexpr int64_t kMaxUsageBatch = 64;
constexpr int64_t kReplicasWithinMargin = 10;

// Reserves one request of an rpm limit atomically: counts it in the usage key
// unless the fleet already started `limit` this minute. Replies the new count,
// or -(count + 1) when refused. INCRBYFLOAT and the re-armed 60 s expiry are
// what LiteLLM writes to the same key.
constexpr std::string_view kReserveScript =
    "local n = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "if n + 1 > tonumber(ARGV[1]) then return -(n + 1) end\n"
    "n = tonumber(redis.call('INCRBYFLOAT', KEYS[1], 1))\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "return n\n";

// Counts back one reserved request whose call gave it up (see
// FleetSync::LateReservation): only while the key exists, so that a minute key
// that expired meanwhile is not made again, without an expiry, at -1.
constexpr std::string_view kReleaseScript =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "return redis.call('INCRBYFLOAT', KEYS[1], -1)\n";

// Adds one spend to a budget window atomically, as LiteLLM's budget limiter
// leaves the keys: the first spend of a window (no start key, or a start older
// than the window) SETs the start (epoch seconds) and the spend, both expiring
// with the window; later ones INCRBYFLOAT the spend and re-arm its expiry to
// the whole seconds left. KEYS: spend, start. ARGV: amount, now (both as
// Python floats), window seconds. Replies {total, start}.
constexpr std::string_view kSpendScript =
    "local window = tonumber(ARGV[3])\n"
    "local now = tonumber(ARGV[2])\n"
    "local raw = redis.call('GET', KEYS[2])\n"
    "local start = raw and tonumber(raw)\n"
    "if not start or now - start > window then\n"
    "  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])\n"
    "  return {ARGV[1], ARGV[2]}\n"
    "end\n"
    "local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])\n"
    "local left = math.floor(window - (now - start))\n"
    "if left > window then left = window end\n"
    "if left < 1 then left = 1 end\n"
    "redis.call('EXPIRE', KEYS[1], left)\n"
    "return {total, raw}\n";

// Writes back a window Redis lost (it restarted empty): only when no window
// is running there, or raises the spend of the same window (same start to the
// millisecond) when this replica knew more. KEYS: spend, start. ARGV: total,
// start, seconds left. Replies {spend, start} as they are now.
constexpr std::string_view kRestoreScript =
    "local raw = redis.call('GET', KEYS[2])\n"
    "if not raw then\n"
    "  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])\n"
    "elseif math.abs((tonumber(raw) or 0) - tonumber(ARGV[2])) < 0.001 then\n"
    "  local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "  if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3]) end\n"
    "end\n"
    "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}\n";

// Counts one failure in LiteLLM 1.110's allowed-fails key: INCRBYFLOAT 1, and
// the expiry (ARGV[1] s) set by the first failure of the window only.
constexpr std::string_view kAllowedFailsScript =
    "local n = redis.call('INCRBYFLOAT', KEYS[1], 1)\n"
    "if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
    "return n\n";

// A reply's value as a number (spend totals, window starts); nullopt for nil
// or anything else.
std::optional<double> number_of(const state::RedisReply& r) {
  if (r.type == state::RedisReply::Type::kInteger) return static_cast<double>(r.integer);
  if (r.type != state::RedisReply::Type::kString) return std::nullopt;
  Result<double> v = state::decode_counter(r.str);
  if (!v.ok() || !std::isfinite(*v)) return std::nullopt;
  return *v;
}

std::string make_replica_id() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device rd;
  return fmt::format("{}:{}:{:06x}", host[0] ? host : "host", static_cast<long>(getpid()), rd() & 0xffffff);
}

// A reply to INCRBYFLOAT / GET as a whole count (LiteLLM's counters hold
// integer-valued strings; a fractional one is rounded down).
int64_t count_of(const state::RedisReply& r) {
  if (r.type == state::RedisReply::Type::kInteger) return r.integer;
  if (r.type != state::RedisReply::Type::kString) return -1;
  Result<double> v = state::decode_counter(r.str);
  if (!v.ok() || !std::isfinite(*v) || *v < 0) return -1;
  return static_cast<int64_t>(std::floor(*v));
}

int64_t count_of(const Result<state::RedisReply>& r) { return r.ok() ? count_of(r.value()) : -1; }

bool has_rate_limit(const PoolEntry& e) { return e.deployment->rpm_limit() >= 0 || e.deployment->tpm_limit() >= 0; }

// When a foreign cooldown ends, in Unix seconds: at timestamp + cooldown_time
// (LiteLLM 1.110's rule), but never later than cooldown_time from now — a
// writer's clock ahead of ours, or a timestamp from nowhere (1e16), cannot
// stretch it beyond its own length — and never beyond the cap. NaN when the
// numbers make no sense (the caller then ignores the value).
double remote_cooldown_end(double timestamp, double cooldown_time, double wall_now) {
  const double length = std::min(cooldown_time, kMaxRemoteCooldownSeconds);
  return std::min(timestamp + cooldown_time, wall_now + length);
}

// Whether a remote expiry `until` says nothing new: the deployment is already
// open here until (about) then.
bool already_cooling_until(const PoolEntry& e, TimePoint until, TimePoint now) {
  const health::DeploymentHealthState::Snapshot snap = e.health->snapshot(now);
  return snap.state == health::CircuitState::kOpen && until <= snap.cooldown_until + kSameCooldown;
}
// Within this many requests of an rpm limit every admission is atomic.
int64_t rpm_margin(int64_t rpm) { return std::max(kExactRpmMargin, rpm / 5); }

}  // namespace

FleetSync::FleetSync(RouterCore& core, state::SharedStateSettings settings, PoolSource pool)
    : core_(core),
      settings_(std::move(settings)),
      keys_(settings_.key_namespace),
      pool_(std::move(pool)),
      replica_id_(make_replica_id()),
      channel_(keys_.events_channel()),
      wall_anchor_(std::chrono::system_clock::now()),
      steady_anchor_(core.loop->now()),
      alive_(std::make_shared<std::atomic<bool>>(true)) {}

FleetSync::~FleetSync() { stop(); }

void FleetSync::share_budgets(health::BudgetTracker* budgets) {
  budgets_ = budgets;
  if (budgets_) budgets_->share_with_fleet();
}

void FleetSync::start() {
  state::RedisLinkOptions options = settings_.link;
  if (options.client_name.empty()) options.client_name = "llmux:" + replica_id_;
  link_ = state::RedisLink::start(std::move(options), this);
  link_->subscribe(channel_);
  load_ = FleetLoad::create(core_, keys_, *link_, replica_id_, settings_.sync_interval, pool_,
                            [this](TimePoint t) { return wall(t); });
  // The link may come up before link_ is assigned here: its observer calls
  // wait for this (the loop tasks they post read link_).
  link_started_.notify();
  // refresh_timer_ belongs to the loop thread.
  core_.loop->post([this, alive = alive_] {
    if (!alive->load()) return;
    schedule_refresh();
    if (load_) load_->start();
  });
}

void FleetSync::quiesce() {
  if (quiesced_) return;
  quiesced_ = true;
  alive_->store(false);
  if (health_checks_) health_checks_->quiesce();
  const bool in_loop = core_.loop->in_loop_thread();
  if (refresh_timer_ != 0 && in_loop) core_.loop->cancel_timer(refresh_timer_);
  refresh_timer_ = 0;
  if (usage_timer_ != 0 && in_loop) core_.loop->cancel_timer(usage_timer_);
  usage_timer_ = 0;
  if (link_) flush_usage();  // what was summed goes out with the link's last writes
  if (load_) load_->quiesce();
}

void FleetSync::stop() {
  if (stopped_) return;
  stopped_ = true;
  quiesce();
  link_.reset();  // joins the link thread: no callback runs after this
  link_up_.store(false);
}

std::chrono::system_clock::time_point FleetSync::wall(TimePoint now) const {
  return wall_anchor_ + duration_cast<std::chrono::system_clock::duration>(now - steady_anchor_);
}

int64_t FleetSync::utc_minute(TimePoint now) const {
  return std::chrono::floor<std::chrono::minutes>(wall(now).time_since_epoch()).count();
}

std::string FleetSync::minute_tag(TimePoint now) const { return state::utc_minute_tag(wall(now)); }

double FleetSync::wall_seconds(TimePoint t) const {
  return std::chrono::duration<double>(wall(t).time_since_epoch()).count();
}

TimePoint FleetSync::from_wall_seconds(double seconds, TimePoint now) const {
  return now + duration_cast<Duration>(std::chrono::duration<double>(seconds - wall_seconds(now)));
}

const PoolEntry* FleetSync::find(const DeploymentPool& pool, std::string_view id) const { return pool.by_id(id); }

state::RedisLinkStats FleetSync::link_stats() const { return link_ ? link_->stats() : state::RedisLinkStats{}; }

// --- counts -------------------------------------------------------------------

int64_t FleetSync::fleet_requests(const PoolEntry& e, TimePoint now) const {
  return e.fleet ? e.fleet->requests.value(utc_minute(now)) : 0;
}

int64_t FleetSync::fleet_tokens(const PoolEntry& e, TimePoint now) const {
  return e.fleet ? e.fleet->tokens.value(utc_minute(now)) : 0;
}

bool FleetSync::rpm_near_limit(const PoolEntry& e, TimePoint now) const {
  const int64_t rpm = e.deployment->rpm_limit();
  if (rpm < 0 || !e.fleet) return false;
  return fleet_requests(e, now) + rpm_margin(rpm) >= rpm;
}

// --- admission ------------------------------------------------------------------

bool FleetSync::needs_admission(const PoolEntry& e, bool probe, TimePoint now) const {
  if (!up() || !link_) return false;
  if (probe) return true;
  // Limits are enforced only where the filter enforces them (the strategy
  // asks for it, or pre-call checks are on): a refusal must change the choice.
  const bool enforced = core_.settings->enable_pre_call_checks || core_.strategy->enforces_rate_limits();
  return enforced && rpm_near_limit(e, now);
}

std::shared_ptr<FleetSync::LateReservation> FleetSync::admit(const PoolEntry& e, bool probe, Duration lease,
                                                             TimePoint now, std::function<void(Verdict)> done) {
  struct Pending {
    std::function<void(Verdict)> done;
    bool finished = false;
    transport::TimerId timer = 0;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  transport::EventLoop* loop = core_.loop;
  // Exactly once, on the loop thread: the first of the answer and the bound.
  auto finish = [pending, loop](Verdict v) {
    if (pending->finished) return;
    pending->finished = true;
    if (pending->timer != 0) loop->cancel_timer(pending->timer);
    auto d = std::move(pending->done);
    d(v);
  };
  pending->timer = loop->schedule(settings_.max_wait, [finish] { finish(Verdict::kFailOpen); });

  if (probe) {
    const std::string key = keys_.probe_lease(e.deployment->id());
    const int64_t ms = std::max<int64_t>(1, duration_cast<milliseconds>(lease).count());
    link_->command({"SET", key, replica_id_, "NX", "PX", fmt::format("{}", ms)},
                   [this, pending, finish, key, alive = alive_](Result<state::RedisReply> r) {
                     Verdict v = Verdict::kFailOpen;
                     if (r.ok() && r->type != state::RedisReply::Type::kError) {
                       v = r->is_nil() ? Verdict::kProbeTaken : Verdict::kAdmitted;
                     }
                     core_.loop->post([this, pending, finish, key, v, alive] {
                       if (!alive->load()) return;
                       // Won after the call stopped waiting (it did not probe):
                       // give the lease back so the fleet is not held for nothing.
                       if (pending->finished && v == Verdict::kAdmitted && link_) link_->command({"DEL", key});
                       finish(v);
                     });
                   });
    return nullptr;
  }
  const int64_t minute = utc_minute(now);
  const int64_t rpm = e.deployment->rpm_limit();
  std::shared_ptr<FleetDeploymentState> fleet = e.fleet;
  auto reservation = std::make_shared<LateReservation>();
  reservation->usage_key =
      keys_.usage_v2(e.deployment->id(), e.deployment->config().model, state::UsageCounter::kRpm, minute_tag(now));
  link_->command(
      {"EVAL", kReserveScript, "1", reservation->usage_key, fmt::format("{}", rpm),
       fmt::format("{}", kMinuteKeySeconds)},
      [this, pending, finish, fleet, minute, rpm, reservation, alive = alive_](Result<state::RedisReply> r) {
        Verdict v = Verdict::kFailOpen;
        int64_t count = 0;  // the fleet's, as the answer says
        if (r.ok() && r->type == state::RedisReply::Type::kInteger) {
          v = r->integer >= 0 ? Verdict::kAdmitted : Verdict::kRateLimited;
          // Refused: the fleet's count stands at the limit (at least).
          count = r->integer >= 0 ? r->integer : std::max(rpm, -r->integer - 1);
        }
        core_.loop->post([this, pending, finish, fleet, minute, reservation, v, count, alive] {
          if (!alive->load()) return;
          reservation->answered = true;
          reservation->admitted = v == Verdict::kAdmitted;
          // Given up already (its call went on without it, or ended): counted back.
          if (reservation->admitted && reservation->given_up) release(*reservation);
          // Late, the count is not taken into the view either (which only grows
          // within a minute): the call is not waiting for it any more.
          if (pending->finished) return;
          if (v != Verdict::kFailOpen && !reservation->given_up) fleet->requests.observe(minute, count);
          finish(v);
        });
      });
  return reservation;
}

void FleetSync::give_up(const std::shared_ptr<LateReservation>& reservation) {
  if (!reservation || reservation->given_up) return;
  reservation->given_up = true;
  if (reservation->admitted) release(*reservation);
}

void FleetSync::release(const LateReservation& reservation) {
  if (link_) link_->command({"EVAL", kReleaseScript, "1", reservation.usage_key});
}

// --- bookkeeping ------------------------------------------------------------------

void FleetSync::on_attempt_start(const PoolEntry& e, bool reserved, TimePoint now) {
  if (load_) load_->on_attempt_change(e);
  if (!link_ || reserved || !e.fleet || !has_rate_limit(e)) return;
  const int64_t minute = utc_minute(now);
  usage_buffer(e, minute).attempts += 1;
  e.fleet->requests.add_pending(minute, 1);
  usage_counted(e.fleet);
}

void FleetSync::on_attempt_success(const PoolEntry& e, int64_t total_tokens, bool usage_reported, TimePoint now) {
  if (load_) load_->on_attempt_change(e);
  // LiteLLM's deployment_callback_on_success counts only deployments that
  // have a limit somewhere.
  if (!link_ || !e.fleet || !has_rate_limit(e)) return;
  const int64_t minute = utc_minute(now);
  FleetUsageBuffer& u = usage_buffer(e, minute);
  u.finished += 1;
  if (usage_reported && total_tokens > 0) {
    u.tokens += total_tokens;
    e.fleet->tokens.add_pending(minute, total_tokens);
  }
  usage_counted(e.fleet);
}

void FleetSync::on_attempt_failure(const PoolEntry& e, TimePoint now) {
  if (load_) load_->on_attempt_change(e);
  // LiteLLM's failure callback counts every failed request, limits or not.
  if (!link_) return;
  if (!e.fleet) {
    const std::string key = keys_.global_router_usage(e.deployment->id(), e.deployment->config().model,
                                                      state::UsageCounter::kRpm, minute_tag(now));
    link_->command({"INCRBYFLOAT", key, "1"});
    link_->command({"EXPIRE", key, "60"});
    return;
  }
  usage_buffer(e, utc_minute(now)).finished += 1;
  usage_counted(e.fleet);
}

// --- usage writes -------------------------------------------------------------------

FleetUsageBuffer& FleetSync::usage_buffer(const PoolEntry& e, int64_t minute) {
  FleetUsageBuffer& u = e.fleet->usage;
  const std::string& model = e.deployment->config().model;
  if (u.minute == minute && u.model == model) return u;
  // A new minute (or the deployment re-declared with another model): what
  // was summed under the old keys goes out first.
  if (!u.empty()) write_usage(e.fleet);
  const std::string& id = e.deployment->id();
  const std::string tag =
      state::utc_minute_tag(std::chrono::system_clock::time_point(std::chrono::minutes(minute)));
  u.minute = minute;
  u.model = model;
  u.rpm_usage_key = keys_.usage_v2(id, model, state::UsageCounter::kRpm, tag);
  u.rpm_global_key = keys_.global_router_usage(id, model, state::UsageCounter::kRpm, tag);
  u.tpm_global_key = keys_.global_router_usage(id, model, state::UsageCounter::kTpm, tag);
  u.tpm_usage_key = keys_.usage_v2(id, model, state::UsageCounter::kTpm, tag);
  const int64_t rpm = e.deployment->rpm_limit();
  const int64_t tpm = e.deployment->tpm_limit();
  u.write_after = rpm >= 0 ? std::clamp<int64_t>(rpm_margin(rpm) / kReplicasWithinMargin, 1, kMaxUsageBatch)
                           : kMaxUsageBatch;
  // tpm has no atomic admission (tokens are known after the answer): keep
  // what the fleet has not seen to the same share of a fifth of the limit.
  u.write_after_tokens = tpm >= 0 ? std::max<int64_t>(1, tpm / 5 / kReplicasWithinMargin)
                                  : std::numeric_limits<int64_t>::max();
  return u;
}

void FleetSync::usage_counted(const std::shared_ptr<FleetDeploymentState>& fleet) {
  FleetUsageBuffer& u = fleet->usage;
  if (++u.counted >= u.write_after || u.tokens >= u.write_after_tokens) {
    write_usage(fleet);
    return;
  }
  if (!u.queued) {
    u.queued = true;
    usage_queue_.push_back(fleet);
  }
  if (usage_timer_ != 0) return;
  usage_timer_ = core_.loop->schedule(kUsageWriteMaxDelay, [this, alive = alive_] {
    if (!alive->load()) return;
    usage_timer_ = 0;
    flush_usage();
  });
}

void FleetSync::flush_usage() {
  for (const std::shared_ptr<FleetDeploymentState>& fleet : usage_queue_) {
    fleet->usage.queued = false;
    if (!fleet->usage.empty()) write_usage(fleet);
  }
  usage_queue_.clear();
}

// The sums as LiteLLM's writers leave them: INCRBYFLOAT, then the 60 s expiry
// re-armed (the pipelined increments of its usage-v2 queue and of
// async_increment_cache_pipeline).
void FleetSync::write_usage(const std::shared_ptr<FleetDeploymentState>& fleet) {
  FleetUsageBuffer& u = fleet->usage;
  const int64_t minute = u.minute;
  char digits[24];
  auto text = [&digits](int64_t n) {
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    return std::string_view(digits, static_cast<size_t>(r.ptr - digits));
  };
  if (const int64_t n = u.attempts; n > 0) {
    link_->command({"INCRBYFLOAT", u.rpm_usage_key, text(n)}, [fleet, minute, n](Result<state::RedisReply> r) {
      fleet->requests.on_reply(minute, n, count_of(r));
    });
    link_->command({"EXPIRE", u.rpm_usage_key, "60"});
  }
  if (const int64_t n = u.finished; n > 0) {
    link_->command({"INCRBYFLOAT", u.rpm_global_key, text(n)});
    link_->command({"EXPIRE", u.rpm_global_key, "60"});
  }
  if (const int64_t n = u.tokens; n > 0) {
    link_->command({"INCRBYFLOAT", u.tpm_global_key, text(n)}, [fleet, minute, n](Result<state::RedisReply> r) {
      fleet->tokens.on_reply(minute, n, count_of(r));
    });
    link_->command({"EXPIRE", u.tpm_global_key, "60"});
    link_->command({"INCRBYFLOAT", u.tpm_usage_key, text(n)});
    link_->command({"EXPIRE", u.tpm_usage_key, "60"});
  }
  u.attempts = 0;
  u.finished = 0;
  u.tokens = 0;
  u.counted = 0;
}

void FleetSync::publish_cooldown(const PoolEntry& e, TimePoint now, bool announce) {
  if (!link_) return;
  const health::DeploymentHealthState::Snapshot snap = e.health->snapshot(now);
  if (snap.state != health::CircuitState::kOpen) return;
  const Duration left = snap.cooldown_until - now;
  const int64_t left_ms = std::max<int64_t>(1, duration_cast<milliseconds>(left).count());
  const double until_wall = std::chrono::duration<double>(wall(snap.cooldown_until).time_since_epoch()).count();
  const state::CooldownRecord record = state::make_cooldown_record(
      snap.reason, snap.status, until_wall - snap.cooldown_seconds, snap.cooldown_seconds);
  // PX, not LiteLLM's EX int(t): a sub-second cooldown reaches Redis too.
  link_->command({"SET", keys_.cooldown(e.deployment->id()),
                  state::encode_cooldown_record(record), "PX", fmt::format("{}", left_ms)});
  if (!announce) return;
  std::string payload;
  json::Writer w(payload);
  w.begin_object()
      .member("replica", replica_id_)
      .member("event", "cooldown")
      .member("id", e.deployment->id())
      .member("until_ms", static_cast<int64_t>(std::llround(until_wall * 1000)))
      .member("seconds", snap.cooldown_seconds)
      .member("status", snap.status)
      .member("reason", snap.reason)
      .end_object();
  link_->command({"PUBLISH", channel_, payload});
}

void FleetSync::on_cooldown(const PoolEntry& e, TimePoint now, bool after_probe) {
  if (e.fleet) e.fleet->news.fetch_add(1);
  publish_cooldown(e, now, /*announce=*/true);
  if (after_probe && link_) link_->command({"DEL", keys_.probe_lease(e.deployment->id())});
}

void FleetSync::on_recovered(const PoolEntry& e) {
  if (!link_) return;
  if (e.fleet) e.fleet->news.fetch_add(1);
  std::string payload;
  json::Writer w(payload);
  w.begin_object()
      .member("replica", replica_id_)
      .member("event", "recovered")
      .member("id", e.deployment->id())
      .end_object();
  link_->command({"PUBLISH", channel_, payload});
  link_->command({"DEL", keys_.probe_lease(e.deployment->id())});
}

void FleetSync::on_probe_taken(const PoolEntry& e, Duration for_at_most) {
  if (!e.fleet) return;
  core_.cooldowns->hold_for_fleet(*e.health);
  const uint64_t news = e.fleet->news.fetch_add(1) + 1;
  std::shared_ptr<FleetDeploymentState> fleet = e.fleet;
  std::shared_ptr<health::DeploymentHealthState> health = e.health;
  health::CooldownTracker* tracker = core_.cooldowns;
  core_.loop->schedule(std::min(for_at_most, kProbeHoldRecheck), [fleet, health, tracker, news, alive = alive_] {
    if (!alive->load() || fleet->news.load() != news) return;  // news came first
    tracker->release_fleet_hold(*health);
  });
}

// --- budgets --------------------------------------------------------------------

std::string FleetSync::spend_key(const health::BudgetTracker::SharedBudget& b) const {
  using Scope = health::BudgetTracker::SharedBudget::Scope;
  return b.scope == Scope::kProvider ? keys_.provider_spend(b.name, b.duration)
                                     : keys_.deployment_spend(b.name, b.duration);
}

std::string FleetSync::start_key(const health::BudgetTracker::SharedBudget& b) const {
  using Scope = health::BudgetTracker::SharedBudget::Scope;
  return b.scope == Scope::kProvider ? keys_.provider_budget_start_time(b.name)
                                     : keys_.deployment_budget_start_time(b.name);
}

void FleetSync::on_spend(TimePoint now) {
  // Redis down: the spend waits in the tracker for the link to come back.
  if (budgets_ && up()) push_spend(now);
}

void FleetSync::push_spend(TimePoint now) {
  if (!budgets_ || !link_) return;
  std::vector<health::BudgetTracker::SpendPush> pushes = budgets_->take_pushes(now);
  if (pushes.empty()) return;
  const std::string wall_now = state::python_float_json(wall_seconds(now));
  for (health::BudgetTracker::SpendPush& p : pushes) {
    auto push = std::make_shared<const health::BudgetTracker::SpendPush>(std::move(p));
    link_->command({"EVAL", kSpendScript, "2", spend_key(push->budget), start_key(push->budget),
                    state::python_float_json(push->amount), wall_now, fmt::format("{}", push->budget.window_seconds)},
                   // The tracker is thread-safe: answered here, in order.
                   [this, push](Result<state::RedisReply> r) {
                     if (!r.ok()) {
                       // Sent and unanswered: maybe applied, never re-sent.
                       const ErrorKind k = r.error().kind;
                       if (k == ErrorKind::kTimeout || k == ErrorKind::kConnectionError) {
                         budgets_->on_push_unknown(*push);
                       } else {
                         budgets_->on_push_not_applied(*push);
                       }
                       return;
                     }
                     // An error reply (OOM, a spend key that is not a number):
                     // the script did not count it.
                     if (r->type != state::RedisReply::Type::kArray || r->elements.size() != 2) {
                       budgets_->on_push_not_applied(*push);
                       return;
                     }
                     const std::optional<double> total = number_of(r->elements[0]);
                     const std::optional<double> start = number_of(r->elements[1]);
                     const TimePoint now = core_.loop->now();
                     budgets_->on_fleet_total(push->budget, push->ticket, total.value_or(0),
                                              start ? std::optional<TimePoint>(from_wall_seconds(*start, now))
                                                    : std::nullopt);
                     budgets_->on_push_applied(*push);
                   });
  }
}

void FleetSync::read_budgets(const DeploymentPool& pool) {
  if (!budgets_ || !link_) return;
  using SharedBudget = health::BudgetTracker::SharedBudget;
  auto budgets = std::make_shared<std::vector<SharedBudget>>(budgets_->provider_shared_budgets());
  for (const auto& e : pool.entries()) {
    if (std::optional<SharedBudget> b = health::BudgetTracker::deployment_shared_budget(e->deployment->config())) {
      budgets->push_back(std::move(*b));
    }
  }
  if (budgets->empty()) return;
  std::vector<std::string> argv{"MGET"};
  argv.reserve(2 * budgets->size() + 1);
  for (const SharedBudget& b : *budgets) {
    argv.push_back(spend_key(b));
    argv.push_back(start_key(b));
  }
  const uint64_t ticket = budgets_->next_ticket();
  link_->command(argv, [this, budgets, ticket](Result<state::RedisReply> r) {
    if (!r.ok() || r->type != state::RedisReply::Type::kArray) return;
    const auto& el = r->elements;
    const TimePoint now = core_.loop->now();
    for (size_t i = 0; i < budgets->size() && 2 * i + 1 < el.size(); ++i) {
      const std::optional<double> start = number_of(el[2 * i + 1]);
      budgets_->on_fleet_total((*budgets)[i], ticket, number_of(el[2 * i]).value_or(0),
                               start ? std::optional<TimePoint>(from_wall_seconds(*start, now)) : std::nullopt);
    }
  });
}

void FleetSync::restore_budgets(TimePoint now) {
  if (!budgets_ || !link_) return;
  for (health::BudgetTracker::FleetWindow& w : budgets_->fleet_windows(now)) {
    const double left = static_cast<double>(w.budget.window_seconds) - duration_to_seconds(now - w.start);
    if (left < 1) continue;
    auto budget = std::make_shared<const health::BudgetTracker::SharedBudget>(std::move(w.budget));
    const uint64_t ticket = budgets_->next_ticket();
    link_->command({"EVAL", kRestoreScript, "2", spend_key(*budget), start_key(*budget),
                    state::python_float_json(w.total), state::python_float_json(wall_seconds(w.start)),
                    fmt::format("{}", static_cast<int64_t>(std::floor(left)))},
                   [this, budget, ticket](Result<state::RedisReply> r) {
                     if (!r.ok() || r->type != state::RedisReply::Type::kArray || r->elements.size() != 2) return;
                     const std::optional<double> start = number_of(r->elements[1]);
                     const TimePoint now = core_.loop->now();
                     budgets_->on_fleet_total(*budget, ticket, number_of(r->elements[0]).value_or(0),
                                              start ? std::optional<TimePoint>(from_wall_seconds(*start, now))
                                                    : std::nullopt);
                   });
  }
}

// --- the allowed-fails count --------------------------------------------------

void FleetSync::on_counted_failure(const PoolEntry& e, const health::FailureEvent& event, int allowed) {
  if (!link_ || !up()) return;  // the local count decides alone
  // The rule's window: LiteLLM expires the key after the router's
  // cooldown_time (whole seconds, at least one).
  const int64_t ttl = std::max<int64_t>(1, static_cast<int64_t>(core_.settings->cooldown_time_seconds));
  auto failure = std::make_shared<const health::FailureEvent>(event);
  link_->command({"EVAL", kAllowedFailsScript, "1", keys_.allowed_fails(e.deployment->id()), fmt::format("{}", ttl)},
                 [this, failure, allowed, id = e.deployment->id(), alive = alive_](Result<state::RedisReply> r) {
                   if (count_of(r) <= allowed) return;
                   core_.loop->post([this, failure, id, alive] {
                     if (!alive->load()) return;
                     std::shared_ptr<const DeploymentPool> pool = pool_();
                     const PoolEntry* e = pool ? find(*pool, id) : nullptr;
                     if (!e) return;
                     const std::optional<double> cooled = core_.cooldowns->apply_fleet_allowed_fails(*e->health, *failure);
                     if (!cooled) return;
                     Error error(failure->kind, failure->message);
                     error.status = failure->status;
                     core_.emit(RouterEventType::kCooldown, 0, e->deployment->config().model_name, e, &error, *cooled);
                     on_cooldown(*e, core_.loop->now(), /*after_probe=*/false);
                   });
                 });
}

// --- what other replicas say ---------------------------------------------------

void FleetSync::apply_announcement(std::string_view payload) {
  thread_local json::ScratchParser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(payload, doc) != simdjson::SUCCESS) return;
  simdjson::ondemand::object o;
  if (doc.get_object().get(o) != simdjson::SUCCESS) return;
  std::string replica, event, id, reason;
  int64_t until_ms = 0, status = 0;
  double seconds = 0;
  for (auto field : o) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return;
    simdjson::ondemand::value v = field.value();
    std::string_view s;
    if (key == "replica" && v.get_string().get(s) == simdjson::SUCCESS) replica = s;
    else if (key == "event" && v.get_string().get(s) == simdjson::SUCCESS) event = s;
    else if (key == "id" && v.get_string().get(s) == simdjson::SUCCESS) id = s;
    else if (key == "reason" && v.get_string().get(s) == simdjson::SUCCESS) reason = s;
    else if (key == "until_ms" && v.get_int64().get(until_ms) != simdjson::SUCCESS) return;
    else if (key == "status" && v.get_int64().get(status) != simdjson::SUCCESS) return;
    else if (key == "seconds" && v.get_double().get(seconds) != simdjson::SUCCESS) return;
  }
  if (replica == replica_id_ || id.empty()) return;  // our own echo
  std::shared_ptr<const DeploymentPool> pool = pool_();
  const PoolEntry* e = pool ? find(*pool, id) : nullptr;
  if (!e) return;
  const TimePoint now = core_.loop->now();
  if (event == "cooldown") {
    const double wall_now = std::chrono::duration<double>(wall(now).time_since_epoch()).count();
    const double left = std::min(static_cast<double>(until_ms) / 1000.0 - wall_now, kMaxRemoteCooldownSeconds);
    if (!(left > 0)) return;
    const TimePoint until = now + duration_cast<Duration>(std::chrono::duration<double>(left));
    if (already_cooling_until(*e, until, now)) return;
    if (e->fleet) e->fleet->news.fetch_add(1);
    core_.cooldowns->apply_remote_cooldown(*e->health, until, std::move(reason), static_cast<int>(status), seconds,
                                          replica);
  } else if (event == "recovered") {
    if (e->fleet) e->fleet->news.fetch_add(1);
    core_.cooldowns->apply_remote_recovery(*e->health);
  }
}

void FleetSync::apply_cooldown_value(const PoolEntry& e, std::string_view value, TimePoint now) {
  Result<state::CooldownRecord> record = state::decode_cooldown_record(value);
  if (!record.ok()) return;  // not a cooldown value we understand: ignore (logged by nobody: it is someone else's key)
  const double wall_now = std::chrono::duration<double>(wall(now).time_since_epoch()).count();
  // LiteLLM 1.110's rule: a cooldown lasts until timestamp + cooldown_time,
  // whatever the key's TTL says (bounded: remote_cooldown_end).
  const double until_wall = remote_cooldown_end(record->timestamp, record->cooldown_time, wall_now);
  if (!(until_wall > wall_now)) return;
  const TimePoint until = now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(until_wall - wall_now));
  if (already_cooling_until(e, until, now)) return;
  std::string reason =
      record->status_code > 0 ? fmt::format("{} {}", record->status_code, record->message) : record->message;
  if (core_.cooldowns->apply_remote_cooldown(*e.health, until, std::move(reason), record->status_code,
                                             record->cooldown_time, "redis") &&
      e.fleet) {
    e.fleet->news.fetch_add(1);
  }
}

// --- refresh --------------------------------------------------------------------

void FleetSync::schedule_refresh() {
  refresh_timer_ = core_.loop->schedule(settings_.sync_interval, [this, alive = alive_] {
    if (!alive->load()) return;
    refresh_timer_ = 0;
    refresh(/*resync=*/false);
    schedule_refresh();
  });
}

void FleetSync::refresh(bool resync) {
  if (!link_ || !up()) return;
  if (health_checks_) health_checks_->refresh(resync);
  std::shared_ptr<const DeploymentPool> pool = pool_();
  if (!pool || pool->entries().empty()) return;
  const TimePoint now = core_.loop->now();

  // Cooldowns of every deployment: one MGET.
  std::vector<std::string> argv;
  argv.reserve(pool->entries().size() + 1);
  argv.emplace_back("MGET");
  for (const auto& e : pool->entries()) argv.push_back(keys_.cooldown(e->deployment->id()));
  link_->command(argv, [this, pool, resync, alive = alive_](Result<state::RedisReply> r) {
    if (!r.ok() || r->type != state::RedisReply::Type::kArray) return;
    auto values = std::make_shared<std::vector<state::RedisReply>>(std::move(r.value().elements));
    core_.loop->post([this, pool, values, resync, alive] {
      if (!alive->load()) return;
      const TimePoint now = core_.loop->now();
      const auto& entries = pool->entries();
      for (size_t i = 0; i < entries.size() && i < values->size(); ++i) {
        const state::RedisReply& v = (*values)[i];
        if (v.type == state::RedisReply::Type::kString) apply_cooldown_value(*entries[i], v.str, now);
      }
      if (!resync) return;
      // Redis came back (maybe empty): what this replica knows goes back in.
      for (const auto& e : entries) {
        if (e->health->availability(now) == health::Availability::kCoolingDown) publish_cooldown(*e, now, false);
      }
    });
  });

  // Budgets: after Redis came back, first what it may have lost, then the
  // spend kept meanwhile; then every spend key.
  if (resync) restore_budgets(now);
  push_spend(now);
  read_budgets(*pool);

  // Fleet-wide usage of the deployments with limits, this minute.
  const int64_t minute = utc_minute(now);
  const std::string tag = minute_tag(now);
  std::vector<std::shared_ptr<FleetDeploymentState>> limited;
  std::vector<std::string> usage{"MGET"};
  for (const auto& e : pool->entries()) {
    if (!e->fleet || !has_rate_limit(*e)) continue;
    const std::string& id = e->deployment->id();
    const std::string& model = e->deployment->config().model;
    limited.push_back(e->fleet);
    usage.push_back(keys_.usage_v2(id, model, state::UsageCounter::kRpm, tag));
    usage.push_back(keys_.global_router_usage(id, model, state::UsageCounter::kTpm, tag));
  }
  if (limited.empty()) return;
  link_->command(usage, [limited = std::move(limited), minute](Result<state::RedisReply> r) {
    if (!r.ok() || r->type != state::RedisReply::Type::kArray) return;
    const auto& el = r->elements;
    for (size_t i = 0; i < limited.size() && 2 * i + 1 < el.size(); ++i) {
      if (int64_t n = count_of(el[2 * i]); n >= 0) limited[i]->requests.observe(minute, n);
      if (int64_t n = count_of(el[2 * i + 1]); n >= 0) limited[i]->tokens.observe(minute, n);
    }
  });
}

// --- the link's news (link thread) ---------------------------------------------

void FleetSync::on_link_up() {
  link_started_.wait();
  link_up_.store(true);
  core_.loop->post([this, alive = alive_] {
    if (!alive->load()) return;
    core_.emit(RouterEventType::kSharedStateUp, 0, {}, nullptr);
    refresh(/*resync=*/true);
  });
}

void FleetSync::on_link_down(std::string_view reason) {
  link_started_.wait();
  link_up_.store(false);
  auto error = std::make_shared<Error>(ErrorKind::kServiceUnavailable,
                                       fmt::format("shared state (Redis at {}) unavailable, routing on local state: {}",
                                                   settings_.link.endpoint.describe(), reason));
  core_.loop->post([this, error, alive = alive_] {
    if (!alive->load()) return;
    core_.emit(RouterEventType::kSharedStateDown, 0, {}, nullptr, error.get());
  });
}

void FleetSync::on_message(std::string_view channel, std::string_view payload) {
  link_started_.wait();
  if (channel != channel_) return;
  core_.loop->post([this, text = std::string(payload), alive = alive_] {
    if (!alive->load()) return;
    if (health_checks_ && health_checks_->on_announcement(text)) return;
    apply_announcement(text);
  });
}

}  // namespace llmux::router
