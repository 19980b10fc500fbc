#include "llmux/router.hpp"

#include <atomic>
#include <cstdio>
#include <random>

#include <fmt/format.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "health/budget_tracker.hpp"
#include "health/cooldown_tracker.hpp"
#include "json/request.hpp"
#include "router/call.hpp"
#include "router/deployment_pool.hpp"
#include "router/router_metrics.hpp"
#include "transport/http_transport.hpp"

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
  }
  return "unknown";
}

class Router::Impl {
 public:
  Impl(RouterConfig config, RouterOptions options, std::unique_ptr<Strategy> strategy,
       std::shared_ptr<const router::DeploymentPool> pool, std::unique_ptr<health::BudgetTracker> budgets,
       bool budgets_active)
      : config_(std::move(config)),
        options_(std::move(options)),
        time_(options_.time_source ? *options_.time_source : TimeSource::steady()),
        cooldowns_(config_.settings, time_),
        budgets_(std::move(budgets)),
        strategy_(std::move(strategy)),
        rng_(options_.random_seed ? options_.random_seed : std::random_device{}() * 0x9E3779B97F4A7C15ull + 1),
        pool_(std::move(pool)) {
    transport_ = std::make_unique<transport::HttpTransport>();
    core_.settings = config_.settings;
    core_.transport = transport_.get();
    core_.cooldowns = &cooldowns_;
    core_.budgets = budgets_active ? budgets_.get() : nullptr;
    // The metrics see every event first; then the caller's callback, whose
    // exceptions RouterCore::emit swallows.
    core_.on_event = [this](const RouterEvent& event) {
      metrics_.record(event);
      if (options_.on_event) options_.on_event(event);
    };
    core_.strategy = strategy_.get();
    core_.rng = &rng_;
    core_.time = &time_;
    core_.on_call_finished = [this](uint64_t id) { on_call_finished(id); };
  }

  ~Impl() {
    shutting_down_.store(true);
    transport_->post([this] {
      // cancel() may finish a call, which erases it from calls_: iterate a copy.
      std::vector<router::Call*> in_flight;
      in_flight.reserve(calls_.size());
      for (auto& [id, call] : calls_) in_flight.push_back(call);
      for (router::Call* call : in_flight) call->cancel();
    });
    {
      absl::MutexLock lock(&live_mu_);
      live_mu_.Await(absl::Condition(
          +[](absl::flat_hash_set<uint64_t>* live) { return live->empty(); }, &live_));
    }
    transport_.reset();  // joins the I/O thread; finished calls deleted themselves
  }

