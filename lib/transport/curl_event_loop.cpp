// -----------------------------------------------------------------------------
// File: transport/curl_event_loop.cpp
// -----------------------------------------------------------------------------
// The loop thread owns the CURLM, every easy handle, the timer heap and the
// table of active transfers; other threads touch only `queue_` (under `mu_`)
// and wake the loop through an eventfd. One iteration: drain the queue
// (add handles, cancel, add/cancel timers, run posted tasks), run libcurl's
// due timeout, read finished transfers, fire due timers, then wait in
// epoll_wait until a socket is ready, the next curl timeout, a timer or a
// wakeup (at most 1 s), and hand each ready socket to libcurl.
//
// libcurl is driven with curl_multi_socket_action (its socket and timer
// callbacks keep the epoll set and the curl deadline up to date), so the
// work per wakeup is proportional to the sockets that are ready, not to the
// transfers in flight: curl_multi_perform + curl_multi_poll visit every
// transfer on every wakeup (a poll() per transfer inside libcurl before
// 8.x), which made 10,000 slow streams cost ~80 µs of loop CPU per chunk.
//
// Transfers are spread over shards, each its own CURLM with its own
// connection cache, all on the one epoll set: a new shard opens when every
// shard holds kShardTransfers. libcurl (7.88) walks a multi's connection
// cache on every curl_multi_remove_handle that leaves a connection intact
// (up to that connection) and on each idle-connection prune, so one cache of
// 10,000 connections cost O(10,000) per finished call. Below kShardTransfers
// in flight everything is in shard 0, as with one multi handle.
//
// Observers are called on the loop thread with no lock held, so they may
// start, cancel, post and schedule; those calls only enqueue (libcurl forbids
// add/remove from inside its callbacks). Destroying the transport from one of
// its own callbacks is not supported (the destructor joins the loop thread).
//
// Deadline timers are lazily invalidated: a finished transfer leaves its heap
// entries behind, they are skipped when popped, and the heap is compacted
// when stale entries outnumber live ones.
//
// Sockets stay in the epoll set between transfers. libcurl reports a kept-alive
// connection's socket as CURL_POLL_REMOVE when its transfer ends and as
// CURL_POLL_IN again when the next transfer takes the connection from the
// cache: following that literally cost an EPOLL_CTL_DEL and an EPOLL_CTL_ADD
// per call (about 2.3 epoll_ctl per call with 64 in flight, a third of the
// loop's system calls). A connection socket (opened through the loop's
// CURLOPT_OPENSOCKETFUNCTION, so its close is seen through
// CURLOPT_CLOSESOCKETFUNCTION) is instead parked: left registered with its last
// events, and re-armed with no system call when the next transfer wants the
// same events. A parked socket that turns ready (the server closed the idle
// connection) is taken out of the set then, once; closing removes it too.
// Sockets the loop did not open (a resolver's socketpair) are added and
// removed as libcurl says, since their close is not reported.
#include "transport/curl_event_loop.hpp"

#include <curl/curl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "common/notification.hpp"
#include "fmt/format.h"

#include "common/strings.hpp"

namespace llmux::transport {

namespace {

// Deadlines longer than this are treated as "none" (also keeps time_point
// arithmetic away from overflow when callers pass huge values).
constexpr Duration kNoDeadline = std::chrono::hours(24 * 365 * 10);
constexpr int kMaxPollMs = 1000;
constexpr size_t kMaxPooledHandles = 256;
// Stale heap entries tolerated before the heap is compacted.
constexpr size_t kCompactThreshold = 4096;
// Finished transfers' requests kept for recycled_request(): enough for the
// calls in flight of a busy router, and only those whose body buffer is
// ordinary, so that the pool holds at most 64 × 32 KiB of capacity.
constexpr size_t kMaxRecycledRequests = 64;
constexpr size_t kMaxRecycledBody = 32u << 10;
// Transfers one shard (CURLM) takes before the next one opens.
constexpr int kShardTransfers = 1024;
// HTTP/1 transfers in flight to one origin from which a transfer that finds
// no idle connection there opens a new one without asking libcurl to look.
constexpr int kFreshConnectInFlight = 64;

bool has_deadline(Duration d) { return d < kNoDeadline; }

// epoll data of a socket: its shard's index above the descriptor; the
// wakeup eventfd carries kWakeTag.
constexpr uint64_t kWakeTag = ~uint64_t{0};
uint64_t tag(uint32_t shard, curl_socket_t fd) { return (uint64_t{shard} << 32) | static_cast<uint32_t>(fd); }
std::pair<size_t, curl_socket_t> untag(uint64_t data) {
  return {static_cast<size_t>(data >> 32), static_cast<curl_socket_t>(static_cast<uint32_t>(data))};
}
Duration clamp_nonnegative(Duration d) { return d < Duration::zero() ? Duration::zero() : d; }


void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_ALL); });
}

// "HTTP/1.1 200 OK" / "HTTP/2 200" → 200; 0 when malformed.
int parse_status(std::string_view line) {
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos || line.size() < sp + 4) return 0;
  int status = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    const char c = line[i];
    if (c < '0' || c > '9') return 0;
    status = status * 10 + (c - '0');
  }
  return status;
}

TransferError classify(CURLcode code, bool reached_request) {
  switch (code) {
    case CURLE_OK:
      return TransferError::kNone;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    // TLS set-up failures (an untrusted or mismatched certificate, an
    // unreadable CA bundle or client certificate): the request never left.
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
      return TransferError::kConnectFailed;
    case CURLE_OPERATION_TIMEDOUT:
      // Only CURLOPT_CONNECTTIMEOUT_MS is set on the handle: a libcurl timeout
      // before the request went out is the connect deadline.
      return reached_request ? TransferError::kOther : TransferError::kConnectTimeout;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP3:
      return TransferError::kConnectionClosed;
    default:
      return TransferError::kOther;
  }
}

