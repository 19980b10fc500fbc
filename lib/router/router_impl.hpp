// -----------------------------------------------------------------------------
// File: router/router_impl.hpp
// -----------------------------------------------------------------------------
// Router::Impl: what stands behind the public Router — the deployment pool,
// the trackers, the strategy and the event loop every call runs on. Internal:
// tests include it to run a whole Router on tests/support's SimulatedLoop (in
// virtual time, against scripted transfers) instead of the libcurl loop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "health/budget_tracker.hpp"
#include "request/request.hpp"
#include "health/cooldown_tracker.hpp"
#include "llmux/router.hpp"
#include "pricing/price_book.hpp"
#include "router/call.hpp"
#include "router/deployment_pool.hpp"
#include "router/fleet_health_checks.hpp"
#include "router/fleet_sync.hpp"
#include "router/health_checker.hpp"
#include "router/router_metrics.hpp"
#include "state/redis_settings.hpp"
#include "transport/event_loop.hpp"

namespace llmux {

class Router::Impl {
 public:
  // A loop the router runs on but does not own (a simulated one), and how to
  // drive it: `drive(done)` runs it on the calling thread until done() holds
  // or nothing is left to do. Blocking calls and the destructor drive it
  // instead of waiting for another thread.
  using DriveLoop = std::function<void(const std::function<bool()>& done)>;
  struct BorrowedLoop {
    transport::EventLoop* loop = nullptr;
    DriveLoop drive;
  };

  // Builds a router from a parsed config. Without `borrowed` the router owns a
  // CurlEventLoop on RouterOptions::time_source.
  static Result<std::unique_ptr<Router>> create(RouterConfig config, RouterOptions options,
                                                std::optional<BorrowedLoop> borrowed = std::nullopt);

  Impl(RouterConfig config, RouterOptions options, std::unique_ptr<transport::EventLoop> owned_loop,
       std::optional<BorrowedLoop> borrowed, std::unique_ptr<Strategy> strategy,
       std::shared_ptr<const router::DeploymentPool> pool, std::unique_ptr<health::BudgetTracker> budgets,
       bool budgets_active, std::unique_ptr<pricing::PriceBook> prices,
       std::optional<state::SharedStateSettings> shared_state = std::nullopt);
  ~Impl();

  // `endpoint`: the request's endpoint when it is not the mode's own (chat
  // completions, or embeddings for kEmbedding).
  uint64_t submit(router::CallMode mode, std::string_view request_json, ChunkCallback on_chunk, DoneCallback on_done,
                  std::optional<request::Endpoint> endpoint = std::nullopt);
  bool cancel(uint64_t id);
  Result<Response> wait_for(router::CallMode mode, std::string_view request_json,
                            std::optional<request::Endpoint> endpoint = std::nullopt);
  Status add_deployment(DeploymentConfig d);
  Status remove_deployment(std::string_view id);
  Status register_model_prices(std::string_view json);
  std::vector<DeploymentConfig> deployments() const;
  // model_info.cpp / router_reset.cpp.
  Result<ModelMapInfo> model_info(const ModelInfoQuery& query) const;
  Result<ModelGroupInfo> model_group_info(std::string_view group) const;
  void reset();
  std::vector<DeploymentHealth> health(std::string_view group) const;
  HealthReport health_report(std::string_view group) const;
  Result<HealthReport> check_health(std::string_view group);
  // The active health checks: where the shared-state layer attaches (its
  // observer publishes this router's results, apply() takes other
  // replicas'). Lives as long as the router.
  router::HealthChecker& health_checker() { return *checker_; }
  std::string metrics_prometheus() const;
  const RouterConfig& config() const { return config_; }
  // The settings in force now (router_settings.cpp).
  std::shared_ptr<const RouterSettings> current_settings() const;
  Status update_settings(std::string_view json);
  // router_pick.cpp, group_usage.cpp.
  Result<PickedDeployment> pick(std::string_view request_json, const PickOptions& options);
  Result<ModelGroupUsage> model_group_usage(std::string_view group) const;

 private:
  // On the loop thread, from the call's final callback path; the call deletes
  // itself once its stack unwinds.
  void on_call_finished(uint64_t id);
  void mark_live(uint64_t id);
  // Parses the model map now if a check will need it (see the .cpp).
  void warm_model_map_for_checks();
  // The health-check part of `h`.
  void describe_checks(const router::PoolEntry& e, TimePoint now, DeploymentHealth& h) const;
  // Runs `task` on the loop thread and returns once it ran (drives a
  // borrowed loop meanwhile). Not from the loop thread.
  void run_on_loop(std::function<void()> task);
  std::shared_ptr<const router::DeploymentPool> current_pool() const;
  // Rebuilds the pool from declared_ with prices resolved anew; pool_mu_ held.
  Status rebuild_pool_locked(std::vector<DeploymentConfig> declared);

  RouterConfig config_;
  RouterOptions options_;
  std::unique_ptr<transport::EventLoop> owned_loop_;  // null when borrowed
  DriveLoop drive_loop_;                              // set when borrowed
  transport::EventLoop& loop_;
  const TimeSource& time_;  // the loop's clock
  health::CooldownTracker cooldowns_;
  std::unique_ptr<health::BudgetTracker> budgets_;  // null when no budget is configured
  std::unique_ptr<Strategy> strategy_;
  Random rng_;
  router::RouterMetrics metrics_;  // fed on the loop thread through core_.on_event
  router::RouterCore core_;
  // Shared state with the fleet (Redis); null when not configured. Stopped
  // before the loop goes.
  std::unique_ptr<router::FleetSync> fleet_;

  mutable std::mutex pool_mu_;
  std::shared_ptr<const router::DeploymentPool> pool_;  // guarded by pool_mu_
  // The settings in force (update_settings swaps them with the pool, so a
  // call sees a pool and settings of the same moment). Every snapshot ever
  // in force stays alive: the cooldown tracker borrows the current one.
  std::shared_ptr<const RouterSettings> settings_;                   // guarded by pool_mu_
  std::vector<std::shared_ptr<const RouterSettings>> settings_kept_;  // guarded by pool_mu_
  std::mutex update_mu_;  // one settings update at a time
  // Strategies replaced by update_settings: attempts they saw start still
  // report their end to them. Loop thread only.
  std::vector<std::unique_ptr<Strategy>> retired_strategies_;
  // The deployments as configured, in pool order, before the price book
  // filled what they leave unset: re-resolved when prices are registered.
  std::vector<DeploymentConfig> declared_;          // guarded by pool_mu_
  std::unique_ptr<pricing::PriceBook> prices_;      // guarded by pool_mu_

  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> shutting_down_{false};
  std::mutex live_mu_;
  std::condition_variable live_cv_;           // signalled when live_ becomes empty
  absl::flat_hash_set<uint64_t> live_;        // guarded by live_mu_: calls not yet finished
  absl::flat_hash_map<uint64_t, router::Call*> calls_;  // loop thread only; calls own themselves

  // Active health checks; runs on the loop. Declared last: its callbacks use
  // the pool and the price book above.
  std::unique_ptr<router::HealthChecker> checker_;
  // Their results shared with the fleet (Redis); null without it. Uses the
  // checker and fleet_, so it goes first.
  std::unique_ptr<router::FleetHealthChecks> fleet_checks_;
};

}  // namespace llmux
