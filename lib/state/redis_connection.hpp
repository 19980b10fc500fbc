// -----------------------------------------------------------------------------
// File: state/redis_connection.hpp
// -----------------------------------------------------------------------------
// The wire layer under RedisLink: RESP encoding of a command, helpers over
// hiredis' parsed replies, and RedisConnection — one non-blocking socket to a
// Redis (or sentinel) server with its reply parser (hiredis' redisReader), its
// output buffer and the FIFO of replies it waits for.
//
// Why our own sockets and not hiredis' contexts: hiredis 0.14 leaves its
// descriptors inheritable by child processes (no close-on-exec) and keeps no
// per-command deadline; the link needs both, and keeping the reply order
// itself is simpler than reaching into hiredis' callback lists.
//
// Thread safety: none. append_resp_command is called by any thread on its own
// buffer; a RedisConnection belongs to the link thread.
#pragma once

#include <sys/socket.h>

#include <charconv>
#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/clock.hpp"
#include "state/redis_link.hpp"

struct redisReader;
struct redisReply;

namespace llmux::state {

// RESP: "*<argc>\r\n" then "$<len>\r\n<bytes>\r\n" per argument, appended to
// `out` (binary-safe; what redisFormatCommandArgv writes, without its
// allocation).
inline void append_resp_length(std::string& out, char tag, size_t n) {
  char digits[24];
  digits[0] = tag;
  char* end = std::to_chars(digits + 1, digits + sizeof digits - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(digits, end);
}

template <class Range>
void append_resp_command(std::string& out, const Range& argv) {
  append_resp_length(out, '*', std::size(argv));
  for (const auto& a : argv) {
    const std::string_view s(a);
    append_resp_length(out, '$', s.size());
    out.append(s.data(), s.size());
    out.append("\r\n", 2);
  }
}

// Replies as hiredis parsed them.
struct RedisReplyDeleter {
  void operator()(redisReply* r) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

RedisReply to_reply(const redisReply& r);  // a deep copy
std::string_view reply_text(const redisReply& r);  // str of a string/status/error, else empty
bool is_error_reply(const redisReply& r);
// Error replies that mean "this server cannot serve us now" rather than "this
// command is wrong": a replica (READONLY), a replica cut from its master
// (MASTERDOWN), a server loading its data set (LOADING), a login that is gone
// (NOAUTH).
bool is_server_unavailable(const redisReply& r);
// The first element of an array reply as text ("message", "subscribe",
// "master" ...), else empty.
std::string_view array_head(const redisReply& r);

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
// The command an entry stands for, for messages ("AUTH", "PING" ...).
std::string_view step_name(Expect e);

struct Entry {
  Expect kind;
  TimePoint sent_at;       // when it was handed to the connection
  RedisCallback callback;  // kUser only; may be empty (fire and forget)
};

class RedisConnection {
 public:
  enum class State { kClosed, kConnecting, kEstablished };

  RedisConnection() = default;
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  ~RedisConnection() { close(); }

  State state() const { return state_; }
  bool open() const { return state_ != State::kClosed; }
  int fd() const { return fd_; }
  // Poll for POLLOUT: connecting, or bytes not yet written.
  bool wants_write() const { return state_ == State::kConnecting || out_offset_ < out.size(); }

  // Resolves the address (getaddrinfo: may block on DNS, so only the link
  // thread calls this) and starts a non-blocking connect to the first address
  // that takes one; `unix_path` non-empty connects there instead. False with
  // `error` set when no address could be tried.
  bool start(const std::string& host, int port, const std::string& unix_path, TimePoint deadline,
             std::string& error);
  // After POLLOUT/POLLERR/POLLHUP while connecting: established, or on to the
  // next address (with `deadline`). False with `error` when every address failed.
  bool finish_connect(TimePoint deadline, std::string& error);
  // Writes as much of `out` as the socket takes. False with `error` on failure.
  bool flush(std::string& error);
  // Reads what is available into the reply parser through `buffer`. False
  // with `error` when the server closed the connection or the read failed.
  bool read(std::span<char> buffer, std::string& error);
  // The next complete reply (null when none). False with `error` on a
  // protocol error.
  bool next_reply(RedisReplyPtr& reply, std::string& error);
  // Queues a command of the link's own (login, ping, ...) with its entry.
  void send(Expect kind, std::initializer_list<std::string_view> argv, TimePoint now);
  // Closes the socket and drops unwritten bytes; `expected` is left for the
  // caller to answer.
  void close();

  std::string out;             // bytes not yet written (from out_offset_ on)
  std::deque<Entry> expected;  // what the server will answer, in order
  TimePoint connect_deadline{};
  TimePoint last_activity{};   // last command sent or reply read

 private:
  struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
  };

  bool connect_next(std::string& error);
  void established();
  void close_socket();

  State state_ = State::kClosed;
  int fd_ = -1;
  redisReader* reader_ = nullptr;
  size_t out_offset_ = 0;
  std::vector<Address> addresses_;
  size_t next_address_ = 0;
  std::string last_connect_error_;
};

}  // namespace llmux::state
