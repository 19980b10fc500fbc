#include "support/simulated_loop.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "json/writer.hpp"

namespace llmux::testing {

using transport::Deadline;
using transport::TransferError;

namespace {

constexpr Duration kNoDeadline = std::chrono::hours(24 * 365 * 10);  // as CurlEventLoop
bool has_deadline(Duration d) { return d < kNoDeadline; }

std::string quoted(std::string_view s) {
  std::string out;
  json::append_json_string(out, s);
  return out;
}

}  // namespace

// --- scripts ---------------------------------------------------------------------

ScriptedResponse ScriptedResponse::json(int status, std::string body, Duration delay) {
  ScriptedResponse r;
  r.status = status;
  r.headers = {{"content-type", "application/json"}};
  r.head_at = delay;
  r.body.push_back(Part{delay, std::move(body)});
  return r;
}

ScriptedResponse ScriptedResponse::error(int status, std::string message, std::string type) {
  return json(status, fmt::format(R"({{"error":{{"message":{},"type":{},"code":null}}}})", quoted(message), quoted(type)));
}

ScriptedResponse ScriptedResponse::sse(const std::vector<std::string>& data, Duration first_at, Duration gap,
                                       bool done) {
  ScriptedResponse r;
  r.status = 200;
  r.headers = {{"content-type", "text/event-stream"}};
  r.head_at = first_at;
  Duration at = first_at;
  for (const std::string& d : data) {
    r.body.push_back(Part{at, fmt::format("data: {}\n\n", d)});
    at += gap;
  }
  if (done) r.body.push_back(Part{at, "data: [DONE]\n\n"});
  return r;
}

ScriptedResponse ScriptedResponse::silent() {
  ScriptedResponse r;
  r.status = 0;
  return r;
}

std::string chat_completion_json(std::string_view content, std::string_view model, int prompt_tokens,
                                 int completion_tokens) {
  return fmt::format(
      R"({{"id":"chatcmpl-sim","object":"chat.completion","created":1,"model":{},"choices":[{{"index":0,)"
      R"("message":{{"role":"assistant","content":{}}},"finish_reason":"stop"}}],)"
      R"("usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}}}})",
      quoted(model), quoted(content), prompt_tokens, completion_tokens, prompt_tokens + completion_tokens);
}

std::vector<std::string> chat_chunks(const std::vector<std::string>& pieces, std::string_view model) {
  std::vector<std::string> out;
  const std::string head = fmt::format(R"("id":"chatcmpl-sim","object":"chat.completion.chunk","created":1,"model":{})",
                                       quoted(model));
  out.push_back(fmt::format(R"({{{},"choices":[{{"index":0,"delta":{{"role":"assistant"}},"finish_reason":null}}]}})", head));
  for (const std::string& p : pieces) {
    out.push_back(fmt::format(R"({{{},"choices":[{{"index":0,"delta":{{"content":{}}},"finish_reason":null}}]}})", head,
                              quoted(p)));
  }
  out.push_back(fmt::format(R"({{{},"choices":[{{"index":0,"delta":{{}},"finish_reason":"stop"}}]}})", head));
  out.push_back(fmt::format(
      R"({{{},"choices":[],"usage":{{"prompt_tokens":3,"completion_tokens":{},"total_tokens":{}}}}})", head,
      pieces.size(), pieces.size() + 3));
  return out;
}

// --- the loop ----------------------------------------------------------------------

// Marks the test thread as the loop thread while it drives the loop.
class SimulatedLoop::Depth {
 public:
  explicit Depth(SimulatedLoop& loop) : loop_(loop) { ++loop_.depth_; }
  ~Depth() { --loop_.depth_; }
  Depth(const Depth&) = delete;
  Depth& operator=(const Depth&) = delete;

 private:
  SimulatedLoop& loop_;
};

SimulatedLoop::~SimulatedLoop() = default;  // observers are not called: they are gone by now

void SimulatedLoop::route(std::string url_part, Responder responder) {
  routes_.emplace_back(std::move(url_part), std::move(responder));
}

