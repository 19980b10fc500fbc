#include "provider/single_flight.hpp"

#include <utility>

namespace llmux::provider {

bool SingleFlight::join(ReadyCallback ready) {
  waiters_.push_back(std::move(ready));
  return begin();
}

bool SingleFlight::begin() {
  if (in_flight_) return false;
  in_flight_ = true;
  ++started_;
  return true;
}

void SingleFlight::finish(const Status& outcome) {
  in_flight_ = false;
  std::deque<ReadyCallback> ready;
  ready.swap(waiters_);
  for (ReadyCallback& r : ready) r(outcome);
}

}  // namespace llmux::provider
