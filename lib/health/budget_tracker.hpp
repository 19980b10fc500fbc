// -----------------------------------------------------------------------------
// File: health/budget_tracker.hpp
// -----------------------------------------------------------------------------
// Spend against budgets, LiteLLM's budget limiter (reference §7.6): provider
// budgets from router_settings.provider_budget_config and deployment budgets
// from litellm_params.max_budget + budget_duration. The router asks
// over_budget() while filtering candidates and reports each successful
// call's cost with record_spend().
//
// Windows are LiteLLM's: the first spend starts a window of the budget's
// duration; a spend arriving when now - start > duration resets the spend to
// that cost and restarts the window; a read after the window has passed sees
// 0. A deployment or provider is over budget iff spend >= limit (so a limit
// of 0 excludes it from the start).
//
// Differences from LiteLLM (deliberate, documented):
// - a provider entry without budget_limit/max_budget is ignored; LiteLLM
//   instead drops every deployment of that provider (quirk §14.24);
// - a budget without a duration (provider time_period / deployment
//   budget_duration missing, or a deployment duration that does not parse)
//   never resets: it is a whole-lifetime budget;
// - "mo" is 30 days (the clock is steady, not a calendar; LiteLLM counts to
//   the same day of the next month);
// - spend is per Router instance (no Redis sync yet).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"

namespace llmux::health {

// Thread-safe (one internal mutex; enabled_for is lock-free). One per router.
// The provider budgets are copied out of the settings at create(); `time` is
// borrowed and must outlive the tracker.
class BudgetTracker {
 public:
  // One budget as health/metrics report it.
  struct Entry {
    std::string scope;                      // "provider" | "deployment"
    std::string name;                       // provider name, or deployment id
    double spend = 0;                       // in the current window
    double limit = 0;
    double window_seconds = 0;              // 0 = whole-lifetime budget
    double window_remaining_seconds = 0;    // 0 when no window is running
  };

  // Reads settings.provider_budget_config, typed by the config loader (entries
  // without a budget_limit are ignored). Settings built by hand are checked:
  // a negative or non-finite limit, or a period <= 0 s, is kInvalidConfig
  // naming the key ("router_settings.provider_budget_config.openai.
  // budget_limit: ..."). `time` is exposed as time(); the methods take `now`
  // so a filter pass and its decision share one instant.
  static Result<std::unique_ptr<BudgetTracker>> create(const RouterSettings& settings, const TimeSource& time);

  // Whether any budget applies to `d`: its provider has one, or d.max_budget
  // is set.
  bool enabled_for(const DeploymentConfig& d) const;

  // nullopt when `d` may be used at `now`; otherwise why not, in LiteLLM's
  // words: "Exceeded budget for provider openai: 0.0012 >= 0.001" or
  // "Exceeded budget for deployment <model_name> (<id>): 5.2 >= 5". The
  // provider budget is checked first.
  std::optional<std::string> over_budget(const DeploymentConfig& d, TimePoint now) const;

  // Adds the cost of one successful call of `d` to its provider's and its own
  // budget (whichever exist). Negative or non-finite costs are ignored.
  void record_spend(const DeploymentConfig& d, double cost, TimePoint now);

  // Every provider budget, then every deployment budget that has seen spend,
  // each sorted by name.
  std::vector<Entry> snapshot(TimePoint now) const;

  const TimeSource& time() const { return time_; }

 private:
  struct Budget {
    double limit = 0;
    bool lifetime = true;  // no duration: never resets
    Duration window{};
  };
  // Spend in the current window of one budget.
  struct Window {
    bool started = false;
    TimePoint start{};
    double spend = 0;

    double spend_at(const Budget& b, TimePoint now) const;
    double remaining_at(const Budget& b, TimePoint now) const;
    void add(const Budget& b, double cost, TimePoint now);
  };
  struct DeploymentBudget {
    Budget budget;  // as last seen in record_spend
    Window window;
  };

  explicit BudgetTracker(const TimeSource& time) : time_(time) {}
  static Budget deployment_budget(const DeploymentConfig& d);
  static Entry entry(std::string scope, const std::string& name, const Budget& b, const Window& w, TimePoint now);

  const TimeSource& time_;
  // Immutable after create(): read without the lock.
  absl::flat_hash_map<std::string, Budget> provider_budgets_;
  // std::mutex, not absl::Mutex: ThreadSanitizer sees it (DEVELOPERS.md).
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Window> provider_windows_;       // guarded by mu_
  absl::flat_hash_map<std::string, DeploymentBudget> deployments_;  // by deployment id, guarded by mu_
};

}  // namespace llmux::health