void SimulatedLoop::set_default_responder(Responder responder) { default_responder_ = std::move(responder); }

size_t SimulatedLoop::request_count(std::string_view url_part) const {
  return static_cast<size_t>(std::count_if(requests_.begin(), requests_.end(), [&](const RecordedRequest& r) {
    return r.request.url.find(url_part) != std::string::npos;
  }));
}

SimulatedLoop::Responder SimulatedLoop::responder_for(const std::string& url) const {
  for (const auto& [part, responder] : routes_) {
    if (url.find(part) != std::string::npos) return responder;
  }
  return default_responder_;
}

void SimulatedLoop::push(TimePoint when, uint64_t id, Step step, size_t part) {
  heap_.push_back(Event{when, seq_++, id, step, part});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<Event>{});
}

void SimulatedLoop::post(std::function<void()> task) { posted_.push_back(std::move(task)); }

transport::TimerId SimulatedLoop::schedule(Duration delay, std::function<void()> task) {
  const transport::TimerId id = next_id_++;
  timers_.emplace(id, std::move(task));
  push(clock_.now() + std::clamp(delay, Duration::zero(), kNoDeadline), id, Step::kTimer);
  return id;
}

void SimulatedLoop::cancel_timer(transport::TimerId id) { timers_.erase(id); }

transport::TransferId SimulatedLoop::start_transfer(transport::HttpRequest request,
                                                    transport::TransferObserver* observer) {
  const transport::TransferId id = next_id_++;
  const TimePoint now = clock_.now();
  requests_.push_back(RecordedRequest{now, request});
  auto t = std::make_unique<Transfer>();
  Responder responder = responder_for(request.url);
  t->script = responder ? responder(request) : ScriptedResponse::silent();
  t->request = std::move(request);
  t->observer = observer;
  t->started = now;
  t->result.started = now;
  const ScriptedResponse& s = t->script;
  const transport::HttpRequest& r = t->request;

  // Events in script order first, so that an answer exactly at a deadline wins.
  const bool connect_times_out = has_deadline(r.connect_timeout) && s.connect_delay > r.connect_timeout;
  push(now + (connect_times_out ? r.connect_timeout : s.connect_delay), id, Step::kConnect);
  if (!connect_times_out && !s.refuse_connection && s.status != 0) {
    const Duration head_at = std::max(s.head_at, s.connect_delay);
    push(now + head_at, id, Step::kHead);
    Duration last = head_at;
    for (size_t i = 0; i < s.body.size(); ++i) {
      last = std::max(s.body[i].at, last);
      push(now + last, id, Step::kBody, i);
    }
    if (s.end != ScriptedResponse::End::kHang) push(now + std::max(s.end_at.value_or(last), last), id, Step::kEnd);
  }
  if (has_deadline(r.first_byte_timeout)) push(now + r.first_byte_timeout, id, Step::kFirstByte);
  if (has_deadline(r.first_body_timeout)) push(now + r.first_body_timeout, id, Step::kFirstBody);
  if (has_deadline(r.total_timeout)) push(now + r.total_timeout, id, Step::kTotal);
  transfers_.emplace(id, std::move(t));
  return id;
}

void SimulatedLoop::cancel_transfer(transport::TransferId id) {
  // Like CurlEventLoop: the cancellation is reported on a later turn.
  post([this, id] {
    if (transfers_.contains(id)) complete(id, TransferError::kCancelled, "cancelled");
  });
}

void SimulatedLoop::complete(uint64_t id, TransferError error, std::string message) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers_.erase(it);
  t->result.error = error;
  t->result.error_message = std::move(message);
  t->result.finished = clock_.now();
  t->observer->on_complete(std::move(t->result));
}

bool SimulatedLoop::run_posted() {
  bool ran = false;
  while (!posted_.empty()) {
    std::function<void()> task = std::move(posted_.front());
    posted_.pop_front();
    task();
    ran = true;
  }
  return ran;
}

