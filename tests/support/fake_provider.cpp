// -----------------------------------------------------------------------------
// File: tests/support/fake_provider.cpp
// -----------------------------------------------------------------------------
// One epoll thread owns every socket. A connection reads one request at a
// time; a complete request is recorded, resolved to a Behavior, and turned
// into a plan: a queue of Steps (write bytes, close, reset, hang), each of
// which may first wait on a timer. Timers live in a min-heap keyed by
// deadline, so nothing on the loop is O(connections) per event and nothing
// ever sleeps.
#include "support/fake_provider.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <queue>
#include <system_error>
#include <thread>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_split.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "json/writer.hpp"

namespace llmux::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kListenTag = ~uint64_t{0};
constexpr uint64_t kWakeTag = ~uint64_t{0} - 1;
constexpr int kListenBacklog = 4096;
constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxBufferedBytes = size_t{64} << 20;
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 512;
constexpr int kMaxAcceptsPerWake = 1024;
constexpr std::string_view kMalformedEvent = "data: {not json\n\n";

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), fmt::format("FakeProvider: {}", what));
}

std::string error_body(std::string_view message, std::string_view type, std::string_view code) {
  std::string out = R"({"error":{"message":)";
  json::append_json_string(out, message);
  out += R"(,"type":)";
  json::append_json_string(out, type);
  out += R"(,"param":null,"code":)";
  if (code.empty()) {
    out += "null";
  } else {
    json::append_json_string(out, code);
  }
  out += "}}";
  return out;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

int64_t count_words(std::string_view text) {
  int64_t n = 0;
  for ([[maybe_unused]] absl::string_view w :
       absl::StrSplit(to_absl(text), absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
    ++n;
  }
  return n;
}

// Splits `text` into at most `parts` pieces of roughly equal byte length,
// never inside a UTF-8 sequence and never empty.
std::vector<std::string_view> split_text(std::string_view text, int parts) {
  std::vector<std::string_view> out;
  const size_t n = parts > 0 ? static_cast<size_t>(parts) : 1;
  size_t start = 0;
  for (size_t i = 0; i < n && start < text.size(); ++i) {
    size_t end = i + 1 == n ? text.size() : text.size() * (i + 1) / n;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    if (end <= start) continue;
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

// What the generated answers need from the request body.
struct RequestFacts {
  bool valid_json = false;
  std::string model = "fake-model";
  bool stream = false;
  bool include_usage = false;
  size_t input_count = 1;  // embeddings
};

RequestFacts read_request_facts(simdjson::dom::parser& parser, const std::string& body) {
  RequestFacts facts;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return facts;
  facts.valid_json = true;
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return facts;
  std::string_view model;
  if (obj["model"].get_string().get(model) == simdjson::SUCCESS) facts.model = std::string(model);
  bool flag = false;
  if (obj["stream"].get_bool().get(flag) == simdjson::SUCCESS) facts.stream = flag;
  if (obj.at_pointer("/stream_options/include_usage").get_bool().get(flag) == simdjson::SUCCESS) {
    facts.include_usage = flag;
  }
  simdjson::dom::element input;
  if (obj["input"].get(input) == simdjson::SUCCESS && input.is_array()) {
    simdjson::dom::array items = input.get_array().value_unsafe();
    // A flat list of token ids is one input; a list of strings/token lists is many.
    const bool single_token_list = items.size() > 0 && items.at(0).value_unsafe().is_number();
    facts.input_count = single_token_list ? 1 : items.size();
  }
  return facts;
}

// ---------------------------------------------------------------------------
// HTTP request parsing.

enum class ParseResult { kIncomplete, kComplete, kBad };

struct HttpRequest {
  std::string method;
  std::string target;
  std::string version;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  size_t consumed = 0;  // bytes of the input this request occupied

  std::string_view header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

// Parses one request from the front of `in`. `scan_from` remembers how far
// the header terminator was searched so a slow trickle stays linear.
// `expects_continue` is set when the headers are complete, the body is not,
// and the client asked for "Expect: 100-continue".
ParseResult parse_http(std::string_view in, size_t& scan_from, HttpRequest& req, bool& expects_continue) {
  expects_continue = false;
  size_t start = 0;
  while (in.size() >= start + 2 && in.substr(start, 2) == "\r\n") start += 2;  // RFC 9112 §2.2
  const size_t head_end = in.find("\r\n\r\n", std::max(scan_from, start));
  if (head_end == std::string_view::npos) {
    scan_from = in.size() >= 3 ? in.size() - 3 : 0;
    return in.size() > kMaxHeaderBytes ? ParseResult::kBad : ParseResult::kIncomplete;
  }
  if (head_end - start > kMaxHeaderBytes) return ParseResult::kBad;

  req = HttpRequest{};
  std::string_view head = in.substr(start, head_end - start);
  const size_t line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  std::vector<absl::string_view> parts = absl::StrSplit(to_absl(request_line), ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || !absl::StartsWith(parts[2], "HTTP/1.")) {
    return ParseResult::kBad;
  }
  req.method = std::string(parts[0]);
  req.target = std::string(parts[1]);
  req.version = std::string(parts[2]);
  if (line_end != std::string_view::npos) {
    for (absl::string_view line : absl::StrSplit(to_absl(head.substr(line_end + 2)), "\r\n")) {
      const size_t colon = line.find(':');
      if (colon == absl::string_view::npos || colon == 0) return ParseResult::kBad;
      std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)));
      req.headers.emplace_back(std::move(name), std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
    }
  }

  const size_t body_start = head_end + 4;
  const bool wants_continue = equals_ignore_case(req.header("expect"), "100-continue");
  const std::string transfer_encoding = ascii_lower(req.header("transfer-encoding"));
  if (absl::StrContains(transfer_encoding, "chunked")) {
    size_t p = body_start;
    while (true) {
      const size_t eol = in.find("\r\n", p);
      if (eol == std::string_view::npos) {
        if (in.size() - p > kMaxHeaderBytes) return ParseResult::kBad;
        expects_continue = wants_continue;
        return ParseResult::kIncomplete;
      }
      std::string_view size_text = in.substr(p, eol - p);
      size_text = strip_ascii_whitespace(size_text.substr(0, size_text.find(';')));
      uint64_t size = 0;
      if (!absl::SimpleHexAtoi(to_absl(size_text), &size) || size > kMaxBufferedBytes) return ParseResult::kBad;
      if (size == 0) {
        size_t q = eol + 2;  // optional trailers, then an empty line
        while (true) {
          const size_t e = in.find("\r\n", q);
          if (e == std::string_view::npos) return ParseResult::kIncomplete;
          if (e == q) {
            req.consumed = e + 2;
            return ParseResult::kComplete;
          }
          q = e + 2;
        }
      }
      const size_t data = eol + 2;
      if (in.size() < data + size + 2) {
        expects_continue = wants_continue;
        return ParseResult::kIncomplete;
      }
      if (in.substr(data + size, 2) != "\r\n") return ParseResult::kBad;
      req.body.append(in.substr(data, size));
      if (req.body.size() > kMaxBufferedBytes) return ParseResult::kBad;
      p = data + size + 2;
    }
  }

  uint64_t length = 0;
  std::string_view length_text = req.header("content-length");
  if (!length_text.empty() && (!absl::SimpleAtoi(to_absl(length_text), &length) || length > kMaxBufferedBytes)) {
    return ParseResult::kBad;
  }
  if (in.size() - body_start < length) {
    expects_continue = wants_continue;
    return ParseResult::kIncomplete;
  }
  req.body = std::string(in.substr(body_start, length));
  req.consumed = body_start + length;
  return ParseResult::kComplete;
}

// ---------------------------------------------------------------------------
// Response plans.

struct Step {
  enum class Kind { kWrite, kClose, kReset, kHang };
  Kind kind = Kind::kWrite;
  Millis wait{0};
  std::string data;
};

std::string chunk(std::string_view payload) {
  return fmt::format("{:x}\r\n{}\r\n", payload.size(), payload);
}

std::string sse_chunk(std::string_view payload) {
  std::string event;
  event.reserve(payload.size() + 8);
  event += "data: ";
  event += payload;
  event += "\n\n";
  return chunk(event);
}

struct Timer {
  Clock::time_point at;
  uint64_t conn_id;
  uint64_t seq;
  bool operator>(const Timer& other) const { return at > other.at; }
};

}  // namespace

// ---------------------------------------------------------------------------
// Behavior

Behavior Behavior::ok(std::string text) {
  Behavior b;
  b.text = std::move(text);
  return b;
}

Behavior Behavior::error(int status, std::string message, std::string type, std::string code) {
  Behavior b;
  b.status = status;
  b.body = error_body(message, type, code);
  return b;
}

Behavior Behavior::rate_limited(int retry_after_seconds) {
  Behavior b = error(429, "Rate limit reached for requests", "rate_limit_exceeded", "rate_limit_exceeded");
  if (retry_after_seconds >= 0) b.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  return b;
}

Behavior Behavior::context_window_exceeded() {
  return error(400,
               "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 "
               "tokens. Please reduce the length of the messages.",
               "invalid_request_error", "context_length_exceeded");
}

Behavior Behavior::content_policy_violation() {
  return error(400, "Your request was rejected as a result of our safety system.", "invalid_request_error",
               "content_policy_violation");
}

Behavior Behavior::hang() {
  Behavior b;
  b.action = Action::kHang;
  return b;
}

Behavior Behavior::reset() {
  Behavior b;
  b.action = Action::kResetBeforeHeaders;
  return b;
}

Behavior Behavior::streaming(std::string text, int chunks) {
  Behavior b;
  b.stream = true;
  b.text = std::move(text);
  b.stream_chunks = chunks;
  return b;
}

std::string ReceivedRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, to_absl(name))) return v;
  }
  return {};
}

