// Budgets and the allowed-fails count shared by a fleet: several Routers (each
// with its own Redis link, as replicas in separate processes would have) on
// one real redis-server and real HTTP deployments (the fake provider). A
// provider or deployment budget is spent once across the fleet, in LiteLLM's
// keys, checked against what LiteLLM itself wrote (tests/data/litellm_redis);
// spend recorded while Redis is paused or restarted empty is pushed once when
// it returns; LiteLLM's allowed_fails rule trips on the fleet's count.
// Part of the router_fleet_test binary (router_fleet_test.cpp has the rest).
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <set>
#include <thread>

#include "state/cooldown_record.hpp"
#include "fleet_util.hpp"
#include "support/redis_server.hpp"
#include "test_util.hpp"

namespace llmux::testing {
namespace {

using namespace std::chrono_literals;

void wait_for_event(Fleet& fleet, RouterEventType type, const std::vector<int>& before, std::chrono::milliseconds limit) {
  for (size_t i = 0; i < fleet.size(); ++i) {
    REQUIRE(wait_until([&] { return fleet[i]->events.count(type) > before[i]; }, limit));
  }
}

std::vector<int> event_counts(Fleet& fleet, RouterEventType type) {
  std::vector<int> out;
  for (auto& r : fleet) out.push_back(r->events.count(type));
  return out;
}

bool cooling(Router& r, const std::string& id) {
  for (const auto& h : r.health()) {
    if (h.id == id) return h.state == "cooling_down";
  }
  return false;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The number a spend or counter key holds (NaN when absent or not a number).
double stored_number(RedisClient& client, const std::string& key) {
  std::optional<std::string> v = client.get(key);
  if (!v) return std::nan("");
  Result<double> d = state::decode_counter(*v);
  return d.ok() ? *d : std::nan("");
}

bool near(double a, double b) { return std::abs(a - b) < 1e-12; }

// What Redis holds after the spends `costs` went through LiteLLM's commands on
// one key (the window's first spend SET, then INCRBYFLOAT each): the exact
// bytes, computed by this Redis itself on a scratch key.
std::string expected_spend_bytes(RedisClient& client, const std::vector<double>& costs) {
  const std::string scratch = "llmux-test:scratch-spend";
  client.command({"SET", scratch, state::python_float_json(costs.at(0))});
  for (size_t i = 1; i < costs.size(); ++i) client.command({"INCRBYFLOAT", scratch, state::python_float_json(costs[i])});
  std::string out = client.get(scratch).value_or("");
  client.command({"DEL", scratch});
  return out;
}

// One key LiteLLM left in a captured scenario (tests/data/litellm_redis).
struct CapturedKey {
  std::string value;
  int64_t pttl_ms = 0;
};

std::map<std::string, CapturedKey> captured_keys(const std::string& release, const std::string& scenario) {
  const std::string path = std::string(LLMUX_TEST_DATA_DIR) + "/litellm_redis/litellm-" + release + ".json";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.load(path).get(doc) != simdjson::SUCCESS) FAIL("cannot read " << path);
  std::map<std::string, CapturedKey> out;
  for (simdjson::dom::element s : doc["scenarios"].get_array()) {
    std::string_view name;
    if (s["name"].get_string().get(name) != simdjson::SUCCESS || name != scenario) continue;
    for (simdjson::dom::element k : s["keys"].get_array()) {
      std::string_view key, value;
      int64_t pttl = 0;
      REQUIRE(k["key"].get_string().get(key) == simdjson::SUCCESS);
      REQUIRE(k["value"].get_string().get(value) == simdjson::SUCCESS);
      REQUIRE(k["pttl_ms"].get_int64().get(pttl) == simdjson::SUCCESS);
      out[std::string(key)] = CapturedKey{std::string(value), pttl};
    }
  }
  if (out.empty()) FAIL("no scenario " << scenario << " in " << path);
  return out;
}

// The budget keys of a scenario (what LiteLLM's budget limiter wrote) and of
// this Redis must be the same keys, in the same formats, with the same TTLs:
// the spend a float as INCRBYFLOAT leaves it (`spend_bytes`), the window start
// a Python float of epoch seconds within [started_after, started_before], both
// expiring with the window.
void check_budget_keys_like_litellm(RedisClient& client, const std::string& scenario, const std::string& spend_key,
                                    const std::string& start_key, const std::string& spend_bytes, double started_after,
                                    double started_before, int64_t window_ms) {
  for (const std::string release : {"1.110.2", "1.80.0"}) {
    INFO("LiteLLM " << release << ", scenario " << scenario);
    const std::map<std::string, CapturedKey> theirs = captured_keys(release, scenario);
    std::set<std::string> their_names, our_names;
    for (const auto& [k, v] : theirs) their_names.insert(k);
    for (const std::string& k : client.keys("*")) {
      if (k.find("spend") != std::string::npos || k.find("budget") != std::string::npos) our_names.insert(k);
    }
    CHECK(our_names == their_names);
    REQUIRE(theirs.contains(spend_key));
    REQUIRE(theirs.contains(start_key));
    // Both sides: a float as Python and INCRBYFLOAT print it, expiring with the window.
    for (const auto& [key, ttl_ms] : {std::pair{spend_key, theirs.at(spend_key).pttl_ms},
                                      std::pair{start_key, theirs.at(start_key).pttl_ms},
                                      std::pair{spend_key, client.pttl(spend_key)},
                                      std::pair{start_key, client.pttl(start_key)}}) {
      INFO(key);
      CHECK(ttl_ms <= window_ms);
      CHECK(ttl_ms > window_ms - 60000);
    }
    Result<double> their_start = state::decode_counter(theirs.at(start_key).value);
    REQUIRE(their_start.ok());
    CHECK(state::python_float_json(*their_start) == theirs.at(start_key).value);
  }
  const std::optional<std::string> start = client.get(start_key);
  REQUIRE(start.has_value());
  Result<double> ours = state::decode_counter(*start);
  REQUIRE(ours.ok());
  CHECK(state::python_float_json(*ours) == *start);  // the bytes json.dumps(time.time()) gives
  CHECK(*ours >= started_after - 0.001);
  CHECK(*ours <= started_before + 0.001);
  CHECK(client.get(spend_key) == spend_bytes);
}

const std::string kPrice = "      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000001\n";

}  // namespace

TEST_CASE("a provider budget is spent once across the fleet, in LiteLLM's keys", "[fleet][redis][budget]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  RedisClient client(redis);
  FakeProvider openai, vllm, probe;
  openai.set_default(ok_with_usage(200, 200));  // $0.0004 a call: the third crosses $0.001
  vllm.set_default(ok_with_usage(200, 200));
  // The probe group's only deployment refuses every call with a 400 (no
  // spend, no cooldown) when the budget lets the call through, so asking it
  // tells what a replica believes without spending anything.
  probe.set_default(Behavior::error(400, "probe"));
  const std::string vllm_yaml = fmt::format(
      "  - model_name: g\n    litellm_params:\n      model: hosted_vllm/m-v\n      api_base: {}\n"
      "      api_key: sk-test-secret-key\n      order: 2\n    model_info:\n      id: dep-v\n",
      vllm.base_url());
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", openai, kPrice + "      order: 1\n", "dep-o") +
                           vllm_yaml + deployment_yaml("probe", "m", probe, "", "dep-p") +
                           "router_settings:\n  num_retries: 0\n  provider_budget_config:\n    openai:\n"
                           "      budget_limit: 0.001\n      time_period: 1d\n" +
                           redis_settings(redis, "  redis_sync_interval: 0.05\n");
  Fleet fleet = make_fleet(yaml, 3, 101);
  wait_for_event(fleet, RouterEventType::kSharedStateUp, {0, 0, 0}, 5000ms);

  // One call on each replica in turn, each counted in Redis before the next.
  const double started_after = wall_seconds();
  std::vector<double> costs;
  for (size_t i = 0; i < fleet.size(); ++i) {
    auto r = fleet[i]->router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "dep-o");
    costs.push_back(r->metadata.response_cost);
    double sum = 0;
    for (double c : costs) sum += c;
    REQUIRE(wait_until([&] { return near(stored_number(client, "provider_spend:openai:1d"), sum); }, 5000ms));
  }
  const double started_before = wall_seconds();
  CHECK(costs[0] == Approx(0.0004));