bool SimulatedLoop::fire_next(TimePoint until) {
  while (!heap_.empty()) {
    const Event& top = heap_.front();
    const bool stale = top.step == Step::kTimer ? !timers_.contains(top.id) : !transfers_.contains(top.id);
    if (!stale && top.when > until) return false;
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<Event>{});
    const Event e = heap_.back();
    heap_.pop_back();
    if (stale) continue;
    clock_.advance_to(e.when);
    fire(e);
    return true;
  }
  return false;
}

void SimulatedLoop::fire(const Event& e) {
  if (e.step == Step::kTimer) {
    auto it = timers_.find(e.id);
    std::function<void()> task = std::move(it->second);
    timers_.erase(it);
    task();
    return;
  }
  fire_transfer(*transfers_.at(e.id), e.id, e);
}

void SimulatedLoop::fire_transfer(Transfer& t, uint64_t id, const Event& e) {
  const TimePoint now = clock_.now();
  const transport::HttpRequest& r = t.request;
  const ScriptedResponse& s = t.script;
  switch (e.step) {
    case Step::kConnect:
      if (now < t.started + s.connect_delay) {
        complete(id, TransferError::kConnectTimeout, transport::deadline_message(Deadline::kConnect, r.connect_timeout));
      } else if (s.refuse_connection) {
        complete(id, TransferError::kConnectFailed, "Failed to connect: connection refused (simulated)");
      }
      return;
    case Step::kHead:
      t.head = true;
      t.result.status = s.status;
      t.result.headers = s.headers;
      t.result.first_byte = now;
      t.streaming = r.stream_body && s.status >= 200 && s.status < 300;
      t.last_body = now;
      if (r.stream_body && has_deadline(r.idle_timeout)) push(now + r.idle_timeout, id, Step::kIdle);
      t.observer->on_headers(s.status, t.result.headers);
      return;
    case Step::kBody: {
      t.got_body = true;
      const std::string& bytes = s.body[e.part].bytes;
      if (t.streaming) {
        t.last_body = now;
        if (!t.observer->on_body(bytes)) complete(id, TransferError::kAborted, "aborted by the body consumer");
      } else {
        if (r.stream_body) t.last_body = now;
        t.result.body += bytes;
      }
      return;
    }
    case Step::kEnd:
      if (s.end == ScriptedResponse::End::kReset) {
        complete(id, TransferError::kConnectionClosed, "Recv failure: Connection reset by peer (simulated)");
      } else {
        complete(id, TransferError::kNone, {});
      }
      return;
    case Step::kFirstByte:
      if (!t.head) complete(id, TransferError::kFirstByteTimeout, transport::deadline_message(Deadline::kFirstByte, r.first_byte_timeout));
      return;
    case Step::kFirstBody:
      if (!t.got_body) complete(id, TransferError::kFirstByteTimeout, transport::deadline_message(Deadline::kFirstBody, r.first_body_timeout));
      return;
    case Step::kIdle:
      if (t.last_body + r.idle_timeout > now) {
        push(t.last_body + r.idle_timeout, id, Step::kIdle);
      } else {
        complete(id, TransferError::kIdleTimeout, transport::deadline_message(Deadline::kIdle, r.idle_timeout));
      }
      return;
    case Step::kTotal:
      complete(id, TransferError::kTotalTimeout, transport::deadline_message(Deadline::kTotal, r.total_timeout));
      return;
    case Step::kTimer:
      return;
  }
}

void SimulatedLoop::run_ready() {
  Depth depth(*this);
  do {
    run_posted();
  } while (fire_next(clock_.now()));
  run_posted();
}

void SimulatedLoop::advance(Duration d) {
  Depth depth(*this);
  const TimePoint target = clock_.now() + d;
  do {
    run_posted();
  } while (fire_next(target));
  clock_.advance_to(target);
  run_posted();
}

void SimulatedLoop::run_until(const std::function<bool()>& done, Duration limit) {
  Depth depth(*this);
  const TimePoint end = clock_.now() + limit;
  for (;;) {
    run_posted();
    if (done()) return;
    if (!fire_next(end)) return;
  }
}

void SimulatedLoop::run_until_idle(Duration limit) {
  run_until([] { return false; }, limit);
}

}  // namespace llmux::testing
