#include "router/health_checker.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "absl/container/flat_hash_set.h"
#include "provider/provider.hpp"
#include "request/request.hpp"
#include "router/health_probe.hpp"
#include "router/secrets.hpp"

namespace llmux::router {

struct HealthChecker::Round {
  std::vector<std::optional<HealthCheckResult>> results;  // by job index
  size_t remaining = 0;
  RoundDone done;
};

// One check in flight: its plan, the adapter and the parsed request it was
// built from, and the transfer carrying it. Owned by the checker (runs_);
// erased when the check ends — from inside on_complete, which touches
// nothing after handing the result over.
class HealthChecker::Run final : public transport::TransferObserver {
 public:
  Run(HealthChecker& owner, uint64_t id, Job job, size_t round_index)
      : owner_(owner), id(id), job(std::move(job)), round_index(round_index) {}
  void on_complete(transport::TransferResult&& result) override { owner_.on_transfer_done(id, std::move(result)); }

  provider::ProviderTarget target() const {
    return provider::ProviderTarget{job.entry->deployment->config(), plan.provider_model, job.entry->auth.get()};
  }

 private:
  HealthChecker& owner_;

 public:
  const uint64_t id;
  const Job job;
  const size_t round_index;
  ProbePlan plan;
  const provider::Provider* provider = nullptr;
  std::optional<request::ParsedRequest> request;
  TimePoint started{};
  transport::TransferId transfer = 0;
};

namespace {

HealthCheckResult base_result(const DeploymentConfig& d, const ProbePlan& plan) {
  HealthCheckResult r;
  r.deployment_id = d.id;
  r.model_group = d.model_name;
  r.mode = plan.mode;
  r.model = plan.model;
  return r;
}

double ms_between(TimePoint a, TimePoint b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// The schedule's period: at least 10 ms, so a tiny interval cannot spin the loop.
Duration interval_of(const RouterSettings& settings) {
  return bounded_seconds(settings.health_checks.interval_seconds, 0.01);
}

}  // namespace

HealthChecker::HealthChecker(Options options)
    : loop_(*options.loop),
      settings_(*options.settings),
      pool_(std::move(options.pool)),
      mode_lookup_(std::move(options.mode_lookup)),
      wall_(options.wall),
      first_round_offset_(std::clamp(options.first_round_offset, 0.0, std::nextafter(1.0, 0.0))) {}

HealthChecker::~HealthChecker() {
  // The loop is stopped (or the router drove it until idle()): no transfer
  // of ours is left that could report to a destroyed Run.
  *alive_ = false;
}

void HealthChecker::add_observer(ResultObserver observer) {
  if (!observer) return;
  std::lock_guard<std::mutex> lock(observer_mu_);
  observers_.push_back(std::move(observer));
}

// ---- the background schedule ----------------------------------------------------

void HealthChecker::start() {
  if (started_ || stopped_) return;
  started_ = true;
  if (settings_.health_checks.background) tick();
}

void HealthChecker::pool_changed() {
  if (!started_ || stopped_ || !settings_.health_checks.background) return;
  tick();
}

bool HealthChecker::background_eligible(const PoolEntry& e) const {
  const DeploymentConfig& d = e.deployment->config();
  if (d.health_check.disable_background) return false;
  const auto& groups = settings_.health_checks.background_model_groups;
  return !groups || std::find(groups->begin(), groups->end(), d.model_name) != groups->end();
}

void HealthChecker::sync_slots(const DeploymentPool& pool, TimePoint now) {
  absl::flat_hash_map<std::string, TimePoint> known;
  for (const Slot& s : slots_) known.emplace(s.id, s.due);
  std::vector<Slot> next;
  std::vector<size_t> fresh;  // indexes in `next` of deployments new to the schedule
  for (const auto& e : pool.entries()) {
    const std::string& id = e->deployment->id();
    if (pool.by_id(id) != e.get() || !background_eligible(*e)) continue;  // one slot per id
    auto it = known.find(id);
    if (it != known.end()) {
      next.push_back(Slot{id, it->second});
    } else {
      fresh.push_back(next.size());
      next.push_back(Slot{id, now});
    }
  }
  // New deployments spread evenly over one interval from now: at start that
  // is every deployment (shifted by first_round_offset, wrapping within the
  // interval); later, one added alone is checked at once.
  const Duration interval = interval_of(settings_);
  const double offset = first_round_spread_ ? 0.0 : first_round_offset_;
  if (!fresh.empty()) first_round_spread_ = true;
  for (size_t k = 0; k < fresh.size(); ++k) {
    double at = static_cast<double>(k) / static_cast<double>(fresh.size()) + offset;
    at -= std::floor(at);
    next[fresh[k]].due = now + seconds_to_duration(duration_to_seconds(interval) * at);
  }
  for (const Slot& s : next) pool.by_id(s.id)->check->set_next_check_at(s.due);
  slots_ = std::move(next);
}

void HealthChecker::tick() {
  if (stopped_) return;
  const TimePoint now = loop_.now();
  std::shared_ptr<const DeploymentPool> pool = pool_();
  sync_slots(*pool, now);
  const Duration interval = interval_of(settings_);
  std::vector<const PoolEntry*> due;
  for (Slot& s : slots_) {
    if (s.due > now) continue;
    due.push_back(pool->by_id(s.id));
    s.due += interval;
    if (s.due <= now) s.due = now + interval;  // after a stall: one check, not a burst
    due.back()->check->set_next_check_at(s.due);
  }
  arm(now);
  for (const PoolEntry* e : due) {
    if (fresh_from_fleet(*e, now, interval)) continue;
    // A check still running (a slow deployment, a full concurrency cap)
    // is not doubled.
    if (!background_busy_.insert(e->deployment->id()).second) continue;
    enqueue(Job{pool, e, nullptr});
  }
}

bool HealthChecker::fresh_from_fleet(const PoolEntry& e, TimePoint now, Duration interval) const {
  std::optional<HealthCheckState::Latest> latest = e.check->latest();
  return latest && !latest->result.checked_by.empty() && !latest->result.skipped && now - latest->ended < interval / 2;
}

void HealthChecker::arm(TimePoint now) {
  if (timer_ != 0) {
    loop_.cancel_timer(timer_);
    timer_ = 0;
  }
  if (slots_.empty()) return;
  TimePoint earliest = slots_.front().due;
  for (const Slot& s : slots_) earliest = std::min(earliest, s.due);
  std::weak_ptr<bool> alive = alive_;
  timer_ = loop_.schedule(std::max(Duration::zero(), earliest - now), [this, alive] {
    if (alive.expired()) return;
    timer_ = 0;  // fired: nothing to cancel any more
    tick();
  });
}

// ---- rounds on demand -----------------------------------------------------------

void HealthChecker::check_now(const std::string& model_group, bool skip_disabled, RoundDone done) {
  std::shared_ptr<const DeploymentPool> pool = pool_();
  std::vector<const PoolEntry*> picked;
  if (!stopped_) {
    for (const auto& e : pool->entries()) {
      const DeploymentConfig& d = e->deployment->config();
      if (pool->by_id(d.id) != e.get()) continue;  // identical deployments share one id: checked once
      if (!model_group.empty() && d.model_name != model_group) continue;
      if (skip_disabled && d.health_check.disable_background) continue;
      picked.push_back(e.get());
    }
  }
  if (picked.empty()) {
    if (done) done({});
    return;
  }
  auto round = std::make_shared<Round>();
  round->results.resize(picked.size());
  round->remaining = picked.size();
  round->done = std::move(done);
  for (size_t i = 0; i < picked.size(); ++i) enqueue(Job{pool, picked[i], round, i});
}

// ---- running checks -------------------------------------------------------------

void HealthChecker::enqueue(Job job) {
  queue_.push_back(std::move(job));
  start_next();
}

void HealthChecker::start_next() {
  // launch() may end a check at once (skipped, no credentials), which calls
  // back here: the outer call keeps draining instead of recursing.
  if (draining_) return;
  draining_ = true;
  const std::optional<int> cap = settings_.health_checks.concurrency;
  while (!queue_.empty() && !stopped_ && (!cap || in_flight_ < static_cast<size_t>(*cap))) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    launch(std::move(job));
  }
  draining_ = false;
}

void HealthChecker::launch(Job job) {
  const DeploymentConfig& d = job.entry->deployment->config();
  const TimePoint now = loop_.now();
  std::string map_mode;
  if (d.mode.empty() && mode_lookup_) map_mode = mode_lookup_(d);
  ProbePlan plan = plan_probe(d, map_mode);
  if (plan.skip_reason) {
    HealthCheckResult r = base_result(d, plan);
    r.skipped = true;
    r.reason = *plan.skip_reason;
    r.checked_at = wall_.to_unix(now);
    deliver(job, std::move(r), /*record_it=*/true);
    return;
  }
  const uint64_t id = next_run_id_++;
  const size_t round_index = job.round_index;
  auto owned = std::make_unique<Run>(*this, id, std::move(job), round_index);
  Run& run = *owned;
  run.plan = std::move(plan);
  run.started = now;
  runs_.emplace(id, std::move(owned));
  ++in_flight_;
  auto parsed = request::parse_request(run.plan.body, run.plan.endpoint);
  if (!parsed.ok()) {
    finish(id, failure_result(run, std::move(parsed).error()), true);
    return;
  }
  run.request.emplace(std::move(parsed).value());
  run.provider = provider::provider_for_attempt(d, *run.request, run.job.entry->provider);
  if (run.provider == nullptr) {
    finish(id, failure_result(run, Error(ErrorKind::kInvalidConfig,
                                         fmt::format("provider '{}' is not supported", d.provider))),
           true);
    return;
  }
  // Credentials first (a token may need fetching, on the loop), as a call does.
  std::weak_ptr<bool> alive = alive_;
  run.provider->prepare(run.target(), loop_, [this, alive, id](Status status) {
    if (alive.expired()) return;
    prepared(id, std::move(status));
  });
  // `run` may be gone by now (prepare may answer inline).
}

void HealthChecker::prepared(uint64_t run_id, Status status) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || stopped_) return;  // stopped meanwhile: delivered as cancelled
  Run& run = *it->second;
  if (!status.ok()) {
    finish(run_id, failure_result(run, status.error()), true);
    return;
  }
  send(run);
}

