// -----------------------------------------------------------------------------
// File: state/redis_link.cpp
// -----------------------------------------------------------------------------
// The link thread runs a poll() loop over an eventfd (callers' wakeups) and up
// to three sockets: the command connection, the pub/sub connection and, while
// resolving the master, one sentinel. Sockets are our own (non-blocking,
// close-on-exec, TCP_NODELAY); hiredis parses the replies (redisReader). We
// do not use hiredis' contexts: its 0.14 connect leaves descriptors inheritable
// by child processes and has no per-command deadline, and the reply order is
// simplest to keep ourselves: every connection has one FIFO of what it waits
// for (login steps, pings, subscriptions, user commands), each entry stamped
// with the time it was handed to the socket.
//
// Callers format RESP straight into `pending_out_` under `mu_` and wake the
// thread only when that buffer was empty; the thread swaps the buffer out
// under the lock, so a burst of commands becomes one write().
//
// No lock is held while a callback or the observer runs.
#include "state/redis_link.hpp"

#include <hiredis/hiredis.h>

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstddef>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <system_error>
#include <thread>
#include <utility>

namespace llmux::state {

// RedisEndpoint::describe() lives with the settings that build endpoints (redis_settings.cpp).

namespace {

using std::chrono::milliseconds;

std::string ms_text(Duration d) {
  return fmt::format("{} ms", std::chrono::duration_cast<milliseconds>(d).count());
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// RESP: "*<argc>\r\n" then "$<len>\r\n<bytes>\r\n" per argument.
void append_length(std::string& out, char tag, size_t n) {
  char digits[24];
  digits[0] = tag;
  char* end = std::to_chars(digits + 1, digits + sizeof digits - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(digits, end);
}

template <class Range>
void append_command(std::string& out, const Range& argv) {
  append_length(out, '*', std::size(argv));
  for (const auto& a : argv) {
    const std::string_view s(a);
    append_length(out, '$', s.size());
    out.append(s.data(), s.size());
    out.append("\r\n", 2);
  }
}

RedisReply to_reply(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(to_reply(*r.element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

std::string_view reply_text(const redisReply& r) {
  return r.str != nullptr ? std::string_view(r.str, r.len) : std::string_view();
}

bool is_error(const redisReply& r) { return r.type == REDIS_REPLY_ERROR; }

// Error replies that mean "this server cannot serve us now" rather than "this
// command is wrong": a replica (READONLY), a replica cut from its master
// (MASTERDOWN), a server loading its data set (LOADING), a login that is gone
// (NOAUTH). The link is dropped and rebuilt (through sentinel when configured).
bool is_server_unavailable(const redisReply& r) {
  if (!is_error(r)) return false;
  const std::string_view text = reply_text(r);
  for (std::string_view prefix : {"READONLY", "LOADING", "MASTERDOWN", "NOAUTH"}) {
    if (text.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// The first element of an array reply, as text ("message", "subscribe", ...).
std::string_view array_head(const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements == 0 || r.element[0]->type != REDIS_REPLY_STRING) return {};
  return reply_text(*r.element[0]);
}

// Replaces every occurrence of `secret` in `text` (defence in depth: Redis'
// own messages do not echo passwords, but a reason must never carry one).
void scrub(std::string& text, std::string_view secret) {
  if (secret.empty()) return;
  constexpr std::string_view kMask = "***";
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + kMask.size())) {
    text.replace(pos, secret.size(), kMask);
  }
}

struct UniqueReply {
  void operator()(void* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, UniqueReply>;

// What a connection waits for, in the order the server will answer.
enum class Expect : uint8_t {
  kUser,           // a caller's command
  kAuth,
  kSelect,
  kSetName,
  kRole,
  kPing,
  kSubscribe,      // one confirmation per channel
  kSentinelAuth,
  kSentinelQuery,  // SENTINEL get-master-addr-by-name
};

std::string_view step_name(Expect e) {
  switch (e) {
    case Expect::kAuth: return "AUTH";
    case Expect::kSelect: return "SELECT";
    case Expect::kSetName: return "CLIENT SETNAME";
    case Expect::kRole: return "ROLE";
    case Expect::kPing: return "PING";
    case Expect::kSubscribe: return "SUBSCRIBE";
    case Expect::kSentinelAuth: return "AUTH (sentinel)";
    case Expect::kSentinelQuery: return "SENTINEL get-master-addr-by-name";
    case Expect::kUser: break;
  }
  return "command";
}

struct Entry {
  Expect kind;
  TimePoint sent_at;
  RedisCallback callback;  // kUser only; may be empty (fire and forget)
};

// One non-blocking socket to a Redis (or sentinel) server with its reply
// parser, output buffer and FIFO of expected replies. Link thread only.
class Connection {
 public:
  enum class State { kClosed, kConnecting, kEstablished };

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { close(); }

  State state() const { return state_; }
  bool open() const { return state_ != State::kClosed; }
  int fd() const { return fd_; }
  bool wants_write() const { return state_ == State::kConnecting || out_offset_ < out.size(); }

  // Resolves the address and starts connecting. On failure returns false
  // with `error` set.
  bool start(const std::string& host, int port, const std::string& unix_path, TimePoint deadline,
             std::string& error) {
    close();
    addresses_.clear();
    next_address_ = 0;
    if (!unix_path.empty()) {
      Address a;
      auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
      if (unix_path.size() >= sizeof(un->sun_path)) {
        error = "unix socket path too long";
        return false;
      }
      un->sun_family = AF_UNIX;
      std::memcpy(un->sun_path, unix_path.data(), unix_path.size());
      a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + unix_path.size() + 1);
      addresses_.push_back(a);
    } else {
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* found = nullptr;
      const std::string service = std::to_string(port);
      // May block on DNS: runs on the link thread, never on a caller's.
      const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      if (rc != 0) {
        error = fmt::format("cannot resolve {}: {}", host, gai_strerror(rc));
        return false;
      }
      for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
        Address a;
        std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
        a.length = ai->ai_addrlen;
        addresses_.push_back(a);
      }
      freeaddrinfo(found);
    }
    connect_deadline = deadline;
    return connect_next(error);
  }

  // After POLLOUT/POLLERR while connecting. Returns false with `error` set when
  // every address failed; true when established or still trying (state()).
  bool finish_connect(TimePoint deadline, std::string& error) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) {
      established();
      return true;
    }
    if (err == EINPROGRESS || err == EALREADY) return true;
    last_connect_error_ = errno_text(err);
    close_socket();
    connect_deadline = deadline;
    return connect_next(error);
  }

  // Writes as much of `out` as the socket takes. False with `error` on failure.
  bool flush(std::string& error) {
    while (out_offset_ < out.size()) {
      const ssize_t n = ::send(fd_, out.data() + out_offset_, out.size() - out_offset_, MSG_NOSIGNAL);
      if (n > 0) {
        out_offset_ += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      error = fmt::format("write failed: {}", errno_text(n < 0 ? errno : EPIPE));
      return false;
    }
    if (out_offset_ == out.size()) {
      out.clear();
      out_offset_ = 0;
    } else if (out_offset_ >= (1u << 20)) {
      out.erase(0, out_offset_);  // keep a slow socket's buffer from only growing
      out_offset_ = 0;
    }
    return true;
  }

  // Reads what is available into the reply parser. False with `error` when
  // the server closed the connection or the read failed.
  bool read(std::string& error) {
    for (int round = 0; round < 8; ++round) {
      const ssize_t n = ::recv(fd_, read_buffer_, sizeof read_buffer_, 0);
      if (n > 0) {
        if (redisReaderFeed(reader_, read_buffer_, static_cast<size_t>(n)) != REDIS_OK) {
          error = fmt::format("protocol error: {}", reader_->errstr);
          return false;
        }
        if (static_cast<size_t>(n) < sizeof read_buffer_) return true;
        continue;
      }
      if (n == 0) {
        error = "connection closed by the server";
        return false;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      error = fmt::format("read failed: {}", errno_text(errno));
      return false;
    }
    return true;
  }

  // The next complete reply, or null. False with `error` on a protocol error.
  bool next_reply(ReplyPtr& reply, std::string& error) {
    void* r = nullptr;
    if (redisReaderGetReply(reader_, &r) != REDIS_OK) {
      error = fmt::format("protocol error: {}", reader_->errstr);
      return false;
    }
    reply.reset(static_cast<redisReply*>(r));
    return true;
  }

  // Queues a command of the link's own (login, ping, ...).
  void send(Expect kind, std::initializer_list<std::string_view> argv, TimePoint now) {
    append_command(out, argv);
    expected.push_back(Entry{kind, now, {}});
    last_activity = now;
  }

  // Closes the socket; `expected` is left for the caller to fail.
  void close() {
    close_socket();
    state_ = State::kClosed;
    out.clear();
    out_offset_ = 0;
    if (reader_ != nullptr) {
      redisReaderFree(reader_);
      reader_ = nullptr;
    }
  }

  std::string out;             // bytes not yet written
  std::deque<Entry> expected;  // what the server will answer, in order
  TimePoint connect_deadline{};
  TimePoint last_activity{};   // last command sent or reply read

 private:
  struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
  };

  bool connect_next(std::string& error) {
    while (next_address_ < addresses_.size()) {
      const Address& a = addresses_[next_address_++];
      const int family = a.storage.ss_family;
      fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd_ < 0) {
        last_connect_error_ = errno_text(errno);
        continue;
      }
      if (family == AF_INET || family == AF_INET6) {
        const int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      int rc;
      do {
        rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&a.storage), a.length);
      } while (rc != 0 && errno == EINTR);
      if (rc == 0) {
        established();
        return true;
      }
      if (errno == EINPROGRESS) {
        state_ = State::kConnecting;
        return true;
      }
      last_connect_error_ = errno_text(errno);
      close_socket();
    }
    error = fmt::format("connect failed: {}",
                        last_connect_error_.empty() ? std::string("no address") : last_connect_error_);
    state_ = State::kClosed;
    return false;
  }

  void established() {
    state_ = State::kEstablished;
    if (reader_ == nullptr) reader_ = redisReaderCreate();
  }

  void close_socket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  State state_ = State::kClosed;
  int fd_ = -1;
  redisReader* reader_ = nullptr;
  size_t out_offset_ = 0;
  std::vector<Address> addresses_;
  size_t next_address_ = 0;
  std::string last_connect_error_;
  char read_buffer_[64 * 1024];
};

Duration at_least_1ms(Duration d) { return std::max<Duration>(d, milliseconds(1)); }

RedisLinkOptions normalized(RedisLinkOptions o) {
  o.connect_timeout = at_least_1ms(o.connect_timeout);
  o.command_timeout = at_least_1ms(o.command_timeout);
  o.reconnect_backoff_initial = at_least_1ms(o.reconnect_backoff_initial);
  o.reconnect_backoff_max = std::max(o.reconnect_backoff_max, o.reconnect_backoff_initial);
  o.idle_ping_interval = at_least_1ms(o.idle_ping_interval);
  return o;
}

class RedisLinkImpl;
// The link whose thread this is (callers on it need no wakeup syscall).
thread_local const RedisLinkImpl* tls_link_thread_owner = nullptr;

class RedisLinkImpl final : public RedisLink {
 public:
  RedisLinkImpl(RedisLinkOptions options, RedisLinkObserver* observer)
      : options_(normalized(std::move(options))),
        where_(options_.endpoint.describe()),
        observer_(observer),
        random_(std::random_device{}()) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    down_message_ = fmt::format("Redis {} is not connected yet", where_);
    thread_ = std::thread([this] { run(); });
  }

  ~RedisLinkImpl() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      accepting_ = false;
    }
    wake();
    thread_.join();
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  void command(std::initializer_list<std::string_view> argv, RedisCallback callback) override {
    enqueue(std::span<const std::string_view>(argv.begin(), argv.size()), std::move(callback));
  }

  void command(const std::vector<std::string>& argv, RedisCallback callback) override {
    enqueue(argv, std::move(callback));
  }

  void subscribe(std::string channel) override {
    bool wake_thread = false;
    {
      std::lock_guard lock(mu_);
      if (stopping_ || std::find(channels_.begin(), channels_.end(), channel) != channels_.end()) return;
      channels_.push_back(channel);
      wake_thread = new_channels_.empty();
      new_channels_.push_back(std::move(channel));
    }
    if (wake_thread && tls_link_thread_owner != this) wake();
  }

  bool up() const override { return up_.load(std::memory_order_acquire); }

  RedisLinkStats stats() const override {
    RedisLinkStats s;
    s.commands_sent = commands_sent_.load(std::memory_order_relaxed);
    s.commands_failed = commands_failed_.load(std::memory_order_relaxed);
    s.commands_dropped = commands_dropped_.load(std::memory_order_relaxed);
    s.connects = connects_.load(std::memory_order_relaxed);
    s.connect_failures = connect_failures_.load(std::memory_order_relaxed);
    s.disconnects = disconnects_.load(std::memory_order_relaxed);
    s.messages_received = messages_received_.load(std::memory_order_relaxed);
    s.up = up();
    return s;
  }

 private:
  enum class Phase { kWaiting, kResolving, kConnecting, kUp };

  // ---- any thread ----

  template <class Range>
  void enqueue(const Range& argv, RedisCallback callback) {
    if (std::size(argv) == 0) {
      answer(callback, Error(ErrorKind::kInvalidArgument, "Redis command with no arguments"));
      return;
    }
    bool wake_thread = false;
    {
      std::unique_lock lock(mu_);
      if (accepting_) {
        wake_thread = pending_out_.empty();
        append_command(pending_out_, argv);
        pending_callbacks_.push_back(std::move(callback));
      } else if (!callback) {
        lock.unlock();
        commands_dropped_.fetch_add(1, std::memory_order_relaxed);  // nobody to answer: no message built
        return;
      } else {
        const ErrorKind kind = stopping_ ? ErrorKind::kCancelled : ErrorKind::kServiceUnavailable;
        std::string message = stopping_ ? std::string("Redis link stopped") : down_message_;
        lock.unlock();
        answer(callback, Error(kind, std::move(message)));
        return;
      }
    }
    if (wake_thread && tls_link_thread_owner != this) wake();
  }

  void wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  // Fails one command: its callback gets `error`, or it is counted as dropped.
  void answer(RedisCallback& callback, Error error) {
    if (callback) {
      commands_failed_.fetch_add(1, std::memory_order_relaxed);
      callback(std::move(error));
    } else {
      commands_dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // ---- link thread ----

  void run() {
    // Named for top, gdb and per-thread CPU accounting (benchmarks/e2e/fleet_bench).
    pthread_setname_np(pthread_self(), "llmux-redis");
    tls_link_thread_owner = this;
    start_attempt(Clock::now());
    pollfd fds[4];
    Connection* conns[4];
    while (true) {
      if (take_shared_work()) break;
      const TimePoint now = Clock::now();
      check_deadlines(now);
      flush_all();

      int n = 0;
      fds[n] = {wake_fd_, POLLIN, 0};
      conns[n++] = nullptr;
      for (Connection* c : {&cmd_, &sub_, &sentinel_}) {
        if (!c->open()) continue;
        fds[n] = {c->fd(), static_cast<short>(POLLIN | (c->wants_write() ? POLLOUT : 0)), 0};
        conns[n++] = c;
      }
      const int rc = ::poll(fds, static_cast<nfds_t>(n), poll_timeout_ms(Clock::now()));
      if (rc < 0 && errno != EINTR) std::this_thread::sleep_for(milliseconds(1));  // not expected; do not spin
      if (rc <= 0) continue;
      if (fds[0].revents != 0) {
        uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof count);
      }
      const uint64_t epoch = failure_epoch_;
      for (int i = 1; i < n && epoch == failure_epoch_; ++i) {
        if (fds[i].revents != 0 && conns[i]->open() && conns[i]->fd() == fds[i].fd) {
          handle_events(*conns[i], fds[i].revents);
        }
      }
    }
    shut_down();
  }

  // Moves what callers queued onto the command connection and sends new
  // subscriptions. Returns true when the link is stopping.
  bool take_shared_work() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return true;
      if (!pending_out_.empty()) {
        taken_out_.swap(pending_out_);
        taken_callbacks_.swap(pending_callbacks_);
      }
      if (!new_channels_.empty()) taken_channels_.swap(new_channels_);
    }
    if (!taken_callbacks_.empty()) {
      // Only an up link accepts commands; the link cannot have gone down in
      // between (only this thread takes it down, and it takes the pending
      // buffer with it).
      const TimePoint now = Clock::now();
      if (cmd_.out.empty()) {
        cmd_.out.swap(taken_out_);
      } else {
        cmd_.out.append(taken_out_);
      }
      taken_out_.clear();
      for (RedisCallback& cb : taken_callbacks_) cmd_.expected.push_back(Entry{Expect::kUser, now, std::move(cb)});
      commands_sent_.fetch_add(taken_callbacks_.size(), std::memory_order_relaxed);
      cmd_.last_activity = now;
      taken_callbacks_.clear();
    }
    if (!taken_channels_.empty()) {
      // Before the pub/sub connection is established the login subscribes to
      // every channel (channels_), these included.
      if (sub_.state() == Connection::State::kEstablished) {
        const TimePoint now = Clock::now();
        for (const std::string& ch : taken_channels_) sub_.send(Expect::kSubscribe, {"SUBSCRIBE", ch}, now);
      }
      taken_channels_.clear();
    }
    return false;
  }

