// Load shared by a fleet (llmux's own keys, not LiteLLM's): two Routers, each
// with its own Redis link as replicas in separate processes would have, on
// one real redis-server and real HTTP deployments (the fake provider).
// Least-busy sees the calls another replica holds in flight, and stops seeing
// them when they end or when the replica that reported them goes silent (a
// crash); latency-based routing avoids a deployment another replica measured
// slow before it has a sample of its own.
// Part of the router_fleet_test binary (router_fleet_test.cpp has the rest).
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "fleet_util.hpp"
#include "support/redis_server.hpp"
#include "test_util.hpp"

namespace llmux::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::map<std::string, int> route(Router& router, int n) {
  std::map<std::string, int> where;
  for (int i = 0; i < n; ++i) {
    auto r = router.completion(chat_request("g"));
    if (!r.ok()) FAIL("call failed: " << r.error().to_string());
    where[r->metadata.deployment_id]++;
  }
  return where;
}

// The fields of a hash (HGETALL), field → value.
std::map<std::string, std::string> hash_of(RedisClient& c, const std::string& key) {
  std::map<std::string, std::string> out;
  RedisValue v = c.command({"HGETALL", key});
  for (size_t i = 0; i + 1 < v.elements.size(); i += 2) out[v.elements[i].str] = v.elements[i + 1].str;
  return out;
}

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A fake deployment that holds requests whose body carries `hold_marker` for
// `hold`, and answers the others at once.
void hold_marked(FakeProvider& p, const std::string& hold_marker, Millis hold) {
  p.set_handler([hold_marker, hold](const ReceivedRequest& req) {
    Behavior b = Behavior::ok();
    if (req.body.find(hold_marker) != std::string::npos) b.delay = hold;
    return b;
  });
}

}  // namespace

