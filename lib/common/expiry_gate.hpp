// -----------------------------------------------------------------------------
// File: common/expiry_gate.hpp
// -----------------------------------------------------------------------------
// A time no earlier than which any of many published values expires: while
// `now` has not passed it, a reader may skip every value's own expiry check.
// (The latency-based strategy's window means, per column table: a scan over
// 1,000 candidates then reads one mean per candidate, not mean and expiry.)
//
// Invariant: the gate's time <= every value's expiry, except while a
// publisher is between storing a value's expiry and lower() (the same window
// in which a reader may see the new value with the old expiry).
//  - A publisher calls lower(expiry) after storing the value's expiry.
//  - Once the gate has passed, a reader may recompute it: snapshot(), then
//    the minimum of every value's expiry (acquire loads), then reopen(). The
//    gate's word carries a count of lower() calls, so that reopen() fails
//    when a value was published after the snapshot (its expiry may be missing
//    from the minimum): the gate then stays as lowered.
//
// The time is kept rounded down to kGenerationBits (about a millisecond): the
// gate passes that much early at worst, which only costs a recompute. The
// count wraps after 2^20 lower() calls between a snapshot and its reopen().
//
// Thread safety: all members may be called concurrently from any threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>

namespace llmux {

class ExpiryGate {
 public:
  static constexpr int kGenerationBits = 20;
  static constexpr int64_t kGenerationMask = (int64_t{1} << kGenerationBits) - 1;
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  // The gate's state, as reopen() expects to find it.
  using Word = int64_t;

  // True when no value has expired at `now`.
  [[gnu::always_inline]] bool open(int64_t now) const { return now <= time_of(word_.load(std::memory_order_acquire)); }

  // The time the gate passes (rounded down).
  int64_t time() const { return time_of(word_.load(std::memory_order_relaxed)); }

  // A value with this expiry was published (or a later one than the gate's
  // time: only noted, see DeploymentColumns::latency_means_current()).
  void lower(int64_t expiry) {
    Word w = word_.load(std::memory_order_relaxed);
    Word next;
    do {
      const int64_t t = time_of(w) < expiry ? time_of(w) : time_of(expiry);
      next = t | ((w + 1) & kGenerationMask);
    } while (!word_.compare_exchange_weak(w, next, std::memory_order_acq_rel, std::memory_order_relaxed));
  }

  Word snapshot() const { return word_.load(std::memory_order_acquire); }
  // True when `earliest` (the minimum of every value's expiry, read after
  // `before` = snapshot()) became the gate's time: nothing was published in
  // between.
  bool reopen(Word before, int64_t earliest) {
    const Word next = time_of(earliest) | (before & kGenerationMask);
    return word_.compare_exchange_strong(before, next, std::memory_order_acq_rel, std::memory_order_relaxed);
  }
  // The time the gate passes (rounded down).
  static int64_t time_of(Word w) { return w & ~kGenerationMask; }

 private:
  std::atomic<Word> word_{time_of(kNever)};
};

}  // namespace llmux
