// The routing rules in virtual time: a whole Router on the SimulatedLoop
// (real Call, filters, strategies, trackers, providers) against scripted
// transfers. Waits of a minute take microseconds and never flake.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include <fmt/format.h>

#include "support/sim_router.hpp"

using namespace llmux;
using namespace llmux::testing;
using namespace std::chrono_literals;

namespace {

std::string dep(std::string_view group, std::string_view host, std::string_view id, std::string_view extra = "") {
  return fmt::format(
      "  - model_name: {}\n    litellm_params:\n      model: openai/m\n      api_base: http://{}.sim/v1\n"
      "      api_key: sk-sim\n{}    model_info:\n      id: {}\n",
      group, host, extra, id);
}

std::string chat(std::string_view model, std::string_view extra = "") {
  return fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"hi"}}]{}{}}})", model,
                     extra.empty() ? "" : ",", extra);
}

std::unique_ptr<Router> sim_router(const std::string& config, SimulatedLoop& loop, RouterOptions options = {}) {
  auto r = make_sim_router(config, loop, std::move(options));
  if (!r.ok()) FAIL("config rejected: " << r.error().to_string());
  return std::move(r).value();
}

double seconds_since_start(const SimulatedLoop& loop, size_t request_index) {
  return duration_to_seconds(loop.requests().at(request_index).at - VirtualClock::kStart);
}

// Collects a stream's chunks and its outcome.
struct StreamResult {
  std::string text;
  std::optional<Result<Response>> done;
};

[[maybe_unused]] StreamResult stream(Router& router, SimulatedLoop& loop, const std::string& request) {
  StreamResult out;
  router.stream(
      request,
      [&](std::string_view chunk) {
        // Just the content pieces, crudely: enough for these scripts.
        const auto key = chunk.find(R"("content":")");
        if (key != std::string_view::npos) {
          const auto from = key + 11;
          out.text += std::string(chunk.substr(from, chunk.find('"', from) - from));
        }
        return true;
      },
      [&](Result<Response> r) { out.done.emplace(std::move(r)); });
  loop.run_until([&] { return out.done.has_value(); });
  return out;
}

}  // namespace

TEST_CASE("sim: a completion is served in virtual time", "[sim]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) {
    return ScriptedResponse::json(200, chat_completion_json("hello"), 2s);
  });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1"), loop);
  auto r = router->completion(chat("g"));
  REQUIRE(r.ok());
  CHECK(r->body.find("hello") != std::string::npos);
  CHECK(r->metadata.deployment_id == "a1");
  CHECK(r->metadata.latency_ms == Approx(2000));
  REQUIRE(loop.requests().size() == 1);
  CHECK(loop.requests()[0].request.url == "http://a.sim/v1/chat/completions");
}

namespace {

ScriptedResponse rate_limited(double retry_after = 0) {
  ScriptedResponse r = ScriptedResponse::error(429, "Rate limit reached", "requests");
  if (retry_after > 0) r.headers.emplace_back("retry-after", fmt::format("{}", retry_after));
  return r;
}

ScriptedResponse ok(std::string_view text = "ok") { return ScriptedResponse::json(200, chat_completion_json(text)); }

const DeploymentHealth& health_of(const std::vector<DeploymentHealth>& all, std::string_view id) {
  for (const auto& h : all) {
    if (h.id == id) return h;
  }
  FAIL("no deployment " << id);
  throw;
}

}  // namespace

