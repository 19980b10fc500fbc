// Active health checks in virtual time: a whole Router on the SimulatedLoop.
// The schedule (interval, staggering, concurrency), what a check sends per
// mode, health-check routing (only when enabled, staleness, transient errors,
// recovery), on-demand rounds, results shared between replicas (newer wins),
// and no secret in any result or report.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/sim_router.hpp"

using namespace llmux;
using namespace llmux::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kKey = "sk-sim-secret-key-0123456789";

std::string dep(std::string_view group, std::string_view host, std::string_view id, std::string_view info = "",
                std::string_view model = "openai/m") {
  return fmt::format(
      "  - model_name: \"{}\"\n    litellm_params:\n      model: \"{}\"\n      api_base: http://{}.sim/v1\n"
      "      api_key: {}\n    model_info:\n      id: {}\n{}",
      group, model, host, kKey, id, info);
}

std::string chat(std::string_view model) {
  return fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"hi"}}]}})", model);
}

std::unique_ptr<Router> sim_router(const std::string& config, SimulatedLoop& loop, RouterOptions options = {}) {
  auto r = make_sim_router(config, loop, std::move(options));
  if (!r.ok()) FAIL("config rejected: " << r.error().to_string());
  return std::move(r).value();
}

ScriptedResponse ok(std::string_view text = "ok") { return ScriptedResponse::json(200, chat_completion_json(text)); }

ScriptedResponse embedding_ok() {
  return ScriptedResponse::json(
      200, R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"e",)"
           R"("usage":{"prompt_tokens":1,"total_tokens":1}})");
}

// A health check's request (its prompt), not a user call.
bool is_check(const transport::HttpRequest& r) {
  return r.body.find("Hey how's it going?") != std::string::npos || r.url.ends_with("/embeddings");
}

double at_seconds(const RecordedRequest& r) { return duration_to_seconds(r.at - VirtualClock::kStart); }

// Start times (seconds since the loop started) of the checks sent to `host`.
std::vector<double> check_times(const SimulatedLoop& loop, std::string_view host) {
  std::vector<double> out;
  for (const auto& r : loop.requests()) {
    if (r.request.url.find(host) != std::string::npos && is_check(r.request)) out.push_back(at_seconds(r));
  }
  return out;
}

size_t calls_to(const SimulatedLoop& loop, std::string_view host) {
  size_t n = 0;
  for (const auto& r : loop.requests()) {
    if (r.request.url.find(host) != std::string::npos && !is_check(r.request)) ++n;
  }
  return n;
}

const DeploymentHealth& health_of(const std::vector<DeploymentHealth>& all, std::string_view id) {
  for (const auto& h : all) {
    if (h.id == id) return h;
  }
  FAIL("no deployment " << id);
  throw;
}

