#include "llmux/router.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <fmt/format.h>

#include "common/futex_notification.hpp"
#include "common/notification.hpp"
#include "config/tls_settings.hpp"
#include "request/request.hpp"
#include "router/router_impl.hpp"
#include "strategy/strategy_registry.hpp"
#include "transport/curl_event_loop.hpp"

namespace llmux {

std::string_view version() { return LLMUX_VERSION_STRING; }

std::string_view router_event_type_name(RouterEventType type) {
  switch (type) {
    case RouterEventType::kSuccess: return "success";
    case RouterEventType::kFailure: return "failure";
    case RouterEventType::kRetry: return "retry";
    case RouterEventType::kFallback: return "fallback";
    case RouterEventType::kCooldown: return "cooldown";
    case RouterEventType::kRecovered: return "recovered";
    case RouterEventType::kSharedStateDown: return "shared_state_down";
    case RouterEventType::kSharedStateUp: return "shared_state_up";
  }
  return "unknown";
}

Router::Impl::Impl(RouterConfig config, RouterOptions options, std::unique_ptr<transport::EventLoop> owned_loop,
                   std::optional<BorrowedLoop> borrowed, std::unique_ptr<Strategy> strategy,
                   std::shared_ptr<const router::DeploymentPool> pool, std::unique_ptr<health::BudgetTracker> budgets,
                   bool budgets_active, std::unique_ptr<pricing::PriceBook> prices,
                   std::optional<state::SharedStateSettings> shared_state)
    : config_(std::move(config)),
      options_(std::move(options)),
      owned_loop_(std::move(owned_loop)),
      drive_loop_(borrowed ? std::move(borrowed->drive) : nullptr),
      loop_(owned_loop_ ? *owned_loop_ : *borrowed->loop),
      time_(loop_.clock()),
      cooldowns_(config_.settings, time_),
      budgets_(std::move(budgets)),
      strategy_(std::move(strategy)),
      rng_(options_.random_seed ? options_.random_seed : std::random_device{}() * 0x9E3779B97F4A7C15ull + 1),
      pool_(std::move(pool)),
      declared_(config_.model_list),
      prices_(std::move(prices)) {
  settings_ = std::make_shared<const RouterSettings>(config_.settings);
  settings_kept_.push_back(settings_);
  core_.settings = settings_;
  core_.loop = &loop_;
  core_.cooldowns = &cooldowns_;
  core_.budgets = budgets_active ? budgets_.get() : nullptr;
  // The metrics see every event first; then the caller's callback, whose
  // exceptions RouterCore::emit swallows.
  core_.on_event = [this](const RouterEvent& event) {
    if (core_.client_side.size() == 0) {
      metrics_.record(event);
    } else {
      // Client-side credentials' twins count under one label (bounded series).
      RouterEvent relabelled;
      RouterMetadata relabelled_metadata;
      metrics_.record(core_.client_side.for_metrics(event, relabelled, relabelled_metadata));
    }
    if (options_.on_event) options_.on_event(event);
  };
  core_.strategy = strategy_.get();
  core_.rng = &rng_;
  core_.on_call_finished = [this](uint64_t id) { on_call_finished(id); };
  if (shared_state) {
    fleet_ = std::make_unique<router::FleetSync>(core_, std::move(*shared_state), [this] { return current_pool(); });
    core_.fleet = fleet_.get();
    fleet_->share_budgets(budgets_.get());
    // On the loop: the link's first callbacks post tasks there that read the
    // link FleetSync is still being handed.
    run_on_loop([this] { fleet_->start(); });
  }

  router::HealthChecker::Options checks;
  checks.loop = &loop_;
  checks.settings = &config_.settings;
  checks.pool = [this] { return current_pool(); };
  checks.mode_lookup = [this](const DeploymentConfig& d) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    return prices_->mode_for(d);
  };
  // Results carry wall-clock times (replicas compare them); the one reading
  // of the system clock anchors the loop's clock to it.
  checks.wall = router::WallClock(
      loop_.now(), std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  if (fleet_) {
    // Its own generator: rng_ belongs to the loop thread, which may be running.
    Random phase(options_.random_seed ? options_.random_seed ^ 0x6A09E667F3BCC908ull
                                      : std::random_device{}() * 0x9E3779B97F4A7C15ull + 1);
    checks.first_round_offset = phase.uniform();
  }
  checker_ = std::make_unique<router::HealthChecker>(std::move(checks));
  checker_->add_observer(options_.on_health_check);
  if (fleet_) {
    router::FleetHealthChecks::Options shared;
    shared.loop = &loop_;
    shared.fleet = fleet_.get();
    shared.checker = checker_.get();
    shared.use_litellm_key = config_.settings.health_checks.shared;
    shared.staleness_seconds = config_.settings.health_checks.staleness_seconds();
    fleet_checks_ = std::make_unique<router::FleetHealthChecks>(shared);
    checker_->add_observer([checks = fleet_checks_.get()](const HealthCheckResult& r) { checks->on_own_result(r); });
    // Before the checks start (tasks run in order): the fleet's messages and
    // refreshes reach it from then on.
    loop_.post([this] { fleet_->share_health_checks(fleet_checks_.get()); });
  }
  if (config_.settings.health_checks.background) warm_model_map_for_checks();
  loop_.post([this] { checker_->start(); });
}

std::string Router::Impl::metrics_prometheus() const {
  std::optional<router::RouterMetrics::SharedStateStatus> shared;
  if (fleet_) {
    const state::RedisLinkStats s = fleet_->link_stats();
    shared = router::RouterMetrics::SharedStateStatus{fleet_->up(), s.commands_sent, s.commands_failed,
                                                      s.commands_dropped};
  }
  return metrics_.render(health({}), shared);
}

void Router::Impl::warm_model_map_for_checks() {
  // A check of a deployment without model_info.mode asks the model map,
  // which the bundled map parses on first use (tens of ms): here, on the
  // caller's thread, rather than on the loop.
  std::lock_guard<std::mutex> lock(pool_mu_);
  for (const auto& d : declared_) {
    if (d.mode.empty()) {
      prices_->base();
      return;
    }
  }
}

Router::Impl::~Impl() {
  shutting_down_.store(true);
  loop_.post([this] {
    checker_->stop();
    // cancel() may finish a call, which erases it from calls_: iterate a copy.
    std::vector<router::Call*> in_flight;
    in_flight.reserve(calls_.size());
    for (auto& [id, call] : calls_) in_flight.push_back(call);
    for (router::Call* call : in_flight) call->cancel();
  });
  if (drive_loop_) {
    // A borrowed loop outlives the router: the checks' cancelled transfers
    // must report back before the checker goes. (An owned loop reports them
    // while it shuts down, below.)
    drive_loop_([this] {
      std::lock_guard<std::mutex> lock(live_mu_);
      return live_.empty() && checker_->idle();
    });
  } else {
    std::unique_lock<std::mutex> lock(live_mu_);
    live_cv_.wait(lock, [this] { return live_.empty(); });
  }
  // The link's thread posts to the loop: it stops while the loop still runs,
  // after FleetSync wound down on the loop itself (so that none of its timer
  // tasks runs beside stop()).
  if (fleet_) {
    run_on_loop([this] { fleet_->quiesce(); });
    fleet_->stop();
  }
  owned_loop_.reset();  // joins the I/O thread; finished calls deleted themselves
}

void Router::Impl::run_on_loop(std::function<void()> task) {
  auto done = std::make_shared<Notification>();
  loop_.post([task = std::move(task), done] {
    task();
    done->notify();
  });
  if (drive_loop_) {
    drive_loop_([&] { return done->has_been_notified(); });
  } else {
    done->wait();
  }
}

void Router::Impl::mark_live(uint64_t id) {
  std::lock_guard<std::mutex> lock(live_mu_);
  live_.insert(id);
}

std::shared_ptr<const router::DeploymentPool> Router::Impl::current_pool() const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  return pool_;
}