  uint64_t submit(router::CallMode mode, std::string_view request_json, ChunkCallback on_chunk, DoneCallback on_done) {
    const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    const json::Endpoint endpoint =
        mode == router::CallMode::kEmbedding ? json::Endpoint::kEmbeddings : json::Endpoint::kChatCompletions;
    auto parsed = json::parse_request(request_json, endpoint);
    if (!parsed.ok() || shutting_down_.load()) {
      Error e = parsed.ok() ? Error(ErrorKind::kCancelled, "router is shutting down") : std::move(parsed).error();
      e.metadata.call_id = id;
      if (shutting_down_.load()) {
        if (on_done) on_done(std::move(e));
        return id;
      }
      {
        absl::MutexLock lock(&live_mu_);
        live_.insert(id);
      }
      // Deliver on the I/O thread like every other outcome.
      auto shared = std::make_shared<std::pair<Error, DoneCallback>>(std::move(e), std::move(on_done));
      transport_->post([this, id, shared] {
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
    {
      absl::MutexLock lock(&pool_mu_);
      pool = pool_;
    }
    auto* call = new router::Call(core_, std::move(pool), id, mode, std::move(parsed).value(), std::move(on_chunk),
                                  std::move(on_done));
    {
      absl::MutexLock lock(&live_mu_);
      live_.insert(id);
    }
    transport_->post([this, call] {
      calls_.emplace(call->id(), call);
      call->start();  // may finish and delete the call before returning
    });
    return id;
  }

  bool cancel(uint64_t id) {
    {
      absl::MutexLock lock(&live_mu_);
      if (!live_.contains(id)) return false;
    }
    transport_->post([this, id] {
      if (auto it = calls_.find(id); it != calls_.end()) it->second->cancel();
    });
    return true;
  }

  Result<Response> wait_for(router::CallMode mode, std::string_view request_json) {
    if (transport_->in_loop_thread()) {
      return Error(ErrorKind::kInvalidArgument,
                   "blocking call made from a router callback (it would deadlock); use the async API");
    }
    absl::Notification done;
    std::optional<Result<Response>> out;
    submit(mode, request_json, nullptr, [&](Result<Response> r) {
      out.emplace(std::move(r));
      done.Notify();
    });
    done.WaitForNotification();
    return std::move(*out);
  }

  Status add_deployment(DeploymentConfig d) {
    absl::MutexLock lock(&pool_mu_);
    auto configs = pool_->configs();
    for (const auto& c : configs) {
      if (c.id == d.id) return Error(ErrorKind::kInvalidArgument, fmt::format("deployment id '{}' already exists", d.id));
    }
    const bool needs_budget = budgets_->enabled_for(d);
    configs.push_back(std::move(d));
    auto next = router::DeploymentPool::build(std::move(configs), config_.settings, pool_.get());
    if (!next.ok()) return next.error();
    pool_ = std::move(next).value();
    if (needs_budget) {
      // core_ belongs to the I/O thread.
      transport_->post([this] { core_.budgets = budgets_.get(); });
    }
    return Status::Ok();
  }

  Status remove_deployment(std::string_view id) {
    absl::MutexLock lock(&pool_mu_);
    auto configs = pool_->configs();
    auto it = std::find_if(configs.begin(), configs.end(), [&](const DeploymentConfig& c) { return c.id == id; });
    if (it == configs.end()) return Error(ErrorKind::kNotFound, fmt::format("no deployment with id '{}'", id));
    configs.erase(it);
    auto next = router::DeploymentPool::build(std::move(configs), config_.settings, pool_.get());
    if (!next.ok()) return next.error();
    pool_ = std::move(next).value();
    return Status::Ok();
  }

  std::vector<DeploymentConfig> deployments() const {
    absl::MutexLock lock(&pool_mu_);
    auto configs = pool_->configs();
    for (auto& c : configs) c.api_key.clear();
    return configs;
  }

  std::vector<DeploymentHealth> health(std::string_view group) const {
    std::shared_ptr<const router::DeploymentPool> pool;
    {
      absl::MutexLock lock(&pool_mu_);
      pool = pool_;
    }
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
      const health::Availability a = e->health->availability(now);
      h.state = "healthy";
      if (a != health::Availability::kAvailable) {
        auto snap = e->health->snapshot(now);
        h.healthy = false;
        h.reason = snap.reason;
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
      out.push_back(std::move(h));
    }
    return out;
  }

  std::string metrics_prometheus() const { return metrics_.render(health({})); }

  const RouterConfig& config() const { return config_; }

 private:
  // On the I/O thread, from the call's final callback path; the call deletes
  // itself once its stack unwinds.
  void on_call_finished(uint64_t id) {
    calls_.erase(id);
    absl::MutexLock lock(&live_mu_);
    live_.erase(id);
  }

  RouterConfig config_;
  RouterOptions options_;
  const TimeSource& time_;
  health::CooldownTracker cooldowns_;
  std::unique_ptr<health::BudgetTracker> budgets_;  // null when no budget is configured
  std::unique_ptr<Strategy> strategy_;
  Random rng_;
  router::RouterMetrics metrics_;  // fed on the I/O thread through core_.on_event
  router::RouterCore core_;
  std::unique_ptr<transport::HttpTransport> transport_;

  mutable absl::Mutex pool_mu_;
  std::shared_ptr<const router::DeploymentPool> pool_ ABSL_GUARDED_BY(pool_mu_);

  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> shutting_down_{false};
  absl::Mutex live_mu_;
  absl::flat_hash_set<uint64_t> live_ ABSL_GUARDED_BY(live_mu_);
  absl::flat_hash_map<uint64_t, router::Call*> calls_;  // I/O thread only; calls own themselves
};

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

Result<std::unique_ptr<Router>> Router::from_config(std::string_view text, RouterOptions options) {
  auto config = parse_config(text);
  if (!config.ok()) return std::move(config).error();
  return create(std::move(config).value(), std::move(options));
}

Result<std::unique_ptr<Router>> Router::create(RouterConfig config, RouterOptions options) {
  try {
    // Deployments first: an unsupported provider is the more specific error.
    auto pool = router::DeploymentPool::build(config.model_list, config.settings, nullptr);
    if (!pool.ok()) return std::move(pool).error();
    auto strategy = make_strategy(config.settings.routing_strategy, config.settings.routing_strategy_args_json);
    if (!strategy.ok()) return std::move(strategy).error();
    std::unique_ptr<health::BudgetTracker> budgets;
    bool budgets_active = false;
    {
      const TimeSource& time = options.time_source ? *options.time_source : TimeSource::steady();
      auto tracker = health::BudgetTracker::create(config.settings, time);
      if (!tracker.ok()) return std::move(tracker).error();
      bool needed = false;
      for (const auto& d : config.model_list) needed = needed || (*tracker)->enabled_for(d);
      budgets = std::move(tracker).value();
      // The filter runs only when some deployment has a budget (add_deployment
      // may switch it on later).
      budgets_active = needed;
    }
    for (const auto& w : config.warnings) {
      if (options.log) {
        options.log(w);
      } else {
        std::fprintf(stderr, "llmux: warning: %s\n", w.c_str());
      }
    }
    auto impl = std::make_unique<Impl>(std::move(config), std::move(options), std::move(strategy).value(),
                                       std::move(pool).value(), std::move(budgets), budgets_active);
    return std::unique_ptr<Router>(new Router(std::move(impl)));
  } catch (const std::exception& e) {
    return Error(ErrorKind::kInternalServer, fmt::format("router construction failed: {}", e.what()));
  }
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
std::vector<DeploymentConfig> Router::deployments() const { return impl_->deployments(); }
std::vector<DeploymentHealth> Router::health(std::string_view model_group) const { return impl_->health(model_group); }
const RouterSettings& Router::settings() const { return impl_->config().settings; }
const std::vector<std::string>& Router::warnings() const { return impl_->config().warnings; }

}  // namespace llmux
