// A fleet that agrees: several Routers (each with its own Redis link, as
// replicas in separate processes would have) share one real redis-server on
// loopback and real HTTP deployments (the fake provider). Cooldowns reach every
// replica through pub/sub, an rpm limit holds fleet-wide, one replica probes a
// recovering deployment, LiteLLM-written cooldowns are obeyed, and Redis
// failing (paused, killed, restarted empty, wrong password) never fails a call.
// The multi-process and LiteLLM versions of these live in tests/interop.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "fleet_util.hpp"
#include "support/redis_server.hpp"
#include "support/virtual_clock.hpp"
#include "test_util.hpp"

namespace llmux::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const DeploymentHealth* find_health(const std::vector<DeploymentHealth>& hs, const std::string& id) {
  for (const auto& h : hs) {
    if (h.id == id) return &h;
  }
  return nullptr;
}

bool cooling(Router& r, const std::string& id) {
  auto hs = r.health();
  const DeploymentHealth* h = find_health(hs, id);
  return h != nullptr && h->state == "cooling_down";
}

// The seconds left in the current UTC minute.
double seconds_left_in_minute() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return 60.0 - std::chrono::duration<double>(now - std::chrono::floor<std::chrono::minutes>(now)).count();
}

// So that a test counting one minute's requests does not straddle two.
void wait_for_fresh_minute_if_needed(double needed_seconds) {
  const double left = seconds_left_in_minute();
  if (left < needed_seconds) std::this_thread::sleep_for(std::chrono::duration<double>(left + 0.2));
}

std::string utc_minute_tag() {
  const auto now = std::chrono::system_clock::now();
  const int64_t m = std::chrono::floor<std::chrono::minutes>(now.time_since_epoch()).count();
  return fmt::format("{:02d}-{:02d}", (m / 60) % 24, m % 60);
}

// dep-limited (order 1, rpm 10) and its spare (order 2) on `redis`, with
// `redis_extra` router settings; pre-call checks enforce the limit.
std::string rpm_limited_yaml(const RedisServer& redis, const FakeProvider& limited, const FakeProvider& spare,
                             const std::string& redis_extra) {
  return "model_list:\n" + deployment_yaml("g", "m", limited, "      order: 1\n      rpm: 10\n", "dep-limited") +
         deployment_yaml("g", "m", spare, "      order: 2\n", "dep-spare") +
         "router_settings:\n  enable_pre_call_checks: true\n  num_retries: 0\n" + redis_settings(redis, redis_extra);
}

// `per_replica` calls to group "g" from every replica, all at once; how many
// failed (REQUIREs that all ended).
int call_all_at_once(Fleet& fleet, int per_replica) {
  std::atomic<int> done{0}, failed{0};
  for (auto& replica : fleet) {
    for (int k = 0; k < per_replica; ++k) {
      replica->router->completion_async(chat_request("g"), [&](Result<Response> r) {
        if (!r.ok()) failed.fetch_add(1);
        done.fetch_add(1);
      });
    }
  }
  const int total = per_replica * static_cast<int>(fleet.size());
  REQUIRE(wait_until([&] { return done.load() == total; }, 20000ms));
  return failed.load();
}

}  // namespace

