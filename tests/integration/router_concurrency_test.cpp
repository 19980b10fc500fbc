// Thousands of calls in flight on one I/O thread: each ends exactly once.
#include <atomic>
#include <thread>

#include "integration/test_util.hpp"

using namespace llmux;
using namespace llmux::testing;

TEST_CASE("2,000 concurrent calls, some failing, all complete exactly once", "[router][concurrency]") {
  FakeProvider a, b;
  Behavior slow = Behavior::ok("slow ok");
  slow.delay = std::chrono::milliseconds(50);
  a.set_default(slow);
  // b fails one call in five; those are retried on a.
  std::atomic<int> seen{0};
  b.set_handler([&](const ReceivedRequest&) {
    return (seen++ % 5 == 0) ? Behavior::error(500, "flaky", "server_error") : Behavior::ok("fast ok");
  });
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", a, "", "a") + deployment_yaml("g", "m", b, "", "b") +
                    "router_settings:\n  allowed_fails: 100000\n";
  auto router = make_router(cfg);
  constexpr int kCalls = 2000;
  std::vector<std::atomic<int>> completions(kCalls);
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < kCalls; ++i) {
    router->completion_async(chat_request("g"), [&, i](Result<Response> r) {
      completions[i]++;
      (r.ok() ? ok : failed)++;
    });
  }
  for (int i = 0; i < 6000 && ok + failed < kCalls; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(ok + failed == kCalls);
  for (int i = 0; i < kCalls; ++i) REQUIRE(completions[i] == 1);
  CHECK(failed == 0);
  router.reset();
  for (int i = 0; i < kCalls; ++i) CHECK(completions[i] == 1);
}

TEST_CASE("calls from many threads at once", "[router][concurrency]") {
  FakeProvider a;
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", a));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) ok += router->completion(chat_request("g")).ok();
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 400);
  CHECK(a.request_count() == 400);
}
