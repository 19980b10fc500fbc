#include "router/fleet_health_checks.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "json/scratch_parser.hpp"
#include "json/writer.hpp"
#include "router/fleet_sync.hpp"

namespace llmux::router {
namespace {

constexpr std::string_view kEvent = "health_check";
// Who wrote an entry of LiteLLM's key that names no llmux replica (as
// cooldowns read back are reported cooled_by "redis").
constexpr std::string_view kLiteLLMWriter = "redis";
// Compare-and-set rounds of one merge before it gives up (the next result
// merges again; another writer changing the key this often is not expected).
constexpr int kMergeTries = 5;

// Writes the merged value only if the key still holds what was merged into.
// KEYS: the key. ARGV: "1" when a value was read (else the key was absent),
// that value, the merged value, the TTL in seconds. Replies 1 when written;
// otherwise what the key holds now (its value, or 0 when absent).
constexpr std::string_view kCompareAndSetScript =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if ARGV[1] == '1' then\n"
    "  if cur ~= ARGV[2] then return cur or 0 end\n"
    "elseif cur then\n"
    "  return cur\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])\n"
    "return 1\n";

}  // namespace

FleetHealthChecks::FleetHealthChecks(Options options)
    : loop_(*options.loop),
      fleet_(*options.fleet),
      checker_(*options.checker),
      use_litellm_key_(options.use_litellm_key),
      staleness_seconds_(std::clamp(options.staleness_seconds, 0.0, 1e9)),
      key_(options.fleet->keys().health_check_state()),
      channel_(options.fleet->keys().events_channel()),
      replica_id_(options.fleet->replica_id()),
      link_(options.fleet->link()) {}

FleetHealthChecks::~FleetHealthChecks() { alive_->store(false); }

void FleetHealthChecks::quiesce() { alive_->store(false); }

double FleetHealthChecks::wall_now() const { return checker_.wall().to_unix(loop_.now()); }

// ---- this replica's results -------------------------------------------------------

void FleetHealthChecks::on_own_result(const HealthCheckResult& result) {
  if (!alive_->load() || link_ == nullptr || !fleet_.up() || result.skipped) return;  // fail open: local only
  announce(result);
  if (!use_litellm_key_) return;
  state::HealthStateEntry entry;
  entry.id = result.deployment_id;
  entry.is_healthy = result.healthy;
  entry.timestamp = result.checked_at;
  entry.reason = result.healthy ? std::string() : result.reason;
  entry.checked_by = replica_id_;
  auto it = std::find_if(pending_.begin(), pending_.end(), [&](const auto& p) { return p.id == entry.id; });
  if (it != pending_.end()) {
    *it = std::move(entry);
  } else {
    pending_.push_back(std::move(entry));
  }
  if (!writing_) start_write();
}

void FleetHealthChecks::announce(const HealthCheckResult& r) {
  std::string payload;
  json::Writer w(payload);
  w.begin_object();
  w.member("event", kEvent);
  w.member("replica", std::string_view(replica_id_));
  w.member("id", std::string_view(r.deployment_id));
  w.member("model_group", std::string_view(r.model_group));
  w.member("mode", std::string_view(r.mode));
  w.member("model", std::string_view(r.model));
  w.member("healthy", r.healthy);
  w.member("error_type", std::string_view(r.error_type));
  w.member("status", static_cast<int64_t>(r.status));
  w.member("reason", std::string_view(r.reason));
  w.member("checked_at", r.checked_at);
  w.member("latency_ms", r.latency_ms);
  w.end_object();
  link_->command({"PUBLISH", channel_, payload});
}

void FleetHealthChecks::start_write() {
  if (pending_.empty() || link_ == nullptr) return;
  writing_ = true;
  auto batch = std::make_shared<const std::vector<state::HealthStateEntry>>(std::move(pending_));
  pending_.clear();
  link_->command({"GET", key_}, [this, batch, alive = alive_](Result<state::RedisReply> r) {
    if (!r.ok() || !alive->load() || r->type == state::RedisReply::Type::kError) {
      if (alive->load()) write_done();
      return;
    }
    write_merged(batch, r.value(), kMergeTries);
  });
}

void FleetHealthChecks::write_merged(std::shared_ptr<const std::vector<state::HealthStateEntry>> batch,
                                     const state::RedisReply& stored, int tries_left) {
  const bool present = stored.type == state::RedisReply::Type::kString;
  std::vector<state::HealthStateEntry> entries;
  if (present) {
    // A value nobody can read (not LiteLLM either) is replaced.
    if (Result<std::vector<state::HealthStateEntry>> decoded = state::decode_health_states(stored.str); decoded.ok()) {
      entries = std::move(decoded).value();
    }
  }
  // Entries past the key's TTL would have expired with it.
  const double ttl = std::max(1.0, std::floor(1.5 * staleness_seconds_));
  double newest = 0;
  for (const auto& e : *batch) newest = std::max(newest, e.timestamp);
  const std::string value = state::encode_health_states(state::merge_health_states(std::move(entries), *batch, newest - ttl));
  link_->command({"EVAL", kCompareAndSetScript, "1", key_, present ? "1" : "0", present ? stored.str : std::string(),
                  value, fmt::format("{}", static_cast<int64_t>(ttl))},
                 [this, batch, tries_left, alive = alive_](Result<state::RedisReply> r) {
                   if (!alive->load()) return;
                   const bool retry = r.ok() && tries_left > 1 &&
                                      (r->type == state::RedisReply::Type::kString ||
                                       (r->type == state::RedisReply::Type::kInteger && r->integer == 0));
                   if (!retry) {
                     write_done();  // written, given up, or Redis failed: the next result writes again
                     return;
                   }
                   state::RedisReply now_stored = std::move(r).value();
                   if (now_stored.type == state::RedisReply::Type::kInteger) now_stored = state::RedisReply{};
                   write_merged(batch, now_stored, tries_left - 1);
                 });
}

void FleetHealthChecks::write_done() {
  loop_.post([this, alive = alive_] {
    if (!alive->load()) return;
    writing_ = false;
    if (!pending_.empty() && fleet_.up()) start_write();
  });
}

// ---- other replicas' results ------------------------------------------------------

bool FleetHealthChecks::on_announcement(std::string_view payload) {
  thread_local json::ScratchParser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(payload, doc) != simdjson::SUCCESS) return false;
  simdjson::ondemand::object o;
  if (doc.get_object().get(o) != simdjson::SUCCESS) return false;
  std::string event, replica;
  HealthCheckResult r;
  bool valid = true;
  for (auto field : o) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
    simdjson::ondemand::value v = field.value();
    std::string_view s;
    auto text = [&](std::string& out) {
      if (v.get_string().get(s) == simdjson::SUCCESS) {
        out = s;
      } else {
        valid = false;
      }
    };
    if (key == "event") text(event);
    else if (key == "replica") text(replica);
    else if (key == "id") text(r.deployment_id);
    else if (key == "model_group") text(r.model_group);
    else if (key == "mode") text(r.mode);
    else if (key == "model") text(r.model);
    else if (key == "error_type") text(r.error_type);
    else if (key == "reason") text(r.reason);
    else if (key == "healthy") valid = valid && v.get_bool().get(r.healthy) == simdjson::SUCCESS;
    else if (key == "checked_at") valid = valid && v.get_double().get(r.checked_at) == simdjson::SUCCESS;
    else if (key == "latency_ms") valid = valid && v.get_double().get(r.latency_ms) == simdjson::SUCCESS;
    else if (key == "status") {
      int64_t status = 0;
      valid = valid && v.get_int64().get(status) == simdjson::SUCCESS && status >= 0 && status < 1000;
      r.status = static_cast<int>(status);
    }
  }
  if (event != kEvent) return false;
  if (!alive_->load() || !valid || replica.empty() || replica == replica_id_ || r.deployment_id.empty()) return true;
  if (!std::isfinite(r.checked_at) || !std::isfinite(r.latency_ms)) return true;
  // A clock ahead of ours cannot make a result hold longer than if checked now.
  r.checked_at = std::min(r.checked_at, wall_now());
  r.checked_by = std::move(replica);
  checker_.apply(r);
  return true;
}

