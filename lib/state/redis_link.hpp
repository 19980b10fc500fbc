// -----------------------------------------------------------------------------
// File: state/redis_link.hpp
// -----------------------------------------------------------------------------
// One router's connection to Redis: a helper thread (one per link, never one
// per call) that owns two hiredis connections — commands and pub/sub — and
// runs them on its own poll() loop. Callers on any thread queue commands
// without waiting: the command is formatted (RESP) into the link's outgoing
// buffer under a short lock and the thread is woken only when that buffer was
// empty, so a burst of calls becomes one pipelined write.
//
// Fail-open contract (what the router relies on):
// - queueing never blocks on Redis and never fails: while the link is down a
//   command's callback is called at once (on the caller's thread) with
//   kServiceUnavailable, and a command without callback is dropped and counted;
// - a command unanswered after `command_timeout` fails with kTimeout, and the
//   connection is dropped: every command sent and not yet answered fails with
//   kTimeout too (they may have been applied: callers must not re-send
//   non-idempotent increments blindly);
// - when the connection is lost otherwise (closed, reset, or the server
//   answers -READONLY, -LOADING, -MASTERDOWN or -NOAUTH, i.e. it cannot take
//   writes now), commands sent and not answered fail with kConnectionError
//   (may have been applied); the command that got such an answer fails with
//   kServiceUnavailable (not applied). Other error replies are replies;
// - an idle link sends PING on both connections every `idle_ping_interval`,
//   so a server that stopped answering is noticed without traffic;
// - connecting is guarded by a breaker: after a failure (refused, timeout,
//   wrong password, LOADING, READONLY, a replica …) the next attempt waits
//   `reconnect_backoff_initial`, doubling up to `reconnect_backoff_max`, each
//   wait jittered to between half and all of its step; the doubling starts
//   over once the link is up again. Reconnects run only on the link thread;
// - a (re)connect counts only after AUTH, SELECT, CLIENT SETNAME and ROLE
//   (the server must be a master) all succeeded on both connections and the
//   subscriptions were renewed;
// - the observer (on the link thread) hears of every transition to up, of
//   every transition to down, and of a failed attempt whose reason differs
//   from the last one it was told, so the owner can emit an event, set a
//   metric and re-sync its state without being flooded by retries.
//
// Thread safety: every public method may be called from any thread. Callbacks
// and observer methods run on the link thread (or, for the immediate "down"
// answer, on the caller's thread) and must not block; they may queue further
// commands but must not destroy the link. The destructor stops the thread;
// callbacks still pending are called with kCancelled before it returns (the
// observer is not called by the destructor).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/clock.hpp"
#include "llmux/error.hpp"

namespace llmux::state {

// Where Redis is and how to log in. Built from the router settings
// (state/redis_settings.hpp); plain data.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // non-empty: connect here instead of host:port
  std::string username;     // Redis 6 ACL user; empty = AUTH <password> only
  std::string password;     // empty = no AUTH
  int db = 0;               // SELECT when non-zero
  // Sentinel: when non-empty, the master of `sentinel_service_name` is asked
  // of these nodes (in order) before every (re)connect.
  struct Node {
    std::string host;
    int port = 26379;
  };
  std::vector<Node> sentinel_nodes;
  std::string sentinel_service_name;
  std::string sentinel_password;
  // For messages: "redis://host:port/db" (never the password).
  std::string describe() const;
};

// Durations below 1 ms are raised to 1 ms; reconnect_backoff_max below
// reconnect_backoff_initial is raised to it.
struct RedisLinkOptions {
  RedisEndpoint endpoint;
  // TCP (or unix socket) connect, per address tried; the login that follows
  // has command_timeout per reply.
  Duration connect_timeout = std::chrono::milliseconds(200);
  Duration command_timeout = std::chrono::milliseconds(250);
  Duration reconnect_backoff_initial = std::chrono::milliseconds(250);
  Duration reconnect_backoff_max = std::chrono::seconds(10);
  Duration idle_ping_interval = std::chrono::seconds(1);
  // CLIENT SETNAME on connect (shows in CLIENT LIST); empty = none.
  std::string client_name;
};

// A reply, copied out of hiredis (the link frees hiredis' objects itself).
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;        // kString, kStatus, kError
  int64_t integer = 0;    // kInteger
  std::vector<RedisReply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
};

// The outcome of one command. A Redis error reply (-ERR …) is a RedisReply of
// type kError, not an Error: the command reached Redis. Error kinds:
// kServiceUnavailable (link down or server unable to write: not applied),
// kTimeout (sent, no answer in time: may have been applied),
// kConnectionError (sent, connection lost before the answer: may have been
// applied), kCancelled (link stopped), kInvalidArgument (empty argv).
using RedisCallback = std::function<void(Result<RedisReply> reply)>;

// Told about the link's state; called on the link thread.
class RedisLinkObserver {
 public:
  virtual ~RedisLinkObserver() = default;
  // Connected (first time, or again after a failure) and logged in;
  // subscriptions have been renewed. A good moment to re-sync.
  virtual void on_link_up() = 0;
  // The link failed; `reason` names the cause without secrets ("connection
  // refused", "WRONGPASS …", "command timed out after 250 ms").
  virtual void on_link_down(std::string_view reason) = 0;
  // A message on a subscribed channel.
  virtual void on_message(std::string_view channel, std::string_view payload) = 0;
};

// Counters for metrics (monotonic, read any time).
struct RedisLinkStats {
  uint64_t commands_sent = 0;      // handed to a connection
  uint64_t commands_failed = 0;    // with a callback, answered with an Error
  uint64_t commands_dropped = 0;   // without a callback, not answered (down, lost, cancelled)
  uint64_t connects = 0;           // the link came up (both connections logged in)
  uint64_t connect_failures = 0;   // attempts that failed before the link came up
  uint64_t disconnects = 0;        // the link went down after being up
  uint64_t messages_received = 0;
  bool up = false;
};

class RedisLink {
 public:
  // Starts the link thread; it connects in the background (the constructor
  // never waits for Redis). `observer` may be null and must outlive the link.
  static std::unique_ptr<RedisLink> start(RedisLinkOptions options, RedisLinkObserver* observer);
  virtual ~RedisLink() = default;

  // Queues one command (argv as in redisCommandArgv; arguments are copied).
  // `callback` may be empty: fire and forget. Replies come in queueing order
  // for the commands queued by one thread.
  virtual void command(std::initializer_list<std::string_view> argv, RedisCallback callback = {}) = 0;
  virtual void command(const std::vector<std::string>& argv, RedisCallback callback = {}) = 0;
  // Subscribes the pub/sub connection to `channel` (renewed on reconnect;
  // subscribing twice to one channel is one subscription).
  virtual void subscribe(std::string channel) = 0;

  // Connected and logged in right now (a hint: it may change at once).
  virtual bool up() const = 0;
  virtual RedisLinkStats stats() const = 0;
};

}  // namespace llmux::state
