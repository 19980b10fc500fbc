// -----------------------------------------------------------------------------
// File: state/redis_link.cpp
// -----------------------------------------------------------------------------
// The link thread runs a poll() loop over an eventfd (callers' wakeups) and up
// to three RedisConnections (state/redis_connection.hpp): commands, pub/sub
// and, while resolving the master, one sentinel. Every connection has one
// FIFO of what it waits for (login steps, pings, subscriptions, user
// commands), each entry stamped with the time it was handed to the socket:
// the oldest one past command_timeout is the link's deadline.
//
// Callers format RESP straight into `pending_out_` under `mu_` and wake the
// thread only when that buffer was empty; the thread swaps the buffer out
// under the lock, so a burst of commands becomes one write().
//
// No lock is held while a callback or the observer runs.
#include "state/redis_link.hpp"

#include <hiredis/hiredis.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <thread>
#include <utility>

#include "state/redis_connection.hpp"

namespace llmux::state {

// RedisEndpoint::describe() lives with the settings that build endpoints (redis_settings.cpp).

namespace {

using std::chrono::milliseconds;

std::string ms_text(Duration d) {
  return fmt::format("{} ms", std::chrono::duration_cast<milliseconds>(d).count());
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
        append_resp_command(pending_out_, argv);
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
    RedisConnection* conns[4];
    while (true) {
      if (take_shared_work()) break;
      const TimePoint now = Clock::now();
      check_deadlines(now);
      flush_all();

      int n = 0;
      fds[n] = {wake_fd_, POLLIN, 0};
      conns[n++] = nullptr;
      for (RedisConnection* c : {&cmd_, &sub_, &sentinel_}) {
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
      if (sub_.state() == RedisConnection::State::kEstablished) {
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
    for (RedisConnection* c : {&sentinel_, &cmd_, &sub_}) {
      if (!c->open()) continue;
      if (c->state() == RedisConnection::State::kConnecting && now >= c->connect_deadline) {
        connection_failed(*c, fmt::format("connect timed out after {}", ms_text(options_.connect_timeout)),
                          ErrorKind::kConnectionError);
        return;
      }
      if (!c->expected.empty() && now - c->expected.front().sent_at >= options_.command_timeout) {
        // Replies already received are not late, even when this thread was
        // too busy (callbacks, a sanitizer) to read them in time.
        if (c->state() == RedisConnection::State::kEstablished) {
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
                          c == &cmd_ ? ErrorKind::kTimeout : ErrorKind::kConnectionError);
        return;
      }
    }
    if (phase_ == Phase::kUp) {
      for (RedisConnection* c : {&cmd_, &sub_}) {
        if (c->expected.empty() && now - c->last_activity >= options_.idle_ping_interval) {
          c->send(Expect::kPing, {"PING"}, now);
        }
      }
    }
  }

  void flush_all() {
    for (RedisConnection* c : {&cmd_, &sub_, &sentinel_}) {
      if (c->state() != RedisConnection::State::kEstablished || !c->wants_write()) continue;
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
    for (const RedisConnection* c : {&sentinel_, &cmd_, &sub_}) {
      if (!c->open()) continue;
      if (c->state() == RedisConnection::State::kConnecting) consider(c->connect_deadline);
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

  void handle_events(RedisConnection& c, short revents) {
    std::string error;
    const TimePoint now = Clock::now();
    if (c.state() == RedisConnection::State::kConnecting) {
      if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return;
      if (!c.finish_connect(now + options_.connect_timeout, error)) {
        connection_failed(c, error, ErrorKind::kConnectionError);
        return;
      }
      if (c.state() == RedisConnection::State::kEstablished) connected(c, now);
      return;
    }
    if ((revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      const bool read_ok = c.read(read_buffer_, error);
      // Replies read before a close are still delivered.
      const uint64_t epoch = failure_epoch_;
      RedisReplyPtr reply;
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
  void connected(RedisConnection& c, TimePoint now) {
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

  void flush_or_fail(RedisConnection& c) {
    std::string error;
    if (!c.flush(error)) connection_failed(c, error, ErrorKind::kConnectionError);
  }

  void on_reply(RedisConnection& c, const redisReply& r) {
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
          const std::string reason = without_secrets(std::string(reply_text(r)));
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
        if (is_error_reply(r)) {
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
        if (!is_error_reply(r) && role != "master") {
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
                            fmt::format("SUBSCRIBE failed: {}", is_error_reply(r) ? reply_text(r) : "unexpected reply"),
                            ErrorKind::kConnectionError);
          return;
        }
        break;
      case Expect::kSentinelAuth:
        if (is_error_reply(r)) {
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
        if (sentinel_.state() == RedisConnection::State::kEstablished) connected(sentinel_, now);
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
    if (is_error_reply(r)) {
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
    for (RedisConnection* c : {&cmd_, &sub_}) {
      std::string error;
      if (!c->start(host, port, unix_path, now + options_.connect_timeout, error)) {
        fail_link(error, ErrorKind::kConnectionError);
        return;
      }
      c->last_activity = now;
      if (c->state() == RedisConnection::State::kEstablished) {
        const uint64_t epoch = failure_epoch_;
        connected(*c, now);
        if (epoch != failure_epoch_) return;
      }
    }
  }

  void maybe_up() {
    for (const RedisConnection* c : {&cmd_, &sub_}) {
      if (c->state() != RedisConnection::State::kEstablished || !c->expected.empty()) return;
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

  std::string without_secrets(std::string text) const {
    scrub(text, options_.endpoint.password);
    scrub(text, options_.endpoint.sentinel_password);
    return text;
  }

  // A connection failed: a sentinel's failure moves on to the next sentinel,
  // any other takes the link down.
  void connection_failed(RedisConnection& c, std::string reason, ErrorKind in_flight_kind) {
    if (&c == &sentinel_) {
      sentinel_failed(reason);
      return;
    }
    fail_link(std::move(reason), in_flight_kind);
  }

  void fail_link(std::string reason, ErrorKind in_flight_kind) {
    ++failure_epoch_;
    reason = without_secrets(std::move(reason));
    const bool was_up = phase_ == Phase::kUp;
    const TimePoint now = Clock::now();

    std::deque<Entry> in_flight;
    in_flight.swap(cmd_.expected);
    for (RedisConnection* c : {&cmd_, &sub_, &sentinel_}) {
      c->close();
      c->expected.clear();  // the link's own steps: nobody waits for them
    }
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
    for (RedisConnection* c : {&cmd_, &sub_, &sentinel_}) c->close();
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
  RedisConnection cmd_;
  RedisConnection sub_;
  RedisConnection sentinel_;
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
  std::array<char, 64 * 1024> read_buffer_;     // every connection reads through it

  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace

std::unique_ptr<RedisLink> RedisLink::start(RedisLinkOptions options, RedisLinkObserver* observer) {
  return std::make_unique<RedisLinkImpl>(std::move(options), observer);
}

}  // namespace llmux::state
