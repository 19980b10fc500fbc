// The Redis link against real redis-server processes on loopback
// (tests/support/redis_server.hpp): replies, pipelining from several threads,
// fire-and-forget, pub/sub, and the fail-open behaviour under faults (paused,
// killed and restarted empty, wrong password or ACL user, a master turned
// replica), db selection, sentinel resolution and the destructor. Every
// callback must be called exactly once in every test (Ledger).
//
// Catch2 is not thread-safe: callbacks and observers only record, under a
// mutex; the assertions run on the test's thread afterwards.
#include "state/redis_link.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.hpp"

using namespace llmux;
using namespace llmux::state;
using llmux::testing::RedisClient;
using llmux::testing::RedisSentinel;
using llmux::testing::RedisServer;
using llmux::testing::RedisServerOptions;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// Generous: these bound how long a test waits for something that must
// happen, never how fast it must happen.
constexpr auto kPatience = seconds(30);

class RecordingObserver final : public RedisLinkObserver {
 public:
  void on_link_up() override {
    std::lock_guard lock(mu_);
    ++ups_;
    cv_.notify_all();
  }
  void on_link_down(std::string_view reason) override {
    std::lock_guard lock(mu_);
    downs_.emplace_back(reason);
    cv_.notify_all();
  }
  void on_message(std::string_view channel, std::string_view payload) override {
    std::lock_guard lock(mu_);
    messages_.emplace_back(std::string(channel), std::string(payload));
    cv_.notify_all();
  }

  bool wait_ups(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return ups_ >= n; });
  }
  bool wait_downs(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return downs_.size() >= n; });
  }
  bool wait_messages(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return messages_.size() >= n; });
  }
  int ups() const {
    std::lock_guard lock(mu_);
    return ups_;
  }
  std::vector<std::string> downs() const {
    std::lock_guard lock(mu_);
    return downs_;
  }
  std::vector<std::pair<std::string, std::string>> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int ups_ = 0;                                               // guarded by mu_
  std::vector<std::string> downs_;                            // guarded by mu_
  std::vector<std::pair<std::string, std::string>> messages_; // guarded by mu_
};

// Callbacks that record their outcome and how often they were called.
// Declare it before the link: the link's destructor may still call them.
class Ledger {
 public:
  explicit Ledger(size_t n) : calls_(n, 0), results_(n) {}

  RedisCallback slot(size_t i) {
    return [this, i](Result<RedisReply> r) {
      std::lock_guard lock(mu_);
      if (calls_[i]++ == 0) ++answered_;
      results_[i].emplace(std::move(r));
      order_.push_back(i);
      cv_.notify_all();
    };
  }
  bool wait_all() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return answered_ == calls_.size(); });
  }
  size_t answered() const {
    std::lock_guard lock(mu_);
    return answered_;
  }
  // How many slots were not called exactly once (0 is the only good answer).
  size_t not_exactly_once() const {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(calls_.begin(), calls_.end(), [](int c) { return c != 1; }));
  }
  Result<RedisReply> result(size_t i) const {
    std::lock_guard lock(mu_);
    return results_[i].value_or(Error(ErrorKind::kInternalServer, "never answered"));
  }
  std::vector<size_t> order() const {
    std::lock_guard lock(mu_);
    return order_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> calls_;                                  // guarded by mu_
  std::vector<std::optional<Result<RedisReply>>> results_;  // guarded by mu_
  std::vector<size_t> order_;                               // guarded by mu_
  size_t answered_ = 0;                                     // guarded by mu_
};

RedisLinkOptions options_for(const RedisServer& server) {
  RedisLinkOptions o;
  o.endpoint.host = server.host();
  o.endpoint.port = server.port();
  o.endpoint.password = server.options().requirepass;
  o.client_name = "llmux-test";
  // Roomy deadlines (sanitizer builds, a busy machine); fast retries.
  o.connect_timeout = seconds(2);
  o.command_timeout = seconds(10);
  o.reconnect_backoff_initial = milliseconds(50);
  o.reconnect_backoff_max = milliseconds(500);
  return o;
}