  // $0.0012 >= $0.001, fleet-wide: every replica stops using openai, also the
  // two that did not cross the limit themselves.
  for (auto& replica : fleet) {
    REQUIRE(wait_until(
        [&] {
          auto r = replica->router->completion(chat_request("probe"));
          return !r.ok() && r.error().kind == ErrorKind::kBudgetExceeded;
        },
        5000ms));
    for (int k = 0; k < 3; ++k) {
      auto r = replica->router->completion(chat_request("g"));
      REQUIRE(r.ok());
      CHECK(r->metadata.deployment_id == "dep-v");
    }
  }
  // Spent once: each replica alone would have let three calls through.
  CHECK(openai.request_count() == 3);
  CHECK(vllm.request_count() == 9);

  check_budget_keys_like_litellm(client, "provider_budget", "provider_spend:openai:1d",
                                 "provider_budget_start_time:openai", expected_spend_bytes(client, costs),
                                 started_after, started_before, 86400 * 1000);
}

TEST_CASE("a deployment budget is spent once across the fleet, in LiteLLM's keys", "[fleet][redis][budget]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  RedisClient client(redis);
  FakeProvider a, b;
  // dep-a answers three calls with usage ($0.0004 each), then refuses with a
  // 400 (no spend, no cooldown): a replica that still routes to it after the
  // budget was crossed shows as a failed call, never as more spend.
  for (int i = 0; i < 3; ++i) a.enqueue(ok_with_usage(200, 200));
  a.set_default(Behavior::error(400, "dep-a asked after its budget"));
  b.set_default(ok_with_usage(200, 200));
  const std::string yaml =
      "model_list:\n" +
      deployment_yaml("g", "m", a, kPrice + "      order: 1\n      max_budget: 0.001\n      budget_duration: 1h\n",
                      "dep-a") +
      deployment_yaml("g", "m", b, "      order: 2\n", "dep-b") + "router_settings:\n  num_retries: 0\n" +
      redis_settings(redis, "  redis_sync_interval: 0.05\n");
  Fleet fleet = make_fleet(yaml, 3, 111);
  wait_for_event(fleet, RouterEventType::kSharedStateUp, {0, 0, 0}, 5000ms);

  const double started_after = wall_seconds();
  std::vector<double> costs;
  for (size_t i = 0; i < fleet.size(); ++i) {
    auto r = fleet[i]->router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "dep-a");
    costs.push_back(r->metadata.response_cost);
    double sum = 0;
    for (double c : costs) sum += c;
    REQUIRE(wait_until([&] { return near(stored_number(client, "deployment_spend:dep-a:1h"), sum); }, 5000ms));
  }
  const double started_before = wall_seconds();
  for (auto& replica : fleet) {
    REQUIRE(wait_until(
        [&] {
          auto r = replica->router->completion(chat_request("g"));
          return r.ok() && r->metadata.deployment_id == "dep-b";
        },
        5000ms));
  }
  check_budget_keys_like_litellm(client, "deployment_budget", "deployment_spend:dep-a:1h",
                                 "deployment_budget_start_time:dep-a", expected_spend_bytes(client, costs),
                                 started_after, started_before, 3600 * 1000);
}

