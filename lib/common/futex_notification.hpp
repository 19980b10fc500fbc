// -----------------------------------------------------------------------------
// File: common/futex_notification.hpp
// -----------------------------------------------------------------------------
// A one-shot event for one waiter on the hot path of a blocking call: the
// loop thread notify()s once, the caller wait()s. It costs at most one
// FUTEX_WAIT and one FUTEX_WAKE, and nothing when the event came first.
//
// Why not std::binary_semaphore: libstdc++'s acquire() spins and then calls
// sched_yield() four times before it sleeps (about 4 syscalls per call,
// measured with strace -c on the e2e benchmark). On an idle VM each yield and
// each spin is CPU the caller burns while the answer is still on the wire.
// Why not llmux::Notification (mutex + condition variable): the waiter wakes
// into a mutex the notifier may still hold, a second futex round trip.
//
// Thread-safe for one waiter and one notifier. The waiter may destroy the
// object as soon as wait() returns: notify() publishes with one atomic
// exchange and touches only the futex word's address afterwards (a wake on an
// address the waiter has since reused is a spurious wake-up, which every
// futex waiter tolerates). Linux only, like the event loop.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace llmux {

class FutexNotification {
 public:
  FutexNotification() = default;
  FutexNotification(const FutexNotification&) = delete;
  FutexNotification& operator=(const FutexNotification&) = delete;

  // Marks the event as happened; wakes the waiter if it sleeps. Call once.
  void notify() {
    uint32_t* const word = futex_word();  // taken first: the object may be gone after the exchange
    if (state_.exchange(kNotified, std::memory_order_release) == kSleeping) futex(word, FUTEX_WAKE_PRIVATE, 1);
  }

  bool has_been_notified() const { return state_.load(std::memory_order_acquire) == kNotified; }

  // Blocks until notify() has been called (returns at once if it was). What
  // the notifier wrote before notify() is visible after wait() returns.
  void wait() {
    uint32_t seen = kEmpty;
    if (!state_.compare_exchange_strong(seen, kSleeping, std::memory_order_acquire)) {
      if (seen == kNotified) return;  // notified before we looked
    }
    // Sleep while the word still says kSleeping; EINTR, EAGAIN (it changed
    // before the kernel looked) and spurious wake-ups all re-check it.
    while (state_.load(std::memory_order_acquire) != kNotified) futex(futex_word(), FUTEX_WAIT_PRIVATE, kSleeping);
  }

 private:
  static constexpr uint32_t kEmpty = 0;
  static constexpr uint32_t kNotified = 1;
  static constexpr uint32_t kSleeping = 2;  // the waiter is (about to be) in FUTEX_WAIT

  // std::atomic<uint32_t> has the size and alignment of uint32_t and is
  // lock-free, so its address is the futex word.
  uint32_t* futex_word() {
    static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free);
    return reinterpret_cast<uint32_t*>(&state_);
  }

  static void futex(uint32_t* word, int op, uint32_t value) {
    const int saved_errno = errno;
    ::syscall(SYS_futex, word, op, value, nullptr, nullptr, 0);
    errno = saved_errno;  // a blocking call's caller never sees our EAGAIN/EINTR
  }

  std::atomic<uint32_t> state_{kEmpty};
};

}  // namespace llmux
