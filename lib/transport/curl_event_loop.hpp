// -----------------------------------------------------------------------------
// File: transport/curl_event_loop.hpp
// -----------------------------------------------------------------------------
// The real EventLoop: libcurl multi handles driven by one I/O thread
// (DESIGN.md §2 step 6) through curl_multi_socket_action on one epoll set
// (one multi handle up to 1,024 transfers in flight, another per 1,024 more,
// each with its own connection cache). Other threads only enqueue work and
// wake the loop (an eventfd). Connections are reused across transfers (HTTP/1.1
// keep-alive, HTTP/2 multiplexing when the server offers it). Per-transfer
// deadlines (connect, first byte, first body byte, stream idle, total) run on
// the loop's own timer heap, next to the timers and posted tasks of the
// layers above, so the whole router needs no other thread.
#pragma once

#include <memory>

#include "llmux/clock.hpp"
#include "transport/event_loop.hpp"

namespace llmux::transport {

struct TransportOptions {
  // Upper bound for a buffered (non-streamed) body; beyond it the transfer
  // fails with kResponseTooLarge.
  size_t max_buffered_body = 64u << 20;
  // libcurl connection cache size and per-host limit (0 = libcurl default).
  long max_connections = 0;
  long max_host_connections = 0;
  // Negotiate HTTP/2 when the server offers it (h2 over TLS, h2c upgrade never).
  bool http2 = true;
};

class CurlEventLoop final : public EventLoop {
 public:
  // `clock` (nullptr = the steady clock) is what now() reports to the layers
  // above; it must outlive the loop. The loop's own timers always wait in
  // real (steady) time: a test clock that stands still freezes decisions,
  // not the loop.
  explicit CurlEventLoop(TransportOptions options = {}, const TimeSource* clock = nullptr);
  // Stops the loop: pending and active transfers complete with kCancelled,
  // pending timers are dropped without running, posted tasks still queued run.
  ~CurlEventLoop() override;
  CurlEventLoop(const CurlEventLoop&) = delete;
  CurlEventLoop& operator=(const CurlEventLoop&) = delete;

  const TimeSource& clock() const override;
  // Cheap from any thread: an enqueue plus, off the loop thread, a wakeup.
  TransferId start_transfer(HttpRequest request, TransferObserver* observer) override;
  void cancel_transfer(TransferId id) override;
  // A finished transfer's request, emptied (loop thread; elsewhere a new one).
  HttpRequest recycled_request() override;
  void post(std::function<void()> task) override;
  TimerId schedule(Duration delay, std::function<void()> task) override;
  void cancel_timer(TimerId id) override;
  bool in_loop_thread() const override;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmux::transport