TEST_CASE("a cooldown one replica sets is obeyed by the others through pub/sub, in LiteLLM's key format",
          "[fleet][redis]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider bad, good;
  bad.set_default(Behavior::rate_limited());
  // The periodic re-read is an hour away: only the announcement can carry it.
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", bad, "      order: 1\n", "dep-bad") +
                           deployment_yaml("g", "m", good, "      order: 2\n", "dep-good") +
                           "router_settings:\n  cooldown_time: 30\n  num_retries: 1\n" +
                           redis_settings(redis, "  redis_sync_interval: 3600\n");
  Fleet fleet = make_fleet(yaml, 3, 11);
  wait_connected(fleet);

  auto r = fleet[0]->router->completion(chat_request("g"));
  REQUIRE(r.ok());
  CHECK(r->metadata.deployment_id == "dep-good");
  REQUIRE(cooling(*fleet[0]->router, "dep-bad"));
  const auto set_at = Clock::now();
  for (size_t i = 1; i < fleet.size(); ++i) {
    REQUIRE(wait_until([&] { return cooling(*fleet[i]->router, "dep-bad"); }, 2000ms));
  }
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - set_at).count();
  INFO("propagation to both other replicas: " << ms << " ms");
  auto hs = fleet[1]->router->health();
  const DeploymentHealth* h = find_health(hs, "dep-bad");
  REQUIRE(h != nullptr);
  CHECK(h->status == 429);
  CHECK(!h->cooled_by.empty());
  CHECK(h->cooldown_remaining_seconds > 25);

  // LiteLLM's key, LiteLLM's JSON: status as a string, expiring with it.
  RedisClient client(redis);
  std::optional<std::string> value = client.get("deployment:dep-bad:cooldown");
  REQUIRE(value.has_value());
  CHECK(value->find("\"status_code\": \"429\"") != std::string::npos);
  CHECK(value->find("\"cooldown_time\": 30") != std::string::npos);
  CHECK(value->find("sk-test-secret-key") == std::string::npos);
  const int64_t pttl = client.pttl("deployment:dep-bad:cooldown");
  CHECK(pttl > 25000);
  CHECK(pttl <= 30000);

  // The other replicas never send to it.
  const size_t before = bad.request_count();
  for (size_t i = 1; i < fleet.size(); ++i) {
    for (int k = 0; k < 5; ++k) {
      auto rr = fleet[i]->router->completion(chat_request("g"));
      REQUIRE(rr.ok());
      CHECK(rr->metadata.deployment_id == "dep-good");
    }
  }
  CHECK(bad.request_count() == before);
}

TEST_CASE("an rpm limit holds across the fleet: exactly N a minute, counted in LiteLLM's usage key",
          "[fleet][redis]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider limited, spare;
  // Exact only while Redis answers each reservation within redis_max_wait
  // (after it a call goes on with its local decision): a slow sanitizer
  // build may take longer than the default 5 ms.
  const std::string yaml =
      rpm_limited_yaml(redis, limited, spare, "  redis_max_wait: 2\n  redis_command_timeout: 5\n");
  Fleet fleet = make_fleet(yaml, 3, 21);
  wait_connected(fleet);
  wait_for_fresh_minute_if_needed(30);
  const std::string tag = utc_minute_tag();

  CHECK(call_all_at_once(fleet, 20) == 0);  // 3 replicas × 20 calls
  if (utc_minute_tag() != tag) {
    WARN("the UTC minute turned over mid-test: counts not compared");
    return;
  }
  // Redis unreachable (fail open) would make each replica count alone.
  INFO("shared_state_down events per replica: " << fleet[0]->events.count(RouterEventType::kSharedStateDown) << " "
                                                << fleet[1]->events.count(RouterEventType::kSharedStateDown) << " "
                                                << fleet[2]->events.count(RouterEventType::kSharedStateDown));
  CHECK(limited.request_count() == 10);
  CHECK(spare.request_count() == 50);
  RedisClient client(redis);
  std::optional<std::string> count = client.get("dep-limited:openai/m:rpm:" + tag);
  REQUIRE(count.has_value());
  CHECK(*count == "10");
  CHECK(client.pttl("dep-limited:openai/m:rpm:" + tag) <= 60000);
  // Every replica's view agrees.
  for (auto& replica : fleet) {
    auto hs = replica->router->health();
    const DeploymentHealth* h = find_health(hs, "dep-limited");
    REQUIRE(h != nullptr);
    CHECK(h->requests_this_minute >= 10);
  }
}