uint64_t Router::Impl::submit(router::CallMode mode, std::string_view request_json, ChunkCallback on_chunk,
                              DoneCallback on_done, std::optional<request::Endpoint> endpoint) {
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  if (!endpoint) {
    endpoint =
        mode == router::CallMode::kEmbedding ? request::Endpoint::kEmbeddings : request::Endpoint::kChatCompletions;
  }
  auto parsed = request::parse_request(request_json, *endpoint);
  if (!parsed.ok() || shutting_down_.load()) {
    Error e = parsed.ok() ? Error(ErrorKind::kCancelled, "router is shutting down") : std::move(parsed).error();
    e.metadata.call_id = id;
    if (shutting_down_.load()) {
      if (on_done) on_done(std::move(e));
      return id;
    }
    mark_live(id);
    // Deliver on the loop thread like every other outcome.
    auto shared = std::make_shared<std::pair<Error, DoneCallback>>(std::move(e), std::move(on_done));
    loop_.post([this, id, shared] {
      if (shared->second) {
        try {
          shared->second(std::move(shared->first));
        } catch (...) {
        }
      }
      on_call_finished(id);
    });
    return id;
  }
  std::shared_ptr<const router::DeploymentPool> pool;
  std::shared_ptr<const RouterSettings> settings;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool = pool_;
    settings = settings_;
  }
  auto* call = new router::Call(core_, std::move(pool), std::move(settings), id, mode, std::move(parsed).value(), std::move(on_chunk),
                                std::move(on_done));
  mark_live(id);
  loop_.post([this, call] {
    calls_.emplace(call->id(), call);
    call->start();  // may finish and delete the call before returning
  });
  return id;
}