// ---------------------------------------------------------------------------
// Impl

class FakeProvider::Impl {
 public:
  explicit Impl(uint16_t port);
  ~Impl();

  uint16_t port() const { return port_; }

  void set_default(Behavior b) {
    std::lock_guard lock(mu_);
    default_ = std::move(b);
  }
  void enqueue(Behavior b) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(b));
  }
  void set_handler(std::function<Behavior(const ReceivedRequest&)> handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
  }
  void reset() {
    std::lock_guard lock(mu_);
    queue_.clear();
    handler_ = nullptr;
    records_.clear();
    default_ = Behavior::ok();
  }
  std::vector<ReceivedRequest> requests() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  size_t request_count() const {
    std::lock_guard lock(mu_);
    return records_.size();
  }
  size_t connections_accepted() const { return accepted_.load(std::memory_order_relaxed); }
  void drop_connections();

 private:
  struct Conn {
    int fd = -1;
    uint64_t id = 0;
    bool closed = false;
    bool responding = false;     // a request is being answered; later ones wait in `in`
    bool hanging = false;        // answered with silence; only EOF ends it
    bool close_after = false;    // close once the current response is written
    bool sent_continue = false;
    bool waiting_timer = false;
    bool timer_elapsed = false;  // the front step's wait is over
    uint64_t timer_seq = 0;
    uint32_t events = 0;
    std::string in;
    size_t scan_from = 0;
    std::string out;
    size_t out_off = 0;
    std::deque<Step> steps;
  };

  void run();
  void wake();
  void accept_all();
  void on_conn_event(Conn& c, uint32_t events);
  void process_input(Conn& c);
  void on_request(Conn& c, HttpRequest&& req);
  Behavior choose_behavior(const ReceivedRequest& rec);
  void plan_response(Conn& c, const ReceivedRequest& rec, const Behavior& b);
  void plan_stream(Conn& c, const Behavior& b, const RequestFacts& facts, const ReceivedRequest& rec);
  std::string head(int status, const Behavior& b, std::string_view content_type,
                   std::optional<size_t> content_length, bool close) const;
  void advance(Conn& c);
  bool flush(Conn& c);
  void set_events(Conn& c, uint32_t events);
  void close_conn(Conn& c, bool reset);
  void fire_timers();
  int next_timeout_ms() const;
  void close_all();

  // Immutable after construction.
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;

  // Shared with callers.
  // std primitives, not absl: ThreadSanitizer sees them (DEVELOPERS.md).
  mutable std::mutex mu_;
  std::condition_variable drops_cv_;  // signalled when drops_done_ advances
  // Guarded by mu_:
  Behavior default_;
  std::deque<Behavior> queue_;
  std::function<Behavior(const ReceivedRequest&)> handler_;
  std::vector<ReceivedRequest> records_;
  uint64_t drops_requested_ = 0;
  uint64_t drops_done_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> accepted_{0};

  // Loop thread only.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<uint64_t> dead_;  // closed this iteration; erased at its end so references stay valid
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  uint64_t next_conn_id_ = 1;
  uint64_t next_response_id_ = 1;
  bool drop_from_loop_ = false;
  simdjson::dom::parser json_parser_;

  std::thread thread_;
};

