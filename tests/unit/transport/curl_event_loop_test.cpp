// CurlEventLoop against real HTTP on loopback: the scripted FakeProvider, plus
// two tiny raw-socket servers for what it cannot script (interim 1xx heads, a
// listener whose accept queue is full).
#include "transport/curl_event_loop.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_provider.hpp"
#include "transport/sse_parser.hpp"

namespace llmux::transport {
namespace {

using namespace std::chrono_literals;
using testing::Behavior;
using testing::FakeProvider;

// Upper bound for anything to happen; only reached when the test fails.
constexpr auto kWaitLimit = 15s;

// Records every event of one transfer.
class Recorder : public TransferObserver {
 public:
  void on_headers(int status, const Headers& headers) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++header_calls;
    head_status = status;
    head = headers;
  }
  bool on_body(std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++body_calls;
    streamed.append(bytes);
    return abort_after_bytes == 0 || streamed.size() < abort_after_bytes;
  }
  void on_complete(TransferResult&& r) override {
    // Notified under the lock: the waiter may destroy *this as soon as it
    // sees the completion.
    std::lock_guard<std::mutex> lock(mu_);
    result = std::move(r);
    ++completions;
    headers_before_complete = header_calls;
    cv_.notify_all();
  }
  // Waits for the first completion; false on timeout.
  bool wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWaitLimit, [&] { return completions > 0; });
  }
  int completion_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return completions;
  }

  // Read after wait() returned true.
  TransferResult result;
  int completions = 0;
  int header_calls = 0;
  int headers_before_complete = 0;
  int head_status = 0;
  Headers head;
  int body_calls = 0;
  std::string streamed;
  size_t abort_after_bytes = 0;  // on_body returns false once this many bytes arrived

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

std::string header_value(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

HttpRequest chat_request(const FakeProvider& provider, bool stream = false) {
  HttpRequest r;
  r.url = provider.base_url() + "/chat/completions";
  r.headers = {"Content-Type: application/json", "Authorization: Bearer sk-test"};
  r.body = stream ? R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true})"
                  : R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  r.stream_body = stream;
  return r;
}

// Runs a no-op through the loop and waits for it: everything enqueued before
// has been processed when this returns.
void barrier(CurlEventLoop& transport) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  transport.post([&] {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  REQUIRE(cv.wait_for(lock, kWaitLimit, [&] { return done; }));
}

// Polls a condition owned by another thread (a server), not a timing rule.
template <class Pred>
bool eventually(Pred pred) {
  const auto limit = std::chrono::steady_clock::now() + kWaitLimit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > limit) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::vector<std::string> sse_data(std::string_view bytes) {
  SseParser parser;
  std::vector<std::string> out;
  parser.feed(bytes, [&](const SseEvent& e) {
    out.emplace_back(e.data);
    return true;
  });
  return out;
}

int listen_socket(int backlog, uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, backlog) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  *port = ntohs(addr.sin_port);
  return fd;
}

// Accepts one connection, reads one request head, writes a canned response,
// then waits for the client to close.
class RawServer {
 public:
  explicit RawServer(std::string response) : response_(std::move(response)) {
    fd_ = listen_socket(16, &port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~RawServer() {
    ::shutdown(fd_, SHUT_RDWR);  // unblocks accept()
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/raw"; }

 private:
  void serve() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    (void)!::send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
    while (::recv(c, buf, sizeof buf, 0) > 0) {
    }
    ::close(c);
  }

  std::string response_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_CASE("transport: POST round trip reports status, headers and body", "[transport]") {
  FakeProvider provider;
  Behavior b;
  b.body = R"({"ok":true})";
  b.headers = {{"X-Custom", "abc"}};
  provider.enqueue(b);

  CurlEventLoop transport;
  Recorder rec;
  HttpRequest req = chat_request(provider);
  // Generous deadlines that must not fire; they also leave stale heap entries.
  req.connect_timeout = 5s;
  req.first_byte_timeout = 5s;
  req.total_timeout = 10s;
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());

  const TransferResult& r = rec.result;
  CHECK(r.error == TransferError::kNone);
  CHECK(r.error_message.empty());
  CHECK(r.status == 200);
  CHECK(r.body == R"({"ok":true})");
  CHECK(header_value(r.headers, "x-custom") == "abc");
  CHECK(header_value(r.headers, "content-type") == "application/json");
  CHECK_FALSE(r.connection_reused);
  CHECK(r.started != TimePoint{});
  CHECK(r.first_byte >= r.started);
  CHECK(r.finished >= r.first_byte);
  CHECK(rec.header_calls == 1);
  CHECK(rec.headers_before_complete == 1);
  CHECK(rec.head_status == 200);
  CHECK(rec.body_calls == 0);

  const auto requests = provider.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == "/v1/chat/completions");
  CHECK(requests[0].body == req.body);
  CHECK(requests[0].header("authorization") == "Bearer sk-test");
  CHECK(requests[0].header("content-type") == "application/json");
  CHECK(requests[0].header("expect").empty());
}

TEST_CASE("transport: an HTTP error status is reported, not a transfer error", "[transport]") {
  FakeProvider provider;
  provider.enqueue(Behavior::rate_limited(7));
  CurlEventLoop transport;
  Recorder rec;
  transport.start_transfer(chat_request(provider, /*stream=*/true), &rec);  // non-2xx streams are buffered
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kNone);
  CHECK(rec.result.status == 429);
  CHECK(header_value(rec.result.headers, "retry-after") == "7");
  CHECK(rec.result.body.find("Rate limit") != std::string::npos);
  CHECK(rec.body_calls == 0);
}

