#include "router/candidate_filter.hpp"

#include "router/fleet_sync.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace llmux::router {
namespace {

template <class Pred>
size_t remove_if(std::vector<const PoolEntry*>& v, Pred pred) {
  const size_t before = v.size();
  v.erase(std::remove_if(v.begin(), v.end(), pred), v.end());
  return before - v.size();
}

// Lowest `order` among the candidates left; those without an order are
// dropped when any candidate has one (LiteLLM).
void order_filter(std::vector<const PoolEntry*>& c, FilterReport& r) {
  int best = std::numeric_limits<int>::max();
  bool any = false;
  for (const PoolEntry* e : c) {
    const auto& o = e->deployment->config().order;
    if (o) {
      any = true;
      best = std::min(best, *o);
    }
  }
  if (!any) return;
  r.not_in_tier += remove_if(c, [&](const PoolEntry* e) {
    const auto& o = e->deployment->config().order;
    return !o || *o != best;
  });
}

bool has_tag(const std::vector<std::string>& tags, std::string_view t) {
  return std::find(tags.begin(), tags.end(), t) != tags.end();
}

// LiteLLM's get_deployments_for_tag (reference §7.5).
void tag_filter(const FilterInput& in, std::vector<const PoolEntry*>& c, FilterReport& r) {
  if (!in.settings->enable_tag_filtering) return;
  const auto& want = in.request->router.tags;
  bool any_default = false;
  for (const PoolEntry* e : c) any_default = any_default || has_tag(e->deployment->config().tags, "default");
  if (want.empty()) {
    if (any_default) {
      r.tag_mismatch += remove_if(c, [](const PoolEntry* e) { return !has_tag(e->deployment->config().tags, "default"); });
    }
    return;
  }
  auto matches = [&](const PoolEntry* e) {
    const auto& have = e->deployment->config().tags;
    if (have.empty()) return false;
    if (in.settings->tag_filtering_match_any) {
      return std::any_of(want.begin(), want.end(), [&](const std::string& t) { return has_tag(have, t); });
    }
    return std::all_of(want.begin(), want.end(), [&](const std::string& t) { return has_tag(have, t); });
  };
  const bool any_match = std::any_of(c.begin(), c.end(), matches);
  if (any_match) {
    r.tag_mismatch += remove_if(c, [&](const PoolEntry* e) { return !matches(e); });
  } else {
    r.tag_mismatch += remove_if(c, [](const PoolEntry* e) { return !has_tag(e->deployment->config().tags, "default"); });
  }
}

void max_parallel_filter(std::vector<const PoolEntry*>& c, FilterReport& r) {
  r.at_max_parallel += remove_if(c, [](const PoolEntry* e) {
    return e->max_parallel >= 0 && e->deployment->in_flight() >= e->max_parallel;
  });
}

void avoid_filter(const FilterInput& in, std::vector<const PoolEntry*>& c) {
  if (in.avoid == nullptr || c.size() < 2) return;
  auto it = std::find(c.begin(), c.end(), in.avoid);
  if (it != c.end()) c.erase(it);
}

std::string tags_text(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (size_t i = 0; i < tags.size(); ++i) out += fmt::format("{}'{}'", i ? ", " : "", tags[i]);
  return out + "]";
}

}  // namespace

bool is_probe_candidate(const PoolEntry& e, TimePoint now) {
  return e.health->availability(now) == health::Availability::kProbeAvailable;
}

namespace {

// The per-deployment rules, decided once per decision.
struct Rules {
  bool check_excluded = false;
  bool check_budget = false;
  bool check_context = false;
  const std::string* region = nullptr;
  bool check_rate = false;
  bool check_health = false;
  int64_t tokens = 0;

  explicit Rules(const FilterInput& in)
      : check_excluded(!in.excluded.empty()),
        check_budget(in.budgets != nullptr),
        check_context(in.settings->enable_pre_call_checks &&
                      in.request->endpoint == request::Endpoint::kChatCompletions),
        region(in.request->router.allowed_model_region ? &*in.request->router.allowed_model_region : nullptr),
        check_rate(in.enforce_rate_limits),
        check_health(in.settings->health_checks.routing),
        tokens(in.request->estimated_prompt_tokens) {}
  // Whether any rule past the circuit applies to a member of `g`.
  bool any_for(const ModelGroup& g) const {
    return check_health || check_excluded || check_budget || (check_context && g.any_context_window) ||
           region != nullptr || (check_rate && g.any_rate_limit);
  }
};

// Members removed by their circuit, as the report counts them: how many,
// whether one has its probe in flight (it recovers as soon as the probe
// answers), and the soonest end of an open circuit's cooldown.
struct CoolingCount {
  size_t count = 0;
  bool probe_in_flight = false;
  TimePoint soonest_until = TimePoint::max();

