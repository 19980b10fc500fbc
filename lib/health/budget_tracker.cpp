#include "health/budget_tracker.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "common/strings.hpp"
#include "config/duration.hpp"

namespace llmux::health {

// ---- windows --------------------------------------------------------------------

double BudgetTracker::Window::spend_at(const Budget& b, TimePoint now) const {
  if (!started) return 0;
  if (!b.lifetime && now - start > b.window) return 0;  // the window has passed
  return spend;
}

double BudgetTracker::Window::remaining_at(const Budget& b, TimePoint now) const {
  if (!started || b.lifetime) return 0;
  const Duration left = b.window - (now - start);
  return left > Duration::zero() ? duration_to_seconds(left) : 0;
}

void BudgetTracker::Window::add(const Budget& b, double cost, TimePoint now) {
  if (!started || (!b.lifetime && now - start > b.window)) {
    started = true;
    start = now;
    spend = cost;
    return;
  }
  spend += cost;
}

// ---- creation ---------------------------------------------------------------------

Result<std::unique_ptr<BudgetTracker>> BudgetTracker::create(const RouterSettings& settings, const TimeSource& time) {
  std::unique_ptr<BudgetTracker> tracker(new BudgetTracker(time));
  for (const auto& [provider, config] : settings.provider_budget_config) {
    // No limit: nothing to enforce. (LiteLLM drops the provider's deployments
    // instead, quirk §14.24; llmux does not.)
    if (!config.budget_limit) continue;
    // The loader has checked these; settings built by hand may not have been.
    const std::string path = fmt::format("router_settings.provider_budget_config.{}", provider);
    if (!std::isfinite(*config.budget_limit) || *config.budget_limit < 0) {
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("{}.budget_limit: expected a number >= 0, got {}", path, *config.budget_limit));
    }
    if (config.time_period_seconds && *config.time_period_seconds <= 0) {
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("{}.time_period: expected a duration > 0, got {} s", path, *config.time_period_seconds));
    }
    Budget budget;
    budget.limit = *config.budget_limit;
    if (config.time_period_seconds) {
      budget.lifetime = false;
      budget.window = std::chrono::seconds(*config.time_period_seconds);
    }
    tracker->provider_budgets_[provider] = budget;
  }
  std::lock_guard lock(tracker->mu_);
  for (const auto& [name, budget] : tracker->provider_budgets_) tracker->provider_windows_[name];
  return tracker;
}

BudgetTracker::Budget BudgetTracker::deployment_budget(const DeploymentConfig& d) {
  Budget b;
  b.limit = d.max_budget.value_or(0);
  if (const std::optional<int64_t> seconds = config::parse_duration_seconds(strip_ascii_whitespace(d.budget_duration))) {
    b.lifetime = false;
    b.window = std::chrono::seconds(*seconds);
  }
  return b;
}

// ---- queries and updates ----------------------------------------------------------------

bool BudgetTracker::enabled_for(const DeploymentConfig& d) const {
  return d.max_budget.has_value() || provider_budgets_.contains(d.provider);
}

std::optional<std::string> BudgetTracker::over_budget(const DeploymentConfig& d, TimePoint now) const {
  const auto provider = provider_budgets_.find(d.provider);
  if (provider == provider_budgets_.end() && !d.max_budget) return std::nullopt;
  std::lock_guard lock(mu_);
  if (provider != provider_budgets_.end()) {
    const auto w = provider_windows_.find(d.provider);
    const double spend = w == provider_windows_.end() ? 0 : w->second.spend_at(provider->second, now);
    if (spend >= provider->second.limit) {
      return fmt::format("Exceeded budget for provider {}: {} >= {}", d.provider, spend, provider->second.limit);
    }
  }
  if (d.max_budget) {
    const auto it = deployments_.find(d.id);
    const double spend = it == deployments_.end() ? 0 : it->second.window.spend_at(deployment_budget(d), now);
    if (spend >= *d.max_budget) {
      return fmt::format("Exceeded budget for deployment {} ({}): {} >= {}", d.model_name, d.id, spend, *d.max_budget);
    }
  }
  return std::nullopt;
}

void BudgetTracker::record_spend(const DeploymentConfig& d, double cost, TimePoint now) {
  if (!std::isfinite(cost) || cost < 0) return;
  const auto provider = provider_budgets_.find(d.provider);
  if (provider == provider_budgets_.end() && !d.max_budget) return;
  std::lock_guard lock(mu_);
  if (provider != provider_budgets_.end()) provider_windows_[d.provider].add(provider->second, cost, now);
  if (d.max_budget) {
    DeploymentBudget& db = deployments_[d.id];
    db.budget = deployment_budget(d);
    db.window.add(db.budget, cost, now);
  }
}

BudgetTracker::Entry BudgetTracker::entry(std::string scope, const std::string& name, const Budget& b,
                                          const Window& w, TimePoint now) {
  Entry e;
  e.scope = std::move(scope);
  e.name = name;
  e.spend = w.spend_at(b, now);
  e.limit = b.limit;
  e.window_seconds = b.lifetime ? 0 : duration_to_seconds(b.window);
  e.window_remaining_seconds = w.remaining_at(b, now);
  return e;
}

std::vector<BudgetTracker::Entry> BudgetTracker::snapshot(TimePoint now) const {
  std::vector<Entry> providers;
  std::vector<Entry> deployments;
  {
    std::lock_guard lock(mu_);
    providers.reserve(provider_budgets_.size());
    for (const auto& [name, budget] : provider_budgets_) {
      const auto w = provider_windows_.find(name);
      providers.push_back(entry("provider", name, budget, w == provider_windows_.end() ? Window{} : w->second, now));
    }
    deployments.reserve(deployments_.size());
    for (const auto& [id, db] : deployments_) deployments.push_back(entry("deployment", id, db.budget, db.window, now));
  }
  const auto by_name = [](const Entry& a, const Entry& b) { return a.name < b.name; };
  std::sort(providers.begin(), providers.end(), by_name);
  std::sort(deployments.begin(), deployments.end(), by_name);
  providers.insert(providers.end(), std::make_move_iterator(deployments.begin()),
                   std::make_move_iterator(deployments.end()));
  return providers;
}

}  // namespace llmux::health
