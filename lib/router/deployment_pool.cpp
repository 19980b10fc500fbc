#include "router/deployment_pool.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "absl/strings/string_view.h"
#include "common/strings.hpp"
#include "router/secrets.hpp"
#include "strategy/cost_based.hpp"
#include "strategy/simple_shuffle.hpp"

namespace llmux::router {

int64_t max_parallel_requests_for(const DeploymentConfig& c, const RouterSettings& settings) {
  if (c.max_parallel_requests) return *c.max_parallel_requests;
  if (c.rpm && *c.rpm >= 1) return static_cast<int64_t>(*c.rpm);
  if (c.tpm && *c.tpm > 0) return std::max<int64_t>(1, static_cast<int64_t>(*c.tpm / 1000.0 * 6.0));
  if (settings.default_max_parallel_requests) return *settings.default_max_parallel_requests;
  return -1;
}

void ModelGroup::index_members(std::shared_ptr<const health::TripCounter> counter,
                               std::shared_ptr<DeploymentColumns> columns) {
  // Columns: one table shared by every member (the group's, or for an
  // assembled group the one its members happen to share).
  column_owner = std::move(columns);
  column_table = column_owner.get();
  if (column_table == nullptr && !members.empty()) column_table = DeploymentColumns::of(*members.front()->deployment);
  column_slots.clear();
  column_page = nullptr;
  column_base = 0;
  if (column_table != nullptr) {
    column_slots.reserve(members.size());
    bool contiguous = true;
    for (const PoolEntry* e : members) {
      const Deployment& d = *e->deployment;
      if (DeploymentColumns::of(d) != column_table) {
        column_table = nullptr;
        column_slots.clear();
        break;
      }
      const uint32_t slot = d.column_slot();
      contiguous = contiguous && (column_slots.empty() || slot == column_slots.front() + column_slots.size());
      column_slots.push_back(slot);
    }
    // Within one page: the slot numbers of a page are consecutive.
    if (column_table != nullptr && contiguous && !column_slots.empty() &&
        (column_slots.front() >> DeploymentColumns::kPageShift) ==
            (column_slots.back() >> DeploymentColumns::kPageShift)) {
      column_page = &column_table->page(column_slots.front());
      column_base = DeploymentColumns::index(column_slots.front());
    }
  }
  deployments.clear();
  health.clear();
  deployments.reserve(members.size());
  health.reserve(members.size());
  any_max_parallel = any_order = any_tags = any_default_tag = any_context_window = any_rate_limit = any_region = any_weight =
      false;
  bool shared_counter = counter != nullptr;
  for (const PoolEntry* e : members) {
    deployments.push_back(e->deployment.get());
    health.push_back(e->health.get());
    shared_counter = shared_counter && e->health->trip_counter() == counter.get();
    const DeploymentConfig& c = e->deployment->config();
    any_max_parallel = any_max_parallel || e->max_parallel >= 0;
    any_order = any_order || e->has_order;
    any_tags = any_tags || !c.tags.empty();
    any_default_tag = any_default_tag || std::find(c.tags.begin(), c.tags.end(), "default") != c.tags.end();
    any_context_window = any_context_window || c.max_input_tokens.has_value();
    any_rate_limit = any_rate_limit || e->deployment->rpm_limit() >= 0 || e->deployment->tpm_limit() >= 0;
    any_region = any_region || !c.region_name.empty();
    any_weight = any_weight || c.weight.has_value() || c.rpm.has_value() || c.tpm.has_value();
  }
  trips = shared_counter ? std::move(counter) : nullptr;
  weight_prefix.clear();
  if (any_weight) strategy::SimpleShuffle::weight_prefix(deployments, weight_prefix);
  whole_columns = CandidateColumns{column_table, column_slots.data(), column_page, column_base,
                                   weight_prefix.empty() ? nullptr : weight_prefix.data()};
}

Result<std::shared_ptr<const DeploymentPool>> DeploymentPool::build(std::vector<DeploymentConfig> deployments,
                                                                    const RouterSettings& settings,
                                                                    const DeploymentPool* previous) {
  auto pool = std::shared_ptr<DeploymentPool>(new DeploymentPool());
  pool->entries_.reserve(deployments.size());
  // Deployments with one id are checked once: they share the result.
  absl::flat_hash_map<std::string, std::shared_ptr<HealthCheckState>> checks_by_id;
  // One trip counter per model group, kept across snapshots like the health
  // states that report to it.
  absl::flat_hash_map<std::string, std::shared_ptr<const health::TripCounter>> trip_counters;
  auto trip_counter_for = [&](const std::string& group) {
    auto [it, inserted] = trip_counters.try_emplace(group);
    if (inserted) {
      const ModelGroup* before = previous ? previous->group(group) : nullptr;
      it->second = before != nullptr && before->trips != nullptr
                       ? before->trips
                       : std::make_shared<const health::TripCounter>();
    }
    return it->second;
  };
  // One column table per model group, kept across snapshots like the trip
  // counters: deployments carried over keep their slots in it.
  absl::flat_hash_map<std::string, std::shared_ptr<DeploymentColumns>> column_tables;
  auto columns_for = [&](const std::string& group) {
    auto [it, inserted] = column_tables.try_emplace(group);
    if (inserted) {
      const ModelGroup* before = previous ? previous->group(group) : nullptr;
      if (before != nullptr && before->column_owner != nullptr) {
        it->second = before->column_owner;
      } else {
        size_t expected = 0;
        for (const DeploymentConfig& other : deployments) expected += other.model_name == group ? 1 : 0;
        it->second = std::make_shared<DeploymentColumns>(expected);
      }
    }
    return it->second;
  };
  for (size_t i = 0; i < deployments.size(); ++i) {
    DeploymentConfig& c = deployments[i];
    if (!c.drop_params) c.drop_params = settings.drop_params;  // litellm_settings.drop_params, per deployment
    const provider::Provider* p = provider::find_provider(c.provider);
    if (!p && !c.mock_response && !c.mock_response_json && !c.mock_error_json) {
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("model_list[{}] (model_name '{}', model '{}'): provider '{}' is not supported yet "
                               "(supported: {})",
                               i, c.model_name, c.model, c.provider, provider::supported_provider_list()));
    }
    auto entry = std::make_unique<PoolEntry>();
    entry->provider = p;
    entry->wildcard = c.model_name.find('*') != std::string::npos;
    const PoolEntry* old = previous ? previous->by_id(c.id) : nullptr;
    if (old && old->deployment->config().model_name == c.model_name) {
      entry->health = old->health;
      entry->fleet = old->fleet;
      entry->check = old->check;
    } else {
      entry->health = std::make_shared<health::DeploymentHealthState>(trip_counter_for(c.model_name));
      entry->fleet = std::make_shared<FleetDeploymentState>();
      entry->check = std::make_shared<HealthCheckState>();
    }
    if (auto [it, inserted] = checks_by_id.try_emplace(c.id, entry->check); !inserted) entry->check = it->second;
    // A deployment whose prices or context window changed (prices registered
    // at run time) gets a new object: its config is immutable.
    if (old && old->deployment->config().model == c.model && old->deployment->config().api_base == c.api_base &&
        old->deployment->config().model_name == c.model_name &&
        old->deployment->config().input_cost_per_token == c.input_cost_per_token &&
        old->deployment->config().output_cost_per_token == c.output_cost_per_token &&
        old->deployment->config().max_input_tokens == c.max_input_tokens &&
        old->deployment->config().max_output_tokens == c.max_output_tokens) {
      entry->deployment = old->deployment;  // keep its live counters and credentials
      entry->auth = old->auth;
    } else {
      std::shared_ptr<DeploymentColumns> columns = columns_for(c.model_name);
      auto d = std::make_shared<Deployment>(std::move(c));
      // Its live counters go to the group's columns before anyone sees it.
      DeploymentColumns::attach(columns, *d, strategy::CostBased::price(d->config()));
      entry->deployment = std::move(d);
      if (p) entry->auth = p->make_auth(entry->deployment->config());
    }
    entry->secrets = deployment_secrets(entry->deployment->config(), entry->auth.get());
    entry->max_parallel = max_parallel_requests_for(entry->deployment->config(), settings);
    entry->has_order = entry->deployment->config().order.has_value();
    pool->entries_.push_back(std::move(entry));
  }

