#include "router/fallback_plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "health/retry_policy.hpp"

namespace llmux::router {

bool FallbackPlan::has_timeout_fallback(std::string_view group) {
  if (in_fallbacks_) return next_ < queue_.size();
  if (options_.disable_fallbacks) return false;
  // The primary group's fallbacks for a timeout do not change during the
  // call: looked up once, not on every streaming attempt.
  if (!timeout_fallback_exists_) {
    timeout_fallback_exists_ =
        !health::fallback_groups_for(group, Error(ErrorKind::kTimeout, ""), options_.fallbacks).empty();
  }
  return *timeout_fallback_exists_;
}

void FallbackPlan::group_failed(std::string_view group, Error error, bool may_fall_back, bool stop) {
  if (!in_fallbacks_) {
    if (may_fall_back && !options_.disable_fallbacks) {
      queue_ = health::fallback_groups_for(group, error, options_.fallbacks);
    }
    primary_error_ = std::move(error);
    return;
  }
  errors_.push_back(fmt::format("{} → {}", group, error.to_string()));
  if (stop) next_ = queue_.size();
}

std::optional<std::pair<std::string, Resolution>> FallbackPlan::next(const DeploymentPool& pool) {
  while (next_ < queue_.size()) {
    const std::string& name = queue_[next_++];
    if (std::optional<Resolution> res = pool.resolve(name)) {
      in_fallbacks_ = true;
      ++entered_;
      return std::make_pair(name, std::move(*res));
    }
    errors_.push_back(fmt::format("{} → no such model group", name));
  }
  return std::nullopt;
}

Error FallbackPlan::final_error() {
  Error e = primary_error_ ? std::move(*primary_error_) : Error(ErrorKind::kInternalServer, "call failed");
  if (!errors_.empty()) e.message += fmt::format(". Fallbacks tried: {}", fmt::join(errors_, "; "));
  return e;
}

}  // namespace llmux::router