TEST_CASE("sim: a 429 cools a deployment down for cooldown_time, then lets one probe through", "[sim][cooldown]") {
  SimulatedLoop loop;
  bool a_fails = true;
  loop.route("a.sim", [&](const transport::HttpRequest&) { return a_fails ? rate_limited() : ok("from a"); });
  loop.route("b.sim", [](const transport::HttpRequest&) { return ok("from b"); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + dep("g", "b", "b1") +
                               "router_settings:\n  cooldown_time: 60\n  num_retries: 1\n",
                           loop);
  // Route until a1 has failed once.
  for (int i = 0; i < 20 && loop.request_count("a.sim") == 0; ++i) REQUIRE(router->completion(chat("g")).ok());
  REQUIRE(loop.request_count("a.sim") == 1);
  const auto cooled = health_of(router->health("g"), "a1");
  CHECK(cooled.state == "cooling_down");
  CHECK(cooled.status == 429);
  CHECK(cooled.cooldown_remaining_seconds == Approx(60.0).margin(1e-6));

  // For the whole minute every call goes to b1.
  for (int i = 0; i < 10; ++i) {
    loop.advance(5.9);
    auto r = router->completion(chat("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "b1");
  }
  CHECK(loop.request_count("a.sim") == 1);
  CHECK(health_of(router->health("g"), "a1").cooldown_remaining_seconds == Approx(1.0).margin(1e-6));

  loop.advance(1.0);
  CHECK(health_of(router->health("g"), "a1").state == "half_open");
  a_fails = false;
  for (int i = 0; i < 40 && loop.request_count("a.sim") == 1; ++i) REQUIRE(router->completion(chat("g")).ok());
  REQUIRE(loop.request_count("a.sim") == 2);
  CHECK(health_of(router->health("g"), "a1").state == "healthy");
}

TEST_CASE("sim: a failed half-open probe re-opens the circuit for twice as long", "[sim][cooldown]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) { return rate_limited(); });
  loop.route("b.sim", [](const transport::HttpRequest&) { return ok(); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + dep("g", "b", "b1") +
                               "router_settings:\n  cooldown_time: 10\n  num_retries: 1\n",
                           loop);
  for (int i = 0; i < 20 && loop.request_count("a.sim") == 0; ++i) REQUIRE(router->completion(chat("g")).ok());
  REQUIRE(health_of(router->health("g"), "a1").cooldown_remaining_seconds == Approx(10.0).margin(1e-6));
  loop.advance(10.0);
  for (int i = 0; i < 40 && loop.request_count("a.sim") == 1; ++i) REQUIRE(router->completion(chat("g")).ok());
  REQUIRE(loop.request_count("a.sim") == 2);  // the probe, which failed
  const auto reopened = health_of(router->health("g"), "a1");
  CHECK(reopened.state == "cooling_down");
  CHECK(reopened.trips == 1);
  CHECK(reopened.cooldown_remaining_seconds == Approx(20.0).margin(1e-6));
  loop.advance(19.0);
  CHECK(health_of(router->health("g"), "a1").state == "cooling_down");
  loop.advance(1.0);
  CHECK(health_of(router->health("g"), "a1").state == "half_open");
}

TEST_CASE("sim: the only deployment's Retry-After is waited out before the retry", "[sim][retry]") {
  SimulatedLoop loop;
  int calls = 0;
  loop.route("a.sim", [&](const transport::HttpRequest&) { return ++calls == 1 ? rate_limited(7) : ok("after the wait"); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + "router_settings:\n  num_retries: 2\n", loop);
  auto r = router->completion(chat("g"));
  REQUIRE(r.ok());
  REQUIRE(loop.requests().size() == 2);
  const double waited = seconds_since_start(loop, 1) - seconds_since_start(loop, 0);
  CHECK(waited >= 7.0);
  CHECK(waited <= 7.0 + 0.75);  // plus LiteLLM's jitter
  CHECK(r->metadata.retries == 1);
}

TEST_CASE("sim: without Retry-After the retry backs off exponentially", "[sim][retry]") {
  SimulatedLoop loop;
  loop.route("a.sim", [&](const transport::HttpRequest&) { return ScriptedResponse::error(500, "boom"); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + "router_settings:\n  num_retries: 3\n", loop);
  auto r = router->completion(chat("g"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInternalServer);
  REQUIRE(loop.requests().size() == 4);
  for (size_t i = 1; i < 4; ++i) {
    const double base = 0.5 * (1 << (i - 1));  // 0.5, 1, 2 s
    const double waited = seconds_since_start(loop, i) - seconds_since_start(loop, i - 1);
    CHECK(waited >= base);
    CHECK(waited <= base + 0.75);
  }
}

TEST_CASE("sim: rpm allows exactly rpm requests a minute", "[sim][rpm]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) { return ok(); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1", "      rpm: 3\n") +
                               "router_settings:\n  enable_pre_call_checks: true\n  num_retries: 0\n",
                           loop);
  loop.advance(10.0);  // into the minute, not at its start
  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat("g")).ok());
  auto over = router->completion(chat("g"));
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::kNoDeploymentsAvailable);
  loop.advance(49.0);  // 59 s into the minute
  CHECK_FALSE(router->completion(chat("g")).ok());
  loop.advance(1.0);  // the next minute
  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat("g")).ok());
  CHECK_FALSE(router->completion(chat("g")).ok());
  CHECK(loop.requests().size() == 6);
}

TEST_CASE("sim: a silent deployment is failed over at the first-byte deadline, not retried in place", "[sim][timeout]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) { return ScriptedResponse::silent(); });
  loop.route("b.sim", [](const transport::HttpRequest&) { return ok("from b"); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + dep("backup", "b", "b1") +
                               "router_settings:\n  num_retries: 3\n  timeout: 20\n  fallbacks: [{\"g\": [\"backup\"]}]\n",
                           loop);
  auto r = router->completion(chat("g"));
  REQUIRE(r.ok());
  CHECK(r->metadata.deployment_id == "b1");
  CHECK(loop.request_count("a.sim") == 1);
  CHECK(seconds_since_start(loop, 1) == Approx(20.0));
}