  for (const auto& e : pool->entries_) {
    const DeploymentConfig& c = e->deployment->config();
    auto [it, inserted] = pool->group_index_.try_emplace(c.model_name, pool->groups_.size());
    if (inserted) {
      pool->groups_.emplace_back();
      pool->groups_.back().name = c.model_name;
    }
    pool->groups_[it->second].members.push_back(e.get());
    // Identical deployments share one id (LiteLLM §3.3); the first one keeps it.
    pool->by_id_.try_emplace(c.id, e.get());
    pool->by_litellm_model_.try_emplace(c.model, it->second);
    if (inserted && e->wildcard) pool->wildcards_.push_back(Wildcard{c.model_name, it->second});
  }
  for (ModelGroup& g : pool->groups_) g.index_members(trip_counter_for(g.name), columns_for(g.name));
  // Most specific pattern first (LiteLLM sorts by regex length, then by
  // count of special characters).
  std::stable_sort(pool->wildcards_.begin(), pool->wildcards_.end(), [](const Wildcard& a, const Wildcard& b) {
    if (a.pattern.size() != b.pattern.size()) return a.pattern.size() > b.pattern.size();
    return std::count(a.pattern.begin(), a.pattern.end(), '*') < std::count(b.pattern.begin(), b.pattern.end(), '*');
  });
  pool->aliases_.insert(settings.model_group_alias.begin(), settings.model_group_alias.end());
  for (const auto& rule : settings.fallbacks) {
    if (rule.group == "*" && !rule.targets.empty()) pool->first_default_fallback_ = rule.targets.front();
  }
  return std::shared_ptr<const DeploymentPool>(std::move(pool));
}