// One command, waited for.
Result<RedisReply> call(RedisLink& link, std::vector<std::string> argv) {
  auto done = std::make_shared<std::promise<Result<RedisReply>>>();
  std::future<Result<RedisReply>> answer = done->get_future();
  link.command(argv, [done](Result<RedisReply> r) { done->set_value(std::move(r)); });
  if (answer.wait_for(kPatience) != std::future_status::ready) {
    return Error(ErrorKind::kInternalServer, "test: no answer in time");
  }
  return answer.get();
}

void require_redis() { REQUIRE(llmux::testing::redis_server_available()); }

}  // namespace

TEST_CASE("replies of every type are copied out of hiredis", "[redis_link]") {
  require_redis();
  RedisServer server;
  RecordingObserver observer;
  auto link = RedisLink::start(options_for(server), &observer);
  REQUIRE(observer.wait_ups(1));
  CHECK(link->up());

  auto set = call(*link, {"SET", "k", "v"});
  REQUIRE(set.ok());
  CHECK(set->type == RedisReply::Type::kStatus);
  CHECK(set->str == "OK");

  auto get = call(*link, {"GET", "k"});
  REQUIRE(get.ok());
  CHECK(get->type == RedisReply::Type::kString);
  CHECK(get->str == "v");

  auto missing = call(*link, {"GET", "no-such-key"});
  REQUIRE(missing.ok());
  CHECK(missing->is_nil());

  auto incr = call(*link, {"INCRBY", "n", "41"});
  REQUIRE(incr.ok());
  CHECK(incr->type == RedisReply::Type::kInteger);
  CHECK(incr->integer == 41);

  auto nested = call(*link, {"EVAL", "return {1, {'x', 2}, 'y'}", "0"});
  REQUIRE(nested.ok());
  REQUIRE(nested->type == RedisReply::Type::kArray);
  REQUIRE(nested->elements.size() == 3);
  CHECK(nested->elements[0].integer == 1);
  REQUIRE(nested->elements[1].type == RedisReply::Type::kArray);
  CHECK(nested->elements[1].elements[0].str == "x");
  CHECK(nested->elements[1].elements[1].integer == 2);
  CHECK(nested->elements[2].str == "y");

  // A Redis error reply is a reply: the command reached Redis.
  auto wrong_type = call(*link, {"INCR", "k"});
  REQUIRE(wrong_type.ok());
  CHECK(wrong_type->type == RedisReply::Type::kError);
  CHECK(wrong_type->str.find("not an integer") != std::string::npos);

  // Binary-safe arguments and replies (NUL, CR LF, a RESP-looking payload).
  const std::string binary("a\0b\r\n$3\r\nxyz\r\n", 15);
  REQUIRE(call(*link, {"SET", "bin", binary}).ok());
  auto bin = call(*link, {"GET", "bin"});
  REQUIRE(bin.ok());
  CHECK(bin->str == binary);

  // The initializer_list form.
  auto promise = std::make_shared<std::promise<Result<RedisReply>>>();
  auto answer = promise->get_future();
  link->command({"ECHO", std::string_view("hi")}, [promise](Result<RedisReply> r) { promise->set_value(std::move(r)); });
  REQUIRE(answer.wait_for(kPatience) == std::future_status::ready);
  CHECK(answer.get()->str == "hi");

  // No arguments: a typed error at once, never sent.
  Ledger ledger(1);
  link->command(std::vector<std::string>{}, ledger.slot(0));
  CHECK(ledger.answered() == 1);
  CHECK(ledger.result(0).error().kind == ErrorKind::kInvalidArgument);

  // The client name is set on both connections.
  RedisClient client(server);
  const std::string clients = client.command({"CLIENT", "LIST"}).str;
  size_t named = 0;
  for (size_t pos = clients.find("name=llmux-test "); pos != std::string::npos;
       pos = clients.find("name=llmux-test ", pos + 1)) {
    ++named;
  }
  CHECK(named == 2);
  CHECK(ledger.not_exactly_once() == 0);
}

