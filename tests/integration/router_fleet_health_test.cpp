// Active health checks shared by a fleet on one real redis-server (loopback,
// started by the test) with real HTTP deployments (the fake provider): one
// replica's failing check makes the others route around the deployment
// (pub/sub, checked_by naming that replica); with use_shared_health_check the
// result is merged into LiteLLM's dict key as LiteLLM reads it (JSON, other
// writers' entries kept, LiteLLM's TTL) and entries LiteLLM workers wrote
// there (JSON or Python repr) are honoured unless stale; Redis down leaves
// local checks as they were.
#include <chrono>
#include <string>
#include <optional>
#include <thread>
#include <vector>

#include <simdjson.h>

#include "fleet_util.hpp"
#include "support/redis_server.hpp"
#include "test_util.hpp"

namespace llmux::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHealthKey = "litellm:health_check:deployment_health_state";

// A health check's request (its prompt), not a user call.
bool is_check(const ReceivedRequest& r) { return r.body.find("Hey how's it going?") != std::string::npos; }

size_t calls(const FakeProvider& p) {
  size_t n = 0;
  for (const auto& r : p.requests()) n += is_check(r) ? 0 : 1;
  return n;
}

const HealthEndpoint* endpoint(const std::vector<HealthEndpoint>& list, std::string_view id) {
  for (const auto& e : list) {
    if (e.model_id == id) return &e;
  }
  return nullptr;
}

// dep-bad (tried first) fails its checks and serves calls; dep-good is the spare.
std::string fleet_yaml(const RedisServer& redis, const FakeProvider& bad, const FakeProvider& good,
                       const std::string& general_extra = "") {
  return "general_settings:\n  enable_health_check_routing: true\n" + general_extra + "model_list:\n" +
         deployment_yaml("g", "m", bad, "      order: 1\n", "dep-bad") +
         deployment_yaml("g", "m", good, "      order: 2\n", "dep-good") +
         fmt::format("router_settings:\n  num_retries: 0\n  redis_host: {}\n  redis_port: {}\n", redis.host(),
                     redis.port());
}

void fail_checks(FakeProvider& p) {
  p.set_handler([](const ReceivedRequest& r) {
    if (is_check(r)) return Behavior::error(503, "model is loading", "server_error");
    return Behavior::ok("served");
  });
}

std::string served_by(Router& r) {
  auto res = r.completion(chat_request("g"));
  REQUIRE(res.ok());
  return res->metadata.deployment_id;
}

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// The client names of the llmux replicas connected ("llmux:<replica id>").
std::vector<std::string> replica_ids(RedisClient& client) {
  std::vector<std::string> out;
  const std::string list = client.command({"CLIENT", "LIST"}).str;
  size_t at = 0;
  while ((at = list.find("name=llmux:", at)) != std::string::npos) {
    at += 11;
    out.push_back(list.substr(at, list.find(' ', at) - at));
  }
  return out;
}

}  // namespace

TEST_CASE("one replica's failing check makes the others route around the deployment, checked_by naming it",
          "[fleet][redis][health_check]") {
  REQUIRE(redis_server_available());
  RedisServer redis;
  FakeProvider bad, good;
  fail_checks(bad);
  const std::string yaml = fleet_yaml(redis, bad, good);
  auto a = make_replica(yaml, 1);
  wait_connected(*a);
  auto b = make_replica(yaml, 2);  // no background checks: it checks nothing itself
  wait_connected(*b);
  CHECK(served_by(*b->router) == "dep-bad");

  auto round = a->router->check_health("g");
  REQUIRE(round.ok());
  REQUIRE(round->unhealthy_endpoints.size() == 1);
  CHECK(round->unhealthy_endpoints.front().checked_by.empty());  // A's own

  // Both of A's results (announced one by one, in either order).
  REQUIRE(wait_until(
      [&] {
        const HealthReport r = b->router->health_report();
        return endpoint(r.unhealthy_endpoints, "dep-bad") != nullptr && endpoint(r.healthy_endpoints, "dep-good");
      },
      3000ms));
  const HealthReport report = b->router->health_report();
  const HealthEndpoint* seen = endpoint(report.unhealthy_endpoints, "dep-bad");
  REQUIRE(seen != nullptr);
  CHECK(seen->status == 503);
  CHECK(seen->error_type == "ServiceUnavailableError");
  CHECK(seen->error.find("model is loading") != std::string::npos);
  CHECK(seen->routed_around);
  CHECK(seen->last_check_at == round->unhealthy_endpoints.front().last_check_at);
  RedisClient client(redis);
  const std::vector<std::string> ids = replica_ids(client);
  CHECK(std::find(ids.begin(), ids.end(), seen->checked_by) != ids.end());
  // dep-good was checked (healthy) by A too.
  const HealthEndpoint* fine = endpoint(report.healthy_endpoints, "dep-good");
  REQUIRE(fine != nullptr);
  CHECK(fine->checked_by == seen->checked_by);

  const size_t before = calls(bad);
  for (int i = 0; i < 5; ++i) CHECK(served_by(*b->router) == "dep-good");
  CHECK(calls(bad) == before);
  CHECK(bad.request_count() - calls(bad) == 1);  // A's one check; B checked nothing
  // Without use_shared_health_check LiteLLM's key is left alone.
  CHECK_FALSE(client.get(kHealthKey).has_value());
}

