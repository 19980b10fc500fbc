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

void Deployment::use_column_storage(ColumnStorage storage) {
  if (storage.in_flight == nullptr || storage.minute_tokens == nullptr || storage.fleet_view == nullptr) return;
  // Carries over what was counted before (nothing, when called as documented).
  storage.in_flight->store(own_in_flight_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  in_flight_ = storage.in_flight;
  minute_tokens_ = storage.minute_tokens;
  fleet_view_ = storage.fleet_view;
  column_table_ = storage.table;
  column_slot_ = storage.slot;
  column_lease_ = std::move(storage.lease);
}

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