TEST_CASE("10,000 pipelined commands from each of 4 threads are answered in order per thread", "[redis_link]") {
  require_redis();
  RedisServer server;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10'000;
  Ledger ledger(kThreads * kPerThread);
  RecordingObserver observer;
  auto link = RedisLink::start(options_for(server), &observer);
  REQUIRE(observer.wait_ups(1));

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = "counter:" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) link->command({"INCR", key}, ledger.slot(t * kPerThread + i));
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(ledger.wait_all());
  CHECK(ledger.not_exactly_once() == 0);

  // INCR answers 1, 2, 3 ... in the order Redis ran them: slot i of a thread
  // must have seen i + 1, and the callbacks of one thread ran in its order.
  size_t wrong_values = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const auto r = ledger.result(t * kPerThread + i);
      if (!r.ok() || r->type != RedisReply::Type::kInteger || r->integer != i + 1) ++wrong_values;
    }
  }
  CHECK(wrong_values == 0);
  std::vector<int> last_seen(kThreads, -1);
  size_t out_of_order = 0;
  for (size_t slot : ledger.order()) {
    const int t = static_cast<int>(slot) / kPerThread;
    const int i = static_cast<int>(slot) % kPerThread;
    if (i != last_seen[t] + 1) ++out_of_order;
    last_seen[t] = i;
  }
  CHECK(out_of_order == 0);

  RedisClient client(server);
  for (int t = 0; t < kThreads; ++t) CHECK(client.get("counter:" + std::to_string(t)) == std::to_string(kPerThread));
  const RedisLinkStats stats = link->stats();
  CHECK(stats.commands_sent == kThreads * kPerThread);
  CHECK(stats.commands_failed == 0);
  CHECK(stats.disconnects == 0);
}

TEST_CASE("fire-and-forget commands are applied without a callback", "[redis_link]") {
  require_redis();
  RedisServer server;
  RecordingObserver observer;
  auto link = RedisLink::start(options_for(server), &observer);
  REQUIRE(observer.wait_ups(1));
  for (int i = 0; i < 1000; ++i) link->command({"INCRBY", "ff", "2"});
  link->command({"EXPIRE", "ff", "60"});
  // Replies come in order: once this one is here, every command above ran.
  auto total = call(*link, {"GET", "ff"});
  REQUIRE(total.ok());
  CHECK(total->str == "2000");
  RedisClient client(server);
  CHECK(client.pttl("ff") > 0);
  const RedisLinkStats stats = link->stats();
  CHECK(stats.commands_sent == 1002);
  CHECK(stats.commands_dropped == 0);
}