TEST_CASE("transport: a second request reuses the keep-alive connection", "[transport]") {
  FakeProvider provider;
  CurlEventLoop transport;
  Recorder first;
  Recorder second;
  transport.start_transfer(chat_request(provider), &first);
  REQUIRE(first.wait());
  transport.start_transfer(chat_request(provider), &second);
  REQUIRE(second.wait());

  CHECK(first.result.error == TransferError::kNone);
  CHECK(second.result.error == TransferError::kNone);
  CHECK(second.result.status == 200);
  CHECK_FALSE(first.result.connection_reused);
  CHECK(second.result.connection_reused);
  const auto requests = provider.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].connection_id == requests[1].connection_id);
  CHECK(provider.connections_accepted() == 1);
}

TEST_CASE("transport: a streamed body arrives through on_body, in order", "[transport]") {
  FakeProvider provider;
  Behavior b;
  b.stream = true;
  b.events = {"one", "two", "three", "four"};
  b.event_interval = 5ms;
  provider.enqueue(b);

  CurlEventLoop transport;
  Recorder rec;
  transport.start_transfer(chat_request(provider, true), &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kNone);
  CHECK(rec.result.status == 200);
  CHECK(rec.result.body.empty());
  CHECK(rec.header_calls == 1);
  CHECK(header_value(rec.head, "content-type") == "text/event-stream");
  CHECK(rec.body_calls >= 1);
  CHECK(sse_data(rec.streamed) == std::vector<std::string>{"one", "two", "three", "four", "[DONE]"});
}

TEST_CASE("transport: interim 1xx heads are discarded; names lower-cased, values trimmed", "[transport]") {
  RawServer server(
      "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Final:   padded value  \r\nX-MiXeD-Case: v\r\n\r\nok");
  CurlEventLoop transport;
  Recorder rec;
  HttpRequest req;
  req.url = server.url();
  req.method = "GET";
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kNone);
  CHECK(rec.result.status == 201);
  CHECK(rec.result.body == "ok");
  CHECK(header_value(rec.result.headers, "x-final") == "padded value");
  CHECK(header_value(rec.result.headers, "x-mixed-case") == "v");
  CHECK(header_value(rec.result.headers, "x-interim") == "<absent>");
  CHECK(rec.header_calls == 1);
  CHECK(rec.head_status == 201);
}

TEST_CASE("transport: first-byte timeout against a hanging server", "[transport][timeout]") {
  FakeProvider provider;
  provider.enqueue(Behavior::hang());
  CurlEventLoop transport;
  Recorder rec;
  HttpRequest req = chat_request(provider);
  req.first_byte_timeout = 200ms;
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kFirstByteTimeout);
  CHECK(rec.result.error_message == "no first byte within 0.200 s");
  CHECK(rec.result.status == 0);
  CHECK(rec.result.finished - rec.result.started >= 200ms);
  CHECK(rec.header_calls == 0);
}

TEST_CASE("transport: idle timeout against a stalled stream", "[transport][timeout]") {
  FakeProvider provider;
  Behavior b;
  b.stream = true;
  b.events = {"a", "b", "c", "d"};
  b.stall_after_events = 2;
  provider.enqueue(b);
  CurlEventLoop transport;
  Recorder rec;
  HttpRequest req = chat_request(provider, true);
  req.idle_timeout = 200ms;
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kIdleTimeout);
  CHECK(rec.result.error_message == "stream idle for more than 0.200 s");
  CHECK(rec.result.status == 200);
  CHECK(rec.header_calls == 1);
  CHECK(sse_data(rec.streamed) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("transport: the first-body deadline ignores a head that came at once", "[transport][timeout]") {
  FakeProvider provider;
  Behavior b;
  b.stream = true;
  b.events = {"a", "b"};
  b.stall_after_events = 0;  // the head, then nothing
  provider.enqueue(b);
  CurlEventLoop transport;
  Recorder rec;
  HttpRequest req = chat_request(provider, true);
  req.first_byte_timeout = 5s;  // met by the head
  req.first_body_timeout = 200ms;
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kFirstByteTimeout);
  CHECK(rec.result.error_message == "no response body within 0.200 s");
  CHECK(rec.result.status == 200);
  CHECK(rec.header_calls == 1);
  CHECK(rec.streamed.empty());
}