// The environment's proxy settings, read once when the loop is created and
// handed to every handle (CURLOPT_PROXY, CURLOPT_NOPROXY): libcurl otherwise
// reads five variables (getenv walks the whole environment each time) on
// every transfer. The choice is libcurl's own (url.c, detect_proxy): the first
// of <scheme>_proxy (http_proxy only in lower case: a CGI request header can
// set HTTP_PROXY), all_proxy, ALL_PROXY that is set, even empty (empty: no
// proxy); no_proxy or NO_PROXY. Plus upper-case HTTP_PROXY for http:// when
// none of those is set and this is not a CGI process (REQUEST_METHOD unset),
// as Python's urllib, and so LiteLLM, reads it.
struct ProxyEnvironment {
  std::string http;      // for http:// URLs; "" for none
  std::string https;     // for https:// URLs; "" for none
  std::string no_proxy;  // hosts that go direct; "" for none

  static ProxyEnvironment read() {
    auto first_set = [](std::initializer_list<const char*> names) -> std::optional<std::string> {
      for (const char* name : names) {
        if (const char* v = std::getenv(name)) return std::string(v);
      }
      return std::nullopt;
    };
    ProxyEnvironment env;
    if (auto v = first_set({"http_proxy", "all_proxy", "ALL_PROXY"})) {
      env.http = std::move(*v);
    } else if (std::getenv("REQUEST_METHOD") == nullptr) {
      env.http = first_set({"HTTP_PROXY"}).value_or("");
    }
    env.https = first_set({"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}).value_or("");
    env.no_proxy = first_set({"no_proxy", "NO_PROXY"}).value_or("");
    return env;
  }

  // The proxy for `url`; nullptr for a scheme libcurl should decide itself.
  const std::string* for_url(std::string_view url) const {
    if (starts_with_ignore_case(url, "http://")) return &http;
    if (starts_with_ignore_case(url, "https://")) return &https;
    return nullptr;
  }
};

}  // namespace

class CurlEventLoop::Impl {
 public:
  Impl(TransportOptions options, const TimeSource& clock);
  ~Impl();
  const TimeSource& clock() const { return clock_; }

  TransferId start(HttpRequest request, TransferObserver* observer);
  void cancel(TransferId id);
  void post(std::function<void()> task);
  TimerId schedule(Duration delay, std::function<void()> task);
  void cancel_timer(TimerId id);
  bool in_loop_thread() const { return std::this_thread::get_id() == loop_id_; }
  HttpRequest recycled_request();

 private:
  enum class TimerKind : uint8_t { kUser, kFirstByte, kFirstBody, kIdle, kTotal };

  // An easy handle configured for one request profile: URL, method, header
  // lines, TLS files — everything but the body, the connect
  // timeout and the transfer it serves. Pooled handles are reused as they
  // are by a transfer with the same profile (only the per-transfer options
  // are set again), and reset and configured anew for another one, so a
  // deployment's handles stay configured across its calls and an updated
  // deployment (new key, URL, TLS files) gets a handle configured for it.
  struct EasyHandle {
    CURL* easy = nullptr;
    size_t profile_hash = 0;
    // The profile, copied: libcurl keeps pointers into `headers` (through
    // header_nodes) for as long as the handle is configured.
    std::string url;
    std::string method;
    std::vector<std::string> headers;
    std::vector<curl_slist> header_nodes;
    bool verify_tls = true;
    bool has_body = false;  // only part of the profile for non-POST methods
    std::string ca_bundle_path;
    std::string client_cert_path;
    std::string client_key_path;

    bool matches(size_t hash, const HttpRequest& r) const;
  };

  // Per origin (scheme://host:port of the URL): what decides whether a new
  // transfer skips libcurl's search for a reusable connection. libcurl
  // (7.88) walks every connection to the host for each new transfer, in use
  // or not, so with thousands of HTTP/1 streams in flight to one server each
  // start costs O(connections) and a burst of starts O(n²) (about 1 ms per
  // start at 10,000). The loop counts, per origin, the transfers in flight
  // and the connections finished transfers left idle in libcurl's cache (an
  // estimate: libcurl may still close one, which only means a search that
  // finds nothing). With many in flight and none idle, the transfer asks for
  // a fresh connection (CURLOPT_FRESH_CONNECT), the search's only possible
  // outcome anyway. Never for an origin that answered over HTTP/2 or 3,
  // whose connections are shared by transfers in flight.
  struct OriginLoad {
    int in_flight = 0;
    int idle = 0;
    bool multiplexed = false;
  };

  // One CURLM and its connection cache; its sockets sit in the loop's epoll
  // set tagged with the shard's index.
  struct Shard {
    Impl* impl = nullptr;
    uint32_t index = 0;
    CURLM* multi = nullptr;
    int transfers = 0;  // added to `multi` and not yet removed
    // libcurl's next timeout for this multi (CURLMOPT_TIMERFUNCTION), steady clock.
    bool timer_armed = false;
    TimePoint deadline{};
  };

  struct Transfer {
    TransferId id = 0;
    Impl* impl = nullptr;
    Shard* shard = nullptr;          // the multi it was added to
    OriginLoad* origin = nullptr;    // counted in origin->in_flight while set
    HttpRequest request;
    TransferObserver* observer = nullptr;
    std::unique_ptr<EasyHandle> handle;
    bool added = false;              // attached to the multi handle
    bool head_complete = false;      // the final (non-1xx) head ended
    bool head_dispatched = false;    // on_headers called
    bool streaming = false;          // body goes to on_body
    bool got_body = false;           // a body byte arrived (first_body_timeout)
    TransferError fail = TransferError::kNone;  // set by a callback that aborted libcurl
    uint32_t armed = 0;              // heap entries that refer to this transfer
    TimePoint steady_started{};      // the deadlines' origin (steady clock)
    TimePoint last_body{};           // steady clock
    TransferResult result;
    char error_buf[CURL_ERROR_SIZE];
  };

  struct TimerEntry {
    TimePoint when;
    uint64_t seq;  // FIFO among equal deadlines
    uint64_t id;   // TimerId for kUser, TransferId otherwise
    TimerKind kind;
  };
  struct TimerLater {
    bool operator()(const TimerEntry& a, const TimerEntry& b) const {
      return a.when != b.when ? a.when > b.when : a.seq > b.seq;
    }
  };

  struct TimerAdd {
    TimerId id;
    TimePoint when;
    std::function<void()> task;
  };