  // True when the circuit keeps the member (closed, or half-open with the
  // probe free).
  [[gnu::always_inline]] bool admits(const health::DeploymentHealthState& h, TimePoint now) {
    TimePoint until;
    switch (h.availability(now, until)) {
      case health::Availability::kAvailable:
      case health::Availability::kProbeAvailable:
        return true;
      case health::Availability::kProbeInFlight:
        ++count;
        probe_in_flight = true;
        return false;
      case health::Availability::kCoolingDown:
        ++count;
        soonest_until = std::min(soonest_until, until);
        return false;
    }
    return true;
  }

  // Into the report: the same figures as counting member by member (the
  // seconds left only for the soonest: the conversion is monotonic).
  void report(FilterReport& r, TimePoint now) const {
    if (count == 0) return;
    r.cooling_down += count;
    if (probe_in_flight) {
      r.soonest_recovery_seconds = 0;
    } else if (soonest_until != TimePoint::max()) {
      const double left = std::max(0.0, duration_to_seconds(soonest_until - now));
      if (r.soonest_recovery_seconds < 0 || left < r.soonest_recovery_seconds) r.soonest_recovery_seconds = left;
    }
  }
};

// The per-deployment rules for one candidate whose circuit is `h`; counts why
// it goes (the circuit into `cooling`). True: it stays.
[[gnu::always_inline]] inline bool keep(const FilterInput& in, const Rules& rules, const PoolEntry* e,
                                        const health::DeploymentHealthState& h, CoolingCount& cooling,
                                        FilterReport& r) {
  if (!cooling.admits(h, in.now)) return false;
  if (rules.check_health && e->check->failed_at(in.now)) {
    ++r.failed_health_check;
    if (r.first_failed_health_check == nullptr) r.first_failed_health_check = e;
    // Back when the next check passes, or when the failure goes stale.
    TimePoint back = e->check->failed_until();
    const TimePoint next = e->check->next_check_at();
    if (next > in.now && next < back) back = next;
    const double left = std::max(0.0, duration_to_seconds(back - in.now));
    if (r.soonest_health_check_seconds < 0 || left < r.soonest_health_check_seconds) {
      r.soonest_health_check_seconds = left;
    }
    return false;
  }
  if (rules.check_excluded && std::find(in.excluded.begin(), in.excluded.end(), e) != in.excluded.end()) {
    ++r.excluded;
    return false;
  }
  const Deployment& d = *e->deployment;
  const DeploymentConfig& dc = d.config();
  if (rules.check_budget && in.budgets->enabled_for(dc)) {
    if (auto why = in.budgets->over_budget(dc, in.now)) {
      ++r.over_budget;
      if (r.budget_reason.empty()) r.budget_reason = std::move(*why);
      return false;
    }
  }
  // LiteLLM's _pre_call_checks context-window rule, on llmux's fast
  // estimate of the prompt (request bytes / 4); unknown sizes are kept.
  if (rules.check_context && dc.max_input_tokens) {
    r.largest_context = std::max(r.largest_context, *dc.max_input_tokens);
    if (rules.tokens > *dc.max_input_tokens) {
      ++r.context_too_small;
      return false;
    }
  }
  if (rules.region && dc.region_name != *rules.region) {
    ++r.wrong_region;
    return false;
  }
  // rpm: allowed while fewer than `rpm` started this minute (no
  // off-by-one, unlike usage-v2's selection); tpm: the prompt must fit.
  if (rules.check_rate) {
    const int64_t rpm = d.rpm_limit();
    const int64_t tpm = d.tpm_limit();
    int64_t requests = rpm >= 0 ? d.minute_requests().value(in.now) : 0;
    int64_t used_tokens = tpm >= 0 ? d.minute_tokens().value(in.now) : 0;
    if (in.fleet) {
      // The fleet's counts include this replica's once Redis answered;
      // with Redis away they fade and the local ones rule.
      requests = std::max(requests, in.fleet->fleet_requests(*e, in.now));
      used_tokens = std::max(used_tokens, in.fleet->fleet_tokens(*e, in.now));
    }
    if ((rpm >= 0 && requests + 1 > rpm) || (tpm >= 0 && used_tokens + rules.tokens > tpm)) {
      ++r.over_rate_limit;
      return false;
    }
  }
  return true;
}

// Whether the tag rule can remove a member of a group with these flags.
bool tags_may_apply(const FilterInput& in, const ModelGroup& g) {
  if (!in.settings->enable_tag_filtering) return false;
  if (in.request->router.tags.empty()) return g.any_default_tag;
  return true;
}

}  // namespace