TEST_CASE("transport: the idle deadline re-arms while bytes keep coming", "[transport][timeout]") {
  FakeProvider provider;
  Behavior b;
  b.stream = true;
  b.events = std::vector<std::string>(10, "tick");
  b.event_interval = 50ms;  // the whole stream (~500 ms) outlasts the idle deadline
  provider.enqueue(b);
  CurlEventLoop transport;
  Recorder rec;
  HttpRequest req = chat_request(provider, true);
  req.idle_timeout = 300ms;
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kNone);
  CHECK(sse_data(rec.streamed).size() == 11);
}

TEST_CASE("transport: total timeout", "[transport][timeout]") {
  FakeProvider provider;
  Behavior b;
  b.stream = true;
  b.events = std::vector<std::string>(40, "slow");
  b.event_interval = 50ms;  // ~2 s in total
  provider.enqueue(b);
  CurlEventLoop transport;
  Recorder rec;
  HttpRequest req = chat_request(provider, true);
  req.first_byte_timeout = 5s;
  req.idle_timeout = 5s;
  req.total_timeout = 250ms;
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kTotalTimeout);
  CHECK(rec.result.error_message == "transfer not complete within 0.250 s");
  CHECK(rec.result.finished - rec.result.started >= 250ms);
  CHECK(sse_data(rec.streamed).size() < 41);
}

TEST_CASE("transport: connect failure to a closed port", "[transport]") {
  uint16_t port = 0;
  const int fd = listen_socket(1, &port);
  ::close(fd);
  CurlEventLoop transport;
  Recorder rec;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  req.body = "{}";
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kConnectFailed);
  CHECK_FALSE(rec.result.error_message.empty());
  CHECK(rec.result.curl_code != 0);
  CHECK(rec.result.status == 0);
}

TEST_CASE("transport: connect timeout against a listener whose accept queue is full", "[transport][timeout]") {
  // With backlog 0 Linux queues one connection and drops further SYNs, so a
  // new connect() hangs in SYN-SENT.
  uint16_t port = 0;
  const int listener = listen_socket(0, &port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(c);
  }
  pollfd first{fillers[0], POLLOUT, 0};
  REQUIRE(::poll(&first, 1, 5000) == 1);  // the queued connection is established

  CurlEventLoop transport;
  Recorder rec;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  req.body = "{}";
  req.connect_timeout = 200ms;
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kConnectTimeout);
  CHECK(rec.result.error_message.rfind("no connection within 0.200 s", 0) == 0);
  for (int c : fillers) ::close(c);
  ::close(listener);
}

TEST_CASE("transport: connection reset before the response", "[transport]") {
  FakeProvider provider;
  provider.enqueue(Behavior::reset());
  CurlEventLoop transport;
  Recorder rec;
  transport.start_transfer(chat_request(provider), &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kConnectionClosed);
  CHECK(rec.result.status == 0);
  CHECK_FALSE(rec.result.error_message.empty());
}

TEST_CASE("transport: a cut stream is a closed connection, never success", "[transport]") {
  FakeProvider provider;
  CurlEventLoop transport;
  SECTION("cut after one event") {
    Behavior b;
    b.stream = true;
    b.events = {"a", "b", "c"};
    b.cut_after_events = 1;
    provider.enqueue(b);
    Recorder rec;
    transport.start_transfer(chat_request(provider, true), &rec);
    REQUIRE(rec.wait());
    CHECK(rec.result.error == TransferError::kConnectionClosed);
    CHECK(rec.result.status == 200);
    CHECK(sse_data(rec.streamed) == std::vector<std::string>{"a"});
  }
  SECTION("closed right after the head") {
    Behavior b;
    b.action = Behavior::Action::kCloseAfterHeaders;
    b.stream = true;
    provider.enqueue(b);
    Recorder rec;
    transport.start_transfer(chat_request(provider, true), &rec);
    REQUIRE(rec.wait());
    CHECK(rec.result.error == TransferError::kConnectionClosed);
    CHECK(rec.result.status == 200);
    CHECK(rec.header_calls == 1);
    CHECK(rec.streamed.empty());
  }
}

TEST_CASE("transport: on_body returning false aborts", "[transport]") {
  FakeProvider provider;
  Behavior b;
  b.stream = true;
  b.events = std::vector<std::string>(20, "x");
  b.event_interval = 2ms;
  provider.enqueue(b);
  CurlEventLoop transport;
  Recorder rec;
  rec.abort_after_bytes = 1;
  transport.start_transfer(chat_request(provider, true), &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kAborted);
  CHECK(rec.body_calls == 1);
}

TEST_CASE("transport: a buffered body over the cap fails with kResponseTooLarge", "[transport]") {
  FakeProvider provider;
  Behavior b;
  b.body = std::string(5000, 'x');
  provider.enqueue(b);
  TransportOptions options;
  options.max_buffered_body = 1000;
  CurlEventLoop transport(options);
  Recorder rec;
  transport.start_transfer(chat_request(provider), &rec);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kResponseTooLarge);
  CHECK(rec.result.body.size() <= 1000);
}

