#include "state/fleet_minute_count.hpp"

#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using llmux::state::FleetMinuteCount;

TEST_CASE("fleet minute count: Redis' totals plus what is queued and unanswered", "[fleet_count]") {
  FleetMinuteCount c;
  const int64_t m = 29'000'000;
  CHECK(c.value(m) == 0);
  c.add_pending(m, 1);
  c.add_pending(m, 1);
  CHECK(c.value(m) == 2);
  c.on_reply(m, 1, 7);  // Redis counted ours and 6 others
  CHECK(c.value(m) == 8);
  c.on_reply(m, 1, 8);
  CHECK(c.value(m) == 8);
  // Out-of-order replies and older readings never lower the total.
  c.observe(m, 5);
  CHECK(c.value(m) == 8);
  c.observe(m, 12);
  CHECK(c.value(m) == 12);
  // A failed increment (Redis down) stops counting as pending.
  c.add_pending(m, 3);
  c.on_reply(m, 3, -1);
  CHECK(c.value(m) == 12);
}

TEST_CASE("fleet minute count: a new minute starts from nothing; late answers of the old one are ignored",
          "[fleet_count]") {
  FleetMinuteCount c;
  const int64_t m = 29'000'000;
  c.observe(m, 40);
  c.add_pending(m, 2);
  CHECK(c.value(m + 1) == 0);
  c.add_pending(m + 1, 1);
  CHECK(c.value(m + 1) == 1);
  c.on_reply(m, 2, 42);  // the old minute's answer arrives late
  CHECK(c.value(m + 1) == 1);
  c.observe(m, 50);  // an old reading
  CHECK(c.value(m + 1) == 1);
  c.on_reply(m + 1, 1, 3);
  CHECK(c.value(m + 1) == 3);
  c.reset(m + 1, 0);  // the key vanished (Redis restarted empty)
  CHECK(c.value(m + 1) == 0);
}

TEST_CASE("fleet minute count: concurrent writers and readers stay consistent", "[fleet_count]") {
  FleetMinuteCount c;
  const int64_t m = 29'000'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, m] {
      for (int i = 0; i < 10'000; ++i) {
        c.add_pending(m, 1);
        c.on_reply(m, 1, -1);
      }
    });
  }
  threads.emplace_back([&c, m] {
    for (int i = 0; i < 10'000; ++i) c.observe(m, i);
  });
  for (auto& t : threads) t.join();
  CHECK(c.value(m) == 9'999);
}