  // Everything other threads hand to the loop.
  struct Queue {
    std::vector<std::unique_ptr<Transfer>> starts;
    std::vector<TransferId> cancels;
    std::vector<std::function<void()>> posts;
    std::vector<TimerAdd> timer_adds;
    std::vector<TimerId> timer_cancels;
    bool empty() const {
      return starts.empty() && cancels.empty() && posts.empty() && timer_adds.empty() &&
             timer_cancels.empty();
    }
    void swap(Queue& o) {
      starts.swap(o.starts);
      cancels.swap(o.cancels);
      posts.swap(o.posts);
      timer_adds.swap(o.timer_adds);
      timer_cancels.swap(o.timer_cancels);
    }
  };

  // --- any thread ---
  template <class Fn>
  void enqueue(Fn&& fn);

  // --- loop thread only ---
  void run();
  void drain();
  // One pass over the queue; true when it ran posted tasks.
  bool drain_once();
  void add_transfer(std::unique_ptr<Transfer> t);
  // Gives `t` a handle configured for its request (a pooled one with the
  // same profile when there is one) and sets the per-transfer options.
  void setup_handle(Transfer& t);
  void configure_handle(EasyHandle& h, size_t hash, const HttpRequest& r);
  void process_done();
  void fire_timers();
  int poll_timeout_ms();
  // Waits up to `timeout_ms` for sockets, the wakeup or nothing, and hands
  // ready sockets to libcurl.
  void wait_and_dispatch(int timeout_ms);
  // curl_multi_socket_action(CURL_SOCKET_TIMEOUT) on each shard whose deadline passed.
  void run_curl_timeout();
  Shard& shard_for_new_transfer();
  Shard& add_shard();
  void wake();
  void shutdown();
  void push_timer(TimePoint when, uint64_t id, TimerKind kind);
  void arm(Transfer& t, Duration after, TimePoint from, TimerKind kind);
  void maybe_compact();
  void dispatch_headers(Transfer& t);
  // Detaches the transfer, recycles its handle and calls on_complete.
  void complete(Transfer* t, TransferError error, std::string message);
  void complete_done(Transfer* t, CURLcode code);
  void release_handle(std::unique_ptr<EasyHandle> handle);
  // Counts the transfer on its origin and sets CURLOPT_FRESH_CONNECT (OriginLoad).
  void count_origin(Transfer& t);
  void uncount_origin(Transfer& t);

  static int on_socket_cb(CURL* easy, curl_socket_t s, int what, void* user, void* socket_data);
  static curl_socket_t on_open_socket_cb(void* user, curlsocktype purpose, curl_sockaddr* address);
  static int on_close_socket_cb(void* user, curl_socket_t s);
  // Keeps the epoll set in line with what libcurl wants of socket `s` of
  // `shard` (CURL_POLL_IN/OUT/INOUT/REMOVE): see "Sockets stay in the epoll set".
  void watch_socket(Shard& shard, curl_socket_t s, int what);
  void epoll_update(int op, curl_socket_t s, uint32_t events, uint64_t data);
  static int on_timer_cb(CURLM* multi, long timeout_ms, void* user);
  static size_t on_header_cb(char* data, size_t size, size_t n, void* user);
  static size_t on_write_cb(char* data, size_t size, size_t n, void* user);

  const TransportOptions options_;
  const ProxyEnvironment proxy_env_ = ProxyEnvironment::read();
  const TimeSource& clock_;  // stamps results; the timers below run on the steady clock
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd in the epoll set: other threads' wakeup
  // Shard 0 from the start, more as load needs them; never removed. Loop
  // thread only after construction.
  std::vector<std::unique_ptr<Shard>> shards_;

  std::mutex mu_;  // std, not absl: ThreadSanitizer sees it (DEVELOPERS.md)
  Queue queue_;    // guarded by mu_
  // Set when queue_ may hold work; the enqueuer that flips it wakes the loop.
  std::atomic<bool> work_pending_{false};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> next_id_{1};

  // Loop-thread state.
  Queue local_;
  absl::flat_hash_map<TransferId, std::unique_ptr<Transfer>> active_;
  absl::flat_hash_map<TimerId, std::function<void()>> timers_;
  std::vector<TimerEntry> heap_;
  uint64_t timer_seq_ = 0;
  size_t stale_ = 0;  // heap entries whose timer/transfer is gone
  // Idle handles, most recently used last, with their profile hash beside
  // them: a lookup scans contiguous hashes, not the handles.
  struct Pooled {
    size_t hash;
    std::unique_ptr<EasyHandle> handle;
  };
  std::vector<Pooled> pool_;
  // Finished transfers' requests (recycled_request), loop thread only.
  std::vector<HttpRequest> spare_requests_;
  absl::flat_hash_map<std::string, std::unique_ptr<OriginLoad>> origins_;

  // Per descriptor (indexed by fd): what the epoll set holds for it. Loop
  // thread only (and the destructor after the join, when curl_multi_cleanup
  // closes the cached connections).
  struct SocketState {
    bool registered = false;  // in the epoll set, with `events` and `data`
    bool wanted = false;      // libcurl watches it (false: parked or unknown)
    bool tracked = false;     // opened by on_open_socket_cb: its close is reported
    uint32_t events = 0;
    uint64_t data = 0;
  };
  std::vector<SocketState> sockets_;
  SocketState& socket_state(curl_socket_t s) {
    const auto i = static_cast<size_t>(s);
    if (i >= sockets_.size()) sockets_.resize(std::max<size_t>(i + 1, sockets_.size() * 2));
    return sockets_[i];
  }

  std::thread::id loop_id_;
  Notification loop_started_;
  std::thread thread_;
};

CurlEventLoop::Impl::Impl(TransportOptions options, const TimeSource& clock) : options_(options), clock_(clock) {
  global_init_once();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.u64 = kWakeTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake_event);
  add_shard();
  thread_ = std::thread([this] { run(); });
  loop_started_.wait();  // loop_id_ is published before anyone can call in
}

CurlEventLoop::Impl::~Impl() {
  stop_.store(true);
  wake();
  thread_.join();
  // curl_multi_cleanup may still report sockets to on_socket_cb: the epoll set outlives it.
  for (auto& shard : shards_) curl_multi_cleanup(shard->multi);
  close(epoll_fd_);
  close(wake_fd_);
}