TEST_CASE("spend joins the budget window a LiteLLM worker started, and starts a new one once that has passed",
          "[fleet][redis][budget]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  RedisClient client(redis);
  FakeProvider openai, probe;
  openai.set_default(ok_with_usage(200, 200));
  probe.set_default(Behavior::error(400, "probe"));
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", openai, kPrice, "dep-o") +
                           deployment_yaml("probe", "m", probe, "", "dep-p") +
                           "router_settings:\n  num_retries: 0\n  provider_budget_config:\n    openai:\n"
                           "      budget_limit: 0.001\n      time_period: 1d\n" +
                           redis_settings(redis, "  redis_sync_interval: 0.05\n");
  auto over_budget = [](Router& r) {
    auto res = r.completion(chat_request("probe"));
    return !res.ok() && res.error().kind == ErrorKind::kBudgetExceeded;
  };
  // What LiteLLM's budget limiter leaves 100 s into a window: the start as
  // json.dumps(time.time()), the spend of other workers.
  const std::string start = state::python_float_json(wall_seconds() - 100);
  client.command({"SET", "provider_budget_start_time:openai", start, "EX", "86300"});
  client.command({"SET", "provider_spend:openai:1d", "0.0009", "EX", "86300"});
  Fleet fleet = make_fleet(yaml, 1, 141);
  Router& router = *fleet[0]->router;
  wait_for_event(fleet, RouterEventType::kSharedStateUp, {0}, 5000ms);

  auto r = router.completion(chat_request("g"));
  REQUIRE(r.ok());
  const double cost = r->metadata.response_cost;
  // Added to that window: INCRBYFLOAT, the expiry re-armed to what is left of it.
  REQUIRE(wait_until([&] { return near(stored_number(client, "provider_spend:openai:1d"), 0.0009 + cost); }, 5000ms));
  client.command({"SET", "llmux-test:scratch", "0.0009"});
  client.command({"INCRBYFLOAT", "llmux-test:scratch", state::python_float_json(cost)});
  CHECK(client.get("provider_spend:openai:1d") == client.get("llmux-test:scratch"));
  CHECK(client.get("provider_budget_start_time:openai") == start);
  const int64_t pttl = client.pttl("provider_spend:openai:1d");
  CHECK(pttl <= 86300 * 1000);
  CHECK(pttl > 86300 * 1000 - 60000);
  // 0.0009 + 0.0004 >= 0.001: over, from this replica's own answer.
  REQUIRE(wait_until([&] { return over_budget(router); }, 5000ms));

  // The window's start says it ended (a day and more ago; the key outlived it,
  // say by another host's clock): not over any more, and the next spend opens
  // a new window with its cost alone.
  client.command({"SET", "provider_budget_start_time:openai", state::python_float_json(wall_seconds() - 90000), "EX",
                  "1000"});
  client.command({"SET", "provider_spend:openai:1d", "5.0", "EX", "1000"});
  REQUIRE(wait_until([&] { return !over_budget(router); }, 5000ms));
  const double before = wall_seconds();
  REQUIRE(router.completion(chat_request("g")).ok());
  REQUIRE(wait_until([&] { return client.get("provider_spend:openai:1d") == state::python_float_json(cost); }, 5000ms));
  const double new_start = stored_number(client, "provider_budget_start_time:openai");
  CHECK(new_start >= before - 0.001);
  CHECK(new_start <= wall_seconds() + 0.001);
  for (const std::string key : {"provider_spend:openai:1d", "provider_budget_start_time:openai"}) {
    INFO(key);
    CHECK(client.pttl(key) > 86400 * 1000 - 60000);
    CHECK(client.pttl(key) <= 86400 * 1000);
  }
  CHECK_FALSE(over_budget(router));
}

