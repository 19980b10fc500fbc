// -----------------------------------------------------------------------------
// File: transport/event_loop.hpp
// -----------------------------------------------------------------------------
// The one loop a router runs on: posted work, timers, HTTP transfers and the
// clock, behind a small interface. CurlEventLoop is the real one (libcurl
// multi on its own thread); tests/support's SimulatedLoop runs the same
// router code in virtual time against scripted transfers.
//
// Every decision above the transport takes time from now(): cooldowns,
// deadlines, backoff, latency and time-to-first-token, strategy stamps. No
// other code reads a clock.
//
// Thread safety: post, schedule, cancel_timer, start_transfer, cancel_transfer
// and now may be called from any thread; tasks, timers and observers run on
// the loop thread, one at a time.
#pragma once

#include <functional>

#include "llmux/clock.hpp"
#include "transport/transfer.hpp"

namespace llmux::transport {

class EventLoop {
 public:
  virtual ~EventLoop() = default;

  // The loop's clock (thread-safe): what now() reads. Lives as long as the loop.
  virtual const TimeSource& clock() const = 0;
  TimePoint now() const { return clock().now(); }

  // Runs `task` on the loop thread, in FIFO order.
  virtual void post(std::function<void()> task) = 0;
  // Runs `task` on the loop thread once `delay` has passed on the loop's timers.
  virtual TimerId schedule(Duration delay, std::function<void()> task) = 0;
  // Drops a timer that has not fired yet; no-op for unknown ids. Called on
  // the loop thread, the timer cannot fire afterwards.
  virtual void cancel_timer(TimerId id) = 0;

  // Starts a transfer; `observer` receives its events on the loop thread and
  // must outlive its on_complete.
  virtual TransferId start_transfer(HttpRequest request, TransferObserver* observer) = 0;
  // Cancels a transfer: its observer gets on_complete(kCancelled) unless it
  // already completed. No-op for unknown ids.
  virtual void cancel_transfer(TransferId id) = 0;

  // An empty request to build the next transfer in (as HttpRequest{}), which
  // may be a finished transfer's with its buffers' capacity: the url, body
  // and header list of a call then cost no allocation. This default (and
  // any call off the loop thread) gives a new one.
  virtual HttpRequest recycled_request() { return {}; }

  // True when called on the loop thread (from a task, timer or observer).
  virtual bool in_loop_thread() const = 0;
};

}  // namespace llmux::transport
