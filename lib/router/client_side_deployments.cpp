#include "router/client_side_deployments.hpp"

#include <openssl/evp.h>

#include <array>

#include <fmt/format.h>

namespace llmux::router {
namespace {

void digest_field(EVP_MD_CTX* ctx, std::string_view tag, const std::optional<std::string>& value) {
  // Tagged and length-prefixed: ("ab","c") and ("a","bc") never collide, nor
  // an absent value with an empty one.
  const std::string head = value ? fmt::format("{}:{}:", tag, value->size()) : fmt::format("{}:-:", tag);
  EVP_DigestUpdate(ctx, head.data(), head.size());
  if (value) EVP_DigestUpdate(ctx, value->data(), value->size());
}

}  // namespace

std::string ClientSideDeployments::twin_id(std::string_view id, const std::optional<std::string>& api_key,
                                           const std::optional<std::string>& api_base) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  digest_field(ctx, "deployment", std::optional<std::string>(std::string(id)));
  digest_field(ctx, "api_key", api_key);
  digest_field(ctx, "api_base", api_base);
  EVP_DigestFinal_ex(ctx, md.data(), &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) fmt::format_to(std::back_inserter(hex), "{:02x}", md[i]);
  return hex;
}

Result<std::shared_ptr<const PoolEntry>> ClientSideDeployments::twin(const PoolEntry& configured,
                                                                     const request::RouterRequestOptions& request,
                                                                     const RouterSettings& settings) {
  const DeploymentConfig& base = configured.deployment->config();
  std::string id = twin_id(base.id, request.api_key, request.api_base);
  if (auto it = twins_.find(id); it != twins_.end()) {
    it->second.last_used = ++clock_;
    const DeploymentPool& pool = *it->second.pool;
    return std::shared_ptr<const PoolEntry>(it->second.pool, pool.entries().front().get());
  }
  DeploymentConfig c = base;  // prices and limits already resolved
  c.id = id;
  if (request.api_key) c.api_key = *request.api_key;
  if (request.api_base) c.api_base = *request.api_base;
  std::vector<DeploymentConfig> one;
  one.push_back(std::move(c));
  auto built = DeploymentPool::build(std::move(one), settings, nullptr);
  if (!built.ok()) {
    // Never the credentials: the configured deployment's id names it.
    return Error(ErrorKind::kInvalidConfig,
                 fmt::format("deployment {}: client-side credentials could not be applied", base.id));
  }
  if (twins_.size() >= capacity_) evict_least_recently_used();
  Twin& t = twins_[id];
  t.pool = std::move(built).value();
  t.last_used = ++clock_;
  return std::shared_ptr<const PoolEntry>(t.pool, t.pool->entries().front().get());
}

const RouterEvent& ClientSideDeployments::for_metrics(const RouterEvent& event, RouterEvent& scratch_event,
                                                      RouterMetadata& scratch_metadata) const {
  if (twins_.empty()) return event;
  bool named = is_twin(event.deployment_id);
  if (event.metadata != nullptr) {
    for (const AttemptRecord& a : event.metadata->attempt_log) named = named || is_twin(a.deployment_id);
  }
  if (!named) return event;
  scratch_event = event;
  if (is_twin(event.deployment_id)) scratch_event.deployment_id = kMetricsLabel;
  if (event.metadata != nullptr) {
    scratch_metadata = *event.metadata;
    for (AttemptRecord& a : scratch_metadata.attempt_log) {
      if (is_twin(a.deployment_id)) a.deployment_id = std::string(kMetricsLabel);
    }
    if (is_twin(scratch_metadata.deployment_id)) scratch_metadata.deployment_id = std::string(kMetricsLabel);
    scratch_event.metadata = &scratch_metadata;
  }
  return scratch_event;
}

void ClientSideDeployments::evict_least_recently_used() {
  auto oldest = twins_.end();
  for (auto it = twins_.begin(); it != twins_.end(); ++it) {
    if (oldest == twins_.end() || it->second.last_used < oldest->second.last_used) oldest = it;
  }
  if (oldest != twins_.end()) twins_.erase(oldest);
}

}  // namespace llmux::router