TEST_CASE("transport: cancel of an in-flight transfer completes it once with kCancelled", "[transport]") {
  FakeProvider provider;
  provider.set_default(Behavior::hang());
  auto transport = std::make_unique<CurlEventLoop>();
  Recorder rec;
  const TransferId id = transport->start_transfer(chat_request(provider), &rec);
  REQUIRE(eventually([&] { return provider.request_count() == 1; }));  // it is on the wire
  transport->cancel_transfer(id);
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kCancelled);
  // Repeated and unknown cancels are no-ops.
  transport->cancel_transfer(id);
  transport->cancel_transfer(id + 1000);
  barrier(*transport);
  transport.reset();
  CHECK(rec.completion_count() == 1);
}

TEST_CASE("transport: cancel right after start, before the loop picked it up", "[transport]") {
  FakeProvider provider;
  provider.set_default(Behavior::hang());
  auto transport = std::make_unique<CurlEventLoop>();
  Recorder rec;
  transport->cancel_transfer(transport->start_transfer(chat_request(provider), &rec));
  REQUIRE(rec.wait());
  CHECK(rec.result.error == TransferError::kCancelled);
  transport.reset();
  CHECK(rec.completion_count() == 1);
}

TEST_CASE("transport: post runs FIFO on the loop; timers fire by deadline; cancelled timers never", "[transport]") {
  CurlEventLoop transport;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> log;
  bool done = false;
  auto note = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(std::move(what));
  };
  CHECK_FALSE(transport.in_loop_thread());

  transport.post([&] { note(transport.in_loop_thread() ? "p1" : "p1-wrong-thread"); });
  transport.post([&] {
    note("p2");
    // From inside the loop: both run later, neither inline.
    transport.post([&] { note("p2-inner"); });
    transport.schedule(0ms, [&] { note("t0-inner"); });
  });
  transport.schedule(300ms, [&] { note("A"); });
  transport.schedule(20ms, [&] { note(transport.in_loop_thread() ? "B" : "B-wrong-thread"); });
  // Due before the final timer, so it would show up if the cancel were lost.
  const TimerId c = transport.schedule(350ms, [&] { note("C"); });
  transport.cancel_timer(c);
  transport.schedule(450ms, [&] {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, kWaitLimit, [&] { return done; }));
  }
  transport.cancel_timer(c);  // already dropped: no-op
  barrier(transport);
  std::lock_guard<std::mutex> lock(mu);
  // Work queued from inside the loop runs after the task that queued it; how
  // it interleaves with the 20 ms timer depends on scheduling, so it is
  // checked apart from the deterministic order.
  std::vector<std::string> outer;
  for (const auto& e : log) {
    if (e != "p2-inner" && e != "t0-inner") outer.push_back(e);
  }
  CHECK(outer == std::vector<std::string>{"p1", "p2", "B", "A"});
  auto position = [&](std::string_view what) {
    return std::find(log.begin(), log.end(), what) - log.begin();
  };
  CHECK(position("p2-inner") > position("p2"));
  CHECK(position("t0-inner") > position("p2"));
  CHECK(position("t0-inner") < static_cast<std::ptrdiff_t>(log.size()));
  CHECK(position("p2-inner") < static_cast<std::ptrdiff_t>(log.size()));
}

TEST_CASE("transport: cancel_timer from a task drops a timer due in the same pass", "[transport]") {
  CurlEventLoop transport;
  std::atomic<TimerId> second{0};
  std::atomic<bool> second_ran{false};
  std::atomic<bool> first_ran{false};
  transport.schedule(20ms, [&] {
    first_ran = true;
    transport.cancel_timer(second.load());
  });
  second = transport.schedule(20ms, [&] { second_ran = true; });
  REQUIRE(eventually([&] { return first_ran.load(); }));
  barrier(transport);
  CHECK_FALSE(second_ran);
}

TEST_CASE("transport: thousands of cancelled timers (heap compaction) leave live timers intact", "[transport]") {
  CurlEventLoop transport;
  constexpr int kTimers = 6000;
  std::atomic<int> fired_far{0};
  std::atomic<int> fired_near{0};
  std::vector<TimerId> far;
  std::vector<TimerId> near;
  // Hold the loop in a task so every schedule and cancel below lands in one
  // batch: however slow this thread is, no near timer can fire before its
  // cancel is seen.
  // Wait until the loop is inside that task: otherwise the loop may pick up
  // the task together with some of the schedules below, add those timers, and
  // fire them before it sees their cancels.
  std::promise<void> gate;
  std::shared_future<void> gate_open = gate.get_future().share();
  std::promise<void> loop_held;
  transport.post([gate_open, &loop_held] {
    loop_held.set_value();
    gate_open.wait();
  });
  loop_held.get_future().wait();
  for (int i = 0; i < kTimers; ++i) far.push_back(transport.schedule(1h, [&] { ++fired_far; }));
  for (int i = 0; i < kTimers; ++i) near.push_back(transport.schedule(1ms, [&] { ++fired_near; }));
  for (TimerId id : far) transport.cancel_timer(id);
  for (int i = 0; i < kTimers; ++i) {
    if (i != 1234) transport.cancel_timer(near[i]);
  }
  gate.set_value();
  std::atomic<bool> marker{false};
  transport.schedule(60ms, [&] { marker = true; });
  REQUIRE(eventually([&] { return marker.load(); }));
  barrier(transport);
  CHECK(fired_near == 1);
  CHECK(fired_far == 0);
}