FakeProvider::Impl::Impl(uint16_t port) {
  // Thousands of loopback connections need two descriptors each (client and
  // server live in one test process), more than the usual soft limit of 1024.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw_errno("socket");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto fail = [this](const char* what) {
    const int saved = errno;
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    errno = saved;
    throw_errno(what);
  };
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) fail("bind");
  if (listen(listen_fd_, kListenBacklog) != 0) fail("listen");
  socklen_t len = sizeof(addr);
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");
  port_ = ntohs(addr.sin_port);

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) fail("epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) fail("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) fail("epoll_ctl(listen)");
  ev.data.u64 = kWakeTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) fail("epoll_ctl(eventfd)");

  thread_ = std::thread([this] { run(); });
}

FakeProvider::Impl::~Impl() {
  stop_.store(true);
  wake();
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void FakeProvider::Impl::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void FakeProvider::Impl::drop_connections() {
  if (std::this_thread::get_id() == thread_.get_id()) {
    // Called from a handler: the loop closes everything once this event is done.
    drop_from_loop_ = true;
    return;
  }
  std::unique_lock lock(mu_);
  const uint64_t target = ++drops_requested_;
  wake();
  drops_cv_.wait(lock, [this, target] { return drops_done_ >= target; });
}

void FakeProvider::Impl::run() {
  std::vector<epoll_event> events(kMaxEvents);
  while (!stop_.load()) {
    const int n = epoll_wait(epoll_fd_, events.data(), kMaxEvents, next_timeout_ms());
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        accept_all();
      } else if (tag == kWakeTag) {
        uint64_t value = 0;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &value, sizeof(value));
      } else {
        auto it = conns_.find(tag);
        if (it != conns_.end() && !it->second->closed) on_conn_event(*it->second, events[i].events);
      }
    }
    fire_timers();

    uint64_t drop_target = 0;
    {
      std::lock_guard lock(mu_);
      if (drops_done_ < drops_requested_) drop_target = drops_requested_;
    }
    if (drop_target > 0 || drop_from_loop_) {
      drop_from_loop_ = false;
      close_all();
    }
    for (uint64_t id : dead_) conns_.erase(id);
    dead_.clear();
    if (drop_target > 0) {
      std::lock_guard lock(mu_);
      drops_done_ = drop_target;
      drops_cv_.notify_all();
    }
  }
  close_all();
  conns_.clear();
  dead_.clear();
  std::lock_guard lock(mu_);
  drops_done_ = drops_requested_;  // release any drop_connections() racing the destructor
  drops_cv_.notify_all();
}