void CurlEventLoop::Impl::wake() {
  const uint64_t one = 1;
  // EAGAIN (the counter is saturated) still leaves the eventfd readable.
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
}

template <class Fn>
void CurlEventLoop::Impl::enqueue(Fn&& fn) {
  {
    std::lock_guard lock(mu_);
    fn(queue_);
  }
  // The loop re-checks work_pending_ before it polls, so calls made on the
  // loop thread (from callbacks) need no wakeup syscall.
  if (!work_pending_.exchange(true) && !in_loop_thread()) wake();
}

TransferId CurlEventLoop::Impl::start(HttpRequest request, TransferObserver* observer) {
  auto t = std::make_unique<Transfer>();
  const TransferId id = next_id_.fetch_add(1, std::memory_order_relaxed);
  t->id = id;
  t->impl = this;
  t->request = std::move(request);
  t->observer = observer;
  enqueue([&](Queue& q) { q.starts.push_back(std::move(t)); });
  return id;
}

void CurlEventLoop::Impl::cancel(TransferId id) {
  enqueue([&](Queue& q) { q.cancels.push_back(id); });
}

void CurlEventLoop::Impl::post(std::function<void()> task) {
  enqueue([&](Queue& q) { q.posts.push_back(std::move(task)); });
}

TimerId CurlEventLoop::Impl::schedule(Duration delay, std::function<void()> task) {
  const TimerId id = next_id_.fetch_add(1, std::memory_order_relaxed);
  delay = std::min(clamp_nonnegative(delay), kNoDeadline);
  const TimePoint when = Clock::now() + delay;
  enqueue([&](Queue& q) { q.timer_adds.push_back(TimerAdd{id, when, std::move(task)}); });
  return id;
}

void CurlEventLoop::Impl::cancel_timer(TimerId id) {
  // On the loop thread (a task or callback) drop it at once, so a timer due
  // in the same pass cannot fire after being cancelled. A timer scheduled in
  // this same pass is not in timers_ yet: that case goes through the queue.
  if (in_loop_thread() && timers_.erase(id) > 0) {
    ++stale_;
    return;
  }
  enqueue([&](Queue& q) { q.timer_cancels.push_back(id); });
}

// --- the loop -----------------------------------------------------------------

void CurlEventLoop::Impl::run() {
  // Named for top, gdb and per-thread CPU accounting (benchmarks/e2e/fleet_bench).
  pthread_setname_np(pthread_self(), "llmux-io");
  loop_id_ = std::this_thread::get_id();
  loop_started_.notify();
  while (!stop_.load(std::memory_order_acquire)) {
    drain();
    run_curl_timeout();
    process_done();
    fire_timers();
    if (stop_.load(std::memory_order_acquire)) break;
    wait_and_dispatch(poll_timeout_ms());
    process_done();
  }
  shutdown();
}

CurlEventLoop::Impl::Shard& CurlEventLoop::Impl::add_shard() {
  auto shard = std::make_unique<Shard>();
  shard->impl = this;
  shard->index = static_cast<uint32_t>(shards_.size());
  CURLM* m = curl_multi_init();
  shard->multi = m;
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket_cb);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, shard.get());
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &Impl::on_timer_cb);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, shard.get());
  if (options_.max_connections > 0) curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, options_.max_connections);
  if (options_.max_host_connections > 0) {
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_host_connections);
  }
  curl_multi_setopt(m, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
  shards_.push_back(std::move(shard));
  return *shards_.back();
}

CurlEventLoop::Impl::Shard& CurlEventLoop::Impl::shard_for_new_transfer() {
  // The first shard with room: connections stay concentrated (and reused) in
  // shard 0 until the load needs more.
  for (auto& shard : shards_) {
    if (shard->transfers < kShardTransfers) return *shard;
  }
  return add_shard();
}

