#include "router/group_usage.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "json/writer.hpp"
#include "router/fleet_sync.hpp"
#include "router/router_impl.hpp"

namespace llmux::router {
namespace {

bool has_limits(const ModelGroup& group) {
  for (const PoolEntry* e : group.members) {
    const DeploymentConfig& c = e->deployment->config();
    if (c.rpm || c.tpm) return true;
  }
  return false;
}

}  // namespace

ModelGroupUsage group_usage(const ModelGroup& group, TimePoint now, const FleetSync* fleet) {
  ModelGroupUsage u;
  u.model_group = group.name;
  for (const PoolEntry* e : group.members) {
    const Deployment& d = *e->deployment;
    int64_t requests = d.minute_requests().value(now);
    int64_t tokens = d.minute_tokens().value(now);
    if (fleet) {
      // Fleet-wide, as the rate filter sees them.
      requests = std::max(requests, fleet->fleet_requests(*e, now));
      tokens = std::max(tokens, fleet->fleet_tokens(*e, now));
    }
    u.rpm_used += requests;
    u.tpm_used += tokens;
    const DeploymentConfig& c = d.config();
    if (c.rpm) u.rpm_limit = u.rpm_limit.value_or(0) + static_cast<int64_t>(std::llround(*c.rpm));
    if (c.tpm) u.tpm_limit = u.tpm_limit.value_or(0) + static_cast<int64_t>(std::llround(*c.tpm));
  }
  return u;
}

std::vector<std::pair<std::string, std::string>> rate_limit_headers(const ModelGroupUsage& u) {
  std::vector<std::pair<std::string, std::string>> h;
  if (u.tpm_limit) {
    h.emplace_back("x-ratelimit-remaining-tokens", fmt::format("{}", *u.tpm_limit - u.tpm_used));
    h.emplace_back("x-ratelimit-limit-tokens", fmt::format("{}", *u.tpm_limit));
  }
  if (u.rpm_limit) {
    h.emplace_back("x-ratelimit-remaining-requests", fmt::format("{}", *u.rpm_limit - u.rpm_used));
    h.emplace_back("x-ratelimit-limit-requests", fmt::format("{}", *u.rpm_limit));
  }
  return h;
}

void add_rate_limit_headers(const ModelGroup& group, const std::vector<std::pair<std::string, std::string>>& provider_headers,
                            const FleetSync* fleet, TimePoint now,
                            std::vector<std::pair<std::string, std::string>>& out) {
  if (!has_limits(group)) return;
  for (const auto& [name, value] : provider_headers) {
    if (name == "x-ratelimit-remaining-requests" || name == "x-ratelimit-remaining-tokens") return;
  }
  out = rate_limit_headers(group_usage(group, now, fleet));
}

}  // namespace llmux::router

namespace llmux {

Result<ModelGroupUsage> Router::Impl::model_group_usage(std::string_view group) const {
  std::shared_ptr<const router::DeploymentPool> pool = current_pool();
  std::optional<router::Resolution> r = pool->resolve(group);
  if (!r || r->group == nullptr) {
    return Error(ErrorKind::kNotFound, fmt::format("model group '{}' not found", group));
  }
  ModelGroupUsage u = router::group_usage(*r->group, time_.now(), fleet_.get());
  u.model_group = r->group_name;
  return u;
}

std::string model_group_usage_json(const ModelGroupUsage& u) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.member("model_group", u.model_group);
  w.member("tpm", u.tpm_used);
  w.member("rpm", u.rpm_used);
  w.key("tpm_limit");
  if (u.tpm_limit) {
    w.number(*u.tpm_limit);
  } else {
    w.null();
  }
  w.key("rpm_limit");
  if (u.rpm_limit) {
    w.number(*u.rpm_limit);
  } else {
    w.null();
  }
  w.key("headers").begin_object();
  if (u.tpm_limit) {
    w.member("x-ratelimit-remaining-tokens", *u.tpm_limit - u.tpm_used);
    w.member("x-ratelimit-limit-tokens", *u.tpm_limit);
  }
  if (u.rpm_limit) {
    w.member("x-ratelimit-remaining-requests", *u.rpm_limit - u.rpm_used);
    w.member("x-ratelimit-limit-requests", *u.rpm_limit);
  }
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace llmux