bool Router::Impl::cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    if (!live_.contains(id)) return false;
  }
  loop_.post([this, id] {
    if (auto it = calls_.find(id); it != calls_.end()) it->second->cancel();
  });
  return true;
}

Result<Response> Router::Impl::wait_for(router::CallMode mode, std::string_view request_json,
                                        std::optional<request::Endpoint> endpoint) {
  if (loop_.in_loop_thread()) {
    return Error(ErrorKind::kInvalidArgument,
                 "blocking call made from a router callback (it would deadlock); use the async API");
  }
  // One pointer captured: the callback fits std::function's inline storage
  // (no allocation per call). One wake each way and no spinning: the caller
  // sleeps on a futex word the loop thread sets once (common/
  // futex_notification.hpp says why not a semaphore or a condition variable).
  // The waiter may destroy it once wait() returns.
  struct Waiter {
    std::optional<Result<Response>> out;
    FutexNotification done;
  } w;
  Waiter* wp = &w;
  submit(
      mode, request_json, nullptr,
      [wp](Result<Response> r) {
        wp->out.emplace(std::move(r));
        wp->done.notify();
      },
      endpoint);
  if (drive_loop_) {
    // The callback runs on this thread, inside drive_loop_.
    drive_loop_([wp] { return wp->done.has_been_notified(); });
    // A driven loop that ran out of work before answering would wait forever.
    if (!w.done.has_been_notified()) {
      return Error(ErrorKind::kInternalServer, "the event loop went idle before the call finished");
    }
    return std::move(*w.out);
  }
  w.done.wait();
  return std::move(*w.out);
}

Status Router::Impl::rebuild_pool_locked(std::vector<DeploymentConfig> declared) {
  // Prices and limits are resolved here, once per deployment joining (or
  // re-joining) the pool, never per call.
  std::vector<DeploymentConfig> resolved = declared;
  for (auto& c : resolved) prices_->resolve(c);
  auto next = router::DeploymentPool::build(std::move(resolved), *settings_, pool_.get());
  if (!next.ok()) return next.error();
  pool_ = std::move(next).value();
  declared_ = std::move(declared);
  return Status::Ok();
}

Status Router::Impl::add_deployment(DeploymentConfig d) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  for (const auto& c : declared_) {
    if (c.id == d.id) return Error(ErrorKind::kInvalidArgument, fmt::format("deployment id '{}' already exists", d.id));
  }
  // The router-wide TLS defaults (litellm_settings.ssl_verify, SSL_VERIFY ...).
  config::apply_tls_defaults(config_.settings, d);
  const bool needs_budget = budgets_->enabled_for(d);
  auto declared = declared_;
  declared.push_back(std::move(d));
  if (Status s = rebuild_pool_locked(std::move(declared)); !s.ok()) return s;
  if (needs_budget) {
    // core_ belongs to the loop thread.
    loop_.post([this] { core_.budgets = budgets_.get(); });
  }
  loop_.post([this] { checker_->pool_changed(); });
  return Status::Ok();
}

Status Router::Impl::remove_deployment(std::string_view id) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  auto declared = declared_;
  auto it = std::find_if(declared.begin(), declared.end(), [&](const DeploymentConfig& c) { return c.id == id; });
  if (it == declared.end()) return Error(ErrorKind::kNotFound, fmt::format("no deployment with id '{}'", id));
  declared.erase(it);
  if (Status s = rebuild_pool_locked(std::move(declared)); !s.ok()) return s;
  loop_.post([this] { checker_->pool_changed(); });
  return Status::Ok();
}

