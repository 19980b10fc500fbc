// -----------------------------------------------------------------------------
// File: common/notification.hpp
// -----------------------------------------------------------------------------
// A one-shot event between threads: notify() once, wait() until it happened.
// The std-primitive stand-in for absl::Notification. Cross-thread
// synchronisation in llmux uses std primitives only, because Debian's abseil
// is not built with ThreadSanitizer, which then cannot see absl::Mutex's
// happens-before edges (DEVELOPERS.md, README "Testing").
//
// Thread-safe. The waiter may destroy the object as soon as wait() returns:
// notify() signals under the lock, so it is done with the object by then.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace llmux {

class Notification {
 public:
  Notification() = default;
  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;

  // Marks the event as happened and wakes every waiter. Call at most once.
  void notify() {
    std::lock_guard lock(mu_);
    notified_ = true;
    cv_.notify_all();
  }

  bool has_been_notified() const {
    std::lock_guard lock(mu_);
    return notified_;
  }

  // Blocks until notify() has been called (returns at once if it was).
  void wait() const {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return notified_; });
  }

  // As wait(), but gives up after `timeout`; returns whether it was notified.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return notified_; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool notified_ = false;  // guarded by mu_
};

}  // namespace llmux