void FakeProvider::Impl::accept_all() {
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of descriptors: the backlog keeps the rest
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    conn->id = next_conn_id_++;
    conn->events = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = conn->events;
    ev.data.u64 = conn->id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    conns_.emplace(conn->id, std::move(conn));
  }
}

void FakeProvider::Impl::on_conn_event(Conn& c, uint32_t events) {
  if (events & EPOLLERR) {
    close_conn(c, false);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    char buf[kReadChunk];
    const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    if (n == 0) {
      // The client went away (curl closes fully; half-closed clients are not a use case).
      close_conn(c, false);
      return;
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        close_conn(c, false);
        return;
      }
    } else {
      c.in.append(buf, static_cast<size_t>(n));
      if (c.in.size() > kMaxBufferedBytes + kMaxHeaderBytes) {
        close_conn(c, false);
        return;
      }
      if (!c.responding && !c.hanging) process_input(c);
      if (c.closed) return;
    }
  }
  if (events & EPOLLOUT) {
    if (!flush(c)) return;
    if (c.responding && !c.waiting_timer && c.out_off == c.out.size()) advance(c);
  }
}

void FakeProvider::Impl::process_input(Conn& c) {
  while (!c.closed && !c.responding && !c.hanging) {
    HttpRequest req;
    bool expects_continue = false;
    const ParseResult result = parse_http(c.in, c.scan_from, req, expects_continue);
    if (result == ParseResult::kIncomplete) {
      if (expects_continue && !c.sent_continue) {
        c.sent_continue = true;
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
        flush(c);
      }
      return;
    }
    if (result == ParseResult::kBad) {
      Behavior bad = Behavior::error(400, "malformed HTTP request", "invalid_request_error");
      c.responding = true;
      c.close_after = true;
      c.steps.push_back(Step{Step::Kind::kWrite, Millis{0},
                             head(400, bad, "application/json", bad.body.size(), true) + bad.body});
      c.in.clear();
      advance(c);
      return;
    }
    c.in.erase(0, req.consumed);
    c.scan_from = 0;
    c.sent_continue = false;
    c.responding = true;
    on_request(c, std::move(req));
  }
}