Status Router::Impl::register_model_prices(std::string_view json) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (Status s = prices_->register_models(json); !s.ok()) return s;
  return rebuild_pool_locked(declared_);
}

std::vector<DeploymentConfig> Router::Impl::deployments() const {
  auto configs = current_pool()->configs();
  for (auto& c : configs) c.api_key.clear();
  return configs;
}

std::vector<DeploymentHealth> Router::Impl::health(std::string_view group) const {
  std::shared_ptr<const router::DeploymentPool> pool = current_pool();
  const TimePoint now = time_.now();
  std::vector<DeploymentHealth> out;
  for (const auto& e : pool->entries()) {
    const DeploymentConfig& c = e->deployment->config();
    if (!group.empty() && c.model_name != group) continue;
    DeploymentHealth h;
    h.id = c.id;
    h.model_group = c.model_name;
    h.api_base = c.api_base;
    h.in_flight = e->deployment->in_flight();
    h.requests_this_minute = e->deployment->minute_requests().value(now);
    h.tokens_this_minute = e->deployment->minute_tokens().value(now);
    if (fleet_) {
      // Fleet-wide, as the rate filter sees them.
      h.requests_this_minute = std::max(h.requests_this_minute, fleet_->fleet_requests(*e, now));
      h.tokens_this_minute = std::max(h.tokens_this_minute, fleet_->fleet_tokens(*e, now));
    }
    const health::Availability a = e->health->availability(now);
    h.state = "healthy";
    if (a != health::Availability::kAvailable) {
      auto snap = e->health->snapshot(now);
      h.healthy = false;
      h.reason = snap.reason;
      h.cooled_by = snap.source;
      h.status = snap.status;
      h.trips = snap.trips;
      switch (a) {
        case health::Availability::kCoolingDown:
          h.state = "cooling_down";
          h.cooldown_remaining_seconds = duration_to_seconds(snap.cooldown_until - now);
          break;
        case health::Availability::kProbeAvailable: h.state = "half_open"; break;
        case health::Availability::kProbeInFlight: h.state = "probing"; break;
        case health::Availability::kAvailable: break;
      }
    }
    describe_checks(*e, now, h);
    out.push_back(std::move(h));
  }
  return out;
}

void Router::Impl::describe_checks(const router::PoolEntry& e, TimePoint now, DeploymentHealth& h) const {
  const HealthCheckSettings& hc = config_.settings.health_checks;
  std::optional<router::HealthCheckState::Latest> latest = e.check->latest();
  if (latest) h.last_check = latest->result;
  if (hc.routing && e.check->failed_at(now)) {
    h.failed_health_check = true;
    h.healthy = false;
    if (h.state == "healthy") {
      h.state = "failed_health_check";
      if (latest && !latest->result.healthy) {
        h.reason = fmt::format("{} {}: {}", latest->result.status, latest->result.error_type, latest->result.reason);
        h.status = latest->result.status;
      }
    }
  }
  const TimePoint next = e.check->next_check_at();
  if (hc.background && next != TimePoint{}) h.next_health_check_seconds = std::max(0.0, duration_to_seconds(next - now));
}

HealthReport Router::Impl::health_report(std::string_view group) const {
  std::shared_ptr<const router::DeploymentPool> pool = current_pool();
  const HealthCheckSettings& hc = config_.settings.health_checks;
  const Duration staleness = router::bounded_seconds(hc.staleness_seconds(), 0);
  const TimePoint now = time_.now();
  HealthReport report;
  for (const auto& e : pool->entries()) {
    const DeploymentConfig& c = e->deployment->config();
    if (!group.empty() && c.model_name != group) continue;
    if (pool->by_id(c.id) != e.get()) continue;  // one endpoint per id
    HealthEndpoint ep;
    ep.model_id = c.id;
    ep.model_group = c.model_name;
    ep.model = c.health_check.model.empty() ? c.model : c.health_check.model;
    ep.api_base = c.api_base;
    ep.mode = c.mode;
    ep.routed_around = hc.routing && e->check->failed_at(now);
    std::optional<router::HealthCheckState::Latest> latest = e->check->latest();
    if (!latest) {
      ep.error = "not checked yet";
      report.unchecked_endpoints.push_back(std::move(ep));
      continue;
    }
    const HealthCheckResult& r = latest->result;
    ep.model = r.model.empty() ? ep.model : r.model;
    if (!r.mode.empty()) ep.mode = r.mode;
    ep.last_check_at = r.checked_at;
    ep.latency_ms = r.latency_ms;
    ep.checked_by = r.checked_by;
    ep.stale = now - latest->ended >= staleness;
    if (r.skipped) {
      ep.error = r.reason;
      report.unchecked_endpoints.push_back(std::move(ep));
    } else if (r.healthy) {
      report.healthy_endpoints.push_back(std::move(ep));
    } else {
      ep.error = r.reason;
      ep.error_type = r.error_type;
      ep.status = r.status;
      report.unhealthy_endpoints.push_back(std::move(ep));
    }
  }
  return report;
}

