#pragma once
#include "llmux/clock.hpp"

namespace llmux::testing {
// A clock that moves only when told to.
class FakeTime final : public TimeSource {
 public:
  TimePoint now() const override { return now_; }
  void advance(double seconds) { now_ += seconds_to_duration(seconds); }

 private:
  TimePoint now_ = TimePoint(std::chrono::hours(1000));
};
}  // namespace llmux::testing
