// -----------------------------------------------------------------------------
// File: transport/transfer.hpp
// -----------------------------------------------------------------------------
// One HTTP exchange as the event loop carries it: the request with its
// deadlines, the result, and the observer that receives its events. Plain
// types shared by every EventLoop implementation (the libcurl one and the
// simulated one of the tests).
#pragma once

#include <cstdint>
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
  Duration first_byte_timeout = Duration::max();  // request start → first response byte (status line)
  Duration first_body_timeout = Duration::max();  // request start → first body byte (headers alone don't count)
  Duration idle_timeout = Duration::max();        // between body bytes (stream_body only)
  Duration total_timeout = Duration::max();       // request start → done
  // TLS of an https:// URL (ignored for http://). Verification is on unless
  // switched off here; ca_bundle_path (a PEM file) replaces the system CA
  // store; client_cert_path / client_key_path (PEM) present a client
  // certificate (the key may live in the certificate's file). libcurl reuses
  // a connection only for a transfer with the same TLS settings.
  bool verify_tls = true;
  std::string ca_bundle_path;
  std::string client_cert_path;
  std::string client_key_path;

  // Back to a default-constructed request, keeping the strings' and the
  // header list's capacity (not the header lines: a builder appends to an
  // empty list, so nothing of another deployment's can leak into a request).
  void reset_keeping_capacity() {
    std::string u = std::move(url), b = std::move(body), ca = std::move(ca_bundle_path),
                cert = std::move(client_cert_path), key = std::move(client_key_path);
    std::vector<std::string> h = std::move(headers);
    *this = HttpRequest{};  // every other field, present and future, to its default
    u.clear();
    b.clear();
    ca.clear();
    cert.clear();
    key.clear();
    h.clear();
    url = std::move(u);
    body = std::move(b);
    ca_bundle_path = std::move(ca);
    client_cert_path = std::move(cert);
    client_key_path = std::move(key);
    headers = std::move(h);
  }
};

enum class TransferError {
  kNone = 0,
  kConnectTimeout,     // no connection within connect_timeout
  kFirstByteTimeout,   // connected, but no response byte (first_byte_timeout) or body byte
                       // (first_body_timeout) in time
  kIdleTimeout,        // stream went silent for idle_timeout
  kTotalTimeout,       // total_timeout elapsed
  kConnectFailed,      // refused / unreachable / DNS
  kConnectionClosed,   // reset or closed before a complete response (includes cut streams)
  kAborted,            // on_body() returned false
  kCancelled,          // cancel_transfer() or loop shutdown
  kResponseTooLarge,   // buffered body exceeded TransportOptions::max_buffered_body
  kOther,              // any other failure (message says which)
};

std::string_view transfer_error_name(TransferError e);

// The deadlines of an HttpRequest, and the message a transfer that hit one
// ends with ("no first byte within 0.200 s"): one wording for every loop.
enum class Deadline { kConnect, kFirstByte, kFirstBody, kIdle, kTotal };
std::string deadline_message(Deadline deadline, Duration limit);

struct TransferResult {
  TransferError error = TransferError::kNone;
  std::string error_message;  // libcurl's error buffer or our own text; never a key
  int curl_code = 0;
  int status = 0;             // HTTP status, 0 when no response line arrived
  Headers headers;
  std::string body;           // buffered body (non-stream, or non-2xx stream)
  // On the loop's clock (EventLoop::now()).
  TimePoint started{};        // when the transfer was handed to the network
  TimePoint first_byte{};     // first response byte (header); epoch when none
  TimePoint finished{};
  bool connection_reused = false;
  // HTTP version the response came in: 10, 11, 20 (HTTP/2), 30; 0 when none.
  int http_version = 0;
};

// Receives one transfer's events on the loop thread. Must stay alive until
// on_complete has been called (exactly once, also after a cancel).
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

using TransferId = uint64_t;
using TimerId = uint64_t;

}  // namespace llmux::transport