void FakeProvider::Impl::on_request(Conn& c, HttpRequest&& req) {
  const std::string connection = ascii_lower(req.header("connection"));
  if (req.version == "HTTP/1.0") {
    c.close_after = !absl::StrContains(connection, "keep-alive");
  } else {
    c.close_after = absl::StrContains(connection, "close");
  }

  ReceivedRequest rec;
  rec.method = std::move(req.method);
  rec.path = std::move(req.target);
  rec.headers = std::move(req.headers);
  rec.body = std::move(req.body);
  rec.received_at = Clock::now();
  rec.connection_id = c.id;

  const Behavior b = choose_behavior(rec);
  plan_response(c, rec, b);
  advance(c);
}

Behavior FakeProvider::Impl::choose_behavior(const ReceivedRequest& rec) {
  std::function<Behavior(const ReceivedRequest&)> handler;
  {
    std::lock_guard lock(mu_);
    records_.push_back(rec);  // recorded before any answer
    if (handler_) {
      handler = handler_;
    } else if (!queue_.empty()) {
      Behavior b = std::move(queue_.front());
      queue_.pop_front();
      return b;
    } else {
      return default_;
    }
  }
  // Outside the lock, so a handler may call back into the provider.
  try {
    return handler(rec);
  } catch (const std::exception& e) {
    return Behavior::error(500, fmt::format("fake provider handler threw: {}", e.what()), "server_error");
  } catch (...) {
    return Behavior::error(500, "fake provider handler threw", "server_error");
  }
}

std::string FakeProvider::Impl::head(int status, const Behavior& b, std::string_view content_type,
                                     std::optional<size_t> content_length, bool close) const {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, reason_phrase(status));
  bool has_content_type = false;
  for (const auto& [name, value] : b.headers) {
    if (absl::EqualsIgnoreCase(name, "content-type")) has_content_type = true;
  }
  if (!has_content_type) fmt::format_to(std::back_inserter(out), "Content-Type: {}\r\n", content_type);
  if (content_length) {
    fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", *content_length);
  } else {
    out += "Transfer-Encoding: chunked\r\n";
  }
  out += close ? "Connection: close\r\n" : "Connection: keep-alive\r\n";
  for (const auto& [name, value] : b.headers) {
    fmt::format_to(std::back_inserter(out), "{}: {}\r\n", name, value);
  }
  out += "\r\n";
  return out;
}

