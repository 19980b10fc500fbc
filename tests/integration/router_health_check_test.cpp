// Active health checks over real HTTP on loopback (the fake provider): the
// check requests as a provider receives them (chat and embedding modes,
// health_check_model), health-check routing around a deployment that fails
// its checks and back once it recovers, the background schedule running on
// its own, timeouts, and no key in any result or report.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "integration/test_util.hpp"

namespace llmux::testing {
namespace {

constexpr std::string_view kKey = "sk-health-check-secret-9876543210";

// A health check's request (its prompt or its one-word input), not a user call.
bool is_check(const ReceivedRequest& r) {
  return r.body.find("Hey how's it going?") != std::string::npos ||
         r.body.find(R"("input":["test"])") != std::string::npos;
}

size_t count(const FakeProvider& p, bool checks) {
  size_t n = 0;
  for (const auto& r : p.requests()) n += is_check(r) == checks ? 1 : 0;
  return n;
}

std::string deployment(std::string_view group, std::string_view model, const FakeProvider& p, std::string_view id,
                       std::string_view model_info = "") {
  return fmt::format("  - model_name: {}\n    litellm_params:\n      model: openai/{}\n      api_base: {}\n"
                     "      api_key: {}\n    model_info:\n      id: {}\n{}",
                     group, model, p.base_url(), kKey, id, model_info);
}

const HealthEndpoint* endpoint(const std::vector<HealthEndpoint>& list, std::string_view id) {
  for (const auto& e : list) {
    if (e.model_id == id) return &e;
  }
  return nullptr;
}

TEST_CASE("health checks over HTTP: a deployment failing its checks is routed around until it recovers",
          "[integration][health_check]") {
  FakeProvider a, b;
  std::atomic<bool> a_down{true};
  // a serves calls all along: only its checks can keep traffic away.
  a.set_handler([&](const ReceivedRequest& r) {
    if (is_check(r) && a_down.load()) return Behavior::error(503, "model is loading", "server_error");
    return Behavior::ok("from a");
  });
  auto router = make_router("general_settings:\n  enable_health_check_routing: true\nmodel_list:\n" +
                            deployment("g", "model-a", a, "a1") + deployment("g", "model-b", b, "b1"));
  auto report = router->check_health("g");
  REQUIRE(report.ok());
  REQUIRE(report->unhealthy_endpoints.size() == 1);
  const HealthEndpoint& bad = report->unhealthy_endpoints.front();
  CHECK(bad.model_id == "a1");
  CHECK(bad.status == 503);
  CHECK(bad.error_type == "ServiceUnavailableError");
  CHECK(bad.error.find("model is loading") != std::string::npos);
  CHECK(bad.api_base == a.base_url());
  CHECK(bad.routed_around);
  CHECK(bad.last_check_at > 1.6e9);  // wall-clock seconds
  REQUIRE(report->healthy_endpoints.size() == 1);
  CHECK(report->healthy_endpoints.front().model_id == "b1");

  // What a provider receives: the minimal chat request with the deployment's model.
  bool saw_check = false;
  for (const auto& r : a.requests()) {
    if (!is_check(r)) continue;
    saw_check = true;
    CHECK(r.path == "/v1/chat/completions");
    CHECK(r.body == R"({"model":"model-a","messages":[{"role":"user","content":"Hey how's it going?"}],)"
                    R"("max_tokens":1})");
    CHECK(r.header("authorization") == fmt::format("Bearer {}", kKey));
  }
  CHECK(saw_check);

  for (int i = 0; i < 20; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "b1");
  }
  CHECK(count(a, /*checks=*/false) == 0);

  a_down = false;
  report = router->check_health("g");
  REQUIRE(report.ok());
  CHECK(report->healthy_endpoints.size() == 2);
  int served_by_a = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    served_by_a += r->metadata.deployment_id == "a1" ? 1 : 0;
  }
  CHECK(served_by_a > 0);
  // Checks are not calls: the rpm window counts only the calls.
  int64_t requests = 0;
  for (const auto& h : router->health("g")) requests += h.requests_this_minute;
  CHECK(requests == 40 + 20);
}

