// Router::reset: LiteLLM's Router.reset for the routing state llmux keeps —
// cooldowns and failure counts, the rpm/tpm minute counters and the
// strategy's latency samples — so that a
// deployment cooled down is routed to again at once.
#include <memory>

#include "health/cooldown_tracker.hpp"
#include "llmux/router.hpp"
#include "router/router_impl.hpp"

namespace llmux {

void Router::Impl::reset() {
  std::shared_ptr<const router::DeploymentPool> pool = current_pool();
  for (const auto& e : pool->entries()) {
    // The health state is shared by the snapshots calls in flight hold: they
    // see the reset too. In-flight counts are left alone (those calls still
    // end and decrement them).
    health::CooldownTracker::reset(*e->health);
    e->deployment->minute_requests().reset();
    e->deployment->minute_tokens().reset();
    // The strategy's latency samples and estimates.
    if (DeploymentLbData* data = e->deployment->lb_data()) data->reset();
  }
}

void Router::reset() { impl_->reset(); }

}  // namespace llmux
