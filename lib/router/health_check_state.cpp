#include "router/health_check_state.hpp"

namespace llmux::router {

bool is_transient_failure(const HealthCheckResult& result) {
  if (result.healthy || result.skipped) return false;
  return result.status == 429 || result.status == 408 || result.error_type == "RateLimitError" ||
         result.error_type == "Timeout";
}

bool HealthCheckState::record(const HealthCheckResult& result, TimePoint ended, Duration staleness,
                              bool counts_for_routing) {
  std::lock_guard<std::mutex> lock(mu_);
  bool changed = false;
  if (!latest_ || result.checked_at > latest_->result.checked_at) {
    latest_ = Latest{result, ended};
    changed = true;
  }
  // Independent of the latest result: an older remote failure still beats an
  // even older verdict when a newer local result did not count.
  if (counts_for_routing && (!verdict_checked_at_ || result.checked_at > *verdict_checked_at_)) {
    verdict_checked_at_ = result.checked_at;
    const int64_t until = result.healthy ? 0 : (ended + staleness).time_since_epoch().count();
    failed_until_.store(until, std::memory_order_release);
    changed = true;
  }
  return changed;
}

std::optional<HealthCheckState::Latest> HealthCheckState::latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

}  // namespace llmux::router