TEST_CASE("spend recorded while Redis is paused or restarted empty is kept and pushed once when it returns",
          "[fleet][redis][budget][chaos]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  FakeProvider openai;
  openai.set_default(ok_with_usage(200, 200));
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", openai, kPrice, "dep-o") +
                           "router_settings:\n  num_retries: 0\n  provider_budget_config:\n    openai:\n"
                           "      budget_limit: 1.0\n      time_period: 1d\n" +
                           redis_settings(redis, "  redis_sync_interval: 0.05\n  redis_command_timeout: 0.1\n");
  Fleet fleet = make_fleet(yaml, 3, 121);
  wait_for_event(fleet, RouterEventType::kSharedStateUp, {0, 0, 0}, 5000ms);
  const std::string key = "provider_spend:openai:1d";
  double cost = 0;
  int spends = 0;
  auto spend_on_every_replica = [&](int calls) {
    for (auto& replica : fleet) {
      for (int k = 0; k < calls; ++k) {
        auto r = replica->router->completion(chat_request("g"));
        REQUIRE(r.ok());
        cost = r->metadata.response_cost;
        ++spends;
      }
    }
  };
  // Redis must show exactly `spends` calls' worth, and keep showing it.
  auto expect_total = [&](const char* when) {
    INFO(when);
    RedisClient client(redis);
    REQUIRE(wait_until([&] { return near(stored_number(client, key), spends * cost); }, 15000ms));
    std::this_thread::sleep_for(500ms);  // ten sync intervals: nothing is pushed twice
    CHECK(near(stored_number(client, key), spends * cost));
  };

  spend_on_every_replica(1);
  expect_total("before any outage");
  double window_start = 0;
  {
    RedisClient client(redis);
    window_start = stored_number(client, "provider_budget_start_time:openai");
    REQUIRE(std::isfinite(window_start));
  }

  // Paused (SIGSTOP): every replica notices, spends, and pushes when it answers again.
  std::vector<int> downs = event_counts(fleet, RouterEventType::kSharedStateDown);
  std::vector<int> ups = event_counts(fleet, RouterEventType::kSharedStateUp);
  redis.pause();
  wait_for_event(fleet, RouterEventType::kSharedStateDown, downs, 10000ms);
  spend_on_every_replica(2);
  redis.resume();
  wait_for_event(fleet, RouterEventType::kSharedStateUp, ups, 20000ms);
  expect_total("after Redis was paused");

  // Killed, and back empty: the window the fleet knew is written back, then
  // the spend kept meanwhile is added, once.
  downs = event_counts(fleet, RouterEventType::kSharedStateDown);
  ups = event_counts(fleet, RouterEventType::kSharedStateUp);
  redis.kill();
  wait_for_event(fleet, RouterEventType::kSharedStateDown, downs, 10000ms);
  spend_on_every_replica(1);
  redis.restart();
  wait_for_event(fleet, RouterEventType::kSharedStateUp, ups, 20000ms);
  expect_total("after Redis restarted empty");
  RedisClient client(redis);
  CHECK(std::abs(stored_number(client, "provider_budget_start_time:openai") - window_start) < 0.001);
  const int64_t pttl = client.pttl(key);
  CHECK(pttl > 86400 * 1000 - 120000);
  CHECK(pttl <= 86400 * 1000);
}

