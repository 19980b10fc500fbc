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
//   the same day of the next month).
//
// Spend is per Router instance unless share_with_fleet() was called (the
// router does when Redis is configured). Then every budget with a duration is
// spent once across the fleet: the router pushes each spend to LiteLLM's
// Redis keys (provider_spend:{provider}:{duration},
// deployment_spend:{id}:{duration} and their *_budget_start_time:* window
// keys) and reports back what Redis answered, and over_budget() compares the
// fleet's total with the limit:
//
//   fleet spend = Redis's total for the window Redis runs (last told by a
//                 push's answer or a periodic read; 0 once that window has
//                 passed on this router's clock)
//               + spend pushed and not answered yet
//               + spend not pushed yet (Redis unreachable): kept and pushed
//                 once when Redis is back, dropped when older than a window
//               + spend whose push's answer was lost (it may have been
//                 applied, so it is never pushed again): counted until a
//                 read queued after the loss tells the total.
//
// Whole-lifetime budgets (no duration) stay per instance: LiteLLM has no key
// for them.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
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

  // Every provider budget, then every deployment budget that has seen spend
  // (or, when shared, been read from the fleet), each sorted by name.
  std::vector<Entry> snapshot(TimePoint now) const;

  // ---- Spend shared with a fleet ------------------------------------------------
  // Which shared budget (a windowed one): LiteLLM's key names are made of
  // `scope`, `name` and `duration`.
  struct SharedBudget {
    enum class Scope { kProvider, kDeployment };
    Scope scope = Scope::kProvider;
    std::string name;      // provider, or deployment id
    std::string duration;  // the period as written ("1d"); "<n>s" when only seconds were given
    int64_t window_seconds = 0;
    double limit = 0;
  };
  // Spend to add to the fleet's total of one budget. `ticket` orders it
  // among the fleet's answers (see on_fleet_total).
  struct SpendPush {
    SharedBudget budget;
    double amount = 0;
    TimePoint since{};  // when the oldest spend in `amount` was recorded
    uint64_t ticket = 0;
  };
  // What this replica knows of a fleet window (for re-seeding Redis after it
  // lost its data).
  struct FleetWindow {
    SharedBudget budget;
    double total = 0;
    TimePoint start{};
  };

  // From now on budgets with a duration are spent fleet-wide. Call once,
  // before the first record_spend.
  void share_with_fleet();
  bool shared() const { return shared_.load(std::memory_order_acquire); }

  // The shared budget of `d` (its max_budget with a parseable duration), and
  // every provider budget with a duration.
  static std::optional<SharedBudget> deployment_shared_budget(const DeploymentConfig& d);
  std::vector<SharedBudget> provider_shared_budgets() const;

  // Spend recorded and not pushed yet, one push per budget, now counted as in
  // flight. Spend older than its window is dropped instead.
  std::vector<SpendPush> take_pushes(TimePoint now);
  // A ticket for a read of fleet totals queued now.
  uint64_t next_ticket();

  // The fleet answered a push or a read queued with `ticket`: the window
  // Redis runs started at `start` and has `total` spent (nullopt start: no
  // window is running, total ignored).
  void on_fleet_total(const SharedBudget& budget, uint64_t ticket, double total, std::optional<TimePoint> start);
  // Answers to a push, after on_fleet_total for a successful one:
  // applied (its amount is in the total now), not applied (Redis was
  // unreachable: kept for the next push), or unknown (sent, the answer was
  // lost: maybe applied, never pushed again).
  void on_push_applied(const SpendPush& push);
  void on_push_not_applied(const SpendPush& push);
  void on_push_unknown(const SpendPush& push);
  // The fleet windows this replica knows to be running at `now`.
  std::vector<FleetWindow> fleet_windows(TimePoint now) const;

  const TimeSource& time() const { return time_; }

 private:
  struct Budget {
    double limit = 0;
    bool lifetime = true;  // no duration: never resets
    Duration window{};
    std::string duration;  // as written; the {duration} of the shared keys
  };
  // A push whose answer was lost: counted until a read with a later ticket.
  struct Unconfirmed {
    double amount = 0;
    uint64_t settled_by_tickets_after = 0;
  };
  // The fleet's view of a shared budget (see the header comment).
  struct FleetShare {
    bool known = false;  // Redis told a running window
    TimePoint start{};
    double total = 0;
    uint64_t told_ticket = 0;  // ticket of the answer that told it
    double in_flight = 0;
    int in_flight_pushes = 0;
    bool unsent_pending = false;  // recorded, not pushed yet
    double unsent = 0;
    TimePoint unsent_since{};
    std::vector<Unconfirmed> unconfirmed;

    // A push in flight was answered (or failed): its amount leaves in_flight.
    void end_push(double amount) {
      in_flight -= amount;
      in_flight_pushes = in_flight_pushes > 0 ? in_flight_pushes - 1 : 0;
      if (in_flight_pushes == 0 || in_flight < 0) in_flight = 0;  // no rounding residue
    }
  };
  // Spend in the current window of one budget.
  struct Window {
    bool started = false;
    TimePoint start{};
    double spend = 0;
    FleetShare fleet;  // used instead of the fields above when the budget is shared

    double spend_at(const Budget& b, TimePoint now, bool shared) const;
    double remaining_at(const Budget& b, TimePoint now, bool shared) const;
    // Returns true when a shared window starts holding unsent spend.
    bool add(const Budget& b, double cost, TimePoint now, bool shared);
  };
  struct DeploymentBudget {
    Budget budget;  // as last seen in record_spend
    Window window;
  };

  explicit BudgetTracker(const TimeSource& time) : time_(time) {}
  static Budget deployment_budget(const DeploymentConfig& d);
  Entry entry(std::string scope, const std::string& name, const Budget& b, const Window& w, TimePoint now) const;
  static SharedBudget shared_budget(SharedBudget::Scope scope, const std::string& name, const Budget& b);
  // The window of a shared budget, created for a deployment not seen yet.
  // Null for a provider without a windowed budget. mu_ held.
  Window* shared_window(const SharedBudget& budget);

  const TimeSource& time_;
  std::atomic<bool> shared_{false};
  // Immutable after create(): read without the lock.
  absl::flat_hash_map<std::string, Budget> provider_budgets_;
  // std::mutex, not absl::Mutex: ThreadSanitizer sees it (DEVELOPERS.md).
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Window> provider_windows_;       // guarded by mu_
  absl::flat_hash_map<std::string, DeploymentBudget> deployments_;  // by deployment id, guarded by mu_
  uint64_t tickets_ = 0;                                             // guarded by mu_
  // The shared budgets holding unsent spend (what take_pushes visits).
  std::vector<std::pair<SharedBudget::Scope, std::string>> unsent_;  // guarded by mu_
};

}  // namespace llmux::health
