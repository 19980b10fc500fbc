#include "health/budget_tracker.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "config/duration.hpp"

namespace llmux::health {

namespace {

constexpr std::string_view kPath = "router_settings.provider_budget_config";

Error config_error(std::string_view path, std::string_view message) {
  return Error(ErrorKind::kInvalidConfig, fmt::format("{}: {}", path, message));
}

std::string_view trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

// 'text' for strings, the JSON otherwise, shortened for error messages.
std::string describe(simdjson::dom::element el) {
  std::string text;
  if (el.is_string()) {
    text = fmt::format("'{}'", std::string_view(el.get_string().value_unsafe()));
  } else {
    text = simdjson::to_string(el);
  }
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// A JSON number, or a string holding one (os.environ/ values are strings).
std::optional<double> number_of(simdjson::dom::element el) {
  using Type = simdjson::dom::element_type;
  switch (el.type()) {
    case Type::INT64: return static_cast<double>(el.get_int64().value_unsafe());
    case Type::UINT64: return static_cast<double>(el.get_uint64().value_unsafe());
    case Type::DOUBLE: return el.get_double().value_unsafe();
    case Type::STRING: {
      const std::string_view s = trim(std::string_view(el.get_string().value_unsafe()));
      double v = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
      return v;
    }
    default: return std::nullopt;
  }
}

// The first of `keys` present and not null in `obj`, with its key.
std::optional<std::pair<std::string_view, simdjson::dom::element>> first_of(simdjson::dom::object obj,
                                                                           std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    simdjson::dom::element el;
    if (obj.at_key(key).get(el) == simdjson::SUCCESS && !el.is_null()) return std::make_pair(key, el);
  }
  return std::nullopt;
}

}  // namespace

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
  const std::string_view text = trim(settings.provider_budget_config_json);
  if (text.empty()) return tracker;

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(text.data(), text.size()).get(root); err != simdjson::SUCCESS) {
    return config_error(kPath, fmt::format("not valid JSON ({})", simdjson::error_message(err)));
  }
  if (root.is_null()) return tracker;
  simdjson::dom::object providers;
  if (root.get_object().get(providers) != simdjson::SUCCESS) {
    return config_error(kPath, fmt::format("expected a map of provider to {{budget_limit, time_period}}, got {}",
                                           describe(root)));
  }
  for (simdjson::dom::key_value_pair field : providers) {
    const std::string provider(field.key);
    const std::string path = fmt::format("{}.{}", kPath, provider);
    if (field.value.is_null()) continue;
    simdjson::dom::object entry;
    if (field.value.get_object().get(entry) != simdjson::SUCCESS) {
      return config_error(path,
                          fmt::format("expected a map with budget_limit and time_period, got {}", describe(field.value)));
    }
    Budget budget;
    const auto limit = first_of(entry, {"budget_limit", "max_budget"});
    // No limit: nothing to enforce. (LiteLLM drops the provider's deployments
    // instead, quirk §14.24; llmux does not.)
    if (!limit) continue;
    const std::optional<double> value = number_of(limit->second);
    if (!value || !std::isfinite(*value) || *value < 0) {
      return config_error(fmt::format("{}.{}", path, limit->first),
                          fmt::format("expected a number >= 0, got {}", describe(limit->second)));
    }
    budget.limit = *value;
    if (const auto period = first_of(entry, {"time_period", "budget_duration"})) {
      const std::string period_path = fmt::format("{}.{}", path, period->first);
      std::string_view duration;
      if (period->second.get_string().get(duration) != simdjson::SUCCESS) {
        return config_error(period_path,
                            fmt::format("expected a duration like 30s, 10m, 1h, 1d, 1w or 1mo, got {}",
                                        describe(period->second)));
      }
      const std::optional<int64_t> seconds = config::parse_duration_seconds(trim(duration));
      if (!seconds) {
        return config_error(period_path,
                            fmt::format("'{}' is not a duration like 30s, 10m, 1h, 1d, 1w or 1mo", duration));
      }
      budget.lifetime = false;
      budget.window = std::chrono::seconds(*seconds);
    }
    tracker->provider_budgets_[provider] = budget;
  }
  absl::MutexLock lock(&tracker->mu_);
  for (const auto& [name, budget] : tracker->provider_budgets_) tracker->provider_windows_[name];
  return tracker;
}

BudgetTracker::Budget BudgetTracker::deployment_budget(const DeploymentConfig& d) {
  Budget b;
  b.limit = d.max_budget.value_or(0);
  if (const std::optional<int64_t> seconds = config::parse_duration_seconds(trim(d.budget_duration))) {
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
  absl::MutexLock lock(&mu_);
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
  absl::MutexLock lock(&mu_);
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
    absl::MutexLock lock(&mu_);
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
