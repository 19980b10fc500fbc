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

double BudgetTracker::Window::spend_at(const Budget& b, TimePoint now, bool shared) const {
  if (shared) {
    double s = fleet.in_flight;
    if (fleet.known && !(now - fleet.start > b.window)) s += fleet.total;
    if (fleet.unsent_pending && !(now - fleet.unsent_since > b.window)) s += fleet.unsent;
    for (const Unconfirmed& u : fleet.unconfirmed) s += u.amount;
    return s;
  }
  if (!started) return 0;
  if (!b.lifetime && now - start > b.window) return 0;  // the window has passed
  return spend;
}

double BudgetTracker::Window::remaining_at(const Budget& b, TimePoint now, bool shared) const {
  if (b.lifetime) return 0;
  const bool running = shared ? fleet.known : started;
  if (!running) return 0;
  const Duration left = b.window - (now - (shared ? fleet.start : start));
  return left > Duration::zero() ? duration_to_seconds(left) : 0;
}

bool BudgetTracker::Window::add(const Budget& b, double cost, TimePoint now, bool shared) {
  if (shared) {
    // Pushed by the next take_pushes; what is older than a window belongs to
    // one that is over everywhere.
    if (fleet.unsent_pending && now - fleet.unsent_since > b.window) {
      fleet.unsent = 0;
      fleet.unsent_since = now;
    }
    const bool starts = !fleet.unsent_pending;
    if (starts) {
      fleet.unsent_pending = true;
      fleet.unsent = 0;
      fleet.unsent_since = now;
    }
    fleet.unsent += cost;
    return starts;
  }
  if (!started || (!b.lifetime && now - start > b.window)) {
    started = true;
    start = now;
    spend = cost;
    return false;
  }
  spend += cost;
  return false;
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
      // The {duration} of LiteLLM's keys is the period as written.
      budget.duration = std::string(strip_ascii_whitespace(config.time_period));
      if (budget.duration.empty()) budget.duration = fmt::format("{}s", *config.time_period_seconds);
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
  const std::string_view duration = strip_ascii_whitespace(d.budget_duration);
  if (const std::optional<int64_t> seconds = config::parse_duration_seconds(duration)) {
    b.lifetime = false;
    b.window = std::chrono::seconds(*seconds);
    b.duration = std::string(duration);
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
  const bool fleet = shared();
  std::lock_guard lock(mu_);
  if (provider != provider_budgets_.end()) {
    const Budget& b = provider->second;
    const auto w = provider_windows_.find(d.provider);
    const double spend = w == provider_windows_.end() ? 0 : w->second.spend_at(b, now, fleet && !b.lifetime);
    if (spend >= b.limit) {
      return fmt::format("Exceeded budget for provider {}: {} >= {}", d.provider, spend, b.limit);
    }
  }
  if (d.max_budget) {
    const auto it = deployments_.find(d.id);
    const Budget b = deployment_budget(d);
    const double spend = it == deployments_.end() ? 0 : it->second.window.spend_at(b, now, fleet && !b.lifetime);
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
  const bool fleet = shared();
  std::lock_guard lock(mu_);
  if (provider != provider_budgets_.end()) {
    const Budget& b = provider->second;
    if (provider_windows_[d.provider].add(b, cost, now, fleet && !b.lifetime)) {
      unsent_.emplace_back(SharedBudget::Scope::kProvider, d.provider);
    }
  }
  if (d.max_budget) {
    DeploymentBudget& db = deployments_[d.id];
    db.budget = deployment_budget(d);
    if (db.window.add(db.budget, cost, now, fleet && !db.budget.lifetime)) {
      unsent_.emplace_back(SharedBudget::Scope::kDeployment, d.id);
    }
  }
}

BudgetTracker::Entry BudgetTracker::entry(std::string scope, const std::string& name, const Budget& b,
                                          const Window& w, TimePoint now) const {
  const bool fleet = shared() && !b.lifetime;
  Entry e;
  e.scope = std::move(scope);
  e.name = name;
  e.spend = w.spend_at(b, now, fleet);
  e.limit = b.limit;
  e.window_seconds = b.lifetime ? 0 : duration_to_seconds(b.window);
  e.window_remaining_seconds = w.remaining_at(b, now, fleet);
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

// ---- shared with a fleet ----------------------------------------------------------

void BudgetTracker::share_with_fleet() { shared_.store(true, std::memory_order_release); }

std::optional<BudgetTracker::SharedBudget> BudgetTracker::deployment_shared_budget(const DeploymentConfig& d) {
  if (!d.max_budget) return std::nullopt;
  const Budget b = deployment_budget(d);
  if (b.lifetime) return std::nullopt;
  return shared_budget(SharedBudget::Scope::kDeployment, d.id, b);
}

std::vector<BudgetTracker::SharedBudget> BudgetTracker::provider_shared_budgets() const {
  std::vector<SharedBudget> out;
  for (const auto& [name, b] : provider_budgets_) {
    if (b.lifetime) continue;
    out.push_back(shared_budget(SharedBudget::Scope::kProvider, name, b));
  }
  std::sort(out.begin(), out.end(), [](const SharedBudget& a, const SharedBudget& b) { return a.name < b.name; });
  return out;
}

BudgetTracker::SharedBudget BudgetTracker::shared_budget(SharedBudget::Scope scope, const std::string& name,
                                                        const Budget& b) {
  return SharedBudget{scope, name, b.duration, std::chrono::duration_cast<std::chrono::seconds>(b.window).count(),
                      b.limit};
}

BudgetTracker::Window* BudgetTracker::shared_window(const SharedBudget& budget) {
  if (budget.scope == SharedBudget::Scope::kProvider) {
    const auto b = provider_budgets_.find(budget.name);
    if (b == provider_budgets_.end() || b->second.lifetime) return nullptr;
    return &provider_windows_[budget.name];
  }
  if (budget.window_seconds <= 0) return nullptr;
  auto [it, inserted] = deployments_.try_emplace(budget.name);
  if (inserted || it->second.budget.lifetime) {
    // Known from the fleet before any spend of ours (or its config changed).
    it->second.budget.limit = budget.limit;
    it->second.budget.lifetime = false;
    it->second.budget.window = std::chrono::seconds(budget.window_seconds);
    it->second.budget.duration = budget.duration;
  }
  return &it->second.window;
}

uint64_t BudgetTracker::next_ticket() {
  std::lock_guard lock(mu_);
  return ++tickets_;
}

std::vector<BudgetTracker::SpendPush> BudgetTracker::take_pushes(TimePoint now) {
  std::vector<SpendPush> out;
  if (!shared()) return out;
  std::lock_guard lock(mu_);
  const auto take = [&](SharedBudget budget, const Budget& b, Window& w) {
    FleetShare& f = w.fleet;
    if (!f.unsent_pending) return;
    f.unsent_pending = false;
    if (now - f.unsent_since > b.window) return;  // its window is over everywhere
    f.in_flight += f.unsent;
    ++f.in_flight_pushes;
    out.push_back(SpendPush{std::move(budget), f.unsent, f.unsent_since, ++tickets_});
    f.unsent = 0;
  };
  for (const auto& [scope, name] : unsent_) {
    if (scope == SharedBudget::Scope::kProvider) {
      const auto b = provider_budgets_.find(name);
      const auto w = provider_windows_.find(name);
      if (b == provider_budgets_.end() || b->second.lifetime || w == provider_windows_.end()) continue;
      take(shared_budget(scope, name, b->second), b->second, w->second);
    } else {
      const auto db = deployments_.find(name);
      if (db == deployments_.end() || db->second.budget.lifetime) continue;
      take(shared_budget(scope, name, db->second.budget), db->second.budget, db->second.window);
    }
  }
  unsent_.clear();
  return out;
}

void BudgetTracker::on_fleet_total(const SharedBudget& budget, uint64_t ticket, double total,
                                   std::optional<TimePoint> start) {
  std::lock_guard lock(mu_);
  Window* w = shared_window(budget);
  if (!w) return;
  FleetShare& f = w->fleet;
  // Pushes whose answer was lost before this read was queued are in its
  // total now, if they were applied at all.
  std::erase_if(f.unconfirmed, [ticket](const Unconfirmed& u) { return u.settled_by_tickets_after < ticket; });
  if (ticket < f.told_ticket) return;  // older news than what we have
  f.told_ticket = ticket;
  f.known = start.has_value();
  f.start = start.value_or(TimePoint{});
  f.total = start && std::isfinite(total) && total > 0 ? total : 0;
}

void BudgetTracker::on_push_applied(const SpendPush& push) {
  std::lock_guard lock(mu_);
  Window* w = shared_window(push.budget);
  if (!w) return;
  w->fleet.end_push(push.amount);
}

void BudgetTracker::on_push_not_applied(const SpendPush& push) {
  std::lock_guard lock(mu_);
  Window* w = shared_window(push.budget);
  if (!w) return;
  FleetShare& f = w->fleet;
  f.end_push(push.amount);
  if (f.unsent_pending) {
    f.unsent += push.amount;
    f.unsent_since = std::min(f.unsent_since, push.since);
  } else {
    f.unsent_pending = true;
    f.unsent = push.amount;
    f.unsent_since = push.since;
    unsent_.emplace_back(push.budget.scope, push.budget.name);
  }
}

void BudgetTracker::on_push_unknown(const SpendPush& push) {
  std::lock_guard lock(mu_);
  Window* w = shared_window(push.budget);
  if (!w) return;
  FleetShare& f = w->fleet;
  f.end_push(push.amount);
  // A read queued from now on (a later ticket) sees it if Redis applied it.
  f.unconfirmed.push_back(Unconfirmed{push.amount, tickets_});
}

std::vector<BudgetTracker::FleetWindow> BudgetTracker::fleet_windows(TimePoint now) const {
  std::vector<FleetWindow> out;
  if (!shared()) return out;
  std::lock_guard lock(mu_);
  const auto add = [&](SharedBudget budget, const Budget& b, const Window& w) {
    if (!w.fleet.known || now - w.fleet.start > b.window) return;
    out.push_back(FleetWindow{std::move(budget), w.fleet.total, w.fleet.start});
  };
  for (const auto& [name, w] : provider_windows_) {
    const auto b = provider_budgets_.find(name);
    if (b == provider_budgets_.end() || b->second.lifetime) continue;
    add(shared_budget(SharedBudget::Scope::kProvider, name, b->second), b->second, w);
  }
  for (const auto& [id, db] : deployments_) {
    if (db.budget.lifetime) continue;
    add(shared_budget(SharedBudget::Scope::kDeployment, id, db.budget), db.budget, db.window);
  }
  return out;
}

}  // namespace llmux::health
