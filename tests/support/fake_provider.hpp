// -----------------------------------------------------------------------------
// File: tests/support/fake_provider.hpp
// -----------------------------------------------------------------------------
// A scripted OpenAI-compatible HTTP/1.1 server on 127.0.0.1 for integration
// tests, the demo and benchmarks. Real sockets, real HTTP (keep-alive,
// Content-Length request bodies, chunked responses for streams), one epoll
// thread that serves thousands of concurrent connections.
//
// Each request takes the next Behavior from the script queue, or the default
// behavior when the queue is empty, or the handler's answer when a handler is
// set. Everything received is recorded (before it is answered).
//
// Paths: POST /v1/chat/completions, /chat/completions, /v1/embeddings,
// /embeddings, and Azure OpenAI's /openai/.../chat/completions and
// /openai/.../embeddings (query ignored). Behaviors apply to every path; only a *generated* answer needs
// a known path (else 404) and a request body that is valid JSON (else 400
// "invalid JSON"), both with OpenAI-style error bodies.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmux::testing {

using Millis = std::chrono::milliseconds;

struct Behavior {
  enum class Action {
    kRespond,             // send status/headers/body (or the stream below)
    kHang,                // read the request, never answer (connection stays open)
    kResetBeforeHeaders,  // close the connection with RST before any response byte
    kCloseAfterHeaders,   // send status line + headers of a chunked body, then close
  };
  Action action = Action::kRespond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
  // Non-stream body. When empty and status is 200, a chat.completion (or an
  // embedding list for /embeddings) echoing the request's model is generated
  // with `text` as content.
  std::string body;
  std::string text = "Hello from the fake provider.";
  Millis delay{0};  // wait before sending the status line
  // Non-stream fault: >= 0 sends the head (announcing the full Content-Length)
  // and only the first N bytes of the body, then closes the connection.
  int cut_body_after_bytes = -1;

  // Streaming (used when stream is true, or when the request asked for
  // "stream": true and `body` is empty).
  bool stream = false;
  // SSE data payloads to send, each as "data: <payload>\n\n". When empty, the
  // generator splits `text` into `stream_chunks` chat.completion.chunk events
  // plus a final chunk with finish_reason and (if requested via
  // stream_options.include_usage) a usage chunk.
  std::vector<std::string> events;
  // Send each entry of `events` as it is, one HTTP chunk each, instead of
  // framing it as "data: <payload>\n\n": other wire formats' streams
  // (Anthropic's "event:" + "data:" lines, Gemini's SSE, binary frames).
  // send_done and error_after_events still add OpenAI's events: turn them off.
  bool raw_events = false;
  std::string stream_content_type = "text/event-stream";
  int stream_chunks = 4;
  Millis event_interval{0};   // pause between events
  bool send_done = true;      // send "data: [DONE]"
  int cut_after_events = -1;  // >= 0: close the connection after N events, no terminating chunk
  int stall_after_events = -1;  // >= 0: after N events stop sending; keep the connection open
  int malformed_after_events = -1;  // >= 0: insert one "data: {not json" event after N events
  // >= 0: after N events (counted before [DONE] and the malformed event are
  // added) send one OpenAI/vLLM-style error event instead of the rest,
  // {"error":{"message":..,"type":..,"code":error_event_code}}, then [DONE]
  // if send_done, and end the body cleanly — a 200 stream that fails midway.
  int error_after_events = -1;
  int error_event_code = 500;
  // cut/stall count every event sent, including the malformed one and [DONE];
  // generated events are: role, `stream_chunks` content parts, finish, [usage], [DONE].
  // Delays: `delay` before the head, then `event_interval` before each event
  // (a slow stream).

  // Convenience constructors.
  static Behavior ok(std::string text = "Hello from the fake provider.");
  static Behavior error(int status, std::string message, std::string type = "invalid_request_error",
                        std::string code = "");
  static Behavior rate_limited(int retry_after_seconds = -1);  // 429 (+ Retry-After)
  static Behavior context_window_exceeded();  // 400, OpenAI's context_length_exceeded body
  static Behavior content_policy_violation(); // 400, OpenAI's content_policy_violation body
  static Behavior hang();
  static Behavior reset();
  static Behavior streaming(std::string text, int chunks = 4);
};

struct ReceivedRequest {
  std::string method;
  std::string path;    // e.g. "/v1/chat/completions"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::chrono::steady_clock::time_point received_at;
  uint64_t connection_id = 0;  // same id = same TCP connection (keep-alive check)

  std::string header(std::string_view name) const;  // "" when absent
};

class FakeProvider {
 public:
  // Binds 127.0.0.1 on an ephemeral port (or `port` when non-zero) and starts
  // serving; throws std::system_error when the socket cannot be set up. Raises
  // the process's soft RLIMIT_NOFILE to its hard limit, so thousands of
  // loopback connections (two descriptors each in one process) fit.
  explicit FakeProvider(uint16_t port = 0);
  ~FakeProvider();  // closes every connection, joins the thread
  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  uint16_t port() const;
  // "http://127.0.0.1:<port>/v1"
  std::string base_url() const;

  void set_default(Behavior behavior);
  void enqueue(Behavior behavior);
  // When set, decides every request (the queue and default are ignored). It
  // runs on the server thread with no lock held (it may call this object);
  // it should return quickly, as it stalls every connection while it runs.
  void set_handler(std::function<Behavior(const ReceivedRequest&)> handler);
  // Clears queue, handler, records; restores the default Behavior::ok().
  // Open connections and connections_accepted() are left as they are.
  void reset();

  std::vector<ReceivedRequest> requests() const;
  size_t request_count() const;
  // Number of TCP connections accepted so far.
  size_t connections_accepted() const;
  // Closes every open connection now (simulates a server restart); returns
  // once they are closed (when called from a handler: right after it returns).
  void drop_connections();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmux::testing