TEST_CASE("transport: a recycled easy handle carries nothing over from the last transfer", "[transport]") {
  FakeProvider provider;
  CurlEventLoop transport;
  Recorder first;
  HttpRequest a = chat_request(provider);
  a.headers.push_back("X-Only-First: 1");
  a.headers.push_back("X-Also-First: 2");
  transport.start_transfer(a, &first);
  REQUIRE(first.wait());
  Recorder second;
  HttpRequest b;
  b.url = provider.base_url() + "/models";
  b.method = "GET";
  b.headers = {"X-Second: yes"};
  transport.start_transfer(b, &second);
  REQUIRE(second.wait());
  CHECK(second.result.error == TransferError::kNone);
  const auto requests = provider.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].method == "GET");
  CHECK(requests[1].path == "/v1/models");
  CHECK(requests[1].body.empty());
  CHECK(requests[1].header("x-second") == "yes");
  CHECK(requests[1].header("x-only-first").empty());
  CHECK(requests[1].header("x-also-first").empty());
  CHECK(requests[1].header("authorization").empty());
}

TEST_CASE("transport: a reused handle sends each transfer's own body and headers", "[transport]") {
  // Handles stay configured per profile (URL, method, headers, TLS, proxy):
  // transfers of one profile reuse them, another profile gets its own.
  FakeProvider provider;
  CurlEventLoop transport;
  auto run = [&](HttpRequest r) {
    Recorder rec;
    transport.start_transfer(std::move(r), &rec);
    REQUIRE(rec.wait());
    CHECK(rec.result.error == TransferError::kNone);
    CHECK(rec.result.status > 0);
  };
  const std::vector<std::string> bodies = {R"({"n":1})", R"({"n":22,"more":"x"})", R"({"n":1})", "{}"};
  for (const std::string& body : bodies) {
    HttpRequest r = chat_request(provider);
    r.body = body;
    run(std::move(r));
  }
  HttpRequest other_key = chat_request(provider);
  other_key.headers = {"Content-Type: application/json", "Authorization: Bearer sk-other", "X-Extra: 1"};
  run(other_key);
  run(chat_request(provider));  // back to the first profile
  HttpRequest get;
  get.url = provider.base_url() + "/models";
  get.method = "GET";
  run(get);
  run(chat_request(provider));
  const auto requests = provider.requests();
  REQUIRE(requests.size() == 8);
  for (size_t i = 0; i < bodies.size(); ++i) {
    CHECK(requests[i].body == bodies[i]);
    CHECK(requests[i].header("authorization") == "Bearer sk-test");
    CHECK(requests[i].header("x-extra").empty());
  }
  CHECK(requests[4].header("authorization") == "Bearer sk-other");
  CHECK(requests[4].header("x-extra") == "1");
  CHECK(requests[5].header("authorization") == "Bearer sk-test");
  CHECK(requests[5].header("x-extra").empty());
  CHECK(requests[5].body == chat_request(provider).body);
  CHECK(requests[6].method == "GET");
  CHECK(requests[6].body.empty());
  CHECK(requests[6].header("authorization").empty());
  CHECK(requests[7].method == "POST");
  CHECK(requests[7].body == chat_request(provider).body);
  CHECK(requests[7].header("authorization") == "Bearer sk-test");
}

TEST_CASE("transport: a reused handle takes each transfer's connect timeout, not the last one's",
          "[transport][timeout]") {
  // A listener whose accept queue is full: connect() hangs in SYN-SENT.
  uint16_t port = 0;
  const int listener = listen_socket(0, &port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(c);
  }
  pollfd first{fillers[0], POLLOUT, 0};
  REQUIRE(::poll(&first, 1, 5000) == 1);

  CurlEventLoop transport;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  req.body = "{}";
  req.connect_timeout = 100ms;
  Recorder short_connect;
  transport.start_transfer(req, &short_connect);
  REQUIRE(short_connect.wait());
  CHECK(short_connect.result.error == TransferError::kConnectTimeout);
  // Same profile, no connect timeout of its own: only the total deadline
  // (the loop's timer) may end it. A connect timeout left over from the
  // handle's last transfer would report kConnectTimeout instead.
  req.connect_timeout = Duration::max();
  req.total_timeout = 600ms;
  Recorder no_connect_limit;
  transport.start_transfer(req, &no_connect_limit);
  REQUIRE(no_connect_limit.wait());
  CHECK(no_connect_limit.result.error == TransferError::kTotalTimeout);
  for (int c : fillers) ::close(c);
  ::close(listener);
}

