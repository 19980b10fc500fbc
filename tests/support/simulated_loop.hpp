// -----------------------------------------------------------------------------
// File: support/simulated_loop.hpp
// -----------------------------------------------------------------------------
// An EventLoop in virtual time, for deterministic unit tests of everything
// that runs on a loop (the Call state machine, whole Routers): posted tasks,
// timers and HTTP transfers whose outcome a script decides — status, headers,
// body parts at given virtual times, stalls, resets, refused connections —
// with the same deadline rules and messages as CurlEventLoop (connect, first
// byte, first body byte, stream idle, total). Nothing sleeps: a 60 s cooldown
// or a 30 s stall takes microseconds.
//
// Single-threaded: the test thread drives it (run_ready, advance,
// run_until_idle, run_until) and is the "loop thread" while it does. Destroy
// everything that uses the loop (routers, observers) before the loop.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/virtual_clock.hpp"
#include "transport/event_loop.hpp"

namespace llmux::testing {

// What the simulated server does with one request. Times are offsets from
// the moment the transfer starts.
struct ScriptedResponse {
  bool refuse_connection = false;  // connection refused at connect_delay
  Duration connect_delay{};
  int status = 200;                // 0: the server never answers (a silent deployment)
  transport::Headers headers;      // names lower-case
  Duration head_at{};              // status line + headers
  struct Part {
    Duration at{};
    std::string bytes;
  };
  std::vector<Part> body;          // in time order, none before head_at
  enum class End { kComplete, kReset, kHang };
  End end = End::kComplete;        // after the last part (or at end_at)
  std::optional<Duration> end_at;

  // A JSON answer at once (or after `delay`).
  static ScriptedResponse json(int status, std::string body, Duration delay = {});
  // An OpenAI error object {"error": {"message", "type", "code"}}.
  static ScriptedResponse error(int status, std::string message, std::string type = "api_error");
  // A text/event-stream: each `data` payload as one "data: ...\n\n" event, the
  // first at `first_at`, then one every `gap`; "[DONE]" last unless `done` is false.
  static ScriptedResponse sse(const std::vector<std::string>& data, Duration first_at = {}, Duration gap = {},
                              bool done = true);
  // Never answers.
  static ScriptedResponse silent();
};

// A chat.completion body / chat.completion.chunk payloads, OpenAI-shaped.
std::string chat_completion_json(std::string_view content, std::string_view model = "sim-model",
                                 int prompt_tokens = 3, int completion_tokens = 2);
std::vector<std::string> chat_chunks(const std::vector<std::string>& pieces, std::string_view model = "sim-model");

struct RecordedRequest {
  TimePoint at;
  transport::HttpRequest request;
};

class SimulatedLoop final : public transport::EventLoop {
 public:
  using Responder = std::function<ScriptedResponse(const transport::HttpRequest&)>;

  SimulatedLoop() = default;
  ~SimulatedLoop() override;

  VirtualClock& virtual_clock() { return clock_; }
  const TimeSource& clock() const override { return clock_; }

  // Who answers a request: the first route whose `url_part` the URL contains,
  // else the default responder; without either, the server never answers.
  void route(std::string url_part, Responder responder);
  void set_default_responder(Responder responder);
  // Every request started, in order.
  const std::vector<RecordedRequest>& requests() const { return requests_; }
  size_t request_count(std::string_view url_part) const;

  // Runs posted tasks and everything due at the current virtual time.
  void run_ready();
  // Moves virtual time forward by `d`, running everything due on the way, in order.
  void advance(Duration d);
  void advance(double seconds) { advance(seconds_to_duration(seconds)); }
  // Runs until nothing is left to do, moving time to each next event (at most
  // `limit` of virtual time).
  void run_until_idle(Duration limit = std::chrono::hours(24));
  // Runs until `done()` holds or nothing is left (at most `limit`).
  void run_until(const std::function<bool()>& done, Duration limit = std::chrono::hours(24));
  // Active transfers and pending timers.
  size_t active_transfers() const { return transfers_.size(); }
  size_t pending_timers() const { return timers_.size(); }

  // EventLoop
  void post(std::function<void()> task) override;
  transport::TimerId schedule(Duration delay, std::function<void()> task) override;
  void cancel_timer(transport::TimerId id) override;
  transport::TransferId start_transfer(transport::HttpRequest request, transport::TransferObserver* observer) override;
  void cancel_transfer(transport::TransferId id) override;
  bool in_loop_thread() const override { return depth_ > 0; }

 private:
  enum class Step : uint8_t { kTimer, kConnect, kHead, kBody, kEnd, kFirstByte, kFirstBody, kIdle, kTotal };
  struct Transfer {
    transport::HttpRequest request;
    transport::TransferObserver* observer = nullptr;
    ScriptedResponse script;
    TimePoint started;
    bool head = false;
    bool got_body = false;
    bool streaming = false;
    TimePoint last_body;
    transport::TransferResult result;
  };
  struct Event {
    TimePoint when;
    uint64_t seq;
    uint64_t id;  // timer id or transfer id
    Step step;
    size_t part = 0;  // kBody: index into the script's parts
    bool operator>(const Event& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  class Depth;

  void push(TimePoint when, uint64_t id, Step step, size_t part = 0);
  bool run_posted();
  // Fires the earliest event if it is due by `until`; false when none is.
  bool fire_next(TimePoint until);
  void fire(const Event& e);
  void fire_transfer(Transfer& t, uint64_t id, const Event& e);
  void complete(uint64_t id, transport::TransferError error, std::string message);
  Responder responder_for(const std::string& url) const;

  VirtualClock clock_;
  int depth_ = 0;
  uint64_t next_id_ = 1;
  uint64_t seq_ = 0;
  std::deque<std::function<void()>> posted_;
  std::vector<Event> heap_;  // min-heap on (when, seq)
  std::map<transport::TimerId, std::function<void()>> timers_;
  std::map<transport::TransferId, std::unique_ptr<Transfer>> transfers_;
  std::vector<std::pair<std::string, Responder>> routes_;
  Responder default_responder_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace llmux::testing
