// -----------------------------------------------------------------------------
// File: llmux/clock.hpp
// -----------------------------------------------------------------------------
// Time and randomness are injected so that every time- or chance-dependent
// rule (cooldowns, backoff, weighted picks) is testable without sleeping.
#pragma once

#include "llmux/export.hpp"

#include <chrono>
#include <cstdint>

namespace llmux {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;

// A source of monotonic time. Implementations must be thread-safe.
class LLMUX_API TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual TimePoint now() const = 0;
  // The process-wide steady clock. Never null, never destroyed.
  static const TimeSource& steady();
};

// Seconds as a double <-> Duration.
inline Duration seconds_to_duration(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
inline double duration_to_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// A small, fast, seedable PRNG (xoshiro256**). Not thread-safe: one per thread
// or per owner.
class LLMUX_API Random {
 public:
  explicit Random(uint64_t seed);
  uint64_t next_u64();
  // Uniform in [0, 1).
  double uniform();
  // Uniform in [0, n), n > 0.
  uint64_t below(uint64_t n);

 private:
  uint64_t s_[4];
};

}  // namespace llmux