TEST_CASE("Redis slower than redis_max_wait: each replica keeps an rpm limit on its own counts", "[fleet][redis]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider limited, spare;
  // Every reservation times out: each replica decides as it would without
  // Redis, counting the calls that went ahead — not letting every call that
  // waited on a slow answer through.
  const std::string yaml = rpm_limited_yaml(redis, limited, spare, "  redis_max_wait: 0.00001\n");
  Fleet fleet = make_fleet(yaml, 3, 71);
  wait_connected(fleet);
  wait_for_fresh_minute_if_needed(30);
  const std::string tag = utc_minute_tag();
  CHECK(call_all_at_once(fleet, 30) == 0);
  if (utc_minute_tag() != tag) {
    WARN("the UTC minute turned over mid-test: counts not compared");
    return;
  }
  // At most 10 per replica, plus the reservations Redis answered in time (10
  // fleet-wide at most); at least the limit: a reservation answered after its
  // call went elsewhere is counted back, so the fleet never counts more than
  // went (it once admitted 9 under TSan, reading such counts back).
  INFO("limited received " << limited.request_count());
  CHECK(limited.request_count() >= 10);
  CHECK(limited.request_count() <= 3 * 10 + 10);
  CHECK(limited.request_count() + spare.request_count() == 90);
  // Each request is counted once in the fleet's key: the late reservations of
  // calls that went to dep-limited count them, the others are counted back.
  RedisClient client(redis);
  const std::string key = "dep-limited:openai/m:rpm:" + tag;
  const std::string requests = std::to_string(limited.request_count());
  std::string counted;
  wait_until(
      [&] {
        counted = client.get(key).value_or("nothing");
        return counted == requests;
      },
      5000ms);
  CHECK(counted == requests);
}

TEST_CASE("a foreign cooldown lasts at most its own length from now; a replica's own, read back, stays its own",
          "[fleet][redis]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider a, b, bad, good;
  bad.set_default(Behavior::rate_limited());
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", a, "      order: 1\n", "dep-a") +
                           deployment_yaml("g", "m", b, "      order: 2\n", "dep-b") +
                           deployment_yaml("h", "m", bad, "      order: 1\n", "dep-bad") +
                           deployment_yaml("h", "m", good, "      order: 2\n", "dep-good") +
                           "router_settings:\n  cooldown_time: 30\n  num_retries: 0\n" +
                           redis_settings(redis, "  redis_sync_interval: 0.02\n");
  std::vector<std::unique_ptr<Replica>> fleet;
  fleet.push_back(make_replica(yaml, 81));
  wait_connected(fleet);
  RedisClient client(redis);
  // A timestamp from nowhere (a writer's broken clock): obeyed, for its
  // cooldown_time from now, not until the year 316 million.
  client.command({"SET", "deployment:dep-a:cooldown",
                  R"({"exception_received": "x", "status_code": "429", "timestamp": 1e+16, "cooldown_time": 20})",
                  "EX", "60"});
  REQUIRE(wait_until([&] { return cooling(*fleet[0]->router, "dep-a"); }, 2000ms));
  auto hs = fleet[0]->router->health();
  CHECK(find_health(hs, "dep-a")->cooldown_remaining_seconds <= 20.0);
  CHECK(find_health(hs, "dep-a")->cooldown_remaining_seconds > 15.0);

  // This replica's own cooldown comes back with every re-read of its key: it
  // is still this replica's (cooled_by empty), not "redis".
  REQUIRE_FALSE(fleet[0]->router->completion(chat_request("h")).ok());
  REQUIRE(cooling(*fleet[0]->router, "dep-bad"));
  REQUIRE(wait_until([&] { return client.get("deployment:dep-bad:cooldown").has_value(); }, 2000ms));
  std::this_thread::sleep_for(200ms);  // about ten re-reads
  hs = fleet[0]->router->health();
  CHECK(find_health(hs, "dep-bad")->cooled_by.empty());
  CHECK(find_health(hs, "dep-bad")->state == "cooling_down");
}

