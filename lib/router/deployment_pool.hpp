// -----------------------------------------------------------------------------
// File: router/deployment_pool.hpp
// -----------------------------------------------------------------------------
// An immutable snapshot of the router's deployments, indexed for model-group
// resolution (reference §4.0, §11.3-11.4): alias → exact model_name →
// wildcard pattern → litellm_params.model; a deployment id addresses that
// deployment alone. add/remove build a new snapshot; calls in flight keep the
// one they started with. Live state (in-flight counts, health) is shared
// between snapshots through shared_ptr.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/deployment_columns.hpp"
#include "health/cooldown_tracker.hpp"
#include "llmux/config.hpp"
#include "llmux/deployment.hpp"
#include "llmux/error.hpp"
#include "provider/provider.hpp"
#include "router/fleet_deployment_state.hpp"
#include "router/health_check_state.hpp"

namespace llmux::router {

struct PoolEntry {
  std::shared_ptr<Deployment> deployment;
  std::shared_ptr<health::DeploymentHealthState> health;
  // What the deployment shares with the fleet (fleet-wide minute counts);
  // kept across snapshots like health. Read only when Redis is configured.
  std::shared_ptr<FleetDeploymentState> fleet;
  // What active health checks know (router/health_check_state.hpp); never null.
  std::shared_ptr<HealthCheckState> check;
  const provider::Provider* provider = nullptr;  // nullptr: mock_response only
  // The adapter's run-time state for this deployment (tokens, credentials);
  // null when it has none. Kept across snapshots with the deployment.
  std::shared_ptr<provider::DeploymentAuth> auth;
  // Every secret value of the deployment (router/secrets.hpp), kept out of
  // error messages.
  std::vector<std::string> secrets;
  bool wildcard = false;                         // model_name contains '*'
  // Concurrency cap (LiteLLM's max_parallel_requests rule, reference §7.4);
  // <0 = none.
  int64_t max_parallel = -1;
  bool has_order = false;  // config().order is set (read per attempt by the filter: kept next to the rest)
};

// LiteLLM's calculate_max_parallel_requests: max_parallel_requests, else rpm,
// else max(1, tpm/1000*6), else the router's default_max_parallel_requests.
int64_t max_parallel_requests_for(const DeploymentConfig& c, const RouterSettings& settings);

struct ModelGroup {
  // Not copyable: whole_columns points into this group's own vectors (a move
  // keeps their buffers).
  ModelGroup() = default;
  ModelGroup(const ModelGroup&) = delete;
  ModelGroup& operator=(const ModelGroup&) = delete;
  ModelGroup(ModelGroup&&) = default;
  ModelGroup& operator=(ModelGroup&&) = default;

  std::string name;
  std::vector<const PoolEntry*> members;

  // The routing view, member for member, so that a decision reads flat
  // arrays instead of chasing each member's pointers (built with the
  // snapshot by DeploymentPool::build; a group assembled elsewhere calls
  // index_members() after filling `members`).
  std::vector<const Deployment*> deployments;
  std::vector<const health::DeploymentHealthState*> health;
  // Counts the tripped circuits of every member's health state; null when
  // the members do not all report to one counter (then every member's
  // circuit is read).
  std::shared_ptr<const health::TripCounter> trips;
  // What some member configures; false means no member does, so the rule
  // cannot remove anyone and the filter skips it without a pass.
  bool any_max_parallel = false;  // PoolEntry::max_parallel >= 0
  bool any_order = false;
  bool any_tags = false;          // a non-empty `tags`
  bool any_default_tag = false;   // "default" among the tags
  bool any_context_window = false;  // max_input_tokens
  bool any_rate_limit = false;    // rpm or tpm
  bool any_region = false;        // region_name set (only a request's region reads it)
  bool any_weight = false;        // weight, rpm or tpm (PickContext::may_be_weighted)

  // The members' slots in the group's DeploymentColumns (the live values
  // strategies scan as flat arrays), member for member. `column_table` is
  // null when some member has no slot there (a group assembled from several
  // groups): strategies then read the deployments. `column_owner` keeps the
  // table for the next snapshot of the group (null in assembled groups).
  std::shared_ptr<DeploymentColumns> column_owner;
  const DeploymentColumns* column_table = nullptr;
  std::vector<uint32_t> column_slots;
  // Set when member i is index column_base + i of one page (a group built at
  // once): the decision scans plain arrays.
  const DeploymentColumns::Page* column_page = nullptr;
  uint32_t column_base = 0;

  // With any_weight: simple-shuffle's running sums of the members' weights
  // (strategy::SimpleShuffle::weight_prefix), member for member, so that a
  // weighted pick over the whole group is a binary search.
  std::vector<double> weight_prefix;

  // Fills the arrays and flags above from `members`.
  void index_members(std::shared_ptr<const health::TripCounter> counter,
                     std::shared_ptr<DeploymentColumns> columns = nullptr);
  // The columns of all members, for PickContext::columns.
  const CandidateColumns& all_columns() const { return whole_columns; }
  // all_columns(), put together by index_members.
  CandidateColumns whole_columns;
};

// What a requested model name resolved to.
struct Resolution {
  const ModelGroup* group = nullptr;  // null when a deployment id was addressed
  const PoolEntry* single = nullptr;  // deployment addressed by id
  std::string group_name;             // for metadata and fallback lookup (alias name when aliased)
  // Wildcard matches: the provider model with '*' replaced by the captured text.
  std::optional<std::vector<std::string>> wildcard_captures;
};

class DeploymentPool {
 public:
  // Builds a snapshot. `previous` (may be null) lends live state to
  // deployments whose id it already had. Fails when a provider is unsupported.
  static Result<std::shared_ptr<const DeploymentPool>> build(std::vector<DeploymentConfig> deployments,
                                                             const RouterSettings& settings,
                                                             const DeploymentPool* previous);

  // Resolves a requested model; nullopt when nothing matches.
  std::optional<Resolution> resolve(std::string_view model) const;
  const ModelGroup* group(std::string_view name) const;
  const PoolEntry* by_id(std::string_view id) const;

  const std::vector<std::unique_ptr<PoolEntry>>& entries() const { return entries_; }
  const std::vector<ModelGroup>& groups() const { return groups_; }
  std::vector<DeploymentConfig> configs() const;

  // Replaces each '*' of `pattern` with the captures, in order.
  static std::string apply_captures(std::string_view pattern, const std::vector<std::string>& captures);
  // Matches `text` against a model_name pattern (anchored at the start like
  // Python's re.match); fills one capture per '*'.
  static bool match_wildcard(std::string_view pattern, std::string_view text, std::vector<std::string>& captures);

 private:
  struct Wildcard {
    std::string pattern;  // the model_name with '*'
    size_t group_index;
  };

  std::vector<std::unique_ptr<PoolEntry>> entries_;
  std::vector<ModelGroup> groups_;
  absl::flat_hash_map<std::string, size_t> group_index_;
  absl::flat_hash_map<std::string, const PoolEntry*> by_id_;
  absl::flat_hash_map<std::string, size_t> by_litellm_model_;  // litellm_params.model → group of its first deployment
  std::vector<Wildcard> wildcards_;                             // most specific first
  std::map<std::string, ModelGroupAlias, std::less<>> aliases_;  // transparent: no key copy per lookup
  std::string first_default_fallback_;
};

}  // namespace llmux::router