TEST_CASE("with use_shared_health_check results are merged into LiteLLM's dict key as LiteLLM reads it",
          "[fleet][redis][health_check]") {
  REQUIRE(redis_server_available());
  RedisServer redis;
  FakeProvider bad, good;
  fail_checks(bad);
  RedisClient client(redis);
  // A LiteLLM 1.110.2 worker's entry, in the Python repr it writes.
  client.command({"SET", kHealthKey,
                  fmt::format("{{'other-id': {{'is_healthy': False, 'timestamp': {:.6f}, 'reason': \"LiteLLM's\"}}}}",
                              unix_now())});
  const std::string yaml = fleet_yaml(redis, bad, good, "  use_shared_health_check: true\n");
  auto a = make_replica(yaml, 1);
  wait_connected(*a);
  auto b = make_replica(yaml, 2);
  wait_connected(*b);
  REQUIRE(a->router->check_health("g").ok());

  // Both of A's results land in the key (merged one after the other).
  std::string value;
  REQUIRE(wait_until(
      [&] {
        value = client.get(kHealthKey).value_or("");
        return value.find("dep-bad") != std::string::npos && value.find("dep-good") != std::string::npos;
      },
      3000ms));
  // json.loads reads it: strict JSON, LiteLLM's members and types.
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(value).get(root) == simdjson::SUCCESS);
  simdjson::dom::object dict;
  REQUIRE(root.get_object().get(dict) == simdjson::SUCCESS);
  CHECK(dict.size() == 3);
  bool healthy = true;
  double timestamp = 0;
  std::string_view reason, writer;
  REQUIRE(dict["other-id"]["is_healthy"].get(healthy) == simdjson::SUCCESS);
  CHECK_FALSE(healthy);
  REQUIRE(dict["other-id"]["reason"].get(reason) == simdjson::SUCCESS);
  CHECK(reason == "LiteLLM's");
  REQUIRE(dict["dep-bad"]["is_healthy"].get(healthy) == simdjson::SUCCESS);
  CHECK_FALSE(healthy);
  REQUIRE(dict["dep-bad"]["timestamp"].get(timestamp) == simdjson::SUCCESS);
  CHECK(std::abs(timestamp - unix_now()) < 60);
  REQUIRE(dict["dep-bad"]["reason"].get(reason) == simdjson::SUCCESS);
  CHECK(reason.find("model is loading") != std::string::npos);
  CHECK(reason.find("sk-test-secret-key") == std::string::npos);
  REQUIRE(dict["dep-bad"]["checked_by"].get(writer) == simdjson::SUCCESS);
  REQUIRE(dict["dep-good"]["is_healthy"].get(healthy) == simdjson::SUCCESS);
  CHECK(healthy);
  // LiteLLM's TTL: int(1.5 × staleness), staleness 2 × the 300 s interval.
  const int64_t pttl = client.pttl(kHealthKey);
  CHECK(pttl > 800'000);
  CHECK(pttl <= 900'000);

  // B names A as the checker, the replica id the key names.
  REQUIRE(wait_until([&] { return endpoint(b->router->health_report().unhealthy_endpoints, "dep-bad") != nullptr; },
                     3000ms));
  CHECK(endpoint(b->router->health_report().unhealthy_endpoints, "dep-bad")->checked_by == writer);
  CHECK(served_by(*b->router) == "dep-good");
  // A does not take its own entries back as someone else's.
  CHECK(endpoint(a->router->health_report().unhealthy_endpoints, "dep-bad")->checked_by.empty());
}

TEST_CASE("entries LiteLLM workers wrote (Python repr or JSON) are honoured, stale ones are not",
          "[fleet][redis][health_check]") {
  REQUIRE(redis_server_available());
  RedisServer redis;
  FakeProvider bad, good;
  RedisClient client(redis);
  auto r = make_replica(fleet_yaml(redis, bad, good, "  use_shared_health_check: true\n"), 3);
  wait_connected(*r);
  const double now = unix_now();
  // dep-bad failed a LiteLLM worker's check just now; dep-good's failure is
  // older than the staleness threshold (600 s): says nothing.
  client.command({"SET", kHealthKey,
                  fmt::format("{{'dep-bad': {{'is_healthy': False, 'timestamp': {:.6f}, 'reason': 'down'}}, "
                              "'dep-good': {{'is_healthy': False, 'timestamp': {:.6f}, 'reason': 'old'}}}}",
                              now, now - 700),
                  "EX", "900"});
  REQUIRE(wait_until([&] { return endpoint(r->router->health_report().unhealthy_endpoints, "dep-bad") != nullptr; },
                     5000ms));
  HealthReport report = r->router->health_report();
  CHECK(endpoint(report.unhealthy_endpoints, "dep-bad")->checked_by == "redis");
  CHECK(endpoint(report.unhealthy_endpoints, "dep-bad")->error == "down");
  CHECK(endpoint(report.unhealthy_endpoints, "dep-bad")->routed_around);
  CHECK(endpoint(report.unchecked_endpoints, "dep-good") != nullptr);
  for (int i = 0; i < 3; ++i) CHECK(served_by(*r->router) == "dep-good");

  // Then, in JSON: dep-bad passed a newer check, dep-good failed one.
  client.command({"SET", kHealthKey,
                  fmt::format(R"({{"dep-bad": {{"is_healthy": true, "timestamp": {:.6f}, "reason": ""}}, )"
                              R"("dep-good": {{"is_healthy": false, "timestamp": {:.6f}, "reason": "503"}}}})",
                              now + 1, now + 1),
                  "EX", "900"});
  REQUIRE(wait_until([&] { return endpoint(r->router->health_report().unhealthy_endpoints, "dep-good") != nullptr; },
                     5000ms));
  report = r->router->health_report();
  REQUIRE(endpoint(report.healthy_endpoints, "dep-bad") != nullptr);
  CHECK(endpoint(report.healthy_endpoints, "dep-bad")->checked_by == "redis");
  CHECK(served_by(*r->router) == "dep-bad");
  CHECK(bad.request_count() + good.request_count() == 4);  // the calls only: nothing checked here
}

TEST_CASE("Redis down: local health checks go on as without it", "[fleet][redis][health_check]") {
  REQUIRE(redis_server_available());
  RedisServer redis;
  FakeProvider bad, good;
  fail_checks(bad);
  auto r = make_replica(fleet_yaml(redis, bad, good, "  use_shared_health_check: true\n"), 4);
  wait_connected(*r);
  redis.kill();
  auto round = r->router->check_health("g");
  REQUIRE(round.ok());
  REQUIRE(round->unhealthy_endpoints.size() == 1);
  const HealthReport report = r->router->health_report();
  REQUIRE(endpoint(report.unhealthy_endpoints, "dep-bad") != nullptr);
  CHECK(endpoint(report.unhealthy_endpoints, "dep-bad")->checked_by.empty());
  CHECK(served_by(*r->router) == "dep-good");
}

TEST_CASE("replicas started together do not check in step: about one check per interval serves the fleet",
          "[fleet][redis][health_check]") {
  REQUIRE(redis_server_available());
  RedisServer redis;
  FakeProvider p;
  const std::string yaml =
      "general_settings:\n  background_health_checks: true\n  health_check_interval: 1\n"
      "model_list:\n" +
      deployment_yaml("g", "m", p, "", "dep-1") +
      fmt::format("router_settings:\n  redis_host: {}\n  redis_port: {}\n", redis.host(), redis.port());
  // Three replicas started at the same moment, each drawing where in the
  // interval its schedule starts (seeded: the same phases every run).
  // Built on three threads at once (Catch's macros stay on this one).
  Fleet fleet;
  for (int i = 0; i < 3; ++i) fleet.push_back(std::make_unique<Replica>());
  std::vector<std::optional<Result<std::unique_ptr<Router>>>> built(fleet.size());
  {
    std::vector<std::thread> starting;
    for (size_t i = 0; i < fleet.size(); ++i) {
      starting.emplace_back([&, i] {
        built[i] = Router::from_config(yaml, replica_options(*fleet[i], 11 + i));
      });
    }
    for (std::thread& t : starting) t.join();
  }
  for (size_t i = 0; i < fleet.size(); ++i) {
    REQUIRE(built[i]->ok());
    fleet[i]->router = std::move(*built[i]).value();
  }
  wait_connected(fleet);
  std::this_thread::sleep_for(4500ms);
  const size_t checks = p.request_count();
  INFO("checks sent by three replicas over ~4.5 intervals: " << checks);
  // In step, every replica would check every interval (about 15). A result
  // another replica announced less than half an interval ago stands in, so
  // after the first round about one check per interval remains.
  CHECK(checks >= 4);
  CHECK(checks <= 9);
  // Every replica knows the latest result, whoever ran it.
  for (auto& r : fleet) {
    const HealthReport report = r->router->health_report();
    CHECK(endpoint(report.healthy_endpoints, "dep-1") != nullptr);
  }
}

}  // namespace llmux::testing
