// Redis link micro benchmarks: what queueing one command costs the calling
// thread (the router's hot path) with the link up, against a real
// redis-server on loopback (tests/support/redis_server.hpp) that the link
// thread keeps writing to while the benchmark queues:
//   redis/enqueue/fire-and-forget — `INCRBY <key> 1` without a callback (how
//                                    usage counters are pushed);
//   redis/enqueue/with-callback    — the same with a small callback.
// Every 1,024 commands the timer is paused and the link drained (a PING
// answered), so the queue stays bounded; at the end the counter in Redis must
// equal the number of commands queued, or the figure is reported as an error
// (a link that went down would only measure the cheaper "dropped" path).
// Budget: 2 µs, the bound for what Redis may add per call.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/notification.hpp"
#include "micro/micro_registry.hpp"
#include "state/redis_link.hpp"
#include "support/redis_server.hpp"

namespace llmux::bench {
namespace {

constexpr int64_t kDrainEvery = 1024;
constexpr const char* kCounterKey = "llmux:bench:counter";

class UpObserver final : public state::RedisLinkObserver {
 public:
  void on_link_up() override {
    if (!told_.exchange(true)) up_.notify();
  }
  void on_link_down(std::string_view) override {}
  void on_message(std::string_view, std::string_view) override {}
  bool wait_up() { return up_.wait_for(std::chrono::seconds(30)); }

 private:
  std::atomic<bool> told_{false};
  Notification up_;
};

// Started on first use, so that filtering these benchmarks out starts no Redis.
struct RedisBench {
  std::unique_ptr<testing::RedisServer> server;
  UpObserver observer;
  std::unique_ptr<state::RedisLink> link;
  std::string error;
  std::atomic<int64_t> answered{0};  // by the with-callback benchmark's callbacks

  RedisBench() {
    if (!testing::redis_server_available()) {
      error = std::string(testing::kRedisServerPath) + " is not installed";
      return;
    }
    try {
      server = std::make_unique<testing::RedisServer>();
    } catch (const std::exception& e) {
      error = e.what();
      return;
    }
    state::RedisLinkOptions options;
    options.endpoint.host = server->host();
    options.endpoint.port = server->port();
    options.command_timeout = std::chrono::seconds(10);
    link = state::RedisLink::start(options, &observer);
    if (!observer.wait_up()) error = "the Redis link did not come up";
  }
};

// Destroyed at exit: the link first, then the server process is killed.
RedisBench& redis_bench() {
  static RedisBench bench;
  return bench;
}

// Waits until everything queued so far has been answered (replies are in order).
bool drain(state::RedisLink& link) {
  Notification done;
  link.command({"PING"}, [&done](Result<state::RedisReply>) { done.notify(); });
  return done.wait_for(std::chrono::seconds(30));
}

int64_t counter_value(state::RedisLink& link) {
  Notification done;
  int64_t value = -1;
  link.command({"GET", kCounterKey}, [&](Result<state::RedisReply> r) {
    if (r.ok() && r->type == state::RedisReply::Type::kString) value = std::stoll(r->str);
    done.notify();
  });
  return done.wait_for(std::chrono::seconds(30)) ? value : -1;
}

void bm_enqueue(benchmark::State& state, bool with_callback) {
  RedisBench& rb = redis_bench();
  if (!rb.error.empty()) {
    state.SkipWithError(rb.error.c_str());
    return;
  }
  state::RedisLink& link = *rb.link;
  link.command({"DEL", kCounterKey});
  drain(link);
  const uint64_t failures_before = link.stats().commands_failed + link.stats().commands_dropped;
  std::atomic<int64_t>& answered = rb.answered;
  answered.store(0);
  int64_t queued = 0;
  for (auto _ : state) {
    if (with_callback) {
      link.command({"INCRBY", kCounterKey, "1"},
                   [&answered](Result<state::RedisReply>) { answered.fetch_add(1, std::memory_order_relaxed); });
    } else {
      link.command({"INCRBY", kCounterKey, "1"});
    }
    if (++queued % kDrainEvery == 0) {
      state.PauseTiming();
      drain(link);
      state.ResumeTiming();
    }
  }
  // After the loop: no longer timed.
  const bool drained = drain(link);
  const int64_t in_redis = counter_value(link);
  const uint64_t failures = link.stats().commands_failed + link.stats().commands_dropped - failures_before;
  if (!drained || failures != 0 || in_redis != queued ||
      (with_callback && answered.load(std::memory_order_relaxed) != queued)) {
    state.SkipWithError("not every command reached Redis (the link went down during the run)");
  }
}

}  // namespace

void register_redis_link_benchmarks(std::vector<Comparison>& out) {
  benchmark::RegisterBenchmark("redis/enqueue/fire-and-forget", bm_enqueue, false);
  benchmark::RegisterBenchmark("redis/enqueue/with-callback", bm_enqueue, true);
  out.push_back({"RedisLink::command, fire-and-forget INCRBY, link up (caller's CPU)",
                 "redis/enqueue/fire-and-forget", 2000, "", "", false});
  out.push_back({"RedisLink::command, INCRBY with a callback, link up (caller's CPU)",
                 "redis/enqueue/with-callback", 2000, "", "", false});
}

}  // namespace llmux::bench