TEST_CASE("least-busy: calls one replica holds in flight steer the others away until they end",
          "[fleet][redis][fleet_load]") {
  REQUIRE(redis_server_available());
  RedisServer redis;
  RedisClient client(redis);
  FakeProvider p1, p2;
  hold_marked(p1, "hold-me", 30'000ms);
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", p1, "", "dep-1") +
                           deployment_yaml("g", "m", p2, "", "dep-2") +
                           "router_settings:\n  routing_strategy: least-busy\n" +
                           fmt::format("  redis_host: {}\n  redis_port: {}\n", redis.host(), redis.port());
  auto a = make_replica(yaml, 1);
  auto b = make_replica(yaml, 2);
  REQUIRE(wait_until([&] { return connected(*a) && connected(*b); }, 5000ms));

  // Alone, B spreads its calls over both (ties are broken at random).
  std::map<std::string, int> where = route(*b->router, 40);
  CHECK(where["dep-1"] > 5);
  CHECK(where["dep-2"] > 5);

  // A holds four calls on dep-1 (addressed by id: its own picks play no part).
  constexpr int kHeld = 4;
  std::vector<uint64_t> ids;
  std::atomic<int> done{0};
  for (int i = 0; i < kHeld; ++i) {
    ids.push_back(a->router->completion_async(
        chat_request("dep-1", R"("user":"hold-me")"), [&done](Result<Response>) { done.fetch_add(1); }));
  }
  const std::string key = "llmux:in_flight:dep-1";
  REQUIRE(wait_until([&] { return hash_of(client, key).size() == 1; }, 5000ms));
  const auto fields = hash_of(client, key);
  CHECK(fields.begin()->second.rfind(fmt::format("{}:", kHeld), 0) == 0);  // "<count>:<unix_ms>"
  CHECK(client.pttl(key) > 0);

  // B learns of them within a few sync intervals: every call goes to dep-2
  // (its own count is 0 on both between sequential calls).
  REQUIRE(wait_until([&] { return route(*b->router, 1).count("dep-2") == 1 && route(*b->router, 20)["dep-2"] == 20; },
                     5000ms));
  // The heartbeat keeps them visible for longer than the freshness bound.
  std::this_thread::sleep_for(2000ms);
  CHECK(route(*b->router, 20)["dep-2"] == 20);

  // A's calls end: B uses dep-1 again, and A's field is gone.
  for (uint64_t id : ids) a->router->cancel(id);
  REQUIRE(wait_until([&] { return done.load() == kHeld; }, 5000ms));
  CHECK(wait_until([&] { return route(*b->router, 20)["dep-1"] > 0; }, 5000ms));
  CHECK(wait_until([&] { return hash_of(client, key).empty(); }, 5000ms));
}

TEST_CASE("least-busy: a replica that dies with calls in flight stops counting once its report is stale",
          "[fleet][redis][fleet_load]") {
  REQUIRE(redis_server_available());
  RedisServer redis;
  RedisClient client(redis);
  FakeProvider p1, p2;
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", p1, "", "dep-1") +
                           deployment_yaml("g", "m", p2, "", "dep-2") +
                           "router_settings:\n  routing_strategy: least-busy\n" +
                           fmt::format("  redis_host: {}\n  redis_port: {}\n", redis.host(), redis.port());
  auto b = make_replica(yaml, 3);
  REQUIRE(wait_until([&] { return connected(*b); }, 5000ms));

  // What a replica that crashed leaves behind: its field, never refreshed.
  const std::string key = "llmux:in_flight:dep-1";
  client.command({"HSET", key, "dead-host:1:abcdef", fmt::format("50:{}", unix_ms_now())});
  client.command({"PEXPIRE", key, "60000"});
  const auto written = Clock::now();
  REQUIRE(wait_until([&] { return route(*b->router, 20)["dep-2"] == 20; }, 5000ms));
  // Past its freshness (4 sync intervals + 0.5 s = 1.5 s here) B ignores it,
  // deletes it, and uses dep-1 again.
  REQUIRE(wait_until([&] { return route(*b->router, 20)["dep-1"] > 0; }, 10'000ms));
  CHECK(Clock::now() - written >= 1000ms);  // not before the report went stale
  CHECK(wait_until([&] { return hash_of(client, key).empty(); }, 5000ms));
}

TEST_CASE("latency-based: a deployment one replica measured slow is avoided by another with no sample of its own",
          "[fleet][redis][fleet_load]") {
  REQUIRE(redis_server_available());
  RedisServer redis;
  RedisClient client(redis);
  FakeProvider p1, p2;
  Behavior slow = Behavior::ok();
  slow.delay = 300ms;
  p1.set_default(slow);
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", p1, "", "dep-1") +
                           deployment_yaml("g", "m", p2, "", "dep-2") +
                           "router_settings:\n  routing_strategy: latency-based-routing\n" +
                           fmt::format("  redis_host: {}\n  redis_port: {}\n", redis.host(), redis.port());
  auto a = make_replica(yaml, 4);
  auto b = make_replica(yaml, 5);
  REQUIRE(wait_until([&] { return connected(*a) && connected(*b); }, 5000ms));

  // A measures dep-1 (addressed by id).
  for (int i = 0; i < 3; ++i) REQUIRE(a->router->completion(chat_request("dep-1")).ok());
  const std::string key = "llmux:latency:dep-1";
  // "<latency_mean>:<samples>:<ttft_mean>:<ttft_samples>:<unix_ms>": three
  // samples (once the tick after the last one ran), no TTFT.
  std::string value;
  CHECK(wait_until(
      [&] {
        const auto h = hash_of(client, key);
        value = h.size() == 1 ? h.begin()->second : "";
        return value.find(":3:0:0:") != std::string::npos;
      },
      5000ms));
  INFO(value);
  CHECK(client.pttl(key) > 0);
  // B reads it within a few sync intervals (one tick: 0.25 s).
  std::this_thread::sleep_for(1000ms);

  // B never measured dep-1: alone it would try it first (untried scores 0);
  // with A's summary it never does.
  const auto where = route(*b->router, 10);
  CHECK(where.count("dep-1") == 0);
  CHECK(p1.requests().size() == 3);  // only A's
  // B publishes its own window of dep-2; A's of dep-1 stays.
  CHECK(wait_until([&] { return hash_of(client, "llmux:latency:dep-2").size() == 1; }, 5000ms));
}

TEST_CASE("fleet load: with another strategy nothing of it is written", "[fleet][redis][fleet_load]") {
  REQUIRE(redis_server_available());
  RedisServer redis;
  RedisClient client(redis);
  FakeProvider p1, p2;
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", p1, "", "dep-1") +
                           deployment_yaml("g", "m", p2, "", "dep-2") +
                           "router_settings:\n  routing_strategy: simple-shuffle\n" +
                           fmt::format("  redis_host: {}\n  redis_port: {}\n", redis.host(), redis.port());
  auto a = make_replica(yaml, 6);
  REQUIRE(wait_until([&] { return connected(*a); }, 5000ms));
  route(*a->router, 10);
  std::this_thread::sleep_for(600ms);  // two sync intervals
  CHECK(client.keys("llmux:in_flight:*").empty());
  CHECK(client.keys("llmux:latency:*").empty());
}

}  // namespace llmux::testing