void filter_candidates(const FilterInput& in, std::vector<const PoolEntry*>& c, FilterReport& r) {
  r.considered = c.size();
  if (!in.addressed_by_id) {
    // One pass for the per-deployment rules (this runs before every attempt:
    // a pass per rule would multiply the cost); the rules that compare
    // candidates with each other (order, tags) run on what is left.
    const Rules rules(in);
    bool any_order = false;
    size_t kept = 0;
    CoolingCount cooling;
    for (const PoolEntry* e : c) {
      if (!keep(in, rules, e, *e->health, cooling, r)) continue;
      any_order = any_order || e->has_order;
      c[kept++] = e;
    }
    cooling.report(r, in.now);
    c.resize(kept);
    if (any_order) order_filter(c, r);
    tag_filter(in, c, r);
  }
  max_parallel_filter(c, r);
  avoid_filter(in, c);
}

Candidates filter_group(const FilterInput& in, const ModelGroup& group, FilterScratch& scratch, FilterReport& r) {
  const size_t n = group.members.size();
  r.considered = n;
  const Rules rules(in);
  const bool circuits_closed = group.trips != nullptr && group.trips->value() == 0;
  const bool per_member = !circuits_closed || rules.any_for(group);
  const bool tags = tags_may_apply(in, group);
  if (!per_member && !group.any_order && !tags && !group.any_max_parallel && in.avoid == nullptr) {
    // Nobody can be removed: the group's own arrays are the candidates.
    return Candidates{std::span<const PoolEntry* const>(group.members),
                      std::span<const Deployment* const>(group.deployments), group.all_columns()};
  }
  auto& entries = scratch.entries;
  auto& deployments = scratch.deployments;
  auto& slots = scratch.slots;
  const bool columns = group.column_table != nullptr;
  entries.resize(n);
  deployments.resize(n);
  if (columns) slots.resize(n);
  size_t kept = 0;
  if (!per_member) {
    std::copy(group.members.begin(), group.members.end(), entries.begin());
    std::copy(group.deployments.begin(), group.deployments.end(), deployments.begin());
    if (columns) std::copy(group.column_slots.begin(), group.column_slots.end(), slots.begin());
    kept = n;
  } else if (!rules.any_for(group)) {
    // Only circuits can remove members (some are tripped): the circuit words
    // from the flat array, nothing else per member. The arrays as plain
    // pointers: through the vectors, every store would make the compiler
    // reload their data pointers (the stores might alias them).
    const health::DeploymentHealthState* const* health = group.health.data();
    const PoolEntry* const* members = group.members.data();
    const Deployment* const* members_deployments = group.deployments.data();
    const uint32_t* members_slots = group.column_slots.data();
    const PoolEntry** kept_entries = entries.data();
    const Deployment** kept_deployments = deployments.data();
    uint32_t* kept_slots = slots.data();
    const TimePoint now = in.now;
    CoolingCount cooling;
    for (size_t i = 0; i < n; ++i) {
      if (!cooling.admits(*health[i], now)) continue;
      kept_entries[kept] = members[i];
      kept_deployments[kept] = members_deployments[i];
      if (columns) kept_slots[kept] = members_slots[i];
      ++kept;
    }
    cooling.report(r, now);
  } else {
    // The circuit words from the flat array; the member itself only when a
    // rule past the circuit applies.
    CoolingCount cooling;
    for (size_t i = 0; i < n; ++i) {
      const PoolEntry* e = group.members[i];
      if (!keep(in, rules, e, *group.health[i], cooling, r)) continue;
      entries[kept] = e;
      deployments[kept] = group.deployments[i];
      if (columns) slots[kept] = group.column_slots[i];
      ++kept;
    }
    cooling.report(r, in.now);
  }
  entries.resize(kept);
  // The rules that compare candidates with each other, then the concurrency
  // cap and the avoided deployment, on what is left (as filter_candidates).
  if (group.any_order) {
    bool any_order = false;
    for (const PoolEntry* e : entries) any_order = any_order || e->has_order;
    if (any_order) order_filter(entries, r);
  }
  if (tags) tag_filter(in, entries, r);
  if (group.any_max_parallel) max_parallel_filter(entries, r);
  avoid_filter(in, entries);
  if (entries.size() != kept) {
    for (size_t i = 0; i < entries.size(); ++i) {
      deployments[i] = entries[i]->deployment.get();
      if (columns) slots[i] = deployments[i]->column_slot();
    }
  }
  deployments.resize(entries.size());
  CandidateColumns view;
  if (columns) {
    slots.resize(entries.size());
    view.table = group.column_table;
    view.slots = slots.data();
  }
  return Candidates{std::span<const PoolEntry* const>(entries), std::span<const Deployment* const>(deployments), view};
}