void FleetHealthChecks::refresh(bool resync) {
  if (!use_litellm_key_ || !alive_->load() || link_ == nullptr) return;
  const TimePoint now = loop_.now();
  if (!resync && read_once_ && now - last_read_ < kLiteLLMReadInterval) return;
  read_once_ = true;
  last_read_ = now;
  link_->command({"GET", key_}, [this, alive = alive_](Result<state::RedisReply> r) {
    if (!r.ok() || r->type != state::RedisReply::Type::kString) return;
    // Decoded here, on the link thread, not on the calls' loop.
    Result<std::vector<state::HealthStateEntry>> decoded = state::decode_health_states(r->str);
    if (!decoded.ok()) return;  // someone else's unreadable value: LiteLLM ignores it too
    auto entries = std::make_shared<std::vector<state::HealthStateEntry>>(std::move(decoded).value());
    loop_.post([this, entries, alive] {
      if (alive->load()) apply_stored(*entries);
    });
  });
}

void FleetHealthChecks::apply_stored(const std::vector<state::HealthStateEntry>& entries) {
  std::shared_ptr<const DeploymentPool> pool = checker_.pool();
  if (!pool) return;
  const double now = wall_now();
  for (const state::HealthStateEntry& e : entries) {
    if (e.checked_by == replica_id_) continue;  // our own, already recorded
    const PoolEntry* entry = pool->by_id(e.id);
    if (entry == nullptr) continue;
    // LiteLLM's rule: an entry as old as the staleness threshold says nothing.
    const double checked_at = std::min(e.timestamp, now);
    if (!(now - checked_at < staleness_seconds_)) continue;
    HealthCheckResult r;
    r.deployment_id = e.id;
    r.model_group = entry->deployment->config().model_name;
    r.healthy = e.is_healthy;
    r.reason = e.is_healthy ? std::string() : e.reason;
    r.checked_at = checked_at;
    r.checked_by = e.checked_by.empty() ? std::string(kLiteLLMWriter) : e.checked_by;
    checker_.apply(r);
  }
}

}  // namespace llmux::router