void CurlEventLoop::Impl::run_curl_timeout() {
  const TimePoint now = Clock::now();
  for (size_t i = 0; i < shards_.size(); ++i) {
    Shard& shard = *shards_[i];
    if (!shard.timer_armed || shard.deadline > now) continue;
    shard.timer_armed = false;  // on_timer_cb may arm it again from inside
    int running = 0;
    curl_multi_socket_action(shard.multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
}

void CurlEventLoop::Impl::wait_and_dispatch(int timeout_ms) {
  epoll_event events[256];
  const int n = epoll_wait(epoll_fd_, events, 256, timeout_ms);
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events[i];
    if (ev.data.u64 == kWakeTag) {
      uint64_t count = 0;
      [[maybe_unused]] const ssize_t r = read(wake_fd_, &count, sizeof count);
      continue;
    }
    int mask = 0;
    if (ev.events & EPOLLIN) mask |= CURL_CSELECT_IN;
    if (ev.events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
    if (ev.events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
    const auto [shard, fd] = untag(ev.data.u64);
    if (shard >= shards_.size()) continue;
    SocketState& st = socket_state(fd);
    if (!st.wanted) {
      // A parked connection turned ready while idle in libcurl's cache (the
      // server closed it, most likely): level-triggered, it would wake every
      // poll, so it leaves the set. libcurl finds it dead when it next looks.
      if (st.registered && st.data == ev.data.u64) {
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        st.registered = false;
      }
      continue;
    }
    int running = 0;
    curl_multi_socket_action(shards_[shard]->multi, fd, mask, &running);
  }
}

int CurlEventLoop::Impl::on_socket_cb(CURL* /*easy*/, curl_socket_t s, int what, void* user, void* /*socket_data*/) {
  auto* shard = static_cast<Shard*>(user);
  shard->impl->watch_socket(*shard, s, what);
  return 0;
}

void CurlEventLoop::Impl::epoll_update(int op, curl_socket_t s, uint32_t events, uint64_t data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  if (epoll_ctl(epoll_fd_, op, s, &ev) == 0) return;
  // Our record and the kernel's set disagree (a descriptor closed and reused
  // behind libcurl's back): the other operation fixes it.
  if (op == EPOLL_CTL_ADD && errno == EEXIST) epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s, &ev);
  if (op == EPOLL_CTL_MOD && errno == ENOENT) epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s, &ev);
}

void CurlEventLoop::Impl::watch_socket(Shard& shard, curl_socket_t s, int what) {
  SocketState& st = socket_state(s);
  if (what == CURL_POLL_REMOVE) {
    st.wanted = false;
    if (st.tracked) return;  // parked: stays registered until it closes or turns ready
    if (st.registered) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
    st.registered = false;
    return;
  }
  const uint32_t events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  const uint64_t data = tag(shard.index, s);
  st.wanted = true;
  if (st.registered && st.events == events && st.data == data) return;  // a parked socket taken again
  epoll_update(st.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, events, data);
  st.registered = true;
  st.events = events;
  st.data = data;
}

curl_socket_t CurlEventLoop::Impl::on_open_socket_cb(void* user, curlsocktype /*purpose*/, curl_sockaddr* address) {
  // What libcurl does without the callback, plus a note that this
  // descriptor's close will be reported.
  const curl_socket_t s = ::socket(address->family, address->socktype, address->protocol);
  if (s == CURL_SOCKET_BAD) return s;
  SocketState& st = static_cast<Impl*>(user)->socket_state(s);
  st = SocketState{};  // whatever an earlier descriptor of this number left (the kernel dropped it on close)
  st.tracked = true;
  return s;
}

int CurlEventLoop::Impl::on_close_socket_cb(void* user, curl_socket_t s) {
  auto* impl = static_cast<Impl*>(user);
  SocketState& st = impl->socket_state(s);
  // Removed before the close: a duplicate of the descriptor (a fork) would
  // otherwise keep it in the set.
  if (st.registered) epoll_ctl(impl->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
  st = SocketState{};
  return ::close(s);
}

int CurlEventLoop::Impl::on_timer_cb(CURLM* /*multi*/, long timeout_ms, void* user) {
  auto* shard = static_cast<Shard*>(user);
  if (timeout_ms < 0) {
    shard->timer_armed = false;
    return 0;
  }
  shard->timer_armed = true;
  shard->deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  return 0;
}

void CurlEventLoop::Impl::drain() {
  // Tasks posted by other threads usually start a transfer or schedule a
  // timer from inside the task (the router starts its calls that way): take
  // that follow-up work in the same loop turn instead of the next one. A few
  // rounds at most, so a task that keeps posting cannot starve libcurl.
  for (int round = 0; round < 3; ++round) {
    if (!drain_once()) break;
  }
}

bool CurlEventLoop::Impl::drain_once() {
  work_pending_.store(false);
  {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return false;
    local_.swap(queue_);
  }
  const bool ran_tasks = !local_.posts.empty();
  // Order matters: a cancel may target a transfer started in the same batch,
  // and a timer cancel one scheduled in the same batch.
  for (auto& t : local_.starts) add_transfer(std::move(t));
  local_.starts.clear();
  for (TransferId id : local_.cancels) {
    auto it = active_.find(id);
    if (it != active_.end()) complete(it->second.get(), TransferError::kCancelled, "cancelled");
  }
  local_.cancels.clear();
  for (auto& add : local_.timer_adds) {
    timers_.emplace(add.id, std::move(add.task));
    push_timer(add.when, add.id, TimerKind::kUser);
  }
  local_.timer_adds.clear();
  for (TimerId id : local_.timer_cancels) {
    if (timers_.erase(id) > 0) ++stale_;
  }
  local_.timer_cancels.clear();
  // Tasks may post more tasks; those land in queue_ and run next iteration.
  for (auto& task : local_.posts) task();
  local_.posts.clear();
  maybe_compact();
  return ran_tasks;
}

void CurlEventLoop::Impl::add_transfer(std::unique_ptr<Transfer> owned) {
  Transfer* t = owned.get();
  t->steady_started = Clock::now();
  t->result.started = clock_.now();
  active_.emplace(t->id, std::move(owned));
  setup_handle(*t);
  if (t->handle == nullptr) {
    complete(t, TransferError::kOther, "curl_easy_init failed");
    return;
  }
  count_origin(*t);
  Shard& shard = shard_for_new_transfer();
  const CURLMcode mc = curl_multi_add_handle(shard.multi, t->handle->easy);
  if (mc != CURLM_OK) {
    complete(t, TransferError::kOther, fmt::format("curl_multi_add_handle: {}", curl_multi_strerror(mc)));
    return;
  }
  t->added = true;
  t->shard = &shard;
  ++shard.transfers;
  const HttpRequest& r = t->request;
  if (has_deadline(r.first_byte_timeout)) arm(*t, r.first_byte_timeout, t->steady_started, TimerKind::kFirstByte);
  if (has_deadline(r.first_body_timeout)) arm(*t, r.first_body_timeout, t->steady_started, TimerKind::kFirstBody);
  if (has_deadline(r.total_timeout)) arm(*t, r.total_timeout, t->steady_started, TimerKind::kTotal);
}

bool CurlEventLoop::Impl::EasyHandle::matches(size_t hash, const HttpRequest& r) const {
  return profile_hash == hash && url == r.url && method == r.method && headers == r.headers &&
         verify_tls == r.verify_tls && (method == "POST" || has_body == !r.body.empty()) &&
         ca_bundle_path == r.ca_bundle_path && client_cert_path == r.client_cert_path &&
         client_key_path == r.client_key_path;
}

void CurlEventLoop::Impl::setup_handle(Transfer& t) {
  const HttpRequest& r = t.request;
  const bool body_in_profile = r.method != "POST";
  const bool body_flag = body_in_profile && !r.body.empty();
  const size_t hash = absl::Hash<std::tuple<const std::string&, const std::string&, const std::vector<std::string>&,
                                            const bool&, const bool&, const std::string&, const std::string&,
                                            const std::string&>>{}(
      std::tie(r.url, r.method, r.headers, r.verify_tls, body_flag, r.ca_bundle_path, r.client_cert_path,
               r.client_key_path));
  // The most recently used handle of this profile (its connection is the
  // most likely to be warm in libcurl's cache, and its memory in ours).
  for (size_t i = pool_.size(); i-- > 0;) {
    if (pool_[i].hash == hash && pool_[i].handle->matches(hash, r)) {
      t.handle = std::move(pool_[i].handle);
      pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  if (t.handle == nullptr) {
    if (!pool_.empty()) {
      // None configured for this profile: the least recently used one is
      // configured anew.
      t.handle = std::move(pool_.front().handle);
      pool_.erase(pool_.begin());
      curl_easy_reset(t.handle->easy);
    } else {
      CURL* easy = curl_easy_init();
      if (easy == nullptr) return;
      t.handle = std::make_unique<EasyHandle>();
      t.handle->easy = easy;
    }
    configure_handle(*t.handle, hash, r);
  }

  // Per transfer: where events go, the body, the connect timeout.
  CURL* e = t.handle->easy;
  t.error_buf[0] = '\0';
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error_buf);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  if (r.method == "POST" || !r.body.empty()) {
    // The body lives in the Transfer until the handle leaves the multi.
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  }
  long connect_ms = 0;  // libcurl's default
  if (has_deadline(r.connect_timeout)) {
    // 0 would mean libcurl's default (300 s), so the shortest is 1 ms.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(clamp_nonnegative(r.connect_timeout));
    connect_ms = static_cast<long>(std::max<int64_t>(ms.count(), 1));
  }
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
}

void CurlEventLoop::Impl::configure_handle(EasyHandle& h, size_t hash, const HttpRequest& r) {
  CURL* e = h.easy;
  h.profile_hash = hash;
  h.url = r.url;
  h.method = r.method;
  h.headers = r.headers;
  h.verify_tls = r.verify_tls;
  h.has_body = !r.body.empty();
  h.ca_bundle_path = r.ca_bundle_path;
  h.client_cert_path = r.client_cert_path;
  h.client_key_path = r.client_key_path;

  curl_easy_setopt(e, CURLOPT_URL, h.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header_cb);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_write_cb);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
  // Connection sockets are opened and closed through the loop, which keeps
  // them in the epoll set between transfers (see the top of this file).
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::on_open_socket_cb);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::on_close_socket_cb);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);

  // TLS: libcurl verifies peer and host name by default; only a request
  // that asks otherwise (ssl_verify: false) changes that. These options take
  // part in libcurl's connection matching, so a connection opened without
  // verification is never reused by a transfer that wants it.
  if (!h.verify_tls) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!h.ca_bundle_path.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, h.ca_bundle_path.c_str());
  if (!h.client_cert_path.empty()) curl_easy_setopt(e, CURLOPT_SSLCERT, h.client_cert_path.c_str());
  if (!h.client_key_path.empty()) curl_easy_setopt(e, CURLOPT_SSLKEY, h.client_key_path.c_str());
  // Proxies as the environment said when the loop was created
  // (ProxyEnvironment), set so that libcurl reads no variable per transfer.
  if (const std::string* proxy = proxy_env_.for_url(h.url)) {
    if (proxy->empty()) {
      // No proxy: "no host uses one" also spares the copy of an empty
      // CURLOPT_PROXY libcurl would make per transfer.
      curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    } else {
      curl_easy_setopt(e, CURLOPT_PROXY, proxy->c_str());
      curl_easy_setopt(e, CURLOPT_NOPROXY, proxy_env_.no_proxy.c_str());
    }
  }

  if (options_.http2 && starts_with_ignore_case(h.url, "https://")) {
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // Wait for an h2 connection being set up instead of opening parallel ones.
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  }

  if (h.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
  } else if (h.method == "GET" && !h.has_body) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (h.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, h.method.c_str());
  }

  // The header list is built over the handle's own copy of the lines:
  // libcurl only reads it, so no per-header strdup as curl_slist_append
  // would do.
  static char kNoExpect[] = "Expect:";  // no 100-continue round trip for large bodies
  std::vector<curl_slist>& nodes = h.header_nodes;
  nodes.resize(h.headers.size() + 1);
  for (size_t i = 0; i < h.headers.size(); ++i) {
    nodes[i].data = h.headers[i].data();
    nodes[i].next = &nodes[i + 1];
  }
  nodes.back().data = kNoExpect;
  nodes.back().next = nullptr;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, nodes.data());
}