Error no_candidates_error(const FilterInput& in, const FilterReport& r) {
  const std::string_view model = in.group_name;
  const size_t removed_for_reason = r.cooling_down + r.failed_health_check + r.excluded + r.over_budget +
                                    r.context_too_small + r.wrong_region + r.over_rate_limit + r.tag_mismatch +
                                    r.at_max_parallel;
  auto only = [&](size_t n) { return n > 0 && n == removed_for_reason; };

  if (only(r.failed_health_check)) {
    std::string latest;
    if (r.first_failed_health_check != nullptr) {
      if (auto l = r.first_failed_health_check->check->latest(); l && !l->result.healthy) {
        latest = fmt::format(" (deployment {}: {} {}: {})", l->result.deployment_id, l->result.status,
                             l->result.error_type, l->result.reason);
      }
    }
    const double wait = std::max(0.0, r.soonest_health_check_seconds);
    Error e(ErrorKind::kNoDeploymentsAvailable,
            fmt::format("No deployments available for selected model: every deployment failed its latest health "
                        "check{}, try again in {:.1f} seconds. Passed model={}",
                        latest, wait, model));
    e.retry_after_seconds = wait;
    return e;
  }

  if (only(r.context_too_small)) {
    return Error(ErrorKind::kContextWindowExceeded,
                 fmt::format("litellm._pre_call_checks: Context Window exceeded for given call. No models have context "
                             "window large enough for this call.\nModel={}, Max Input Tokens={}, Got={} (estimated)",
                             model, r.largest_context, in.request->estimated_prompt_tokens));
  }
  if (only(r.over_budget)) {
    return Error(ErrorKind::kBudgetExceeded,
                 fmt::format("No deployments available - crossed budget: {}. Passed model={}", r.budget_reason, model));
  }
  if (only(r.tag_mismatch)) {
    return Error(ErrorKind::kNoDeploymentsAvailable,
                 fmt::format("Not allowed to access model due to tags configuration. Passed model={} and tags={}",
                             model, tags_text(in.request->router.tags)));
  }
  if (only(r.over_rate_limit)) {
    // The minute window turns over within 60 s.
    const double next_minute =
        60.0 - std::fmod(duration_to_seconds(in.now.time_since_epoch()), 60.0);
    Error e(ErrorKind::kNoDeploymentsAvailable,
            fmt::format("No deployments available for selected model: every deployment is over its rpm/tpm limit "
                        "for this minute, try again in {:.1f} seconds. Passed model={}",
                        next_minute, model));
    e.retry_after_seconds = next_minute;
    return e;
  }
  if (only(r.wrong_region)) {
    return Error(ErrorKind::kNoDeploymentsAvailable,
                 fmt::format("No deployments available for selected model in region '{}'. Passed model={}",
                             in.request->router.allowed_model_region.value_or(""), model));
  }
  if (only(r.excluded)) {
    return Error(ErrorKind::kTimeout,
                 fmt::format("every deployment of model={} timed out in this call", model));
  }
  // LiteLLM's RouterRateLimitError text, with every reason counted.
  double soonest = r.soonest_recovery_seconds >= 0 ? r.soonest_recovery_seconds : in.settings->cooldown_time_seconds;
  if (r.soonest_health_check_seconds >= 0 && (r.soonest_recovery_seconds < 0 || r.soonest_health_check_seconds < soonest)) {
    soonest = r.soonest_health_check_seconds;
  }
  std::vector<std::string> reasons;
  auto add = [&](size_t n, std::string_view what) {
    if (n > 0) reasons.push_back(fmt::format("{} {}", n, what));
  };
  add(r.cooling_down, "cooling down");
  add(r.failed_health_check, "failed their latest health check");
  add(r.excluded, "timed out earlier in this call");
  add(r.over_budget, "over budget");
  add(r.context_too_small, "context window too small");
  add(r.wrong_region, "in another region");
  add(r.over_rate_limit, "over rpm/tpm limit");
  add(r.tag_mismatch, "not matching the request tags");
  add(r.at_max_parallel, "at max_parallel_requests");
  Error e(ErrorKind::kNoDeploymentsAvailable,
          fmt::format("No deployments available for selected model, Try again in {:.1f} seconds. Passed model={}. "
                      "pre-call-checks={}, deployments: {} of {} {}",
                      soonest, model, in.settings->enable_pre_call_checks ? "True" : "False", removed_for_reason,
                      r.considered, reasons.empty() ? "(none configured)" : fmt::format("{}", fmt::join(reasons, ", "))));
  if (r.cooling_down > 0 || r.failed_health_check > 0) e.retry_after_seconds = soonest;
  return e;
}

}  // namespace llmux::router
