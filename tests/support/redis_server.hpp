// -----------------------------------------------------------------------------
// File: tests/support/redis_server.hpp
// -----------------------------------------------------------------------------
// Real Redis processes for tests (never a mock): /usr/bin/redis-server on an
// ephemeral loopback port with no persistence in a temporary directory of its
// own, optionally with a password (requirepass) and an ACL user; faults on
// demand (SIGSTOP / SIGCONT, kill -9, restart empty on the same port); a
// sentinel process monitoring it; and a small blocking client for assertions
// (GET, PTTL, KEYS, PUBLISH, INFO, REPLICAOF, ...).
//
// Every process started here is killed and reaped by its object's destructor,
// also when a test fails (stack unwinding), and the temporary directory is
// removed; a process whose starting thread ends (the test binary crashed) is
// killed by the kernel (PR_SET_PDEATHSIG), so start servers on a thread that
// outlives them (the test's). Constructors throw std::runtime_error when a process cannot be
// started (its log is quoted in the message).
//
// Thread safety: none; use each object from one thread (the test's).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct redisContext;

namespace llmux::testing {

// Path of the redis-server binary the helpers start.
inline constexpr const char* kRedisServerPath = "/usr/bin/redis-server";
// Whether it exists (a machine without the Debian package cannot run these tests).
bool redis_server_available();

struct RedisServerOptions {
  std::string requirepass;   // non-empty: the default user needs this password
  std::string acl_user;      // non-empty: an extra ACL user with every permission
  std::string acl_password;  // that user's password
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const RedisServerOptions& options() const { return options_; }

  void pause();   // SIGSTOP: connections stay open, nothing is answered
  void resume();  // SIGCONT
  // kill -9 and reap; the port is reused by restart().
  void kill();
  // Starts again, empty, on the same port; returns once it answers.
  void restart();
  // Number of connections the server has accepted since it started
  // (INFO stats total_connections_received), asked over a new connection that
  // the count includes.
  int64_t connections_received() const;

 private:
  void launch();

  RedisServerOptions options_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  std::string dir_;
  pid_t pid_ = -1;
  bool paused_ = false;
};

// A sentinel (redis-server --sentinel) on its own ephemeral port monitoring
// `master` under `service_name` (auth-pass / auth-user from the master's
// options). It must not outlive `master`'s process for get-master-addr-by-name
// to keep answering the address it was configured with.
class RedisSentinel {
 public:
  RedisSentinel(const RedisServer& master, std::string service_name);
  ~RedisSentinel();
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& service_name() const { return service_name_; }

 private:
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  std::string service_name_;
  std::string dir_;
  pid_t pid_ = -1;
};

// A reply of the test client (a copy; hiredis' object is freed at once).
struct RedisValue {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;
  long long integer = 0;
  std::vector<RedisValue> elements;
};

// A blocking connection for test assertions (5 s timeouts). Throws
// std::runtime_error when it cannot connect or log in, or a command fails on
// the wire; Redis error replies are returned as kError values.
class RedisClient {
 public:
  RedisClient(const std::string& host, int port, const std::string& password = {}, const std::string& user = {});
  explicit RedisClient(const RedisServer& server);  // logs in with the server's requirepass, if any
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  RedisValue command(const std::vector<std::string>& argv);
  std::optional<std::string> get(const std::string& key);
  int64_t pttl(const std::string& key);
  std::vector<std::string> keys(const std::string& pattern);  // sorted
  int64_t publish(const std::string& channel, const std::string& message);
  void select(int db);
  void flushall();
  // One field of INFO <section> ("total_connections_received"), as text;
  // empty when absent.
  std::string info_field(const std::string& section, const std::string& field);

 private:
  redisContext* context_ = nullptr;
};

}  // namespace llmux::testing