void FakeProvider::Impl::plan_response(Conn& c, const ReceivedRequest& rec, const Behavior& b) {
  using Kind = Step::Kind;
  switch (b.action) {
    case Behavior::Action::kHang:
      c.steps.push_back(Step{Kind::kHang, b.delay, {}});
      return;
    case Behavior::Action::kResetBeforeHeaders:
      c.steps.push_back(Step{Kind::kReset, b.delay, {}});
      return;
    case Behavior::Action::kCloseAfterHeaders:
      c.steps.push_back(Step{Kind::kWrite, b.delay,
                             head(b.status, b, b.stream ? "text/event-stream" : "application/json",
                                  std::nullopt, true)});
      c.steps.push_back(Step{Kind::kClose, Millis{0}, {}});
      return;
    case Behavior::Action::kRespond:
      break;
  }

  const std::string_view path = std::string_view(rec.path).substr(0, rec.path.find('?'));
  const bool post = rec.method == "POST";
  // Azure OpenAI's /openai/deployments/<dep>/... and /openai/v1/... too.
  const bool azure = path.starts_with("/openai/");
  const bool is_chat = post && (path == "/v1/chat/completions" || path == "/chat/completions" ||
                                (azure && path.ends_with("/chat/completions")));
  const bool is_embeddings =
      post && (path == "/v1/embeddings" || path == "/embeddings" || (azure && path.ends_with("/embeddings")));
  const RequestFacts facts = read_request_facts(json_parser_, rec.body);

  int status = b.status;
  std::string body = b.body;
  const bool generate = body.empty() && status == 200;
  // Generated answers need a known path and a readable request.
  const bool stream = b.stream || (generate && is_chat && facts.valid_json && facts.stream);
  const bool needs_generation = stream ? b.events.empty() : generate;
  if (needs_generation && !is_chat && !is_embeddings) {
    status = 404;
    body = error_body(fmt::format("Invalid URL ({} {})", rec.method, path), "invalid_request_error", "");
  } else if (needs_generation && !facts.valid_json) {
    status = 400;
    body = error_body("We could not parse the JSON body of your request: invalid JSON", "invalid_request_error",
                      "");
  } else if (stream) {
    plan_stream(c, b, facts, rec);
    return;
  } else if (generate) {
    const auto created = static_cast<int64_t>(std::time(nullptr));
    const int64_t prompt_tokens = (static_cast<int64_t>(rec.body.size()) + 3) / 4;
    auto out = std::back_inserter(body);
    if (is_embeddings) {
      body += R"({"object":"list","data":[)";
      for (size_t i = 0; i < facts.input_count; ++i) {
        if (i > 0) body += ',';
        fmt::format_to(out, R"({{"object":"embedding","index":{},"embedding":[{:.4f},{:.4f},{:.4f},{:.4f}]}})", i,
                       0.01 * static_cast<double>(i % 100), 0.25, -0.5, 0.125);
      }
      body += R"(],"model":)";
      json::append_json_string(body, facts.model);
      fmt::format_to(out, R"(,"usage":{{"prompt_tokens":{},"total_tokens":{}}}}})", prompt_tokens, prompt_tokens);
    } else {
      const int64_t completion_tokens = count_words(b.text);
      fmt::format_to(out, R"({{"id":"chatcmpl-fake{}","object":"chat.completion","created":{},"model":)",
                     next_response_id_++, created);
      json::append_json_string(body, facts.model);
      body += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
      json::append_json_string(body, b.text);
      fmt::format_to(out,
                     R"(}},"logprobs":null,"finish_reason":"stop"}}],)"
                     R"("usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}}}})",
                     prompt_tokens, completion_tokens, prompt_tokens + completion_tokens);
    }
  }
  if (b.cut_body_after_bytes >= 0) {
    // Announce the whole body, send part of it, hang up: a truncated answer.
    const size_t keep = std::min(static_cast<size_t>(b.cut_body_after_bytes), body.size());
    c.steps.push_back(Step{Kind::kWrite, b.delay,
                           head(status, b, "application/json", body.size(), true) + body.substr(0, keep)});
    c.steps.push_back(Step{Kind::kClose, Millis{0}, {}});
    return;
  }
  c.steps.push_back(
      Step{Kind::kWrite, b.delay, head(status, b, "application/json", body.size(), c.close_after) + body});
}