const HealthEndpoint* endpoint(const std::vector<HealthEndpoint>& list, std::string_view id) {
  for (const auto& e : list) {
    if (e.model_id == id) return &e;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("background checks: each deployment once per interval, spread over it, outside routing",
          "[sim][health_check]") {
  SimulatedLoop loop;
  for (std::string_view host : {"a", "b", "c", "d"}) {
    loop.route(fmt::format("{}.sim", host), [](const transport::HttpRequest&) { return ok(); });
  }
  int events = 0;
  RouterOptions options;
  options.on_event = [&](const RouterEvent&) { ++events; };
  auto router = sim_router("general_settings:\n  background_health_checks: true\n  health_check_interval: 40\n"
                           "model_list:\n" +
                               dep("g", "a", "a1") + dep("g", "b", "b1") + dep("g", "c", "c1") + dep("g", "d", "d1"),
                           loop, std::move(options));
  loop.run_ready();
  loop.advance(75.0);
  // Deployment i of 4 at i × 10 s, then every 40 s: never all at once.
  CHECK(check_times(loop, "a.sim") == std::vector<double>{0, 40});
  CHECK(check_times(loop, "b.sim") == std::vector<double>{10, 50});
  CHECK(check_times(loop, "c.sim") == std::vector<double>{20, 60});
  CHECK(check_times(loop, "d.sim") == std::vector<double>{30, 70});

  // The minimal chat request, through the adapter (model replaced, key sent).
  const transport::HttpRequest& first = loop.requests().front().request;
  CHECK(first.url == "http://a.sim/v1/chat/completions");
  CHECK(first.body ==
        R"({"model":"m","messages":[{"role":"user","content":"Hey how's it going?"}],"max_tokens":1})");
  CHECK(std::any_of(first.headers.begin(), first.headers.end(),
                    [](const std::string& h) { return h.find(kKey) != std::string::npos; }));

  // Outside routing: no rpm count, nothing in flight, no event; the result recorded.
  const auto all = router->health("g");
  for (const DeploymentHealth& h : all) {
    CHECK(h.requests_this_minute == 0);
    CHECK(h.in_flight == 0);
    REQUIRE(h.last_check.has_value());
    CHECK(h.last_check->healthy);
    CHECK(h.last_check->mode == "chat");
    CHECK(h.last_check->model == "openai/m");
    CHECK(h.last_check->checked_by.empty());
  }
  CHECK(events == 0);
  // a was checked at 40 s and is next due at 80 s; now is 75 s.
  CHECK(health_of(all, "a1").next_health_check_seconds == Approx(5.0).margin(1e-6));
  CHECK(health_of(all, "d1").next_health_check_seconds == Approx(35.0).margin(1e-6));
  CHECK(health_of(all, "d1").last_check->checked_at - health_of(all, "a1").last_check->checked_at ==
        Approx(30.0).margin(1e-3));
}

TEST_CASE("without background_health_checks nothing is sent", "[sim][health_check]") {
  SimulatedLoop loop;
  loop.set_default_responder([](const transport::HttpRequest&) { return ok(); });
  auto router = sim_router("general_settings:\n  health_check_interval: 10\nmodel_list:\n" + dep("g", "a", "a1"), loop);
  loop.run_ready();
  loop.advance(100.0);
  CHECK(loop.requests().empty());
  CHECK_FALSE(router->health("g").front().last_check.has_value());
  CHECK(router->health("g").front().next_health_check_seconds == -1);
}

namespace {

// Two deployments; a's checks fail (503) while `a_checks_fail`, but a serves
// user calls: only the checks can keep calls away from it.
struct TwoDeployments {
  SimulatedLoop loop;
  bool a_checks_fail = true;
  std::unique_ptr<Router> router;

  explicit TwoDeployments(const std::string& settings, RouterOptions options = {}) {
    loop.route("a.sim", [this](const transport::HttpRequest& r) {
      if (is_check(r) && a_checks_fail) return ScriptedResponse::error(503, "backend warming up", "server_error");
      return ok("from a");
    });
    loop.route("b.sim", [](const transport::HttpRequest&) { return ok("from b"); });
    router = sim_router(settings + "model_list:\n" + dep("g", "a", "a1") + dep("g", "b", "b1"), loop,
                        std::move(options));
    loop.run_ready();
  }
  // Sends `n` calls; returns how many a served.
  int served_by_a(int n) {
    int count = 0;
    for (int i = 0; i < n; ++i) {
      auto r = router->completion(chat("g"));
      REQUIRE(r.ok());
      if (r->metadata.deployment_id == "a1") ++count;
    }
    return count;
  }
};

}  // namespace

TEST_CASE("a failed check does not change routing unless enable_health_check_routing", "[sim][health_check]") {
  TwoDeployments t("general_settings:\n  background_health_checks: true\n  health_check_interval: 30\n");
  const auto a = health_of(t.router->health("g"), "a1");
  REQUIRE(a.last_check.has_value());
  CHECK_FALSE(a.last_check->healthy);
  CHECK(a.last_check->status == 503);
  CHECK(a.last_check->error_type == "ServiceUnavailableError");
  CHECK(a.last_check->reason.find("backend warming up") != std::string::npos);
  // No cooldown either: the check went around the health tracker.
  CHECK(a.state == "healthy");
  CHECK(a.healthy);
  CHECK_FALSE(a.failed_health_check);
  CHECK(t.served_by_a(30) > 0);
}

TEST_CASE("with enable_health_check_routing a failed check routes around the deployment until a check passes",
          "[sim][health_check]") {
  TwoDeployments t(
      "general_settings:\n  background_health_checks: true\n  health_check_interval: 30\n"
      "  enable_health_check_routing: true\n");
  const auto a = health_of(t.router->health("g"), "a1");
  CHECK(a.failed_health_check);
  CHECK_FALSE(a.healthy);
  CHECK(a.state == "failed_health_check");
  CHECK(a.status == 503);
  CHECK(a.reason.find("backend warming up") != std::string::npos);
  CHECK(t.served_by_a(30) == 0);
  CHECK(calls_to(t.loop, "a.sim") == 0);

  const HealthReport report = t.router->health_report("g");
  REQUIRE(report.unhealthy_endpoints.size() == 1);
  const HealthEndpoint& bad = report.unhealthy_endpoints.front();
  CHECK(bad.model_id == "a1");
  CHECK(bad.model_group == "g");
  CHECK(bad.model == "openai/m");
  CHECK(bad.api_base == "http://a.sim/v1");
  CHECK(bad.status == 503);
  CHECK(bad.error.find("backend warming up") != std::string::npos);
  CHECK(bad.routed_around);
  CHECK_FALSE(bad.stale);
  CHECK(bad.checked_by.empty());
  // b's first check comes half an interval later.
  REQUIRE(report.unchecked_endpoints.size() == 1);
  CHECK(report.unchecked_endpoints.front().model_id == "b1");
  CHECK(report.unchecked_endpoints.front().error == "not checked yet");
  t.loop.advance(15.0);
  REQUIRE(t.router->health_report("g").healthy_endpoints.size() == 1);
  CHECK(t.router->health_report("g").healthy_endpoints.front().model_id == "b1");
  CHECK_FALSE(t.router->health_report("g").healthy_endpoints.front().routed_around);

  // a recovers; its next check (30 s after the first) passes, and it serves again.
  t.a_checks_fail = false;
  t.loop.advance(14.0);
  CHECK(t.served_by_a(20) == 0);
  t.loop.advance(1.0);
  CHECK(health_of(t.router->health("g"), "a1").state == "healthy");
  CHECK(t.served_by_a(40) > 0);
  CHECK(t.router->health_report("g").healthy_endpoints.size() == 2);
}

TEST_CASE("a failed check stops counting once it is older than the staleness threshold", "[sim][health_check]") {
  TwoDeployments t(
      "general_settings:\n  background_health_checks: true\n  health_check_interval: 1000\n"
      "  enable_health_check_routing: true\n  health_check_staleness_threshold: 50\n");
  CHECK(t.served_by_a(10) == 0);
  t.loop.advance(49.0);
  CHECK(t.served_by_a(10) == 0);
  t.loop.advance(1.0);
  CHECK_FALSE(health_of(t.router->health("g"), "a1").failed_health_check);
  CHECK(t.served_by_a(40) > 0);
  // The report still shows the failure, marked stale and no longer routed around.
  const HealthReport report = t.router->health_report("g");
  const HealthEndpoint* a = endpoint(report.unhealthy_endpoints, "a1");
  REQUIRE(a != nullptr);
  CHECK(a->stale);
  CHECK_FALSE(a->routed_around);
  CHECK(check_times(t.loop, "a.sim") == std::vector<double>{0});  // no new check meanwhile
}

TEST_CASE("every deployment failing its check: a no-deployments error that says so and when to retry",
          "[sim][health_check]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest& r) {
    return is_check(r) ? ScriptedResponse::error(503, "backend warming up", "server_error") : ok();
  });
  auto router = sim_router(
      "general_settings:\n  background_health_checks: true\n  health_check_interval: 30\n"
      "  enable_health_check_routing: true\nmodel_list:\n" +
          dep("g", "a", "a1"),
      loop);
  loop.run_ready();
  loop.advance(4.0);
  auto r = router->completion(chat("g"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(r.error().message.find("every deployment failed its latest health check") != std::string::npos);
  CHECK(r.error().message.find("deployment a1: 503 ServiceUnavailableError") != std::string::npos);
  CHECK(r.error().message.find("Passed model=g") != std::string::npos);
  REQUIRE(r.error().retry_after_seconds.has_value());
  CHECK(*r.error().retry_after_seconds == Approx(26.0).margin(1e-6));  // the next check
  CHECK(r.error().message.find(kKey) == std::string::npos);
  CHECK(calls_to(loop, "a.sim") == 0);
}

TEST_CASE("health_check_ignore_transient_errors: a 429 or 408 check leaves the routing verdict as it was",
          "[sim][health_check]") {
  for (const bool ignore : {false, true}) {
    DYNAMIC_SECTION("ignore_transient_errors " << ignore) {
      SimulatedLoop loop;
      int checks = 0;
      // a's checks: 429, then 503, then 429 again, then pass.
      loop.route("a.sim", [&](const transport::HttpRequest& r) {
        if (!is_check(r)) return ok("from a");
        ++checks;
        if (checks == 1 || checks == 3) return ScriptedResponse::error(429, "Rate limit reached", "requests");
        if (checks == 2) return ScriptedResponse::error(503, "overloaded", "server_error");
        return ok();
      });
      loop.route("b.sim", [](const transport::HttpRequest&) { return ok("from b"); });
      auto router = sim_router(fmt::format("general_settings:\n  background_health_checks: true\n"
                                           "  health_check_interval: 30\n  enable_health_check_routing: true\n"
                                           "  health_check_ignore_transient_errors: {}\nmodel_list:\n",
                                           ignore) +
                                   dep("g", "a", "a1") + dep("g", "b", "b1"),
                               loop);
      loop.run_ready();
      auto routed_around = [&] { return health_of(router->health("g"), "a1").failed_health_check; };
      // 429: reported unhealthy either way; routed around only when not ignored.
      const HealthReport report = router->health_report("g");
      const HealthEndpoint* a = endpoint(report.unhealthy_endpoints, "a1");
      REQUIRE(a != nullptr);
      CHECK(a->status == 429);
      CHECK(a->error_type == "RateLimitError");
      CHECK(routed_around() == !ignore);
      loop.advance(30.0);  // 503: routed around in both cases
      CHECK(routed_around());
      loop.advance(30.0);  // 429 again: the 503 verdict stands when ignored
      CHECK(routed_around());
      CHECK(endpoint(router->health_report("g").unhealthy_endpoints, "a1")->status == 429);
      loop.advance(30.0);  // passes
      CHECK_FALSE(routed_around());
      CHECK(checks == 4);
    }
  }
}

TEST_CASE("a check that gets no answer fails after model_info.health_check_timeout", "[sim][health_check]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) { return ScriptedResponse::silent(); });
  auto router =
      sim_router("general_settings:\n  enable_health_check_routing: true\nmodel_list:\n" +
                     dep("g", "a", "a1", "      health_check_timeout: 5\n") + dep("g", "b", "b1"),
                 loop);
  loop.route("b.sim", [](const transport::HttpRequest&) { return ok(); });
  auto report = router->check_health("g");
  REQUIRE(report.ok());
  const HealthEndpoint* a = endpoint(report->unhealthy_endpoints, "a1");
  REQUIRE(a != nullptr);
  CHECK(a->error_type == "Timeout");
  CHECK(a->status == 408);
  CHECK(a->latency_ms == Approx(5000).margin(1));
  CHECK(a->routed_around);
  REQUIRE(endpoint(report->healthy_endpoints, "b1") != nullptr);
  CHECK(duration_to_seconds(loop.virtual_clock().now() - VirtualClock::kStart) == Approx(5.0).margin(1e-6));
}

TEST_CASE("check_health runs a round now, health_check_concurrency at a time", "[sim][health_check]") {
  SimulatedLoop loop;
  loop.set_default_responder([](const transport::HttpRequest&) {
    return ScriptedResponse::json(200, chat_completion_json("ok"), 4s);
  });
  auto router = sim_router("general_settings:\n  health_check_concurrency: 1\nmodel_list:\n" + dep("g", "a", "a1") +
                               dep("g", "b", "b1") + dep("g", "c", "c1") + dep("other", "d", "d1"),
                           loop);
  auto report = router->check_health("g");
  REQUIRE(report.ok());
  CHECK(report->healthy_endpoints.size() == 3);
  CHECK(report->unhealthy_endpoints.empty());
  // Only group g, one at a time: a, then b when a answered, then c.
  REQUIRE(loop.requests().size() == 3);
  CHECK(at_seconds(loop.requests()[0]) == Approx(0));
  CHECK(at_seconds(loop.requests()[1]) == Approx(4));
  CHECK(at_seconds(loop.requests()[2]) == Approx(8));
  CHECK(report->healthy_endpoints.front().latency_ms == Approx(4000).margin(1));
  // d was not checked.
  const HealthReport all = router->health_report();
  REQUIRE(all.unchecked_endpoints.size() == 1);
  CHECK(all.unchecked_endpoints.front().model_id == "d1");
  CHECK(all.unchecked_endpoints.front().error == "not checked yet");
  // An unknown group: an empty report, nothing sent.
  auto none = router->check_health("nope");
  REQUIRE(none.ok());
  CHECK(none->healthy_endpoints.empty());
  CHECK(none->unhealthy_endpoints.empty());
  CHECK(none->unchecked_endpoints.empty());
  CHECK(loop.requests().size() == 3);
}

TEST_CASE("what a check sends follows the deployment's mode", "[sim][health_check]") {
  SimulatedLoop loop;
  loop.set_default_responder([](const transport::HttpRequest& r) {
    return r.url.ends_with("/embeddings") ? embedding_ok() : ok();
  });
  auto router = sim_router(
      "model_list:\n" + dep("emb", "e", "e1", "      mode: embedding\n", "openai/my-embedder") +
          // No mode: the model map knows text-embedding-3-small is an embedding model.
          dep("emb", "f", "f1", "", "openai/text-embedding-3-small") +
          dep("img", "i", "i1", "      mode: image_generation\n", "openai/dall-e-3") +
          dep("openai/*", "w", "w1", "", "openai/*") +
          dep("wild", "x", "x1", "      health_check_model: openai/gpt-4o-mini\n      health_check_max_tokens: 7\n",
              "openai/*") +
          dep("chat", "c", "c1", "      health_check_model: openai/cheap-model\n"),
      loop);
  auto report = router->check_health();
  REQUIRE(report.ok());
  auto sent_to = [&](std::string_view host) -> const transport::HttpRequest* {
    for (const auto& r : loop.requests()) {
      if (r.request.url.find(host) != std::string::npos) return &r.request;
    }
    return nullptr;
  };
  const auto* e = sent_to("e.sim");
  REQUIRE(e != nullptr);
  CHECK(e->url == "http://e.sim/v1/embeddings");
  CHECK(e->body == R"({"model":"my-embedder","input":["test"]})");
  const auto* f = sent_to("f.sim");
  REQUIRE(f != nullptr);
  CHECK(f->url == "http://f.sim/v1/embeddings");
  CHECK(endpoint(report->healthy_endpoints, "f1")->mode == "embedding");
  // Modes llmux does not serve, and a wildcard without health_check_model: not checked, and why.
  CHECK(sent_to("i.sim") == nullptr);
  const HealthEndpoint* img = endpoint(report->unchecked_endpoints, "i1");
  REQUIRE(img != nullptr);
  CHECK(img->error.find("mode 'image_generation' is not checked") != std::string::npos);
  CHECK(sent_to("w.sim") == nullptr);
  const HealthEndpoint* w = endpoint(report->unchecked_endpoints, "w1");
  REQUIRE(w != nullptr);
  CHECK(w->error.find("health_check_model") != std::string::npos);
  // health_check_model: the check asks for it through the deployment's adapter.
  const auto* x = sent_to("x.sim");
  REQUIRE(x != nullptr);
  CHECK(x->body ==
        R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hey how's it going?"}],"max_tokens":7})");
  CHECK(endpoint(report->healthy_endpoints, "x1")->model == "openai/gpt-4o-mini");
  const auto* c = sent_to("c.sim");
  REQUIRE(c != nullptr);
  CHECK(c->body.starts_with(R"({"model":"cheap-model",)"));
  CHECK(report->healthy_endpoints.size() == 4);
  CHECK(report->unchecked_endpoints.size() == 2);
  CHECK(report->unhealthy_endpoints.empty());
}

TEST_CASE("results are handed to on_health_check, and other replicas' results apply when newer",
          "[sim][health_check]") {
  std::vector<HealthCheckResult> seen;
  RouterOptions options;
  options.on_health_check = [&](const HealthCheckResult& r) { seen.push_back(r); };
  TwoDeployments t("general_settings:\n  enable_health_check_routing: true\n", std::move(options));
  t.a_checks_fail = false;
  REQUIRE(t.router->check_health().ok());
  REQUIRE(seen.size() == 2);
  const HealthCheckResult local = seen.front();
  CHECK(local.deployment_id == "a1");
  CHECK(local.healthy);
  CHECK(local.checked_by.empty());

  // Replica B saw a fail later: it counts here too.
  HealthCheckResult remote = local;
  remote.healthy = false;
  remote.error_type = "ServiceUnavailableError";
  remote.status = 503;
  remote.reason = "seen by B";
  remote.checked_by = "replica-b";
  remote.checked_at = local.checked_at + 1;
  CHECK(t.router->apply_health_check(remote));
  CHECK(health_of(t.router->health("g"), "a1").failed_health_check);
  CHECK(t.served_by_a(20) == 0);
  const HealthReport report = t.router->health_report("g");
  const HealthEndpoint* a = endpoint(report.unhealthy_endpoints, "a1");
  REQUIRE(a != nullptr);
  CHECK(a->checked_by == "replica-b");
  CHECK(a->error == "seen by B");
  CHECK(seen.size() == 2);  // applied results are not re-published

  // The same result again, or an older one: nothing changes.
  CHECK_FALSE(t.router->apply_health_check(remote));
  HealthCheckResult older = local;
  older.checked_at = local.checked_at - 5;
  older.checked_by = "replica-c";
  CHECK_FALSE(t.router->apply_health_check(older));
  CHECK(health_of(t.router->health("g"), "a1").failed_health_check);
  // Unknown deployment, skipped result: refused.
  HealthCheckResult unknown = remote;
  unknown.deployment_id = "zz";
  unknown.checked_at += 10;
  CHECK_FALSE(t.router->apply_health_check(unknown));

  // This replica's next check (newer) wins again.
  t.loop.advance(2.0);
  REQUIRE(t.router->check_health("g").ok());
  CHECK_FALSE(health_of(t.router->health("g"), "a1").failed_health_check);
  CHECK(t.served_by_a(40) > 0);
}

TEST_CASE("a deployment added later joins the background schedule at once", "[sim][health_check]") {
  SimulatedLoop loop;
  loop.set_default_responder([](const transport::HttpRequest&) { return ok(); });
  auto router = sim_router("general_settings:\n  background_health_checks: true\n  health_check_interval: 60\n"
                           "model_list:\n" +
                               dep("g", "a", "a1"),
                           loop);
  loop.run_ready();
  loop.advance(10.0);
  auto added = parse_deployment(
      "model_name: g\nlitellm_params: {model: openai/m, api_base: 'http://n.sim/v1', api_key: sk-x}\n"
      "model_info: {id: n1}\n");
  REQUIRE(added.ok());
  REQUIRE(router->add_deployment(std::move(added).value()).ok());
  loop.run_ready();
  loop.advance(65.0);
  CHECK(check_times(loop, "n.sim") == std::vector<double>{10, 70});
  CHECK(check_times(loop, "a.sim") == std::vector<double>{0, 60});
  REQUIRE(router->remove_deployment("n1").ok());
  loop.run_ready();
  loop.advance(120.0);
  CHECK(check_times(loop, "n.sim").size() == 2);
  CHECK(check_times(loop, "a.sim") == std::vector<double>{0, 60, 120, 180});
  // One timer drives the schedule, however often the pool changed.
  CHECK(loop.pending_timers() == 1);
}

TEST_CASE("no key in any check result, report or health view", "[sim][health_check]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) {
    return ScriptedResponse::error(401, fmt::format("Incorrect API key provided: {}", kKey), "invalid_request_error");
  });
  std::vector<HealthCheckResult> seen;
  RouterOptions options;
  options.on_health_check = [&](const HealthCheckResult& r) { seen.push_back(r); };
  auto router = sim_router("general_settings:\n  enable_health_check_routing: true\nmodel_list:\n" + dep("g", "a", "a1"),
                           loop, std::move(options));
  auto report = router->check_health();
  REQUIRE(report.ok());
  REQUIRE(report->unhealthy_endpoints.size() == 1);
  CHECK(report->unhealthy_endpoints.front().error_type == "AuthenticationError");
  CHECK(report->unhealthy_endpoints.front().error.find("[REDACTED]") != std::string::npos);
  REQUIRE(seen.size() == 1);
  for (const std::string& text :
       {health_report_json(*report), health_json(router->health()), health_check_result_json(seen.front()),
        seen.front().reason}) {
    CHECK(text.find(kKey) == std::string::npos);
    CHECK(text.find("Incorrect API key provided") != std::string::npos);
  }
  auto call = router->completion(chat("g"));
  REQUIRE_FALSE(call.ok());
  CHECK(call.error().message.find(kKey) == std::string::npos);
}

TEST_CASE("destroying a router with checks in flight ends cleanly", "[sim][health_check]") {
  SimulatedLoop loop;
  loop.set_default_responder([](const transport::HttpRequest&) { return ScriptedResponse::silent(); });
  {
    auto router = sim_router("general_settings:\n  background_health_checks: true\n  health_check_interval: 5\n"
                             "model_list:\n" +
                                 dep("g", "a", "a1") + dep("g", "b", "b1"),
                             loop);
    loop.run_ready();
    loop.advance(3.0);
    CHECK(loop.active_transfers() == 2);  // a since 0 s, b since 2.5 s
  }
  CHECK(loop.active_transfers() == 0);
  CHECK(loop.pending_timers() == 0);
}

TEST_CASE("a fresh result from another replica stands in for this replica's background check",
          "[sim][health_check]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) { return ok(); });
  std::vector<HealthCheckResult> seen;
  RouterOptions options;
  options.on_health_check = [&](const HealthCheckResult& r) { seen.push_back(r); };
  auto router = sim_router("general_settings:\n  background_health_checks: true\n  health_check_interval: 40\n"
                           "model_list:\n" + dep("g", "a", "a1"),
                           loop, std::move(options));
  loop.run_ready();
  REQUIRE(seen.size() == 1);
  const double t0 = seen.front().checked_at;  // wall-clock seconds at virtual 0 s
  HealthCheckResult remote = seen.front();
  remote.checked_by = "replica-b";

  // Replica B checked at 35 s: at 40 s its result is 5 s old (< half the
  // interval), so this replica skips its check; next due at 80 s.
  loop.advance(35.0);
  remote.checked_at = t0 + 35;
  REQUIRE(router->apply_health_check(remote));
  loop.advance(40.0);
  CHECK(check_times(loop, "a.sim") == std::vector<double>{0});
  CHECK(health_of(router->health("g"), "a1").last_check->checked_by == "replica-b");

  // At 80 s B's result is 45 s old: this replica checks.
  loop.advance(10.0);
  CHECK(check_times(loop, "a.sim") == std::vector<double>{0, 80});
  CHECK(health_of(router->health("g"), "a1").last_check->checked_by.empty());

  // A remote result half an interval old or more does not stand in (B's at
  // 85 s is 35 s old at 120 s).
  loop.advance(25.0);  // 110 s
  remote.checked_at = t0 + 85;
  REQUIRE(router->apply_health_check(remote));
  loop.advance(15.0);  // 125 s
  CHECK(check_times(loop, "a.sim") == std::vector<double>{0, 80, 120});
}
