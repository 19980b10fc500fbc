// Cooldown recovery end to end: after a cooldown expires one probe goes
// through (half-open); success closes the circuit, failure re-opens it for
// longer. The router's clock is a manual one, so no test waits out a
// cooldown; the HTTP is real.
#include <atomic>
#include <mutex>

#include "test_util.hpp"

namespace llmux::testing {
namespace {

struct EventLog {
  std::mutex mu;
  std::vector<std::pair<RouterEventType, std::string>> events;  // type, deployment id
  std::vector<double> cooldowns;
  void add(const RouterEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.emplace_back(e.type, std::string(e.deployment_id));
    if (e.type == RouterEventType::kCooldown) cooldowns.push_back(e.cooldown_seconds);
  }
  int count(RouterEventType t, const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    int n = 0;
    for (auto& [type, dep] : events) n += (type == t && dep == id) ? 1 : 0;
    return n;
  }
};

std::unique_ptr<Router> make_timed_router(const std::string& yaml, VirtualClock& time, EventLog* log = nullptr) {
  RouterOptions opts;
  opts.random_seed = 7;
  opts.time_source = &time;
  opts.log = [](std::string_view) {};
  if (log) opts.on_event = [log](const RouterEvent& e) { log->add(e); };
  auto r = Router::from_config(yaml, opts);
  if (!r.ok()) FAIL("router config rejected: " << r.error().to_string());
  return std::move(r).value();
}

const DeploymentHealth* find(const std::vector<DeploymentHealth>& hs, const std::string& id) {
  for (const auto& h : hs) {
    if (h.id == id) return &h;
  }
  return nullptr;
}

// Primary (order 1) and backup (order 2) in one group: the tier makes the
// primary the only choice whenever it is usable, so every request it gets is
// accounted for.
std::string tiered_config(const FakeProvider& primary, const FakeProvider& backup) {
  return "model_list:\n" + deployment_yaml("g", "m", primary, "      order: 1\n", "primary") +
         deployment_yaml("g", "m", backup, "      order: 2\n", "backup") +
         "router_settings:\n  cooldown_time: 10\n  num_retries: 1\n";
}

}  // namespace

TEST_CASE("half-open: after a cooldown one probe goes through; failure re-opens for twice as long, success closes",
          "[router][recovery]") {
  FakeProvider primary, backup;
  primary.set_default(Behavior::rate_limited());  // 429 in a 2-deployment group: cooled at once
  backup.set_default(Behavior::ok("from backup"));
  VirtualClock time;
  EventLog log;
  auto router = make_timed_router(tiered_config(primary, backup), time, &log);

  // 1. The primary fails, cools down for 10 s; the retry is served by the backup.
  auto r1 = router->completion(chat_request("g"));
  REQUIRE(r1.ok());
  CHECK(r1->metadata.deployment_id == "backup");
  CHECK(primary.request_count() == 1);
  CHECK(log.count(RouterEventType::kCooldown, "primary") == 1);
  auto h = router->health("g");
  REQUIRE(find(h, "primary"));
  CHECK(find(h, "primary")->state == "cooling_down");
  CHECK(find(h, "primary")->status == 429);
  CHECK(find(h, "primary")->cooldown_remaining_seconds == Approx(10).margin(0.01));

  // 2. While it cools down, nothing reaches it.
  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(primary.request_count() == 1);

  // 3. Expired: half-open. One probe goes; it fails again → re-opened for 20 s.
  time.advance(10.5);
  CHECK(find(router->health("g"), "primary")->state == "half_open");
  auto r2 = router->completion(chat_request("g"));
  REQUIRE(r2.ok());
  CHECK(r2->metadata.deployment_id == "backup");
  CHECK(primary.request_count() == 2);
  h = router->health("g");
  CHECK(find(h, "primary")->state == "cooling_down");
  CHECK(find(h, "primary")->trips == 1);
  CHECK(find(h, "primary")->cooldown_remaining_seconds == Approx(20).margin(0.01));
  {
    std::lock_guard<std::mutex> lock(log.mu);
    REQUIRE(log.cooldowns.size() == 2);
    CHECK(log.cooldowns[0] == Approx(10));
    CHECK(log.cooldowns[1] == Approx(20));
  }

  // 4. 10.5 s later it is still open (the second cooldown is 20 s).
  time.advance(10.5);
  REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(primary.request_count() == 2);

  // 5. Expired again, and the primary is repaired: the probe succeeds and
  //    closes the circuit; from then on the primary serves everything.
  time.advance(10);
  primary.set_default(Behavior::ok("from primary"));
  auto r3 = router->completion(chat_request("g"));
  REQUIRE(r3.ok());
  CHECK(r3->metadata.deployment_id == "primary");
  CHECK(log.count(RouterEventType::kRecovered, "primary") == 1);
  CHECK(find(router->health("g"), "primary")->state == "healthy");
  CHECK(find(router->health("g"), "primary")->trips == 0);
  for (int i = 0; i < 3; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "primary");
  }
  CHECK(primary.request_count() == 6);
}

TEST_CASE("half-open: only one probe is in flight; concurrent calls go elsewhere meanwhile", "[router][recovery]") {
  FakeProvider primary, backup;
  primary.set_default(Behavior::rate_limited());
  backup.set_default(Behavior::ok("from backup"));
  VirtualClock time;
  auto router = make_timed_router(tiered_config(primary, backup), time);
  REQUIRE(router->completion(chat_request("g")).ok());
  REQUIRE(primary.request_count() == 1);

  time.advance(11);
  Behavior slow = Behavior::ok("from primary");
  slow.delay = Millis(400);
  primary.set_default(slow);
  constexpr int kCalls = 6;
  std::atomic<int> done{0}, from_primary{0}, failed{0};
  for (int i = 0; i < kCalls; ++i) {
    router->completion_async(chat_request("g"), [&](Result<Response> r) {
      if (!r.ok()) {
        failed++;
      } else if (r->metadata.deployment_id == "primary") {
        from_primary++;
      }
      done++;
    });
  }
  for (int i = 0; i < 1000 && done < kCalls; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(done == kCalls);
  CHECK(failed == 0);
  CHECK(primary.request_count() == 2);  // the first failure + exactly one probe
  CHECK(from_primary == 1);
  CHECK(find(router->health("g"), "primary")->state == "healthy");
}

TEST_CASE("half-open: a probe that fails with a caller error (400) leaves the deployment half-open",
          "[router][recovery]") {
  FakeProvider primary, backup;
  primary.set_default(Behavior::rate_limited());
  backup.set_default(Behavior::ok("from backup"));
  VirtualClock time;
  auto router = make_timed_router(tiered_config(primary, backup), time);
  REQUIRE(router->completion(chat_request("g")).ok());
  time.advance(11);
  primary.set_default(Behavior::error(400, "bad parameter 'foo'"));
  auto r = router->completion(chat_request("g"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kBadRequest);  // not retried: the request is wrong
  CHECK(primary.request_count() == 2);
  CHECK(find(router->health("g"), "primary")->state == "half_open");
}

}  // namespace llmux::testing