TEST_CASE("usage far from a limit reaches LiteLLM's minute keys summed: a burst of calls is one increment per key",
          "[fleet][redis]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider p;
  VirtualClock clock;  // no minute turns over mid-test unless the test says so
  // UTC minute tags as the router derives them: wall clock at its start plus
  // the virtual time gone by (the router starts within the same real minute).
  wait_for_fresh_minute_if_needed(5);
  const auto wall_start = std::chrono::system_clock::now();
  auto tag_at = [&](Duration since_start) {
    const int64_t m =
        std::chrono::floor<std::chrono::minutes>((wall_start + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                                    since_start))
                                                     .time_since_epoch())
            .count();
    return fmt::format("{:02d}-{:02d}", (m / 60) % 24, m % 60);
  };
  const std::string yaml = "model_list:\n" +
                           deployment_yaml("g", "m", p, "      rpm: 100000\n      tpm: 1000000000\n", "dep-far") +
                           "router_settings:\n  enable_pre_call_checks: true\n" + redis_settings(redis);
  auto replica = std::make_unique<Replica>();
  RouterOptions opts = replica_options(*replica, 1);
  opts.time_source = &clock;
  auto router = Router::from_config(yaml, opts);
  REQUIRE(router.ok());
  replica->router = std::move(router).value();
  std::vector<std::unique_ptr<Replica>> fleet;
  fleet.push_back(std::move(replica));
  wait_connected(fleet);
  Router& r = *fleet[0]->router;
  const std::string first = tag_at(Duration::zero());
  RedisClient client(redis);
  const int64_t incr_before =
      std::stoll(client.info_field("commandstats", "cmdstat_incrbyfloat").empty()
                     ? "0"
                     : client.info_field("commandstats", "cmdstat_incrbyfloat").substr(6));

  constexpr int kCalls = 50;
  int64_t tokens = 0;
  for (int i = 0; i < kCalls; ++i) {
    auto res = r.completion(chat_request("g"));
    REQUIRE(res.ok());
    tokens += res->usage.total_tokens;
  }
  REQUIRE(tokens > 0);
  // Every count reaches the keys LiteLLM reads, within the write delay.
  const std::string rpm_key = "dep-far:openai/m:rpm:" + first;
  const std::string global_rpm = "global_router:dep-far:openai/m:rpm:" + first;
  const std::string global_tpm = "global_router:dep-far:openai/m:tpm:" + first;
  const std::string tpm_key = "dep-far:openai/m:tpm:" + first;
  CHECK(wait_until([&] { return client.get(rpm_key) == std::optional<std::string>(std::to_string(kCalls)); }, 5000ms));
  CHECK(wait_until([&] { return client.get(global_rpm) == std::optional<std::string>(std::to_string(kCalls)); }, 5000ms));
  CHECK(wait_until([&] { return client.get(global_tpm) == std::optional<std::string>(std::to_string(tokens)); }, 5000ms));
  CHECK(wait_until([&] { return client.get(tpm_key) == std::optional<std::string>(std::to_string(tokens)); }, 5000ms));
  for (const std::string& key : {rpm_key, global_rpm, global_tpm, tpm_key}) {
    const int64_t pttl = client.pttl(key);
    CHECK(pttl > 0);
    CHECK(pttl <= 60000);
  }
  // Summed, not one increment per call (4 keys x 50 calls unsummed).
  const std::string stat = client.info_field("commandstats", "cmdstat_incrbyfloat");
  REQUIRE(stat.rfind("calls=", 0) == 0);
  CHECK(std::stoll(stat.substr(6)) - incr_before < 4 * kCalls / 2);
  auto hs = r.health("g");
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].requests_this_minute == kCalls);

  // The minute turns over: what was summed goes under the old minute's keys,
  // the new minute starts from nothing.
  clock.advance(std::chrono::seconds(60));
  const std::string second = tag_at(std::chrono::seconds(60));
  REQUIRE(second != first);
  for (int i = 0; i < 3; ++i) REQUIRE(r.completion(chat_request("g")).ok());
  CHECK(wait_until([&] { return client.get("dep-far:openai/m:rpm:" + second) == std::optional<std::string>("3"); },
                   5000ms));
  CHECK(client.get(rpm_key) == std::optional<std::string>(std::to_string(kCalls)));
  hs = r.health("g");
  CHECK(hs[0].requests_this_minute == 3);
}