Result<HealthReport> Router::Impl::check_health(std::string_view group) {
  if (loop_.in_loop_thread()) {
    return Error(ErrorKind::kInvalidArgument,
                 "check_health called from a router callback (it would deadlock); call it from another thread");
  }
  if (shutting_down_.load()) return Error(ErrorKind::kCancelled, "router is shutting down");
  warm_model_map_for_checks();
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  loop_.post([this, group = std::string(group), &mu, &cv, &done] {
    checker_->check_now(group, config_.settings.health_checks.skip_disabled_on_demand,
                        [&mu, &cv, &done](std::vector<HealthCheckResult>) {
                          std::lock_guard<std::mutex> lock(mu);
                          done = true;
                          cv.notify_one();
                        });
  });
  if (drive_loop_) {
    drive_loop_([&] {
      std::lock_guard<std::mutex> lock(mu);
      return done;
    });
    std::lock_guard<std::mutex> lock(mu);
    if (!done) return Error(ErrorKind::kInternalServer, "the event loop went idle before the health checks ended");
  } else {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  return health_report(group);
}

void Router::Impl::on_call_finished(uint64_t id) {
  calls_.erase(id);
  std::lock_guard<std::mutex> lock(live_mu_);
  live_.erase(id);
  if (live_.empty()) live_cv_.notify_all();
}

namespace {

// The model map a router prices by: litellm_settings.model_cost_map_path,
// else the file named by LLMUX_MODEL_COST_MAP, else the one compiled in.
Result<std::unique_ptr<pricing::PriceBook>> make_price_book(const RouterSettings& settings) {
  std::string path = settings.model_cost_map_path;
  std::string_view origin = "litellm_settings.model_cost_map_path";
  if (path.empty()) {
    const char* env = std::getenv("LLMUX_MODEL_COST_MAP");
    if (env != nullptr && *env != '\0') {
      path = env;
      origin = "LLMUX_MODEL_COST_MAP";
    }
  }
  if (path.empty()) return std::make_unique<pricing::PriceBook>();  // the bundled map, parsed when first needed
  auto map = pricing::ModelMap::load_file(path);
  if (!map.ok()) return Error(ErrorKind::kInvalidConfig, fmt::format("{}: {}", origin, map.error().message));
  return std::make_unique<pricing::PriceBook>(std::make_shared<const pricing::ModelMap>(std::move(map).value()));
}

}  // namespace

Result<std::unique_ptr<Router>> Router::Impl::create(RouterConfig config, RouterOptions options,
                                                     std::optional<BorrowedLoop> borrowed) {
  try {
    // The strategy name first, as when the loader checked it: the registry
    // (built-ins and the program's own) is the one list of names.
    if (!strategy::is_registered(config.settings.routing_strategy)) {
      Error e = strategy::unknown_strategy_error(config.settings.routing_strategy);
      if (config.routing_strategy_line > 0) e.message += fmt::format(" (line {})", config.routing_strategy_line);
      return e;
    }
    auto prices = make_price_book(config.settings);
    if (!prices.ok()) return std::move(prices).error();
    // Deployments next: an unsupported provider is more specific than bad
    // strategy args. Unset prices and context windows come from the map.
    std::vector<DeploymentConfig> resolved = config.model_list;
    for (auto& c : resolved) (*prices)->resolve(c);
    auto pool = router::DeploymentPool::build(std::move(resolved), config.settings, nullptr);
    if (!pool.ok()) return std::move(pool).error();
    auto strategy = make_strategy(config.settings.routing_strategy, config.settings.routing_strategy_args_json);
    if (!strategy.ok()) return std::move(strategy).error();
    std::unique_ptr<transport::EventLoop> owned_loop;
    if (!borrowed) owned_loop = std::make_unique<transport::CurlEventLoop>(transport::TransportOptions{}, options.time_source);
    const TimeSource& time = owned_loop ? owned_loop->clock() : borrowed->loop->clock();
    auto shared_state = state::resolve_shared_state_settings(config.settings);
    if (!shared_state.ok()) return std::move(shared_state).error();
    if (*shared_state) {
      for (std::string& w : (*shared_state)->warnings) config.warnings.push_back(std::move(w));
      (*shared_state)->warnings.clear();
    }
    auto tracker = health::BudgetTracker::create(config.settings, time);
    if (!tracker.ok()) return std::move(tracker).error();
    // The budget filter runs only when some deployment has a budget
    // (add_deployment may switch it on later).
    bool budgets_active = false;
    for (const auto& d : config.model_list) budgets_active = budgets_active || (*tracker)->enabled_for(d);
    for (const auto& w : config.warnings) {
      if (options.log) {
        options.log(w);
      } else {
        std::fprintf(stderr, "llmux: warning: %s\n", w.c_str());
      }
    }
    auto impl = std::make_unique<Impl>(std::move(config), std::move(options), std::move(owned_loop),
                                       std::move(borrowed), std::move(strategy).value(), std::move(pool).value(),
                                       std::move(tracker).value(), budgets_active, std::move(prices).value(),
                                       std::move(shared_state).value());
    return std::unique_ptr<Router>(new Router(std::move(impl)));
  } catch (const std::exception& e) {
    return Error(ErrorKind::kInternalServer, fmt::format("router construction failed: {}", e.what()));
  }
}

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

Result<std::unique_ptr<Router>> Router::from_config(std::string_view text, RouterOptions options) {
  auto config = parse_config(text);
  if (!config.ok()) return std::move(config).error();
  return create(std::move(config).value(), std::move(options));
}

Result<std::unique_ptr<Router>> Router::create(RouterConfig config, RouterOptions options) {
  return Impl::create(std::move(config), std::move(options));
}

Result<Response> Router::completion(std::string_view request_json) {
  return impl_->wait_for(router::CallMode::kCompletion, request_json);
}

uint64_t Router::completion_async(std::string_view request_json, DoneCallback on_done) {
  return impl_->submit(router::CallMode::kCompletion, request_json, nullptr, std::move(on_done));
}

uint64_t Router::stream(std::string_view request_json, ChunkCallback on_chunk, DoneCallback on_done) {
  return impl_->submit(router::CallMode::kStream, request_json, std::move(on_chunk), std::move(on_done));
}

Result<Response> Router::embedding(std::string_view request_json) {
  return impl_->wait_for(router::CallMode::kEmbedding, request_json);
}

uint64_t Router::embedding_async(std::string_view request_json, DoneCallback on_done) {
  return impl_->submit(router::CallMode::kEmbedding, request_json, nullptr, std::move(on_done));
}

bool Router::cancel(uint64_t call_id) { return impl_->cancel(call_id); }
std::string Router::metrics_prometheus() const { return impl_->metrics_prometheus(); }
Status Router::add_deployment(DeploymentConfig deployment) { return impl_->add_deployment(std::move(deployment)); }
Status Router::remove_deployment(std::string_view id) { return impl_->remove_deployment(id); }
Status Router::register_model_prices(std::string_view json) { return impl_->register_model_prices(json); }
std::vector<DeploymentConfig> Router::deployments() const { return impl_->deployments(); }
std::vector<DeploymentHealth> Router::health(std::string_view model_group) const { return impl_->health(model_group); }
HealthReport Router::health_report(std::string_view model_group) const { return impl_->health_report(model_group); }
Result<HealthReport> Router::check_health(std::string_view model_group) { return impl_->check_health(model_group); }
bool Router::apply_health_check(const HealthCheckResult& result) { return impl_->health_checker().apply(result); }
RouterSettings Router::settings() const { return *impl_->current_settings(); }
Status Router::update_settings(std::string_view json) { return impl_->update_settings(json); }
Result<PickedDeployment> Router::pick(std::string_view request_json, PickOptions options) {
  return impl_->pick(request_json, options);
}
Result<ModelGroupUsage> Router::model_group_usage(std::string_view model_group) const {
  return impl_->model_group_usage(model_group);
}
const std::vector<std::string>& Router::warnings() const { return impl_->config().warnings; }

}  // namespace llmux