void CurlEventLoop::Impl::process_done() {
  for (size_t i = 0; i < shards_.size(); ++i) {
    int remaining = 0;
    while (CURLMsg* msg = curl_multi_info_read(shards_[i]->multi, &remaining)) {
      if (msg->msg != CURLMSG_DONE) continue;
      char* priv = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      if (priv != nullptr) complete_done(reinterpret_cast<Transfer*>(priv), msg->data.result);
    }
  }
}

void CurlEventLoop::Impl::complete_done(Transfer* t, CURLcode code) {
  if (t->fail != TransferError::kNone) {
    // A callback aborted libcurl; its reason beats libcurl's "write error".
    const TransferError fail = t->fail;
    std::string message = std::move(t->result.error_message);
    t->result.curl_code = code;
    complete(t, fail, std::move(message));
    return;
  }
  t->result.curl_code = code;
  if (code == CURLE_OK) {
    complete(t, TransferError::kNone, {});
    return;
  }
  curl_off_t pretransfer = 0;
  curl_easy_getinfo(t->handle->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  const TransferError error = classify(code, pretransfer > 0);
  std::string message = t->error_buf[0] != '\0' ? std::string(t->error_buf) : curl_easy_strerror(code);
  if (error == TransferError::kConnectTimeout && has_deadline(t->request.connect_timeout)) {
    message = fmt::format("{} ({})", deadline_message(Deadline::kConnect, t->request.connect_timeout), message);
  }
  complete(t, error, std::move(message));
}

void CurlEventLoop::Impl::complete(Transfer* t, TransferError error, std::string message) {
  TransferResult& result = t->result;
  result.error = error;
  result.error_message = std::move(message);
  result.finished = clock_.now();
  if (t->handle != nullptr) {
    CURL* easy = t->handle->easy;
    if (result.status == 0) {
      long code = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
      result.status = static_cast<int>(code);
    }
    // Reused = this transfer got a connection (the request went out) without
    // opening one itself.
    long connects = 0;
    curl_off_t pretransfer = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    result.connection_reused =
        t->added && connects == 0 && (pretransfer > 0 || result.first_byte != TimePoint{});
    long version = CURL_HTTP_VERSION_NONE;
    curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
    switch (version) {
      case CURL_HTTP_VERSION_1_0: result.http_version = 10; break;
      case CURL_HTTP_VERSION_1_1: result.http_version = 11; break;
      case CURL_HTTP_VERSION_2_0: result.http_version = 20; break;
      case CURL_HTTP_VERSION_3: result.http_version = 30; break;
      default: result.http_version = 0; break;
    }
    if (t->added) {
      curl_multi_remove_handle(t->shard->multi, easy);
      --t->shard->transfers;
      t->shard = nullptr;
    }
    uncount_origin(*t);
    release_handle(std::move(t->handle));
  }
  // The head is reported before completion when it arrived in full.
  const bool head_pending = t->head_complete && !t->head_dispatched;
  stale_ += t->armed;
  std::unique_ptr<Transfer> owned;
  if (auto it = active_.find(t->id); it != active_.end()) {
    owned = std::move(it->second);
    active_.erase(it);
  }
  if (head_pending) {
    t->head_dispatched = true;
    t->observer->on_headers(result.status, result.headers);
  }
  // No internal lock is held here: the observer may start, cancel, post.
  t->observer->on_complete(std::move(result));
  // The handle has left the multi (libcurl no longer reads the body): the
  // request's buffers can carry the next one.
  if (spare_requests_.size() < kMaxRecycledRequests && t->request.body.capacity() <= kMaxRecycledBody) {
    spare_requests_.push_back(std::move(t->request));
  }
}

HttpRequest CurlEventLoop::Impl::recycled_request() {
  // The thread first: the pool is the loop thread's alone.
  if (!in_loop_thread() || spare_requests_.empty()) return {};
  HttpRequest r = std::move(spare_requests_.back());
  spare_requests_.pop_back();
  r.reset_keeping_capacity();
  return r;
}

void CurlEventLoop::Impl::dispatch_headers(Transfer& t) {
  t.head_dispatched = true;
  const int status = t.result.status;
  t.streaming = t.request.stream_body && status >= 200 && status < 300;
  if (t.request.stream_body && has_deadline(t.request.idle_timeout)) {
    t.last_body = Clock::now();
    arm(t, t.request.idle_timeout, t.last_body, TimerKind::kIdle);
  }
  t.observer->on_headers(status, t.result.headers);
}

size_t CurlEventLoop::Impl::on_header_cb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  TransferResult& r = t->result;
  if (r.first_byte == TimePoint{}) r.first_byte = t->impl->clock_.now();
  std::string_view line(data, len);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
    // A new status line (after 1xx): start the head over.
    r.status = parse_status(line);
    r.headers.clear();
    r.headers.reserve(16);  // typical LLM API heads carry 8-15 headers: one allocation
    t->head_complete = false;
    return len;
  }
  if (t->head_complete) return len;  // trailers
  if (line.empty()) {
    if (r.status >= 200) {
      t->head_complete = true;
      if (!t->head_dispatched) t->impl->dispatch_headers(*t);
    }
    return len;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  r.headers.emplace_back(ascii_lower(strip_ascii_whitespace(line.substr(0, colon))),
                         std::string(strip_ascii_whitespace(line.substr(colon + 1))));
  return len;
}

