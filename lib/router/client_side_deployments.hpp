// -----------------------------------------------------------------------------
// File: router/client_side_deployments.hpp
// -----------------------------------------------------------------------------
// LiteLLM's client-side credentials: a call that carries its own `api_key`
// and/or `api_base` (or `base_url`) is not served under the configured
// deployment's identity. The deployment routing chose gets a twin — the same
// config with the caller's credentials — with a deployment id of its own,
// its own health (cooldowns), rpm/tpm and in-flight counters, and its own
// auth state, so neither the caller's failures nor its traffic count against
// the configured deployment (LiteLLM's _handle_clientside_credential upserts
// such a deployment under a new id).
//
// Identity: the twin's id is the hex SHA-256 of the configured deployment's
// id and the credentials: stable across calls (one twin per deployment and
// credentials) and never revealing the key. Twins are not part of the pool:
// health(), deployments() and the model list do not show them.
//
// Bound: at most `capacity` twins (1024 by default) are kept. When a new one
// would exceed it, the least recently used twin is forgotten (its counters
// and cooldown with it; calls still using it keep it alive until they end),
// so a caller rotating keys cannot grow the router's memory without bound.
//
// A twin is made from its deployment as it was at the twin's first use (a
// deployment changed later under the same id keeps its old twin until that is
// evicted). Routing chooses among the configured deployments; the twin's own
// cooldown then stops a call that would use it (kNoDeploymentsAvailable, on to
// fallbacks), never the configured deployment.
//
// Used on the router's loop thread only (RouterCore).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/router.hpp"
#include "request/request.hpp"
#include "router/deployment_pool.hpp"

namespace llmux::router {

class ClientSideDeployments {
 public:
  static constexpr size_t kDefaultCapacity = 1024;

  explicit ClientSideDeployments(size_t capacity = kDefaultCapacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Whether `request` carries client-side credentials.
  static bool applies(const request::RouterRequestOptions& request) {
    return request.api_key.has_value() || request.api_base.has_value();
  }

  // The twin of `configured` for the request's credentials (made on first
  // use). The pointer keeps the twin alive for as long as the caller holds
  // it. Fails only when the twin cannot be built (its provider is missing).
  Result<std::shared_ptr<const PoolEntry>> twin(const PoolEntry& configured, const request::RouterRequestOptions& request,
                                                const RouterSettings& settings);

  // The twin id of deployment `id` with these credentials (hex SHA-256).
  static std::string twin_id(std::string_view id, const std::optional<std::string>& api_key,
                             const std::optional<std::string>& api_base);

  // Whether `id` is a twin this registry holds.
  bool is_twin(std::string_view id) const { return twins_.contains(absl::string_view(id.data(), id.size())); }

  // The deployment_id label the metrics count twins under (one series for
  // all of them: keys rotating by the thousand must not grow the metrics).
  static constexpr std::string_view kMetricsLabel = "client_side_credentials";

  // `event` as the metrics count it: every twin's id (the event's and its
  // attempt log's) replaced by kMetricsLabel. Returns `event` itself when no
  // twin is named, else a copy built in the scratch objects.
  const RouterEvent& for_metrics(const RouterEvent& event, RouterEvent& scratch_event,
                                 RouterMetadata& scratch_metadata) const;

  size_t size() const { return twins_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Twin {
    std::shared_ptr<const DeploymentPool> pool;  // one deployment: the twin
    uint64_t last_used = 0;
  };
  void evict_least_recently_used();

  size_t capacity_;
  uint64_t clock_ = 0;  // use counter for LRU
  absl::flat_hash_map<std::string, Twin> twins_;
};

}  // namespace llmux::router
