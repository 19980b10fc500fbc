// -----------------------------------------------------------------------------
// File: state/fleet_minute_count.hpp
// -----------------------------------------------------------------------------
// One per-minute counter of the whole fleet (requests or tokens of one
// deployment) as this replica knows it: the last total Redis reported for a
// UTC minute, plus what this replica has queued since and Redis has not
// answered yet. Routing reads it with two atomic loads and never waits for
// Redis; the Redis side (replies to INCRBYFLOAT, periodic MGET) keeps it fresh.
//
// Minutes are UTC minutes since the Unix epoch (the `HH-MM` of LiteLLM's keys
// is that minute modulo one day). A value of another minute reads as 0, so a
// new minute starts from nothing, as the keys do.
//
// Thread-safe and lock-free: the loop thread adds, the Redis link thread
// answers, anyone reads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace llmux::state {

class FleetMinuteCount {
 public:
  // The fleet's count for `minute`, as far as this replica knows.
  int64_t value(int64_t minute) const { return unpack(total_, minute) + unpack(pending_, minute); }

  // This replica queued an increment of `n` for `minute` (not answered yet).
  void add_pending(int64_t minute, int64_t n) { add(pending_, minute, n); }

  // Redis answered an increment of `n` queued for `minute` with the key's new
  // `total` (or failed to: total < 0). Replies may come out of order: the
  // larger total of one minute wins.
  void on_reply(int64_t minute, int64_t n, int64_t total) {
    add(pending_, minute, -n);
    if (total >= 0) observe(minute, total);
  }

  // Redis says the key of `minute` holds `total` (a refresh, or a reply).
  // Totals only grow within a minute (a smaller one is an older reading),
  // except that a key that vanished (Redis restarted empty) reads 0 and is
  // accepted through reset().
  void observe(int64_t minute, int64_t total) {
    const uint64_t tag = tag_of(minute);
    uint64_t cur = total_.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t cur_tag = cur >> kCountBits;
      if (cur_tag == tag && static_cast<int64_t>(cur & kCountMask) >= total) return;
      // A reading of a minute already over (an empty counter takes any minute).
      if (cur_tag != tag && (cur & kCountMask) != 0 && !later(tag, cur_tag)) return;
      if (total_.compare_exchange_weak(cur, pack(tag, total), std::memory_order_relaxed)) return;
    }
  }

  // Forget the fleet total of `minute` (the key is gone: Redis restarted).
  void reset(int64_t minute, int64_t total) { total_.store(pack(tag_of(minute), total), std::memory_order_relaxed); }

 private:
  // High 24 bits: minute (mod 2^24, 31 years); low 40 bits: count.
  static constexpr int kCountBits = 40;
  static constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
  static constexpr uint64_t kMinuteMask = (uint64_t{1} << (64 - kCountBits)) - 1;
  static uint64_t tag_of(int64_t minute) { return static_cast<uint64_t>(minute) & kMinuteMask; }
  static uint64_t pack(uint64_t tag, int64_t count) {
    return (tag << kCountBits) | (static_cast<uint64_t>(std::clamp<int64_t>(count, 0, kCountMask)) & kCountMask);
  }
  static int64_t unpack(const std::atomic<uint64_t>& a, int64_t minute) {
    const uint64_t p = a.load(std::memory_order_relaxed);
    if ((p >> kCountBits) != tag_of(minute)) return 0;
    return static_cast<int64_t>(p & kCountMask);
  }
  // Whether minute tag `a` comes after `b` (tags wrap after 2^24 minutes).
  static bool later(uint64_t a, uint64_t b) { return ((a - b) & kMinuteMask) < (kMinuteMask >> 1); }
  static void add(std::atomic<uint64_t>& a, int64_t minute, int64_t n) {
    const uint64_t tag = tag_of(minute);
    uint64_t cur = a.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t cur_tag = cur >> kCountBits;
      // An answer for a minute that is over: its pending count went with it.
      if (cur_tag != tag && (n < 0 || ((cur & kCountMask) != 0 && !later(tag, cur_tag)))) return;
      const int64_t have = cur_tag == tag ? static_cast<int64_t>(cur & kCountMask) : 0;
      if (a.compare_exchange_weak(cur, pack(tag, have + n), std::memory_order_relaxed)) return;
    }
  }

  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> pending_{0};
};

}  // namespace llmux::state