TEST_CASE("when a cooldown ends exactly one replica of the fleet probes the deployment", "[fleet][redis]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider flaky, good;
  flaky.enqueue(Behavior::rate_limited());
  Behavior slow_ok = Behavior::ok();
  slow_ok.delay = Millis(400);  // the probe is in flight this long
  flaky.set_default(slow_ok);
  const std::string yaml = "model_list:\n" +
                           deployment_yaml("g", "m", flaky, "      order: 1\n      cooldown_time: 1\n", "dep-flaky") +
                           deployment_yaml("g", "m", good, "      order: 2\n", "dep-good") +
                           "router_settings:\n  num_retries: 1\n" +
                           // One probe as long as Redis answers the lease in time: a loaded
                           // (or sanitized) test run needs more than the 5 ms / 0.25 s defaults.
                           redis_settings(redis, "  redis_max_wait: 2\n  redis_command_timeout: 5\n");
  Fleet fleet = make_fleet(yaml, 3, 31);
  wait_connected(fleet);

  REQUIRE(fleet[0]->router->completion(chat_request("g")).ok());
  for (auto& replica : fleet) REQUIRE(wait_until([&] { return cooling(*replica->router, "dep-flaky"); }, 2000ms));
  // Past the cooldown on every replica.
  REQUIRE(wait_until(
      [&] {
        for (auto& replica : fleet) {
          if (cooling(*replica->router, "dep-flaky")) return false;
        }
        return true;
      },
      5000ms));
  const size_t before = flaky.request_count();
  std::atomic<int> done{0}, failed{0};
  for (auto& replica : fleet) {
    for (int k = 0; k < 10; ++k) {
      replica->router->completion_async(chat_request("g"), [&](Result<Response> r) {
        if (!r.ok()) failed.fetch_add(1);
        done.fetch_add(1);
      });
    }
  }
  REQUIRE(wait_until([&] { return done.load() == 30; }, 20000ms));
  CHECK(failed.load() == 0);
  // The first request after the cooldown is the probe; while it is in flight
  // (400 ms) no replica sends another.
  auto reqs = flaky.requests();
  REQUIRE(reqs.size() > before);
  const auto probe_at = reqs[before].received_at;
  size_t during_probe = 0;
  std::string arrivals;  // for the failure message: ms after the probe
  for (size_t i = before; i < reqs.size(); ++i) {
    during_probe += reqs[i].received_at < probe_at + 300ms ? 1 : 0;
    arrivals += fmt::format(" {:.1f}", std::chrono::duration<double, std::milli>(reqs[i].received_at - probe_at).count());
  }
  INFO("requests to dep-flaky after the cooldown, ms after the first:" << arrivals);
  INFO("shared_state_down events per replica: " << fleet[0]->events.count(RouterEventType::kSharedStateDown) << " "
                                                << fleet[1]->events.count(RouterEventType::kSharedStateDown) << " "
                                                << fleet[2]->events.count(RouterEventType::kSharedStateDown));
  CHECK(during_probe == 1);
  // The verdict (recovered) reached everyone: the deployment serves again.
  for (auto& replica : fleet) {
    REQUIRE(wait_until(
        [&] {
          auto hs = replica->router->health();
          const DeploymentHealth* h = find_health(hs, "dep-flaky");
          return h != nullptr && h->healthy;
        },
        2000ms));
  }
}

