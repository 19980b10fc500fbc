#include <catch2/catch.hpp>
#include <vector>

#include "llmux/clock.hpp"

using namespace llmux;

TEST_CASE("Random is deterministic per seed and uniform enough", "[random]") {
  Random a(11), b(11), c(12);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next_u64();
    CHECK(x == b.next_u64());
    differs |= x != c.next_u64();
  }
  CHECK(differs);
  std::vector<int> buckets(10, 0);
  Random r(5);
  for (int i = 0; i < 100000; ++i) {
    const double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    buckets[static_cast<size_t>(u * 10)]++;
    REQUIRE(r.below(7) < 7);
  }
  for (int n : buckets) CHECK(n == Approx(10000).epsilon(0.05));
}

TEST_CASE("seconds and durations convert both ways", "[clock]") {
  CHECK(duration_to_seconds(seconds_to_duration(1.25)) == Approx(1.25));
  const TimePoint first = TimeSource::steady().now();
  const TimePoint second = TimeSource::steady().now();
  CHECK(first <= second);
}