bool DeploymentPool::match_wildcard(std::string_view pattern, std::string_view text,
                                    std::vector<std::string>& captures) {
  // Anchored at the start like Python's re.match; the last '*' may absorb the rest.
  captures.clear();
  size_t pi = 0, ti = 0;
  while (pi < pattern.size()) {
    if (pattern[pi] == '*') {
      // Find the next literal segment after this star.
      size_t next_star = pattern.find('*', pi + 1);
      std::string_view literal = pattern.substr(pi + 1, next_star == std::string_view::npos ? std::string_view::npos
                                                                                           : next_star - pi - 1);
      if (literal.empty()) {
        if (next_star == std::string_view::npos) {
          captures.emplace_back(text.substr(ti));
          return true;
        }
        captures.emplace_back();  // "**": the first star captures nothing
        pi = next_star;
        continue;
      }
      // Greedy like (.*): the last occurrence when this is the final segment.
      size_t pos = next_star == std::string_view::npos ? text.rfind(literal) : text.find(literal, ti);
      if (pos == std::string_view::npos || pos < ti) return false;
      captures.emplace_back(text.substr(ti, pos - ti));
      ti = pos + literal.size();
      pi += 1 + literal.size();
      if (next_star == std::string_view::npos) return true;  // re.match: trailing text allowed
    } else {
      if (ti >= text.size() || text[ti] != pattern[pi]) return false;
      ++ti;
      ++pi;
    }
  }
  return true;
}

std::string DeploymentPool::apply_captures(std::string_view pattern, const std::vector<std::string>& captures) {
  std::string out;
  size_t k = 0;
  for (char ch : pattern) {
    if (ch == '*' && k < captures.size()) {
      out += captures[k++];
    } else {
      out += ch;
    }
  }
  return out;
}

std::optional<Resolution> DeploymentPool::resolve(std::string_view model) const {
  Resolution r;
  if (const PoolEntry* e = by_id(model)) {
    r.single = e;
    r.group_name = e->deployment->config().model_name;
    return r;
  }
  std::string_view target = model;
  if (auto a = aliases_.find(model); a != aliases_.end()) target = a->second.target;
  r.group_name = std::string(model);
  if (auto it = group_index_.find(to_absl(target)); it != group_index_.end()) {
    r.group = &groups_[it->second];
    return r;
  }
  std::vector<std::string> captures;
  for (const auto& w : wildcards_) {
    if (match_wildcard(w.pattern, target, captures)) {
      r.group = &groups_[w.group_index];
      r.wildcard_captures = std::move(captures);
      return r;
    }
  }
  if (auto it = by_litellm_model_.find(to_absl(target)); it != by_litellm_model_.end()) {
    r.group = &groups_[it->second];
    return r;
  }
  if (!first_default_fallback_.empty()) {
    if (auto it = group_index_.find(first_default_fallback_); it != group_index_.end()) {
      r.group = &groups_[it->second];
      r.group_name = first_default_fallback_;
      return r;
    }
  }
  return std::nullopt;
}

const ModelGroup* DeploymentPool::group(std::string_view name) const {
  auto it = group_index_.find(to_absl(name));
  return it == group_index_.end() ? nullptr : &groups_[it->second];
}

const PoolEntry* DeploymentPool::by_id(std::string_view id) const {
  auto it = by_id_.find(to_absl(id));
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<DeploymentConfig> DeploymentPool::configs() const {
  std::vector<DeploymentConfig> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e->deployment->config());
  return out;
}

}  // namespace llmux::router