TEST_CASE("pub/sub delivers messages of channels subscribed before and after the link is up", "[redis_link]") {
  require_redis();
  RedisServer server;
  RecordingObserver observer;
  auto link = RedisLink::start(options_for(server), &observer);
  link->subscribe("early");
  REQUIRE(observer.wait_ups(1));
  link->subscribe("late");
  link->subscribe("late");  // one subscription

  RedisClient client(server);
  // SUBSCRIBE of "late" may still be in flight: wait until Redis counts it.
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (client.command({"PUBSUB", "NUMSUB", "late"}).elements.at(1).integer < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  // "early" was subscribed by the login: on_link_up promised it.
  CHECK(client.command({"PUBSUB", "NUMSUB", "early"}).elements.at(1).integer == 1);
  CHECK(client.command({"PUBSUB", "NUMSUB", "late"}).elements.at(1).integer == 1);

  const std::string binary("x\0y\r\n", 5);
  CHECK(client.publish("early", "one") == 1);
  CHECK(client.publish("late", binary) == 1);
  CHECK(client.publish("early", "three") == 1);
  REQUIRE(observer.wait_messages(3));
  const auto messages = observer.messages();
  REQUIRE(messages.size() == 3);
  CHECK(messages[0] == std::make_pair(std::string("early"), std::string("one")));
  CHECK(messages[1] == std::make_pair(std::string("late"), binary));
  CHECK(messages[2] == std::make_pair(std::string("early"), std::string("three")));
  CHECK(link->stats().messages_received == 3);

  // Commands and messages do not mix: the command connection still answers.
  auto pong = call(*link, {"PING"});
  REQUIRE(pong.ok());
  CHECK(pong->str == "PONG");
}

TEST_CASE("a paused Redis: commands time out, the link goes down, answers at once while down, recovers",
          "[redis_link][fault]") {
  require_redis();
  RedisServer server;
  Ledger in_flight(5);
  Ledger while_down(3);
  RecordingObserver observer;
  RedisLinkOptions options = options_for(server);
  options.command_timeout = milliseconds(300);
  options.connect_timeout = milliseconds(300);
  options.idle_ping_interval = std::chrono::hours(1);  // only the commands below may time out
  auto link = RedisLink::start(options, &observer);
  REQUIRE(observer.wait_ups(1));

  server.pause();
  for (size_t i = 0; i < 5; ++i) link->command({"INCR", "paused"}, in_flight.slot(i));
  REQUIRE(in_flight.wait_all());
  for (size_t i = 0; i < 5; ++i) {
    const auto r = in_flight.result(i);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kTimeout);
    CHECK(r.error().message.find("timed out") != std::string::npos);
  }
  REQUIRE(observer.wait_downs(1));
  CHECK(observer.downs()[0].find("timed out after 300 ms") != std::string::npos);
  CHECK_FALSE(link->up());

  // Down: answered before command() returns, on the caller's thread.
  for (size_t i = 0; i < 3; ++i) {
    link->command({"INCR", "while-down"}, while_down.slot(i));
    CHECK(while_down.answered() == i + 1);
    CHECK(while_down.result(i).error().kind == ErrorKind::kServiceUnavailable);
  }
  const uint64_t dropped_before = link->stats().commands_dropped;
  link->command({"INCR", "while-down"});
  CHECK(link->stats().commands_dropped == dropped_before + 1);

  server.resume();
  REQUIRE(observer.wait_ups(2));
  auto after = call(*link, {"INCR", "after"});
  REQUIRE(after.ok());
  CHECK(after->integer == 1);
  const RedisLinkStats stats = link->stats();
  CHECK(stats.disconnects == 1);
  CHECK(stats.connects == 2);
  CHECK(stats.commands_failed >= 8);
  CHECK(in_flight.not_exactly_once() == 0);
  CHECK(while_down.not_exactly_once() == 0);
}

TEST_CASE("an idle link notices a paused Redis through its pings", "[redis_link][fault]") {
  require_redis();
  RedisServer server;
  RecordingObserver observer;
  RedisLinkOptions options = options_for(server);
  options.command_timeout = milliseconds(300);
  options.idle_ping_interval = milliseconds(100);
  auto link = RedisLink::start(options, &observer);
  REQUIRE(observer.wait_ups(1));
  server.pause();
  REQUIRE(observer.wait_downs(1));
  CHECK(observer.downs()[0].find("PING timed out") != std::string::npos);
  server.resume();
  REQUIRE(observer.wait_ups(2));
}