TEST_CASE("background checks run on the router's loop by themselves", "[integration][health_check]") {
  FakeProvider a, b;
  auto router = make_router(
      "general_settings:\n  background_health_checks: true\n  health_check_interval: 0.2\nmodel_list:\n" +
      deployment("g", "model-a", a, "a1") + deployment("g", "model-b", b, "b1"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((count(a, true) < 3 || count(b, true) < 3) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(count(a, true) >= 3);
  CHECK(count(b, true) >= 3);
  const HealthReport report = router->health_report();
  CHECK(report.healthy_endpoints.size() == 2);
  for (const DeploymentHealth& h : router->health()) {
    REQUIRE(h.last_check.has_value());
    CHECK(h.last_check->healthy);
    CHECK(h.next_health_check_seconds >= 0);
    CHECK(h.requests_this_minute == 0);
  }
}

TEST_CASE("embedding mode and health_check_model over HTTP", "[integration][health_check]") {
  FakeProvider e, w;
  auto router = make_router("model_list:\n" +
                            deployment("embedder", "my-embedder", e, "e1",
                                       "      mode: embedding\n      health_check_model: openai/small-embedder\n") +
                            fmt::format("  - model_name: \"team/*\"\n    litellm_params:\n      model: \"openai/*\"\n"
                                        "      api_base: {}\n      api_key: {}\n    model_info:\n      id: w1\n"
                                        "      health_check_model: openai/cheap-chat\n",
                                        w.base_url(), kKey));
  auto report = router->check_health();
  REQUIRE(report.ok());
  CHECK(report->healthy_endpoints.size() == 2);
  const HealthEndpoint* emb = endpoint(report->healthy_endpoints, "e1");
  REQUIRE(emb != nullptr);
  CHECK(emb->mode == "embedding");
  CHECK(emb->model == "openai/small-embedder");
  REQUIRE(e.request_count() == 1);
  CHECK(e.requests().front().path == "/v1/embeddings");
  CHECK(e.requests().front().body == R"({"model":"small-embedder","input":["test"]})");
  REQUIRE(w.request_count() == 1);
  CHECK(w.requests().front().body.starts_with(R"({"model":"cheap-chat",)"));
}

TEST_CASE("a check that gets no answer fails after health_check_timeout", "[integration][health_check]") {
  FakeProvider slow;
  slow.set_default(Behavior::hang());
  auto router = make_router("model_list:\n" + deployment("g", "m", slow, "s1", "      health_check_timeout: 0.3\n"));
  const auto started = std::chrono::steady_clock::now();
  auto report = router->check_health();
  REQUIRE(report.ok());
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(250));
  REQUIRE(report->unhealthy_endpoints.size() == 1);
  CHECK(report->unhealthy_endpoints.front().error_type == "Timeout");
  CHECK(report->unhealthy_endpoints.front().status == 408);
}

TEST_CASE("no key in a check's result, the report or the health view, even when the provider echoes it",
          "[integration][health_check]") {
  FakeProvider p;
  p.set_handler([](const ReceivedRequest& r) {
    return Behavior::error(401, "Incorrect API key provided: " + r.header("authorization"), "invalid_request_error");
  });
  std::mutex mu;
  std::vector<HealthCheckResult> seen;
  RouterOptions options;
  options.log = [](std::string_view) {};
  options.on_health_check = [&](const HealthCheckResult& r) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(r);
  };
  auto created = Router::from_config(
      "general_settings:\n  enable_health_check_routing: true\nmodel_list:\n" + deployment("g", "m", p, "p1"), options);
  REQUIRE(created.ok());
  auto router = std::move(created).value();
  auto report = router->check_health();
  REQUIRE(report.ok());
  REQUIRE(report->unhealthy_endpoints.size() == 1);
  CHECK(report->unhealthy_endpoints.front().error_type == "AuthenticationError");
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(seen.size() == 1);
  for (const std::string& text : {health_report_json(*report), health_json(router->health()),
                                  health_check_result_json(seen.front()), router->metrics_prometheus()}) {
    CHECK(text.find(kKey) == std::string::npos);
  }
  CHECK(health_report_json(*report).find("Incorrect API key provided: Bearer [REDACTED]") != std::string::npos);
}

}  // namespace
}  // namespace llmux::testing