TEST_CASE("transport: a new transfer started from inside on_complete", "[transport]") {
  FakeProvider provider;
  CurlEventLoop transport;

  struct Chain : TransferObserver {
    CurlEventLoop* transport = nullptr;
    const FakeProvider* provider = nullptr;
    int remaining = 5;
    std::vector<TransferResult> results;
    bool all_in_loop = true;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    void on_complete(TransferResult&& r) override {
      all_in_loop = all_in_loop && transport->in_loop_thread();
      results.push_back(std::move(r));
      if (--remaining > 0) {
        transport->start_transfer(chat_request(*provider), this);
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      done = true;
      cv.notify_all();
    }
  } chain;
  chain.transport = &transport;
  chain.provider = &provider;
  transport.start_transfer(chat_request(provider), &chain);
  {
    std::unique_lock<std::mutex> lock(chain.mu);
    REQUIRE(chain.cv.wait_for(lock, kWaitLimit, [&] { return chain.done; }));
  }
  REQUIRE(chain.results.size() == 5);
  for (const auto& r : chain.results) {
    CHECK(r.error == TransferError::kNone);
    CHECK(r.status == 200);
  }
  CHECK(chain.all_in_loop);
  CHECK(chain.results[4].connection_reused);
  CHECK(provider.connections_accepted() == 1);
}

TEST_CASE("transport: destroying the transport cancels everything in flight", "[transport]") {
  FakeProvider provider;
  provider.set_default(Behavior::hang());
  auto transport = std::make_unique<CurlEventLoop>();
  constexpr int kInFlight = 20;
  std::vector<std::unique_ptr<Recorder>> recs;
  for (int i = 0; i < kInFlight; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    transport->start_transfer(chat_request(provider), recs.back().get());
  }
  REQUIRE(eventually([&] { return provider.request_count() == kInFlight; }));

  // Started from on_complete during shutdown: must be cancelled too, not lost.
  struct Restarter : TransferObserver {
    CurlEventLoop* transport = nullptr;
    Recorder* next = nullptr;
    HttpRequest request;
    std::atomic<int> completions{0};
    TransferError error = TransferError::kNone;
    void on_complete(TransferResult&& r) override {
      error = r.error;
      if (completions++ == 0) transport->start_transfer(request, next);
    }
  } restarter;
  Recorder restarted;
  restarter.transport = transport.get();
  restarter.next = &restarted;
  restarter.request = chat_request(provider);
  transport->start_transfer(chat_request(provider), &restarter);

  std::atomic<bool> timer_ran{false};
  transport->schedule(1h, [&] { timer_ran = true; });
  Recorder never_started;  // still queued when the destructor runs
  transport->start_transfer(chat_request(provider), &never_started);
  transport.reset();

  for (auto& r : recs) {
    CHECK(r->completion_count() == 1);
    CHECK(r->result.error == TransferError::kCancelled);
  }
  CHECK(restarter.completions == 1);
  CHECK(restarter.error == TransferError::kCancelled);
  CHECK(restarted.completion_count() == 1);
  CHECK(restarted.result.error == TransferError::kCancelled);
  CHECK(never_started.completion_count() == 1);
  CHECK(never_started.result.error == TransferError::kCancelled);
  CHECK_FALSE(timer_ran);
}

TEST_CASE("transport: 2,000 concurrent transfers all complete exactly once", "[transport][load]") {
  FakeProvider provider;
  Behavior ok;
  ok.body = R"({"ok":true})";
  provider.set_default(ok);

  struct Counter : TransferObserver {
    std::atomic<int>* total = nullptr;
    std::atomic<int> completions{0};
    TransferError error = TransferError::kOther;
    int status = 0;
    void on_complete(TransferResult&& r) override {
      error = r.error;
      status = r.status;
      ++completions;
      ++*total;
    }
  };
  constexpr int kTransfers = 2000;
  constexpr int kThreads = 4;
  std::atomic<int> total{0};
  std::vector<Counter> counters(kTransfers);
  for (auto& c : counters) c.total = &total;

  auto transport = std::make_unique<CurlEventLoop>();
  std::vector<std::thread> starters;
  for (int t = 0; t < kThreads; ++t) {
    starters.emplace_back([&, t] {
      for (int i = t; i < kTransfers; i += kThreads) {
        HttpRequest req = chat_request(provider);
        req.first_byte_timeout = 20s;  // never fire; they exercise the timer heap
        req.total_timeout = 30s;
        transport->start_transfer(std::move(req), &counters[i]);
      }
    });
  }
  for (auto& th : starters) th.join();
  REQUIRE(eventually([&] { return total.load() == kTransfers; }));
  transport.reset();  // no late or duplicate completion can follow

  int ok_count = 0;
  for (auto& c : counters) {
    CHECK(c.completions == 1);
    if (c.error == TransferError::kNone && c.status == 200) ++ok_count;
  }
  CHECK(ok_count == kTransfers);
  CHECK(provider.request_count() == static_cast<size_t>(kTransfers));
}

TEST_CASE("transport: handles of several profiles in flight at once each send their own headers",
          "[transport][load]") {
  // More transfers in flight than the handle pool keeps (256), over three
  // profiles: handles are reused, reconfigured and dropped while the
  // profiles interleave; every request must carry the headers it was given.
  FakeProvider provider;
  struct Counter : TransferObserver {
    std::atomic<int>* total = nullptr;
    TransferError error = TransferError::kOther;
    void on_complete(TransferResult&& r) override {
      error = r.error;
      ++*total;
    }
  };
  constexpr int kTransfers = 900;
  std::atomic<int> total{0};
  std::vector<Counter> counters(kTransfers);
  CurlEventLoop transport;
  for (int round = 0; round < 2; ++round) {
    total = 0;
    for (int i = 0; i < kTransfers; ++i) {
      counters[i].total = &total;
      HttpRequest req = chat_request(provider);
      req.headers = {"Content-Type: application/json", fmt::format("Authorization: Bearer sk-{}", i % 3)};
      if (i % 3 == 1) req.headers.push_back("X-Only-Profile-1: yes");
      req.body = fmt::format(R"({{"n":{}}})", i);
      transport.start_transfer(std::move(req), &counters[i]);
    }
    REQUIRE(eventually([&] { return total.load() == kTransfers; }));
    for (const Counter& c : counters) CHECK(c.error == TransferError::kNone);
  }
  const auto requests = provider.requests();
  REQUIRE(requests.size() == 2 * kTransfers);
  for (const auto& r : requests) {
    const int n = std::stoi(r.body.substr(5));
    INFO(r.body);
    CHECK(r.header("authorization") == fmt::format("Bearer sk-{}", n % 3));
    CHECK(r.header("x-only-profile-1") == (n % 3 == 1 ? "yes" : ""));
  }
}

// Between transfers a kept-alive connection's socket stays in the loop's epoll
// set (curl_event_loop.cpp, "Sockets stay in the epoll set"). A connection that
// goes away while parked there must leave nothing stale behind for the next
// socket, which usually gets the same descriptor number: closed by the server
// (the parked socket turns readable and leaves the set), or closed by libcurl
// itself (its cache holds one connection here, so switching origins closes
// one through the loop's close callback).
TEST_CASE("transport: connections closed while parked between transfers leave no stale registration", "[transport]") {
  SECTION("the server closes the idle connection") {
    FakeProvider provider;
    CurlEventLoop transport;
    for (int i = 0; i < 5; ++i) {
      Recorder r;
      transport.start_transfer(chat_request(provider), &r);
      REQUIRE(r.wait());
      CHECK(r.result.error == TransferError::kNone);
      CHECK(r.result.status == 200);
      CHECK_FALSE(r.result.connection_reused);
      provider.drop_connections();
    }
    CHECK(provider.connections_accepted() == 5);
  }
  SECTION("libcurl closes it to make room in its cache") {
    FakeProvider a;
    FakeProvider b;
    TransportOptions options;
    options.max_connections = 1;
    CurlEventLoop transport(options);
    for (int i = 0; i < 6; ++i) {
      Recorder r;
      transport.start_transfer(chat_request(i % 2 == 0 ? a : b), &r);
      REQUIRE(r.wait());
      CHECK(r.result.error == TransferError::kNone);
      CHECK(r.result.status == 200);
    }
    // libcurl closed parked connections to keep one (which ones is its
    // choice: the least recently used, with 7.88), so the loop saw closes of
    // registered sockets and new sockets on the freed descriptors.
    CHECK(a.connections_accepted() + b.connections_accepted() > 2);
  }
  SECTION("a parked connection is reused by the next transfer") {
    FakeProvider provider;
    CurlEventLoop transport;
    for (int i = 0; i < 5; ++i) {
      Recorder r;
      transport.start_transfer(chat_request(provider), &r);
      REQUIRE(r.wait());
      CHECK(r.result.status == 200);
      CHECK(r.result.connection_reused == (i > 0));
    }
    CHECK(provider.connections_accepted() == 1);
  }
}

// A finished transfer's request comes back from recycled_request() (on the
// loop thread) as an empty request that kept its buffers: the next call's
// url, body and header list cost no allocation, and nothing of the last
// request (header lines, TLS files, deadlines, streaming) is carried over.
TEST_CASE("transport: recycled_request gives a finished transfer's buffers back, emptied", "[transport]") {
  FakeProvider provider;
  CurlEventLoop transport;
  HttpRequest req = chat_request(provider, /*stream=*/true);
  req.body.append(2000, ' ');  // a body past any small-string buffer
  req.first_byte_timeout = 5s;
  req.verify_tls = false;
  req.ca_bundle_path = "/nonexistent/ca-bundle-with-a-long-path.pem";
  const size_t body_size = req.body.size();
  Recorder rec;
  transport.start_transfer(req, &rec);
  REQUIRE(rec.wait());
  REQUIRE(rec.result.status == 200);

  // Off the loop thread: always a new one.
  const HttpRequest fresh = transport.recycled_request();
  CHECK(fresh.body.capacity() < body_size);

  std::promise<HttpRequest> got;
  transport.post([&] { got.set_value(transport.recycled_request()); });
  auto future = got.get_future();
  REQUIRE(future.wait_for(kWaitLimit) == std::future_status::ready);
  const HttpRequest r = future.get();
  CHECK(r.body.capacity() >= body_size);  // the finished transfer's buffer
  const HttpRequest def;
  CHECK(r.url.empty());
  CHECK(r.method == def.method);
  CHECK(r.headers.empty());
  CHECK(r.body.empty());
  CHECK(r.stream_body == def.stream_body);
  CHECK(r.connect_timeout == def.connect_timeout);
  CHECK(r.first_byte_timeout == def.first_byte_timeout);
  CHECK(r.first_body_timeout == def.first_body_timeout);
  CHECK(r.idle_timeout == def.idle_timeout);
  CHECK(r.total_timeout == def.total_timeout);
  CHECK(r.verify_tls == def.verify_tls);
  CHECK(r.ca_bundle_path.empty());
  CHECK(r.client_cert_path.empty());
  CHECK(r.client_key_path.empty());

  // The pool had one: the next ask on the loop gets a new request.
  std::promise<size_t> second;
  transport.post([&] { second.set_value(transport.recycled_request().body.capacity()); });
  auto second_future = second.get_future();
  REQUIRE(second_future.wait_for(kWaitLimit) == std::future_status::ready);
  CHECK(second_future.get() < body_size);
}

// Past 64 HTTP/1 transfers in flight to one origin with no idle connection,
// a new transfer asks libcurl for a fresh connection instead of searching its
// cache (curl_event_loop.cpp, OriginLoad). Once the burst is over the
// connections it left idle are found again: later transfers reuse them, also
// on the recycled easy handles that had CURLOPT_FRESH_CONNECT set.
TEST_CASE("transport: a burst past the fresh-connect threshold leaves reusable connections", "[transport][load]") {
  FakeProvider provider;
  Behavior slow;
  slow.body = R"({"ok":true})";
  slow.delay = 300ms;  // all in flight together
  provider.set_default(slow);
  CurlEventLoop transport;
  constexpr int kBurst = 150;
  std::vector<Recorder> burst(kBurst);
  for (auto& r : burst) transport.start_transfer(chat_request(provider), &r);
  for (auto& r : burst) {
    REQUIRE(r.wait());
    CHECK(r.result.error == TransferError::kNone);
    CHECK(r.result.status == 200);
  }
  // Every transfer of the burst needed a connection of its own.
  CHECK(provider.connections_accepted() == static_cast<size_t>(kBurst));

  Behavior quick;
  quick.body = R"({"ok":true})";
  provider.set_default(quick);
  for (int i = 0; i < 5; ++i) {
    Recorder r;
    transport.start_transfer(chat_request(provider), &r);
    REQUIRE(r.wait());
    CHECK(r.result.error == TransferError::kNone);
    CHECK(r.result.connection_reused);
  }
  CHECK(provider.connections_accepted() == static_cast<size_t>(kBurst));
}

// Past 1,024 transfers in flight the loop opens a second libcurl multi handle
// (a shard with its own connection cache) on the same epoll set: transfers
// there complete, stream and cancel like the others, and shard 0's
// connections are reused afterwards.
TEST_CASE("transport: transfers beyond one shard's 1,024 complete, stream and cancel exactly once", "[transport][load]") {
  FakeProvider provider;
  Behavior slow = Behavior::streaming("one two three", 3);
  slow.delay = 500ms;  // all in flight together
  provider.set_default(slow);
  CurlEventLoop transport;
  constexpr int kTransfers = 1100;
  // Two rounds: the second runs on the recycled handles of the first, both
  // shards' (a handle left attached to its multi could not be added again).
  for (int round = 0; round < 2; ++round) {
    const int cancel = round == 0 ? 10 : 0;  // the last ones: in the second shard
    std::vector<Recorder> recorders(kTransfers);
    std::vector<TransferId> ids;
    for (auto& r : recorders) ids.push_back(transport.start_transfer(chat_request(provider, true), &r));
    barrier(transport);
    for (int i = kTransfers - cancel; i < kTransfers; ++i) transport.cancel_transfer(ids[static_cast<size_t>(i)]);
    int ok = 0, cancelled = 0;
    for (auto& r : recorders) {
      REQUIRE(r.wait());
      if (r.result.error == TransferError::kNone && r.result.status == 200 && !sse_data(r.streamed).empty()) ++ok;
      if (r.result.error == TransferError::kCancelled) ++cancelled;
    }
    std::this_thread::sleep_for(50ms);  // a duplicate completion would show now
    for (auto& r : recorders) CHECK(r.completion_count() == 1);
    CHECK(ok == kTransfers - cancel);
    CHECK(cancelled == cancel);
  }

  provider.set_default(Behavior::ok());
  Recorder again;
  transport.start_transfer(chat_request(provider), &again);
  REQUIRE(again.wait());
  CHECK(again.result.error == TransferError::kNone);
  CHECK(again.result.connection_reused);
}

TEST_CASE("transport: transfer_error_name", "[transport]") {
  CHECK(transfer_error_name(TransferError::kNone) == "none");
  CHECK(transfer_error_name(TransferError::kIdleTimeout) == "idle_timeout");
  CHECK(transfer_error_name(TransferError::kConnectionClosed) == "connection_closed");
}

}  // namespace
}  // namespace llmux::transport
