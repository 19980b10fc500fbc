// -----------------------------------------------------------------------------
// File: tests/support/canned_server.hpp
// -----------------------------------------------------------------------------
// A small HTTP/1.1 server on 127.0.0.1 that answers every request with one
// canned chat.completion, over TLS (OpenSSL, SSL_accept on the loopback
// socket) when given a certificate, else in clear text. It records what the
// transport layer did: handshakes that failed (the client rejected the
// certificate), the ALPN protocols each client offered (it selects http/1.1:
// an HTTP/2 server is out of scope), and each request line — so in clear text
// it doubles as a forward proxy that answers itself: a request line in
// absolute form ("POST http://127.0.0.1:port/v1/... HTTP/1.1") proves the
// client went through a proxy.
//
// One thread accepts, one thread per connection (keep-alive). Tests only: a
// few connections at a time. Thread safety: every public method may be called
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace llmux::testing {

struct CannedServerOptions {
  std::string cert_path;  // PEM; empty = clear text
  std::string key_path;
  std::string text = "Hello over TLS.";  // the answer's message content
};

class CannedServer {
 public:
  // Throws std::runtime_error when the socket or the TLS context fails.
  explicit CannedServer(CannedServerOptions options);
  ~CannedServer();
  CannedServer(const CannedServer&) = delete;
  CannedServer& operator=(const CannedServer&) = delete;

  int port() const;
  // "https://127.0.0.1:<port>/v1" (or http://), an api_base.
  std::string base_url() const;
  // The same with another host name for the loopback address ("localhost").
  std::string base_url(const std::string& host) const;

  size_t requests() const;            // requests answered
  size_t connections() const;         // connections accepted
  size_t failed_handshakes() const;   // TLS handshakes that did not complete
  // Waits until at least `n` handshakes failed (or `limit` passed) and
  // returns the count: the server sees a refused handshake only when the
  // client's alert or close arrives, which may be after the client's call
  // already returned.
  size_t await_failed_handshakes(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(5)) const;
  std::vector<std::string> request_lines() const;
  // One entry per TLS handshake: the client's ALPN offer, comma-joined
  // ("h2,http/1.1"); "" when it offered none.
  std::vector<std::string> alpn_offers() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmux::testing