size_t CurlEventLoop::Impl::on_write_cb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (!t->head_dispatched) {
    t->head_complete = true;
    t->impl->dispatch_headers(*t);
  }
  t->got_body = true;
  if (t->streaming) {
    t->last_body = Clock::now();
    if (!t->observer->on_body(std::string_view(data, len))) {
      t->fail = TransferError::kAborted;
      t->result.error_message = "aborted by the body consumer";
      return CURL_WRITEFUNC_ERROR;
    }
    return len;
  }
  std::string& body = t->result.body;
  if (body.size() + len > t->impl->options_.max_buffered_body) {
    t->fail = TransferError::kResponseTooLarge;
    t->result.error_message =
        fmt::format("response body exceeds {} bytes", t->impl->options_.max_buffered_body);
    return CURL_WRITEFUNC_ERROR;
  }
  if (t->request.stream_body) t->last_body = Clock::now();
  body.append(data, len);
  return len;
}

// --- timers -------------------------------------------------------------------

void CurlEventLoop::Impl::push_timer(TimePoint when, uint64_t id, TimerKind kind) {
  heap_.push_back(TimerEntry{when, timer_seq_++, id, kind});
  std::push_heap(heap_.begin(), heap_.end(), TimerLater{});
}

void CurlEventLoop::Impl::arm(Transfer& t, Duration after, TimePoint from, TimerKind kind) {
  ++t.armed;  // counted as stale if the transfer finishes first
  push_timer(from + clamp_nonnegative(after), t.id, kind);
}

void CurlEventLoop::Impl::maybe_compact() {
  if (stale_ < kCompactThreshold || stale_ * 2 < heap_.size()) return;
  auto dead = [this](const TimerEntry& e) {
    return e.kind == TimerKind::kUser ? !timers_.contains(e.id) : !active_.contains(e.id);
  };
  heap_.erase(std::remove_if(heap_.begin(), heap_.end(), dead), heap_.end());
  std::make_heap(heap_.begin(), heap_.end(), TimerLater{});
  stale_ = 0;
}