  void check_deadlines(TimePoint now) {
    if (phase_ == Phase::kWaiting) {
      if (now >= next_attempt_) start_attempt(now);
      return;
    }
    for (Connection* c : {&sentinel_, &cmd_, &sub_}) {
      if (!c->open()) continue;
      if (c->state() == Connection::State::kConnecting && now >= c->connect_deadline) {
        connection_failed(*c, fmt::format("connect timed out after {}", ms_text(options_.connect_timeout)),
                          ErrorKind::kConnectionError);
        return;
      }
      if (!c->expected.empty() && now - c->expected.front().sent_at >= options_.command_timeout) {
        // Replies already received are not late, even when this thread was
        // too busy (callbacks, a sanitizer) to read them in time.
        if (c->state() == Connection::State::kEstablished) {
          const uint64_t epoch = failure_epoch_;
          handle_events(*c, POLLIN);
          if (epoch != failure_epoch_) return;
          if (!c->open() || c->expected.empty() ||
              Clock::now() - c->expected.front().sent_at < options_.command_timeout) {
            continue;
          }
        }
        const Expect kind = c->expected.front().kind;
        const std::string what = kind == Expect::kUser ? std::string("command") : std::string(step_name(kind));
        connection_failed(*c, fmt::format("{} timed out after {}", what, ms_text(options_.command_timeout)),
                          &*c == &cmd_ ? ErrorKind::kTimeout : ErrorKind::kConnectionError);
        return;
      }
    }
    if (phase_ == Phase::kUp) {
      for (Connection* c : {&cmd_, &sub_}) {
        if (c->expected.empty() && now - c->last_activity >= options_.idle_ping_interval) {
          c->send(Expect::kPing, {"PING"}, now);
        }
      }
    }
  }