void HealthChecker::send(Run& run) {
  const uint64_t id = run.id;
  const provider::ProviderTarget target = run.target();
  if (std::optional<provider::LocalAnswer> local = run.provider->answer_locally(target, *run.request, false)) {
    // A mock deployment answers without the network, read like any answer.
    if (local->error) {
      finish(id, failure_result(run, std::move(*local->error)), true);
      return;
    }
    transport::TransferResult result;
    result.status = local->status;
    result.body = std::move(local->body);
    result.started = result.finished = loop_.now();
    on_transfer_done(id, std::move(result));
    return;
  }
  transport::HttpRequest http;
  if (Status built = run.provider->build_request(target, *run.request, /*stream=*/false, http); !built.ok()) {
    finish(id, failure_result(run, built.error()), true);
    return;
  }
  const Duration left = run.plan.timeout - (loop_.now() - run.started);
  if (left <= Duration::zero()) {
    finish(id,
           failure_result(run, Error(ErrorKind::kTimeout,
                                     fmt::format("health check timed out after {:.3f} s getting credentials",
                                                 duration_to_seconds(run.plan.timeout)))),
           true);
    return;
  }
  http.connect_timeout = std::min(bounded_seconds(settings_.connect_timeout_seconds, 0), left);
  http.total_timeout = left;
  run.transfer = loop_.start_transfer(std::move(http), &run);
}