TEST_CASE("Redis too slow to grant the probe lease: the probe waits and a lower order tier serves meanwhile",
          "[fleet][redis]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider flaky, good;
  flaky.enqueue(Behavior::rate_limited());
  const std::string yaml = "model_list:\n" +
                           deployment_yaml("g", "m", flaky, "      order: 1\n      cooldown_time: 1\n", "dep-flaky") +
                           deployment_yaml("g", "m", good, "      order: 2\n", "dep-good") +
                           "router_settings:\n  num_retries: 1\n" + redis_settings(redis);
  std::vector<std::unique_ptr<Replica>> fleet;
  fleet.push_back(make_replica(yaml, 71));
  wait_connected(fleet);
  Router& r = *fleet[0]->router;
  REQUIRE(r.completion(chat_request("g")).ok());  // the 429 cools dep-flaky
  REQUIRE(cooling(r, "dep-flaky"));
  REQUIRE(wait_until([&] { return !cooling(r, "dep-flaky"); }, 5000ms));  // half-open: the next call would probe
  const size_t before = flaky.request_count();

  // Redis stops answering: the lease cannot be had within redis_max_wait.
  // The order filter leaves dep-flaky the only candidate of its tier, but
  // dep-good below is free: the probe must not go out unleased (another
  // replica may hold the lease).
  redis.pause();
  auto res = r.completion(chat_request("g"));
  redis.resume();
  REQUIRE(res.ok());
  CHECK(res->metadata.deployment_id == "dep-good");
  CHECK(flaky.request_count() == before);
  INFO("shared_state_down events: " << fleet[0]->events.count(RouterEventType::kSharedStateDown));

  // Redis back: a later call wins the lease, probes, and dep-flaky serves again.
  CHECK(wait_until(
      [&] {
        auto rr = r.completion(chat_request("g"));
        return rr.ok() && rr->metadata.deployment_id == "dep-flaky";
      },
      5000ms));
}

TEST_CASE("a cooldown written by a LiteLLM worker is obeyed until its timestamp says it ended", "[fleet][redis]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider a, b;
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", a, "      order: 1\n", "dep-a") +
                           deployment_yaml("g", "m", b, "      order: 2\n", "dep-b") +
                           "router_settings:\n  num_retries: 0\n" + redis_settings(redis, "  redis_sync_interval: 0.05\n");
  std::vector<std::unique_ptr<Replica>> fleet;
  fleet.push_back(make_replica(yaml, 41));
  wait_connected(fleet);
  RedisClient client(redis);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // LiteLLM 1.81's sync writer: a Python repr, status as a string.
  client.command({"SET", "deployment:dep-a:cooldown",
                  fmt::format("{{'exception_received': 'litellm.RateLimitError: RateLimitError: OpenAIException - "
                              "Rate limit reached**********', 'status_code': '429', 'timestamp': {:.7f}, "
                              "'cooldown_time': 30}}",
                              now),
                  "EX", "30"});
  REQUIRE(wait_until([&] { return cooling(*fleet[0]->router, "dep-a"); }, 2000ms));
  auto hs = fleet[0]->router->health();
  CHECK(find_health(hs, "dep-a")->cooled_by == "redis");
  CHECK(find_health(hs, "dep-a")->status == 429);
  auto r = fleet[0]->router->completion(chat_request("g"));
  REQUIRE(r.ok());
  CHECK(r->metadata.deployment_id == "dep-b");

  // A key that outlived its own timestamp + cooldown_time is over (LiteLLM
  // 1.110's rule): not obeyed.
  client.command({"SET", "deployment:dep-b:cooldown",
                  fmt::format(R"({{"exception_received": "old", "status_code": "429", "timestamp": {:.6f}, )"
                              R"("cooldown_time": 5}})",
                              now - 100),
                  "EX", "30"});
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(cooling(*fleet[0]->router, "dep-b"));
}