  void flush_all() {
    for (Connection* c : {&cmd_, &sub_, &sentinel_}) {
      if (c->state() != Connection::State::kEstablished || !c->wants_write()) continue;
      std::string error;
      if (!c->flush(error)) {
        connection_failed(*c, error, ErrorKind::kConnectionError);
        return;
      }
    }
  }

  int poll_timeout_ms(TimePoint now) const {
    std::optional<TimePoint> next;
    auto consider = [&](TimePoint t) {
      if (!next || t < *next) next = t;
    };
    if (phase_ == Phase::kWaiting) consider(next_attempt_);
    for (const Connection* c : {&sentinel_, &cmd_, &sub_}) {
      if (!c->open()) continue;
      if (c->state() == Connection::State::kConnecting) consider(c->connect_deadline);
      if (!c->expected.empty()) {
        consider(c->expected.front().sent_at + options_.command_timeout);
      } else if (phase_ == Phase::kUp) {
        consider(c->last_activity + options_.idle_ping_interval);
      }
    }
    if (!next) return -1;
    if (*next <= now) return 0;
    const auto ms = std::chrono::ceil<milliseconds>(*next - now).count();
    return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
  }

  void handle_events(Connection& c, short revents) {
    std::string error;
    const TimePoint now = Clock::now();
    if (c.state() == Connection::State::kConnecting) {
      if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return;
      if (!c.finish_connect(now + options_.connect_timeout, error)) {
        connection_failed(c, error, ErrorKind::kConnectionError);
        return;
      }
      if (c.state() == Connection::State::kEstablished) connected(c, now);
      return;
    }
    if ((revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      const bool read_ok = c.read(error);
      // Replies read before a close are still delivered.
      const uint64_t epoch = failure_epoch_;
      ReplyPtr reply;
      std::string parse_error;
      while (epoch == failure_epoch_ && c.open()) {
        if (!c.next_reply(reply, parse_error)) {
          connection_failed(c, parse_error, ErrorKind::kConnectionError);
          return;
        }
        if (!reply) break;
        c.last_activity = now;
        on_reply(c, *reply);
        reply.reset();
      }
      if (epoch != failure_epoch_ || !c.open()) return;
      if (!read_ok) {
        connection_failed(c, error, ErrorKind::kConnectionError);
        return;
      }
    }
    if ((revents & POLLOUT) != 0 && c.wants_write()) {
      if (!c.flush(error)) connection_failed(c, error, ErrorKind::kConnectionError);
    }
  }

  // TCP (or unix) connection established: queue the login.
  void connected(Connection& c, TimePoint now) {
    const RedisEndpoint& ep = options_.endpoint;
    if (&c == &sentinel_) {
      if (!ep.sentinel_password.empty()) c.send(Expect::kSentinelAuth, {"AUTH", ep.sentinel_password}, now);
      c.send(Expect::kSentinelQuery, {"SENTINEL", "get-master-addr-by-name", ep.sentinel_service_name}, now);
      flush_or_fail(c);
      return;
    }
    if (!ep.username.empty()) {
      c.send(Expect::kAuth, {"AUTH", ep.username, ep.password}, now);
    } else if (!ep.password.empty()) {
      c.send(Expect::kAuth, {"AUTH", ep.password}, now);
    }
    if (&c == &cmd_ && ep.db != 0) c.send(Expect::kSelect, {"SELECT", std::to_string(ep.db)}, now);
    if (!options_.client_name.empty()) c.send(Expect::kSetName, {"CLIENT", "SETNAME", options_.client_name}, now);
    c.send(Expect::kRole, {"ROLE"}, now);
    if (&c == &sub_) {
      std::vector<std::string> channels;
      {
        std::lock_guard lock(mu_);
        channels = channels_;
        new_channels_.clear();  // all of channels_ is subscribed right here
      }
      for (const std::string& ch : channels) c.send(Expect::kSubscribe, {"SUBSCRIBE", ch}, now);
    }
    flush_or_fail(c);
  }

  void flush_or_fail(Connection& c) {
    std::string error;
    if (!c.flush(error)) connection_failed(c, error, ErrorKind::kConnectionError);
  }

  void on_reply(Connection& c, const redisReply& r) {
    if (&c == &sub_ && array_head(r) == "message" && r.elements >= 3) {
      messages_received_.fetch_add(1, std::memory_order_relaxed);
      if (observer_ != nullptr) observer_->on_message(reply_text(*r.element[1]), reply_text(*r.element[2]));
      return;
    }
    if (c.expected.empty()) {
      connection_failed(c, "unexpected reply from the server", ErrorKind::kConnectionError);
      return;
    }
    Entry e = std::move(c.expected.front());
    c.expected.pop_front();
    switch (e.kind) {
      case Expect::kUser:
        if (is_server_unavailable(r)) {
          const std::string reason(reply_text(r));
          answer(e.callback, Error(ErrorKind::kServiceUnavailable,
                                   fmt::format("Redis {} cannot serve the command: {}", where_, reason)));
          connection_failed(c, reason, ErrorKind::kConnectionError);
          return;
        }
        if (e.callback) e.callback(to_reply(r));
        return;
      case Expect::kAuth:
      case Expect::kSelect:
      case Expect::kSetName:
        if (is_error(r)) {
          connection_failed(c, fmt::format("{} failed: {}", step_name(e.kind), reply_text(r)),
                            ErrorKind::kConnectionError);
          return;
        }
        break;
      case Expect::kRole: {
        // Permission to run ROLE is not needed to use the link: an ACL user
        // without it (-NOPERM) is taken at its word. A login that did not
        // happen (-NOAUTH, no password configured) is a failure.
        const std::string_view role = array_head(r);
        if (is_server_unavailable(r)) {
          connection_failed(c, std::string(reply_text(r)), ErrorKind::kConnectionError);
          return;
        }
        if (!is_error(r) && role != "master") {
          connection_failed(c,
                            role == "slave" ? std::string("server is a replica (read-only), not the master")
                                            : fmt::format("server is not a Redis master (ROLE {})", role),
                            ErrorKind::kConnectionError);
          return;
        }
        break;
      }
      case Expect::kPing:
        if (is_server_unavailable(r)) {
          connection_failed(c, std::string(reply_text(r)), ErrorKind::kConnectionError);
          return;
        }
        return;
      case Expect::kSubscribe:
        if (array_head(r) != "subscribe") {
          connection_failed(c,
                            fmt::format("SUBSCRIBE failed: {}", is_error(r) ? reply_text(r) : "unexpected reply"),
                            ErrorKind::kConnectionError);
          return;
        }
        break;
      case Expect::kSentinelAuth:
        if (is_error(r)) {
          sentinel_failed(fmt::format("AUTH failed: {}", reply_text(r)));
          return;
        }
        return;
      case Expect::kSentinelQuery:
        sentinel_answered(r);
        return;
    }
    if (phase_ == Phase::kConnecting) maybe_up();
  }

  // ---- connecting ----

  void start_attempt(TimePoint now) {
    if (!options_.endpoint.sentinel_nodes.empty()) {
      phase_ = Phase::kResolving;
      sentinel_index_ = 0;
      sentinel_errors_.clear();
      try_sentinel(now);
      return;
    }
    const RedisEndpoint& ep = options_.endpoint;
    connect_to(ep.host, ep.port, ep.unix_socket, now);
  }

  void try_sentinel(TimePoint now) {
    const auto& nodes = options_.endpoint.sentinel_nodes;
    while (sentinel_index_ < nodes.size()) {
      const RedisEndpoint::Node& node = nodes[sentinel_index_];
      std::string error;
      if (sentinel_.start(node.host, node.port, "", now + options_.connect_timeout, error)) {
        if (sentinel_.state() == Connection::State::kEstablished) connected(sentinel_, now);
        return;
      }
      note_sentinel_error(error);
      ++sentinel_index_;
    }
    fail_link(fmt::format("no sentinel gave the address of master '{}' ({})",
                          options_.endpoint.sentinel_service_name, sentinel_errors_),
              ErrorKind::kConnectionError);
  }

  void note_sentinel_error(std::string_view error) {
    const RedisEndpoint::Node& node = options_.endpoint.sentinel_nodes[sentinel_index_];
    if (!sentinel_errors_.empty()) sentinel_errors_ += "; ";
    sentinel_errors_ += fmt::format("{}:{}: {}", node.host, node.port, error);
  }

  void sentinel_failed(std::string_view error) {
    note_sentinel_error(error);
    sentinel_.close();
    sentinel_.expected.clear();
    ++sentinel_index_;
    try_sentinel(Clock::now());
  }

  void sentinel_answered(const redisReply& r) {
    if (r.type == REDIS_REPLY_NIL || (r.type == REDIS_REPLY_ARRAY && r.elements == 0)) {
      sentinel_failed(fmt::format("does not know master '{}'", options_.endpoint.sentinel_service_name));
      return;
    }
    if (is_error(r)) {
      sentinel_failed(reply_text(r));
      return;
    }
    int port = 0;
    const bool well_formed = r.type == REDIS_REPLY_ARRAY && r.elements == 2 &&
                             r.element[0]->type == REDIS_REPLY_STRING && r.element[1]->type == REDIS_REPLY_STRING;
    if (well_formed) {
      const std::string_view p = reply_text(*r.element[1]);
      const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
      if (ec != std::errc() || end != p.data() + p.size() || port <= 0 || port > 65535) port = 0;
    }
    if (port == 0) {
      sentinel_failed("unexpected answer to SENTINEL get-master-addr-by-name");
      return;
    }
    const std::string host(reply_text(*r.element[0]));
    sentinel_.close();
    sentinel_.expected.clear();
    connect_to(host, port, "", Clock::now());
  }

  void connect_to(const std::string& host, int port, const std::string& unix_path, TimePoint now) {
    phase_ = Phase::kConnecting;
    for (Connection* c : {&cmd_, &sub_}) {
      std::string error;
      if (!c->start(host, port, unix_path, now + options_.connect_timeout, error)) {
        fail_link(error, ErrorKind::kConnectionError);
        return;
      }
      c->last_activity = now;
      if (c->state() == Connection::State::kEstablished) {
        const uint64_t epoch = failure_epoch_;
        connected(*c, now);
        if (epoch != failure_epoch_) return;
      }
    }
  }

  void maybe_up() {
    for (const Connection* c : {&cmd_, &sub_}) {
      if (c->state() != Connection::State::kEstablished || !c->expected.empty()) return;
    }
    phase_ = Phase::kUp;
    backoff_step_ = 0;
    last_reported_reason_.reset();
    {
      std::lock_guard lock(mu_);
      accepting_ = true;
    }
    up_.store(true, std::memory_order_release);
    connects_.fetch_add(1, std::memory_order_relaxed);
    if (observer_ != nullptr) observer_->on_link_up();
  }

  // ---- failing ----

  // A connection failed: a sentinel's failure moves on to the next sentinel,
  // any other takes the link down.
  void connection_failed(Connection& c, std::string reason, ErrorKind in_flight_kind) {
    if (&c == &sentinel_) {
      sentinel_failed(reason);
      return;
    }
    fail_link(std::move(reason), in_flight_kind);
  }

  void fail_link(std::string reason, ErrorKind in_flight_kind) {
    ++failure_epoch_;
    scrub(reason, options_.endpoint.password);
    scrub(reason, options_.endpoint.sentinel_password);
    const bool was_up = phase_ == Phase::kUp;
    const TimePoint now = Clock::now();

    std::deque<Entry> in_flight;
    in_flight.swap(cmd_.expected);
    for (Connection* c : {&cmd_, &sub_, &sentinel_}) {
      c->close();
      c->expected.clear();  // the link's own steps: nobody waits for them
    }
    std::string unsent_out;
    std::vector<RedisCallback> unsent;
    const std::string down_message = fmt::format("Redis {} is unavailable: {}", where_, reason);
    {
      std::lock_guard lock(mu_);
      accepting_ = false;
      down_message_ = down_message;
      unsent.swap(pending_callbacks_);
      pending_out_.clear();
    }
    up_.store(false, std::memory_order_release);
    (was_up ? disconnects_ : connect_failures_).fetch_add(1, std::memory_order_relaxed);

    // The breaker: the next attempt waits a jittered, doubling step.
    const Duration step = backoff_step(backoff_step_++);
    const auto half = step / 2;
    next_attempt_ = now + half + Duration(static_cast<Duration::rep>(random_.uniform() * static_cast<double>(half.count())));
    phase_ = Phase::kWaiting;

    if (observer_ != nullptr && (was_up || last_reported_reason_ != reason)) {
      last_reported_reason_ = reason;
      observer_->on_link_down(reason);
    }

    const std::string in_flight_message =
        in_flight_kind == ErrorKind::kTimeout
            ? fmt::format("Redis {}: {} (the command may have been applied)", where_, reason)
            : fmt::format("Redis {}: connection lost before the answer: {} (the command may have been applied)",
                          where_, reason);
    for (Entry& e : in_flight) {
      if (e.kind == Expect::kUser) answer(e.callback, Error(in_flight_kind, in_flight_message));
    }
    for (RedisCallback& cb : unsent) answer(cb, Error(ErrorKind::kServiceUnavailable, down_message));
  }

  Duration backoff_step(int step) const {
    Duration d = options_.reconnect_backoff_initial;
    for (int i = 0; i < step && d < options_.reconnect_backoff_max; ++i) d *= 2;
    return std::min(d, options_.reconnect_backoff_max);
  }

  void shut_down() {
    for (Connection* c : {&cmd_, &sub_, &sentinel_}) c->close();
    up_.store(false, std::memory_order_release);
    std::deque<Entry> in_flight;
    in_flight.swap(cmd_.expected);
    std::vector<RedisCallback> unsent;
    {
      std::lock_guard lock(mu_);  // stopping_ is set: nothing is queued any more
      unsent.swap(pending_callbacks_);
      pending_out_.clear();
    }
    for (Entry& e : in_flight) {
      if (e.kind == Expect::kUser) answer(e.callback, Error(ErrorKind::kCancelled, "Redis link stopped"));
    }
    for (RedisCallback& cb : unsent) answer(cb, Error(ErrorKind::kCancelled, "Redis link stopped"));
  }

  const RedisLinkOptions options_;
  const std::string where_;  // options_.endpoint.describe(): no password
  RedisLinkObserver* const observer_;
  int wake_fd_ = -1;

  // Shared with callers.
  mutable std::mutex mu_;
  bool accepting_ = false;                         // guarded by mu_: up, commands are queued
  bool stopping_ = false;                          // guarded by mu_
  std::string pending_out_;                        // guarded by mu_: RESP not yet taken by the thread
  std::vector<RedisCallback> pending_callbacks_;   // guarded by mu_: one per command in pending_out_
  std::string down_message_;                       // guarded by mu_: the answer while down
  std::vector<std::string> channels_;              // guarded by mu_: every subscription
  std::vector<std::string> new_channels_;          // guarded by mu_: subscribed since the thread last looked

  std::atomic<bool> up_{false};
  std::atomic<uint64_t> commands_sent_{0};
  std::atomic<uint64_t> commands_failed_{0};
  std::atomic<uint64_t> commands_dropped_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> connect_failures_{0};
  std::atomic<uint64_t> disconnects_{0};
  std::atomic<uint64_t> messages_received_{0};

  // Link thread only.
  Phase phase_ = Phase::kWaiting;
  Connection cmd_;
  Connection sub_;
  Connection sentinel_;
  size_t sentinel_index_ = 0;
  std::string sentinel_errors_;
  TimePoint next_attempt_{};
  int backoff_step_ = 0;
  uint64_t failure_epoch_ = 0;  // bumped by every fail_link: stale events are skipped
  std::optional<std::string> last_reported_reason_;
  Random random_;
  std::string taken_out_;                       // spare buffers swapped with the pending ones
  std::vector<RedisCallback> taken_callbacks_;
  std::vector<std::string> taken_channels_;

  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace

std::unique_ptr<RedisLink> RedisLink::start(RedisLinkOptions options, RedisLinkObserver* observer) {
  return std::make_unique<RedisLinkImpl>(std::move(options), observer);
}

}  // namespace llmux::state
