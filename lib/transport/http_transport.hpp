// -----------------------------------------------------------------------------
// File: transport/http_transport.hpp
// -----------------------------------------------------------------------------
// One libcurl multi handle driven by one I/O thread (DESIGN.md §2 step 6).
// Other threads only enqueue work and call curl_multi_wakeup. Connections are
// reused across transfers (HTTP/1.1 keep-alive, HTTP/2 multiplexing when the
// server offers it). Per-transfer deadlines (connect, first byte, stream idle,
// total) run on the loop's own timer heap. The loop also runs posted tasks and
// timers for the layers above (retry backoff), so the whole router needs no
// other thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/clock.hpp"

namespace llmux::transport {

using Headers = std::vector<std::pair<std::string, std::string>>;  // names lower-cased

struct HttpRequest {
  std::string url;
  std::string method = "POST";
  // Full header lines, "Name: value".
  std::vector<std::string> headers;
  std::string body;
  // When true, a 2xx body is handed to on_body() as it arrives instead of
  // being buffered, and the stream-idle deadline applies.
  bool stream_body = false;
  // Deadlines for this attempt; Duration::max() = none.
  Duration connect_timeout = Duration::max();
  Duration first_byte_timeout = Duration::max();  // request start → first response byte
  Duration idle_timeout = Duration::max();        // between body bytes (stream_body only)
  Duration total_timeout = Duration::max();       // request start → done
};

enum class TransferError {
  kNone = 0,
  kConnectTimeout,     // no connection within connect_timeout
  kFirstByteTimeout,   // connected, but no response byte within first_byte_timeout
  kIdleTimeout,        // stream went silent for idle_timeout
  kTotalTimeout,       // total_timeout elapsed
  kConnectFailed,      // refused / unreachable / DNS
  kConnectionClosed,   // reset or closed before a complete response (includes cut streams)
  kAborted,            // on_body() returned false
  kCancelled,          // cancel() or transport shutdown
  kResponseTooLarge,   // buffered body exceeded TransportOptions::max_buffered_body
  kOther,              // any other libcurl failure (message says which)
};

std::string_view transfer_error_name(TransferError e);

struct TransferResult {
  TransferError error = TransferError::kNone;
  std::string error_message;  // libcurl's error buffer or our own text; never a key
  int curl_code = 0;
  int status = 0;             // HTTP status, 0 when no response line arrived
  Headers headers;
  std::string body;           // buffered body (non-stream, or non-2xx stream)
  TimePoint started{};        // when the transfer was handed to libcurl
  TimePoint first_byte{};     // first response byte (header); epoch when none
  TimePoint finished{};
  bool connection_reused = false;
};

// Receives one transfer's events on the I/O thread. Must stay alive until
// on_complete has been called (exactly once, also after cancel()).
class TransferObserver {
 public:
  virtual ~TransferObserver() = default;
  // Response head complete (status line + headers). Optional.
  virtual void on_headers(int /*status*/, const Headers& /*headers*/) {}
  // Body bytes of a streamed 2xx response, in order, arbitrary boundaries.
  // Return false to abort the transfer (on_complete follows with kAborted).
  virtual bool on_body(std::string_view /*bytes*/) { return true; }
  virtual void on_complete(TransferResult&& result) = 0;
};

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

using TransferId = uint64_t;
using TimerId = uint64_t;

class HttpTransport {
 public:
  explicit HttpTransport(TransportOptions options = {});
  // Stops the loop: pending and active transfers complete with kCancelled,
  // pending timers are dropped without running, posted tasks still queued run.
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Starts a transfer. Thread-safe; cheap (enqueue + wakeup). `observer`
  // receives every event on the I/O thread.
  TransferId start(HttpRequest request, TransferObserver* observer);
  // Cancels a transfer; its observer gets on_complete(kCancelled) unless it
  // already completed. Thread-safe; no-op for unknown ids.
  void cancel(TransferId id);

  // Runs `task` on the I/O thread, in FIFO order. Thread-safe.
  void post(std::function<void()> task);
  // Runs `task` on the I/O thread after `delay`. Thread-safe.
  TimerId schedule(Duration delay, std::function<void()> task);
  // Drops a timer that has not fired yet. Thread-safe.
  void cancel_timer(TimerId id);

  // True when called on the I/O thread.
  bool in_loop_thread() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmux::transport