TEST_CASE("Redis paused, killed and restarted empty under 1,000 concurrent calls: every call ends once, none fails, "
          "state returns",
          "[fleet][redis][chaos]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider bad, good1, good2;
  bad.set_default(Behavior::rate_limited());
  // Slow answers keep every call of the run in flight together.
  Behavior slow = Behavior::ok();
  slow.delay = Millis(1500);
  good1.set_default(slow);
  good2.set_default(slow);
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", bad, "", "dep-bad") +
                           deployment_yaml("g", "m", good1, "", "dep-good1") +
                           deployment_yaml("g", "m", good2, "", "dep-good2") +
                           "router_settings:\n  cooldown_time: 60\n  num_retries: 3\n  redis_command_timeout: 0.1\n" +
                           redis_settings(redis, "  redis_sync_interval: 0.1\n");
  Fleet fleet = make_fleet(yaml, 3, 51);
  wait_connected(fleet);

  constexpr int kCalls = 1000;
  std::atomic<int> done{0}, failed{0}, twice{0};
  std::vector<std::atomic<int>> finished(kCalls);
  std::string first_error;
  std::mutex error_mu;
  auto submit = [&](int k) {
    fleet[k % fleet.size()]->router->completion_async(chat_request("g"), [&, k](Result<Response> r) {
      if (finished[k].fetch_add(1) > 0) twice.fetch_add(1);
      if (!r.ok()) {
        failed.fetch_add(1);
        std::lock_guard<std::mutex> lock(error_mu);
        if (first_error.empty()) first_error = r.error().to_string();
      }
      done.fetch_add(1);
    });
  };
  // First half: Redis stops answering (SIGSTOP) for longer than the command
  // timeout, then answers again.
  for (int k = 0; k < kCalls / 2; ++k) {
    submit(k);
    if (k == 100) redis.pause();
    if (k == 400) redis.resume();
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  // While those are in flight: Redis dies and comes back empty; the second
  // half is submitted across the outage.
  redis.kill();
  for (int k = kCalls / 2; k < kCalls; ++k) {
    submit(k);
    if (k == 3 * kCalls / 4) redis.restart();
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  REQUIRE(wait_until([&] { return done.load() == kCalls; }, 120000ms));
  INFO(first_error);
  CHECK(failed.load() == 0);
  CHECK(twice.load() == 0);
  for (auto& replica : fleet) {
    CHECK(replica->events.count(RouterEventType::kSharedStateDown) > 0);
    // Back up after the restart, and dep-bad's cooldown is in Redis again.
    REQUIRE(wait_until([&] { return replica->events.count(RouterEventType::kSharedStateUp) >= 2; }, 15000ms));
  }
  RedisClient client(redis);
  CHECK(wait_until([&] { return client.get("deployment:dep-bad:cooldown").has_value(); }, 5000ms));
}

TEST_CASE("a wrong Redis password: routing goes on locally, an event and a metric say so, no password shown",
          "[fleet][redis]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServerOptions options;
  options.requirepass = "right-horse-battery";
  RedisServer redis(options);
  FakeProvider p;
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", p, "", "dep-1") + "router_settings:\n" +
                           redis_settings(redis, "  redis_password: wrong-staple-secret\n");
  auto replica = make_replica(yaml, 61);
  REQUIRE(wait_until([&] { return replica->events.count(RouterEventType::kSharedStateDown) > 0; }, 5000ms));
  const std::string message = replica->events.last_message(RouterEventType::kSharedStateDown);
  CHECK(message.find("wrong-staple-secret") == std::string::npos);
  CHECK(message.find("right-horse-battery") == std::string::npos);
  CHECK(message.find("Redis") != std::string::npos);
  for (int k = 0; k < 5; ++k) REQUIRE(replica->router->completion(chat_request("g")).ok());
  const std::string metrics = replica->router->metrics_prometheus();
  CHECK(metrics.find("llmux_shared_state_up 0") != std::string::npos);
  CHECK(metrics.find("wrong-staple-secret") == std::string::npos);
}

}  // namespace llmux::testing