TEST_CASE("LiteLLM's allowed_fails counted fleet-wide: three replicas with one failure each trip it together",
          "[fleet][redis][cooldown]") {
  REQUIRE(redis_server_available());  // scripts/setup.sh installs it
  RedisServer redis;
  RedisClient client(redis);
  FakeProvider bad, good;
  bad.set_default(Behavior::error(500, "upstream exploded", "server_error"));
  // The configuration of LiteLLM's captured scenario allowed_fails_500.
  const std::string yaml = "model_list:\n" + deployment_yaml("g", "m", bad, "      order: 1\n", "dep-a") +
                           deployment_yaml("g", "m", good, "      order: 2\n", "dep-b") +
                           "router_settings:\n  allowed_fails: 2\n  cooldown_time: 20\n  num_retries: 0\n" +
                           redis_settings(redis);
  Fleet fleet = make_fleet(yaml, 3, 131);
  wait_for_event(fleet, RouterEventType::kSharedStateUp, {0, 0, 0}, 5000ms);
  const std::string key = "deployment:dep-a:allowed_fails";

  // One failure on each of two replicas: 2 fleet-wide, within the allowance.
  for (size_t i = 0; i < 2; ++i) {
    auto r = fleet[i]->router->completion(chat_request("g"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().status == 500);
    REQUIRE(wait_until([&] { return client.get(key) == std::to_string(i + 1); }, 5000ms));
  }
  std::this_thread::sleep_for(300ms);  // the answers to both counts are in
  for (auto& replica : fleet) CHECK_FALSE(cooling(*replica->router, "dep-a"));
  CHECK_FALSE(client.get("deployment:dep-a:cooldown").has_value());

  // The third replica's single failure makes 3 > 2: cooled everywhere.
  REQUIRE_FALSE(fleet[2]->router->completion(chat_request("g")).ok());
  for (auto& replica : fleet) REQUIRE(wait_until([&] { return cooling(*replica->router, "dep-a"); }, 5000ms));
  CHECK(bad.request_count() == 3);
  for (auto& replica : fleet) {
    auto r = replica->router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "dep-b");
  }
  CHECK(bad.request_count() == 3);
  CHECK(fleet[2]->events.count(RouterEventType::kCooldown) == 1);

  // The keys as LiteLLM 1.110 left them after the same three failures: the
  // count an integer string expiring cooldown_time after the first failure,
  // and the cooldown with the status as a string.
  const std::map<std::string, CapturedKey> theirs = captured_keys("1.110.2", "allowed_fails_500");
  REQUIRE(theirs.contains(key));
  CHECK(client.get(key) == theirs.at(key).value);
  for (int64_t pttl : {theirs.at(key).pttl_ms, client.pttl(key)}) {
    CHECK(pttl <= 20000);
    CHECK(pttl > 15000);
  }
  const std::optional<std::string> cooldown = client.get("deployment:dep-a:cooldown");
  REQUIRE(cooldown.has_value());
  REQUIRE(theirs.contains("deployment:dep-a:cooldown"));
  Result<state::CooldownRecord> ours = state::decode_cooldown_record(*cooldown);
  Result<state::CooldownRecord> litellms = state::decode_cooldown_record(theirs.at("deployment:dep-a:cooldown").value);
  REQUIRE(ours.ok());
  REQUIRE(litellms.ok());
  CHECK(ours->status_code == litellms->status_code);
  CHECK(ours->cooldown_time == litellms->cooldown_time);
  CHECK(cooldown->find("\"status_code\": \"500\"") != std::string::npos);
  CHECK(cooldown->find("\"cooldown_time\": 20}") != std::string::npos);
}

}  // namespace llmux::testing
