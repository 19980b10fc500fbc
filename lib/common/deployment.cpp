#include "llmux/deployment.hpp"

#include <algorithm>

namespace llmux {

void MinuteCounter::add(TimePoint now, int64_t delta) {
  if (delta <= 0) return;
  const uint64_t tag = minute_tag(now);
  uint64_t p = packed_.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t count = (p >> kCountBits) == tag ? (p & kCountMask) : 0;
    const uint64_t next_count = std::min<uint64_t>(count + static_cast<uint64_t>(delta), kCountMask);
    const uint64_t next = (tag << kCountBits) | next_count;
    if (packed_.compare_exchange_weak(p, next, std::memory_order_relaxed)) return;
  }
}

Deployment::~Deployment() { delete lb_data_.load(std::memory_order_acquire); }

DeploymentLbData* Deployment::install_lb_data(std::unique_ptr<DeploymentLbData> data) const {
  DeploymentLbData* expected = nullptr;
  DeploymentLbData* raw = data.get();
  if (lb_data_.compare_exchange_strong(expected, raw, std::memory_order_acq_rel)) {
    data.release();
    return raw;
  }
  return expected;
}

}  // namespace llmux