TEST_CASE("Redis killed and restarted empty: the link reconnects and renews its subscriptions",
          "[redis_link][fault]") {
  require_redis();
  RedisServer server;
  RecordingObserver observer;
  auto link = RedisLink::start(options_for(server), &observer);
  link->subscribe("events");
  REQUIRE(observer.wait_ups(1));
  REQUIRE(call(*link, {"SET", "before", "1"}).ok());

  server.kill();
  REQUIRE(observer.wait_downs(1));
  CHECK(observer.downs()[0].find("closed") != std::string::npos);
  auto refused = call(*link, {"GET", "before"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kServiceUnavailable);

  server.restart();
  REQUIRE(observer.wait_ups(2));
  auto gone = call(*link, {"GET", "before"});
  REQUIRE(gone.ok());
  CHECK(gone->is_nil());  // restarted empty

  RedisClient client(server);
  CHECK(client.publish("events", "again") == 1);  // renewed before on_link_up
  REQUIRE(observer.wait_messages(1));
  CHECK(observer.messages()[0].second == "again");
  CHECK(link->stats().disconnects == 1);
}

TEST_CASE("wrong password or ACL user: down with a reason that names no secret, rare reconnects",
          "[redis_link][fault]") {
  require_redis();
  RedisServerOptions server_options;
  server_options.requirepass = "server-secret-7f3a";
  server_options.acl_user = "alice";
  server_options.acl_password = "alice-secret-19c2";
  RedisServer server(server_options);

  struct Case {
    std::string name;
    std::string username;
    std::string password;
  };
  const Case wrong = GENERATE(Case{"wrong password", "", "not-the-password-4411"},
                              Case{"wrong ACL user", "mallory", "mallory-secret-8e21"},
                              Case{"right ACL user, wrong password", "alice", "guess-9d0b"});
  INFO(wrong.name);

  RedisLinkOptions options = options_for(server);
  options.endpoint.username = wrong.username;
  options.endpoint.password = wrong.password;
  options.reconnect_backoff_initial = milliseconds(250);
  options.reconnect_backoff_max = seconds(10);
  const int64_t connections_before = server.connections_received();

  Ledger ledger(1);
  RecordingObserver observer;
  const auto started = std::chrono::steady_clock::now();
  auto link = RedisLink::start(options, &observer);
  REQUIRE(observer.wait_downs(1));
  const std::string reason = observer.downs()[0];
  CHECK(reason.find("WRONGPASS") != std::string::npos);
  for (const std::string& secret : {wrong.password, server_options.requirepass, server_options.acl_password}) {
    CHECK(reason.find(secret) == std::string::npos);
  }
  link->command({"GET", "x"}, ledger.slot(0));
  REQUIRE(ledger.answered() == 1);
  const Error refused = ledger.result(0).error();
  CHECK(refused.kind == ErrorKind::kServiceUnavailable);
  CHECK(refused.message.find("WRONGPASS") != std::string::npos);
  CHECK(refused.message.find(wrong.password) == std::string::npos);

  // About 2 s of retrying. Each attempt waits at least half its step of the
  // doubling schedule (250 ms, 500 ms, 1 s, 2 s ...) after the previous one,
  // so the attempts that fit in the elapsed time are bounded: count them.
  std::this_thread::sleep_until(started + seconds(2));
  const RedisLinkStats stats = link->stats();
  const int64_t connections_after = server.connections_received();
  const auto elapsed = std::chrono::steady_clock::now() - started;
  int64_t max_attempts = 1;
  std::chrono::nanoseconds earliest{0};
  for (std::chrono::nanoseconds step = options.reconnect_backoff_initial;; step = std::min(step * 2, options.reconnect_backoff_max)) {
    earliest += step / 2;
    if (earliest > elapsed) break;
    ++max_attempts;
  }
  INFO("attempts " << stats.connect_failures << ", allowed " << max_attempts << ", connections "
                   << connections_after - connections_before - 1);
  CHECK(stats.connect_failures >= 2);  // it keeps trying
  CHECK(static_cast<int64_t>(stats.connect_failures) <= max_attempts);
  // Two connections per attempt (commands, pub/sub); the test client's
  // second INFO connection is counted too.
  CHECK(connections_after - connections_before - 1 <= 2 * max_attempts);
  CHECK(stats.connects == 0);
  CHECK_FALSE(link->up());
  // The same reason again is not reported again.
  CHECK(observer.downs().size() == 1);
  CHECK(ledger.not_exactly_once() == 0);
}

TEST_CASE("the right password and the right ACL user log in", "[redis_link]") {
  require_redis();
  RedisServerOptions server_options;
  server_options.requirepass = "server-secret-7f3a";
  server_options.acl_user = "alice";
  server_options.acl_password = "alice-secret-19c2";
  RedisServer server(server_options);
  for (const bool as_alice : {false, true}) {
    RedisLinkOptions options = options_for(server);
    if (as_alice) {
      options.endpoint.username = "alice";
      options.endpoint.password = server_options.acl_password;
    }
    RecordingObserver observer;
    auto link = RedisLink::start(options, &observer);
    REQUIRE(observer.wait_ups(1));
    auto who = call(*link, {"ACL", "WHOAMI"});
    REQUIRE(who.ok());
    CHECK(who->str == (as_alice ? "alice" : "default"));
    CHECK(observer.downs().empty());
  }
}

TEST_CASE("a database number selects its own keyspace", "[redis_link]") {
  require_redis();
  RedisServer server;
  RecordingObserver observer0;
  RecordingObserver observer3;
  RedisLinkOptions options3 = options_for(server);
  options3.endpoint.db = 3;
  auto link0 = RedisLink::start(options_for(server), &observer0);
  auto link3 = RedisLink::start(options3, &observer3);
  REQUIRE(observer0.wait_ups(1));
  REQUIRE(observer3.wait_ups(1));
  REQUIRE(call(*link0, {"SET", "shared-name", "db0"}).ok());
  REQUIRE(call(*link3, {"SET", "shared-name", "db3"}).ok());
  REQUIRE(call(*link3, {"SET", "only-in-3", "x"}).ok());
  CHECK(call(*link0, {"GET", "only-in-3"})->is_nil());

  RedisClient client(server);
  CHECK(client.get("shared-name") == "db0");
  CHECK(client.keys("*") == std::vector<std::string>{"shared-name"});
  client.select(3);
  CHECK(client.get("shared-name") == "db3");
  CHECK(client.keys("*") == std::vector<std::string>{"only-in-3", "shared-name"});

  // A database that does not exist: SELECT fails at login, the link stays down.
  RecordingObserver bad_observer;
  RedisLinkOptions bad = options_for(server);
  bad.endpoint.db = 100000;
  auto bad_link = RedisLink::start(bad, &bad_observer);
  REQUIRE(bad_observer.wait_downs(1));
  CHECK(bad_observer.downs()[0].find("SELECT failed") != std::string::npos);
  CHECK_FALSE(bad_link->up());
}

TEST_CASE("sentinel: the master's address comes from the first sentinel that knows it", "[redis_link][sentinel]") {
  require_redis();
  RedisServerOptions server_options;
  server_options.requirepass = "master-secret-5b7e";
  RedisServer server(server_options);
  RedisSentinel sentinel(server, "mymaster");

  RedisLinkOptions options = options_for(server);
  options.endpoint.host = "127.0.0.1";
  options.endpoint.port = 1;  // wrong on purpose: only the sentinel knows
  options.endpoint.sentinel_service_name = "mymaster";
  options.endpoint.sentinel_nodes = {{"127.0.0.1", 1}, {sentinel.host(), sentinel.port()}};
  RecordingObserver observer;
  auto link = RedisLink::start(options, &observer);
  REQUIRE(observer.wait_ups(1));
  REQUIRE(call(*link, {"SET", "via-sentinel", "yes"}).ok());
  RedisClient client(server);
  CHECK(client.get("via-sentinel") == "yes");
  CHECK(observer.downs().empty());

  // A service no sentinel knows: down, and the reason says so.
  RedisLinkOptions unknown = options;
  unknown.endpoint.sentinel_service_name = "nosuchmaster";
  RecordingObserver unknown_observer;
  auto unknown_link = RedisLink::start(unknown, &unknown_observer);
  REQUIRE(unknown_observer.wait_downs(1));
  const std::string reason = unknown_observer.downs()[0];
  CHECK(reason.find("nosuchmaster") != std::string::npos);
  CHECK(reason.find("127.0.0.1:1: connect failed") != std::string::npos);
  CHECK(reason.find(server_options.requirepass) == std::string::npos);
  CHECK_FALSE(unknown_link->up());
}

TEST_CASE("a master turned replica: READONLY takes the link down until it is a master again", "[redis_link][fault]") {
  require_redis();
  RedisServer server;
  RedisServer other;  // the master it will replicate
  RecordingObserver observer;
  Ledger ledger(1);
  auto link = RedisLink::start(options_for(server), &observer);
  REQUIRE(observer.wait_ups(1));

  RedisClient client(server);
  REQUIRE(client.command({"REPLICAOF", other.host(), std::to_string(other.port())}).str == "OK");
  link->command({"SET", "k", "v"}, ledger.slot(0));
  REQUIRE(ledger.wait_all());
  const auto refused = ledger.result(0);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kServiceUnavailable);  // not applied
  REQUIRE(observer.wait_downs(1));
  INFO(observer.downs()[0]);
  CHECK((observer.downs()[0].find("READONLY") != std::string::npos ||
         observer.downs()[0].find("LOADING") != std::string::npos));
  // Reconnecting finds a replica (ROLE) and stays down.
  REQUIRE(observer.wait_downs(2));
  CHECK(observer.downs()[1].find("replica") != std::string::npos);
  CHECK(observer.ups() == 1);

  REQUIRE(client.command({"REPLICAOF", "NO", "ONE"}).str == "OK");
  REQUIRE(observer.wait_ups(2));
  auto applied = call(*link, {"SET", "k", "v"});
  REQUIRE(applied.ok());
  CHECK(applied->str == "OK");
  CHECK(ledger.not_exactly_once() == 0);
}