void CurlEventLoop::Impl::fire_timers() {
  if (heap_.empty()) return;
  const TimePoint now = Clock::now();
  while (!heap_.empty() && heap_.front().when <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), TimerLater{});
    const TimerEntry e = heap_.back();
    heap_.pop_back();
    if (e.kind == TimerKind::kUser) {
      auto it = timers_.find(e.id);
      if (it == timers_.end()) {
        if (stale_ > 0) --stale_;
        continue;
      }
      std::function<void()> task = std::move(it->second);
      timers_.erase(it);
      task();
      continue;
    }
    auto it = active_.find(e.id);
    if (it == active_.end()) {
      if (stale_ > 0) --stale_;
      continue;
    }
    Transfer* t = it->second.get();
    --t->armed;
    const HttpRequest& r = t->request;
    switch (e.kind) {
      case TimerKind::kFirstByte:
        if (t->result.first_byte == TimePoint{}) {
          complete(t, TransferError::kFirstByteTimeout,
                   deadline_message(Deadline::kFirstByte, r.first_byte_timeout));
        }
        break;
      case TimerKind::kFirstBody:
        if (!t->got_body) {
          complete(t, TransferError::kFirstByteTimeout,
                   deadline_message(Deadline::kFirstBody, r.first_body_timeout));
        }
        break;
      case TimerKind::kIdle: {
        // Re-armed lazily: body callbacks only record the time.
        if (t->last_body + clamp_nonnegative(r.idle_timeout) > now) {
          arm(*t, r.idle_timeout, t->last_body, TimerKind::kIdle);
        } else {
          complete(t, TransferError::kIdleTimeout,
                   deadline_message(Deadline::kIdle, r.idle_timeout));
        }
        break;
      }
      case TimerKind::kTotal:
        complete(t, TransferError::kTotalTimeout,
                 deadline_message(Deadline::kTotal, r.total_timeout));
        break;
      case TimerKind::kUser:
        break;
    }
  }
  maybe_compact();
}

int CurlEventLoop::Impl::poll_timeout_ms() {
  if (work_pending_.load()) return 0;
  long timeout = kMaxPollMs;
  const TimePoint now = Clock::now();
  // Rounded up: waking early would only spin until the deadline.
  auto ms_until = [&](TimePoint when) {
    const Duration wait = when - now;
    return wait <= Duration::zero() ? 0L
                                    : static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
  };
  for (const auto& shard : shards_) {
    if (shard->timer_armed) timeout = std::min(timeout, ms_until(shard->deadline));
  }
  if (!heap_.empty()) timeout = std::min(timeout, ms_until(heap_.front().when));
  return static_cast<int>(timeout);
}

// --- shutdown -----------------------------------------------------------------

void CurlEventLoop::Impl::shutdown() {
  // Completions and tasks may start transfers or post more work: repeat until
  // nothing is left. Everything new is cancelled at once; timers never run.
  for (;;) {
    work_pending_.store(false);
    {
      std::lock_guard lock(mu_);
      local_.swap(queue_);
    }
    if (local_.empty() && active_.empty()) break;
    for (auto& owned : local_.starts) {
      Transfer* t = owned.get();
      t->result.started = clock_.now();
      active_.emplace(t->id, std::move(owned));
    }
    local_.starts.clear();
    local_.cancels.clear();
    local_.timer_adds.clear();
    local_.timer_cancels.clear();
    std::vector<Transfer*> doomed;
    doomed.reserve(active_.size());
    for (auto& [id, t] : active_) doomed.push_back(t.get());
    for (Transfer* t : doomed) complete(t, TransferError::kCancelled, "transport shut down");
    for (auto& task : local_.posts) task();
    local_.posts.clear();
  }
  heap_.clear();
  timers_.clear();
  for (auto& p : pool_) curl_easy_cleanup(p.handle->easy);
  pool_.clear();
}

// --- connection reuse per origin -------------------------------------------------

void CurlEventLoop::Impl::count_origin(Transfer& t) {
  std::string_view url = t.request.url;
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  const std::string_view key = url.substr(0, path);
  auto it = origins_.find(absl::string_view(key.data(), key.size()));  // Debian's absl::string_view is its own type
  if (it == origins_.end()) it = origins_.emplace(std::string(key), std::make_unique<OriginLoad>()).first;
  OriginLoad& o = *it->second;
  bool fresh = false;
  if (o.idle > 0) {
    --o.idle;  // libcurl's search will find it
  } else {
    fresh = !o.multiplexed && o.in_flight >= kFreshConnectInFlight;
  }
  curl_easy_setopt(t.handle->easy, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
  ++o.in_flight;
  t.origin = &o;
}

void CurlEventLoop::Impl::uncount_origin(Transfer& t) {
  OriginLoad* o = t.origin;
  if (o == nullptr) return;
  t.origin = nullptr;
  --o->in_flight;
  if (t.result.http_version >= 20) {
    o->multiplexed = true;
    o->idle = 0;
  } else if (t.result.error == TransferError::kNone && t.result.http_version != 0) {
    ++o->idle;  // a complete HTTP/1 exchange leaves its connection in libcurl's cache
  }
  o->idle = std::min(o->idle, o->in_flight + kFreshConnectInFlight * 4);
}

// --- easy handle pool -----------------------------------------------------------

void CurlEventLoop::Impl::release_handle(std::unique_ptr<EasyHandle> handle) {
  // Kept configured (no curl_easy_reset): the next transfer of the same
  // profile only sets its own options. Its pointers into the finished
  // transfer (private, error buffer, body) are set again before any use.
  if (pool_.size() >= kMaxPooledHandles) {
    curl_easy_cleanup(handle->easy);
    return;
  }
  const size_t hash = handle->profile_hash;
  pool_.push_back(Pooled{hash, std::move(handle)});
}

// --- public facade --------------------------------------------------------------

CurlEventLoop::CurlEventLoop(TransportOptions options, const TimeSource* clock)
    : impl_(std::make_unique<Impl>(options, clock ? *clock : TimeSource::steady())) {}
CurlEventLoop::~CurlEventLoop() = default;

const TimeSource& CurlEventLoop::clock() const { return impl_->clock(); }
TransferId CurlEventLoop::start_transfer(HttpRequest request, TransferObserver* observer) {
  return impl_->start(std::move(request), observer);
}
void CurlEventLoop::cancel_transfer(TransferId id) { impl_->cancel(id); }
HttpRequest CurlEventLoop::recycled_request() { return impl_->recycled_request(); }
void CurlEventLoop::post(std::function<void()> task) { impl_->post(std::move(task)); }
TimerId CurlEventLoop::schedule(Duration delay, std::function<void()> task) {
  return impl_->schedule(delay, std::move(task));
}
void CurlEventLoop::cancel_timer(TimerId id) { impl_->cancel_timer(id); }
bool CurlEventLoop::in_loop_thread() const { return impl_->in_loop_thread(); }

}  // namespace llmux::transport