void FakeProvider::Impl::plan_stream(Conn& c, const Behavior& b, const RequestFacts& facts,
                                     const ReceivedRequest& rec) {
  using Kind = Step::Kind;
  c.steps.push_back(Step{Kind::kWrite, b.delay, head(b.status, b, b.stream_content_type, std::nullopt, c.close_after)});

  // Each entry is one complete HTTP chunk carrying one SSE event.
  std::vector<std::string> events;
  if (!b.events.empty()) {
    for (const std::string& payload : b.events) events.push_back(b.raw_events ? chunk(payload) : sse_chunk(payload));
  } else {
    const auto created = static_cast<int64_t>(std::time(nullptr));
    std::string prefix = fmt::format(R"({{"id":"chatcmpl-fake{}","object":"chat.completion.chunk","created":{},"model":)",
                                     next_response_id_++, created);
    json::append_json_string(prefix, facts.model);
    prefix += R"(,"choices":)";
    events.push_back(
        sse_chunk(prefix + R"([{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})"));
    for (std::string_view part : split_text(b.text, b.stream_chunks)) {
      std::string payload = prefix + R"([{"index":0,"delta":{"content":)";
      json::append_json_string(payload, part);
      payload += R"(},"finish_reason":null}]})";
      events.push_back(sse_chunk(payload));
    }
    events.push_back(sse_chunk(prefix + R"([{"index":0,"delta":{},"finish_reason":"stop"}]})"));
    if (facts.include_usage) {
      const int64_t prompt_tokens = (static_cast<int64_t>(rec.body.size()) + 3) / 4;
      const int64_t completion_tokens = count_words(b.text);
      events.push_back(sse_chunk(
          prefix + fmt::format(R"([],"usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}}}})",
                               prompt_tokens, completion_tokens, prompt_tokens + completion_tokens)));
    }
  }
  if (b.error_after_events >= 0) {
    events.resize(std::min(static_cast<size_t>(b.error_after_events), events.size()));
    std::string payload = R"({"error":{"object":"error","message":)";
    json::append_json_string(payload, fmt::format("fake provider failed mid-stream (code {})", b.error_event_code));
    fmt::format_to(std::back_inserter(payload), R"(,"type":"server_error","param":null,"code":{}}}}})",
                   b.error_event_code);
    events.push_back(sse_chunk(payload));
  }
  if (b.send_done) events.push_back(sse_chunk("[DONE]"));
  if (b.malformed_after_events >= 0) {
    const size_t at = std::min(static_cast<size_t>(b.malformed_after_events), events.size());
    events.insert(events.begin() + static_cast<std::ptrdiff_t>(at), chunk(kMalformedEvent));
  }

  // cut/stall count every event sent, including the malformed one and [DONE].
  for (size_t i = 0; i <= events.size(); ++i) {
    const Millis wait = i == 0 ? Millis{0} : b.event_interval;
    if (b.cut_after_events >= 0 && static_cast<size_t>(b.cut_after_events) == i) {
      c.steps.push_back(Step{Kind::kClose, wait, {}});
      return;
    }
    if (b.stall_after_events >= 0 && static_cast<size_t>(b.stall_after_events) == i) {
      c.steps.push_back(Step{Kind::kHang, wait, {}});
      return;
    }
    if (i == events.size()) break;
    c.steps.push_back(Step{Kind::kWrite, wait, std::move(events[i])});
  }
  c.steps.push_back(Step{Kind::kWrite, Millis{0}, "0\r\n\r\n"});
}