TEST_CASE("the destructor answers every pending callback exactly once with kCancelled", "[redis_link]") {
  require_redis();
  RedisServer server;
  constexpr size_t kPending = 200;
  Ledger ledger(kPending);
  Ledger queued_from_callbacks(kPending);
  RecordingObserver observer;
  RedisLinkOptions options = options_for(server);
  options.command_timeout = seconds(60);  // nothing times out: only the destructor answers
  options.idle_ping_interval = std::chrono::hours(1);
  auto link = RedisLink::start(options, &observer);
  REQUIRE(observer.wait_ups(1));
  server.pause();  // sent commands stay unanswered

  RedisLink* raw = link.get();
  for (size_t i = 0; i < kPending; ++i) {
    // Each callback queues another command: the dying link answers it at once.
    RedisCallback inner = queued_from_callbacks.slot(i);
    RedisCallback outer = ledger.slot(i);
    link->command({"INCR", "pending"}, [raw, i, inner, outer](Result<RedisReply> r) mutable {
      outer(std::move(r));
      raw->command({"INCR", "again"}, std::move(inner));
    });
    if (i % 2 == 0) link->command({"INCR", "fire-and-forget"});
  }
  link.reset();
  CHECK(ledger.answered() == kPending);
  CHECK(queued_from_callbacks.answered() == kPending);
  CHECK(ledger.not_exactly_once() == 0);
  CHECK(queued_from_callbacks.not_exactly_once() == 0);
  for (size_t i = 0; i < kPending; ++i) {
    const auto r = ledger.result(i);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kCancelled);
    CHECK(queued_from_callbacks.result(i).error().kind == ErrorKind::kCancelled);
  }
  server.resume();
}

TEST_CASE("a link to nothing never blocks the caller and keeps its reconnects on its own thread", "[redis_link]") {
  RedisLinkOptions options;
  options.endpoint.host = "127.0.0.1";
  options.endpoint.port = 1;  // refused
  RecordingObserver observer;
  Ledger ledger(100);
  auto link = RedisLink::start(options, &observer);
  for (size_t i = 0; i < 100; ++i) {
    link->command({"GET", "x"}, ledger.slot(i));
    CHECK(ledger.answered() == i + 1);
  }
  REQUIRE(observer.wait_downs(1));
  CHECK(observer.downs()[0].find("connect failed") != std::string::npos);
  CHECK(ledger.not_exactly_once() == 0);
  CHECK(link->stats().commands_failed == 100);
  CHECK(RedisEndpoint{}.describe() == "redis://127.0.0.1:6379/0");
}