void HealthChecker::on_transfer_done(uint64_t run_id, transport::TransferResult&& result) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  if (stopped_) {
    // stop() already gave its round a cancelled result.
    runs_.erase(it);
    return;
  }
  Run& run = *it->second;
  const bool is_2xx = result.status >= 200 && result.status < 300;
  if (result.error != transport::TransferError::kNone || !is_2xx) {
    finish(run_id, failure_result(run, run.provider->classify_failure(result)), true);
    return;
  }
  // A 2xx that is no answer (an error object, not JSON) fails the check too.
  if (Status translated = run.provider->translate_response(run.target(), *run.request, result.body);
      !translated.ok()) {
    finish(run_id, failure_result(run, translated.error()), true);
    return;
  }
  if (auto info = run.provider->inspect_response(result.body, run.plan.endpoint); !info.ok()) {
    finish(run_id, failure_result(run, std::move(info).error()), true);
    return;
  }
  const TimePoint now = loop_.now();
  HealthCheckResult r = base_result(run.job.entry->deployment->config(), run.plan);
  r.healthy = true;
  r.checked_at = wall_.to_unix(now);
  r.latency_ms = ms_between(run.started, now);
  finish(run_id, std::move(r), true);
}

HealthCheckResult HealthChecker::failure_result(const Run& run, Error error) const {
  const TimePoint now = loop_.now();
  HealthCheckResult r = base_result(run.job.entry->deployment->config(), run.plan);
  r.healthy = false;
  r.error_type = std::string(error_kind_name(error.kind));
  r.status = error.status != 0 ? error.status : error_kind_default_status(error.kind);
  r.reason = std::move(error.message);
  redact_secrets(r.reason, run.job.entry->secrets);
  r.checked_at = wall_.to_unix(now);
  r.latency_ms = ms_between(run.started, now);
  return r;
}