void FakeProvider::Impl::advance(Conn& c) {
  while (!c.closed) {
    if (c.out_off < c.out.size()) return;  // EPOLLOUT resumes once the bytes are out
    if (c.steps.empty()) {
      c.responding = false;
      if (c.close_after) {
        close_conn(c, false);
        return;
      }
      process_input(c);  // a pipelined request may already be buffered
      return;
    }
    Step& step = c.steps.front();
    if (step.wait.count() > 0 && !c.timer_elapsed) {
      c.waiting_timer = true;
      timers_.push(Timer{Clock::now() + step.wait, c.id, ++c.timer_seq});
      return;
    }
    c.timer_elapsed = false;
    switch (step.kind) {
      case Step::Kind::kWrite:
        c.out += step.data;
        c.steps.pop_front();
        if (!flush(c)) return;
        break;
      case Step::Kind::kClose:
        close_conn(c, false);
        return;
      case Step::Kind::kReset:
        close_conn(c, true);
        return;
      case Step::Kind::kHang:
        // Silence until the client leaves; later bytes are read and ignored.
        c.steps.clear();
        c.responding = false;
        c.hanging = true;
        return;
    }
  }
}

bool FakeProvider::Impl::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_events(c, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
      return true;
    } else {
      close_conn(c, false);
      return false;
    }
  }
  c.out.clear();
  c.out_off = 0;
  set_events(c, EPOLLIN | EPOLLRDHUP);
  return true;
}

void FakeProvider::Impl::set_events(Conn& c, uint32_t events) {
  if (c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = c.id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.events = events;
}

void FakeProvider::Impl::close_conn(Conn& c, bool reset) {
  if (c.closed) return;
  if (reset) {
    // Linger 0 turns close() into an RST: the client sees ECONNRESET.
    linger lg{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  ::close(c.fd);
  c.fd = -1;
  c.closed = true;
  c.steps.clear();
  dead_.push_back(c.id);
}

void FakeProvider::Impl::close_all() {
  for (auto& [id, conn] : conns_) close_conn(*conn, false);
}

int FakeProvider::Impl::next_timeout_ms() const {
  if (timers_.empty()) return -1;
  const auto wait = timers_.top().at - Clock::now();
  if (wait <= Clock::duration::zero()) return 0;
  // Round up so a timer never fires early.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

void FakeProvider::Impl::fire_timers() {
  const auto now = Clock::now();
  while (!timers_.empty() && timers_.top().at <= now) {
    const Timer t = timers_.top();
    timers_.pop();
    auto it = conns_.find(t.conn_id);
    if (it == conns_.end()) continue;
    Conn& c = *it->second;
    if (c.closed || !c.waiting_timer || c.timer_seq != t.seq) continue;
    c.waiting_timer = false;
    c.timer_elapsed = true;
    advance(c);
  }
}

// ---------------------------------------------------------------------------
// FakeProvider

FakeProvider::FakeProvider(uint16_t port) : impl_(std::make_unique<Impl>(port)) {}
FakeProvider::~FakeProvider() = default;

uint16_t FakeProvider::port() const { return impl_->port(); }
std::string FakeProvider::base_url() const { return fmt::format("http://127.0.0.1:{}/v1", impl_->port()); }
void FakeProvider::set_default(Behavior behavior) { impl_->set_default(std::move(behavior)); }
void FakeProvider::enqueue(Behavior behavior) { impl_->enqueue(std::move(behavior)); }
void FakeProvider::set_handler(std::function<Behavior(const ReceivedRequest&)> handler) {
  impl_->set_handler(std::move(handler));
}
void FakeProvider::reset() { impl_->reset(); }
std::vector<ReceivedRequest> FakeProvider::requests() const { return impl_->requests(); }
size_t FakeProvider::request_count() const { return impl_->request_count(); }
size_t FakeProvider::connections_accepted() const { return impl_->connections_accepted(); }
void FakeProvider::drop_connections() { impl_->drop_connections(); }

}  // namespace llmux::testing