void HealthChecker::finish(uint64_t run_id, HealthCheckResult result, bool record_it) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  std::unique_ptr<Run> run = std::move(it->second);
  runs_.erase(it);
  --in_flight_;
  deliver(run->job, std::move(result), record_it);
  start_next();
  // `run` is destroyed here, possibly from inside its own on_complete.
}

void HealthChecker::deliver(const Job& job, HealthCheckResult result, bool record_it) {
  if (record_it) {
    record(*job.entry, result);
    if (!result.skipped) {
      std::vector<ResultObserver> observers;
      {
        std::lock_guard<std::mutex> lock(observer_mu_);
        observers = observers_;
      }
      for (const ResultObserver& observer : observers) {
        try {
          observer(result);
        } catch (...) {
          // An observer must not break the checks.
        }
      }
    }
  }
  if (!job.round) {
    background_busy_.erase(job.entry->deployment->id());
    return;
  }
  Round& round = *job.round;
  round.results[job.round_index] = std::move(result);
  if (--round.remaining > 0) return;
  std::vector<HealthCheckResult> results;
  results.reserve(round.results.size());
  for (auto& r : round.results) results.push_back(std::move(*r));
  RoundDone done = std::move(round.done);
  if (done) {
    try {
      done(std::move(results));
    } catch (...) {
    }
  }
}

// ---- stopping -------------------------------------------------------------------

void HealthChecker::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (timer_ != 0) {
    loop_.cancel_timer(timer_);
    timer_ = 0;
  }
  auto cancelled = [this](const Job& job) {
    const DeploymentConfig& d = job.entry->deployment->config();
    HealthCheckResult r;
    r.deployment_id = d.id;
    r.model_group = d.model_name;
    r.error_type = std::string(error_kind_name(ErrorKind::kCancelled));
    r.status = error_kind_default_status(ErrorKind::kCancelled);
    r.reason = "health check cancelled: the router is shutting down";
    r.checked_at = wall_.to_unix(loop_.now());
    return r;
  };
  std::deque<Job> queued = std::move(queue_);
  queue_.clear();
  for (const Job& job : queued) deliver(job, cancelled(job), /*record_it=*/false);
  std::vector<uint64_t> ids;
  ids.reserve(runs_.size());
  for (const auto& [id, run] : runs_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = runs_.find(id);
    if (it == runs_.end()) continue;
    Run& run = *it->second;
    deliver(run.job, cancelled(run.job), /*record_it=*/false);
    if (run.transfer != 0) {
      loop_.cancel_transfer(run.transfer);  // erased when the cancellation reports back
    } else {
      runs_.erase(it);  // still getting credentials: the late answer finds nothing
    }
  }
  in_flight_ = 0;
}

// ---- results --------------------------------------------------------------------

bool HealthChecker::record(const PoolEntry& entry, const HealthCheckResult& result) const {
  const HealthCheckSettings& hc = settings_.health_checks;
  const bool counts = !result.skipped && !(hc.ignore_transient_errors && is_transient_failure(result));
  return entry.check->record(result, wall_.from_unix(result.checked_at), bounded_seconds(hc.staleness_seconds(), 0),
                             counts);
}

bool HealthChecker::apply(const HealthCheckResult& result) {
  std::shared_ptr<const DeploymentPool> pool = pool_();
  const PoolEntry* entry = pool->by_id(result.deployment_id);
  if (entry == nullptr || result.skipped) return false;
  return record(*entry, result);
}

}  // namespace llmux::router
