// Observability end to end (issue 3 §8): routing events, response metadata,
// LiteLLM's x-litellm-* headers and Router::health(), against real HTTP on
// loopback. Each test also checks what the fake providers received.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "integration/test_util.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

std::string dep(const std::string& group, const FakeProvider& p, const std::string& id, const std::string& params = "") {
  return deployment_yaml(group, "m-" + id, p, params) + "    model_info:\n      id: " + id + "\n";
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// A RouterEvent copied out of the callback (its views die with it).
struct Recorded {
  RouterEventType type{};
  uint64_t call_id = 0;
  std::string model_group;
  std::string deployment_id;
  std::string fallback_group;
  double cooldown_seconds = 0;
  double retry_in_seconds = 0;
  bool has_error = false;
  ErrorKind error_kind{};
  int error_status = 0;
  bool has_metadata = false;
  std::string metadata_deployment;
};

class EventLog {
 public:
  EventCallback callback() {
    return [this](const RouterEvent& e) {
      Recorded r;
      r.type = e.type;
      r.call_id = e.call_id;
      r.model_group = std::string(e.model_group);
      r.deployment_id = std::string(e.deployment_id);
      r.fallback_group = std::string(e.fallback_group);
      r.cooldown_seconds = e.cooldown_seconds;
      r.retry_in_seconds = e.retry_in_seconds;
      if (e.error) {
        r.has_error = true;
        r.error_kind = e.error->kind;
        r.error_status = e.error->status;
      }
      if (e.metadata) {
        r.has_metadata = true;
        r.metadata_deployment = e.metadata->deployment_id;
      }
      std::lock_guard lock(mu_);
      events_.push_back(std::move(r));
    };
  }
  std::vector<Recorded> for_call(uint64_t id) const {
    std::lock_guard lock(mu_);
    std::vector<Recorded> out;
    for (const auto& e : events_) {
      if (e.call_id == id) out.push_back(e);
    }
    return out;
  }
  std::vector<Recorded> all() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Recorded> events_;
};

std::vector<RouterEventType> types_of(const std::vector<Recorded>& events) {
  std::vector<RouterEventType> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

std::string names_of(const std::vector<Recorded>& events) {
  std::string out;
  for (const auto& e : events) out += std::string(out.empty() ? "" : ",") + std::string(router_event_type_name(e.type));
  return out;
}

std::map<std::string, std::string> header_map(const RouterMetadata& m) {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : litellm_headers(m)) out[k] = v;
  return out;
}

using T = RouterEventType;

}  // namespace

TEST_CASE("events: cooldown, retry with the failed deployment, fallback with its group, one success",
          "[router][events][observability]") {
  FakeProvider p1, p2, b1;
  p1.set_default(Behavior::rate_limited());
  p2.set_default(Behavior::rate_limited());
  EventLog log;
  RouterOptions opts;
  opts.on_event = log.callback();
  auto router = make_router_with("model_list:\n" + dep("primary", p1, "p1") + dep("primary", p2, "p2") +
                                     dep("backup", b1, "b1") +
                                     "router_settings:\n  cooldown_time: 4\n  num_retries: 2\n  fallbacks:\n"
                                     "    - primary: [backup]\n",
                                 opts);

  auto r = router->completion(chat_request("primary"));
  REQUIRE(r.ok());
  const RouterMetadata& m = r->metadata;
  CHECK(p1.request_count() == 1);
  CHECK(p2.request_count() == 1);
  CHECK(b1.request_count() == 1);

  auto ev = log.for_call(m.call_id);
  INFO("events: " << names_of(ev));
  REQUIRE(types_of(ev) == std::vector<T>{T::kCooldown, T::kRetry, T::kCooldown, T::kFallback, T::kSuccess});
  const std::string first_failed = ev[0].deployment_id;
  const std::string second_failed = ev[2].deployment_id;
  CHECK((first_failed == "p1" || first_failed == "p2"));
  CHECK(second_failed != first_failed);
  CHECK((second_failed == "p1" || second_failed == "p2"));
  // 429 cooled down for the router's cooldown_time (no Retry-After).
  CHECK(ev[0].cooldown_seconds == Approx(4));
  CHECK(ev[2].cooldown_seconds == Approx(4));
  CHECK(ev[0].error_status == 429);
  // The retry names the deployment that failed; a retry to another healthy
  // deployment waits for nothing.
  CHECK(ev[1].deployment_id == first_failed);
  CHECK(ev[1].model_group == "primary");
  CHECK(ev[1].has_error);
  CHECK(ev[1].error_kind == ErrorKind::kRateLimit);
  CHECK(ev[1].retry_in_seconds == 0);
  CHECK(ev[3].model_group == "primary");
  CHECK(ev[3].fallback_group == "backup");
  CHECK(ev[3].has_error);
  CHECK(ev[3].error_kind == ErrorKind::kRateLimit);
  CHECK(ev[4].model_group == "backup");
  CHECK(ev[4].deployment_id == "b1");
  CHECK(ev[4].has_metadata);
  CHECK(ev[4].metadata_deployment == "b1");
  CHECK_FALSE(ev[4].has_error);

  // Metadata: the fallback served; one record per backend attempt.
  CHECK(m.requested_model == "primary");
  CHECK(m.model_group == "backup");
  CHECK(m.fallback_model_group == "backup");
  CHECK(m.fallbacks == 1);
  CHECK(m.attempts == 3);
  CHECK(m.retries == 0);  // no retry within the serving group
  CHECK(m.deployment_id == "b1");
  CHECK(m.api_base == b1.base_url());
  REQUIRE(m.attempt_log.size() == 3);
  CHECK(m.attempt_log[0].model_group == "primary");
  CHECK(m.attempt_log[0].deployment_id == first_failed);
  CHECK(m.attempt_log[0].error_type == "RateLimitError");
  CHECK(m.attempt_log[0].status == 429);
  CHECK(m.attempt_log[1].model_group == "primary");
  CHECK(m.attempt_log[1].deployment_id == second_failed);
  CHECK(m.attempt_log[1].error_type == "RateLimitError");
  CHECK(m.attempt_log[1].status == 429);
  CHECK(m.attempt_log[2].model_group == "backup");
  CHECK(m.attempt_log[2].deployment_id == "b1");
  CHECK(m.attempt_log[2].error_type.empty());
  CHECK(m.attempt_log[2].status == 0);

  auto h = header_map(m);
  CHECK(h["x-litellm-model-group"] == "backup");
  CHECK(h["x-litellm-attempted-fallbacks"] == "1");
  CHECK(h["x-litellm-attempted-retries"] == "0");
  CHECK(h.count("x-litellm-max-retries") == 0);  // only after a retry succeeded
  CHECK(h["x-litellm-model-id"] == "b1");
  CHECK(h["x-litellm-model-api-base"] == b1.base_url());

  // While both primaries cool down, the next call goes to the fallback with
  // no backend attempt on the primary group.
  auto again = router->completion(chat_request("primary"));
  REQUIRE(again.ok());
  auto ev2 = log.for_call(again->metadata.call_id);
  INFO("events: " << names_of(ev2));
  CHECK(types_of(ev2) == std::vector<T>{T::kFallback, T::kSuccess});
  REQUIRE(again->metadata.attempt_log.size() == 1);
  CHECK(again->metadata.attempt_log[0].deployment_id == "b1");
  CHECK(again->metadata.fallbacks == 1);
  CHECK(p1.request_count() + p2.request_count() == 2);

  // A failing call: exactly one kFailure, no kSuccess.
  auto failed = router->completion(chat_request("primary", R"("disable_fallbacks":true)"));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kNoDeploymentsAvailable);
  auto ev3 = log.for_call(failed.error().metadata.call_id);
  INFO("events: " << names_of(ev3));
  REQUIRE(types_of(ev3) == std::vector<T>{T::kFailure});
  CHECK(ev3[0].has_error);
  CHECK(ev3[0].error_kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(ev3[0].has_metadata);
  CHECK(b1.request_count() == 2);

  // Exactly one final event per call over everything seen.
  std::map<uint64_t, int> finals;
  for (const auto& e : log.all()) {
    if (e.type == T::kSuccess || e.type == T::kFailure) finals[e.call_id]++;
  }
  CHECK(finals.size() == 3);
  for (const auto& [id, n] : finals) CHECK(n == 1);
}

TEST_CASE("metadata and x-litellm headers after a retry: retries, attempt_log, response cost",
          "[router][metadata][observability]") {
  // The first request (whichever deployment gets it) fails; the rest answer
  // with 1000 prompt + 500 completion tokens.
  std::atomic<int> seen{0};
  FakeProvider a, b;
  auto handler = [&seen](const ReceivedRequest&) {
    return seen.fetch_add(1) == 0 ? Behavior::error(500, "boom", "server_error") : ok_with_usage(1000, 500);
  };
  a.set_handler(handler);
  b.set_handler(handler);
  const std::string price = "      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n";
  EventLog log;
  RouterOptions opts;
  opts.on_event = log.callback();
  auto router = make_router_with(
      "model_list:\n" + dep("g", a, "a", price) + dep("g", b, "b", price) + "router_settings:\n  num_retries: 3\n", opts);

  auto r = router->completion(chat_request("g"));
  REQUIRE(r.ok());
  const RouterMetadata& m = r->metadata;
  CHECK(a.request_count() == 1);
  CHECK(b.request_count() == 1);
  REQUIRE(m.attempt_log.size() == 2);
  const std::string failed = m.attempt_log[0].deployment_id;
  const std::string served = m.attempt_log[1].deployment_id;
  CHECK(failed != served);
  CHECK(m.attempt_log[0].model_group == "g");
  CHECK(m.attempt_log[0].error_type == "InternalServerError");
  CHECK(m.attempt_log[0].status == 500);
  CHECK(m.attempt_log[0].latency_ms >= 0);
  CHECK(m.attempt_log[1].error_type.empty());
  CHECK(m.attempt_log[1].status == 0);
  CHECK(m.deployment_id == served);
  CHECK(m.model_group == "g");
  CHECK(m.retries == 1);
  CHECK(m.max_retries == 3);
  CHECK(m.attempts == 2);
  CHECK(m.fallbacks == 0);
  CHECK(m.fallback_model_group.empty());
  CHECK(r->usage.prompt_tokens == 1000);
  CHECK(r->usage.completion_tokens == 500);
  // 1000 × 1e-6 + 500 × 2e-6
  CHECK(m.response_cost == Approx(0.002));

  auto ev = log.for_call(m.call_id);
  INFO("events: " << names_of(ev));
  REQUIRE(types_of(ev) == std::vector<T>{T::kRetry, T::kSuccess});
  CHECK(ev[0].deployment_id == failed);
  CHECK(ev[0].error_status == 500);
  CHECK(ev[0].error_kind == ErrorKind::kInternalServer);
  CHECK(ev[1].deployment_id == served);

  auto h = header_map(m);
  const FakeProvider& served_by = served == "a" ? a : b;
  CHECK(h["x-litellm-model-group"] == "g");
  CHECK(h["x-litellm-attempted-retries"] == "1");
  CHECK(h["x-litellm-max-retries"] == "3");
  CHECK(h["x-litellm-attempted-fallbacks"] == "0");
  CHECK(h["x-litellm-model-id"] == served);
  CHECK(h["x-litellm-model-api-base"] == served_by.base_url());
  REQUIRE(h.count("x-litellm-response-cost") == 1);
  CHECK(std::stod(h["x-litellm-response-cost"]) == Approx(0.002));
  CHECK(h["x-litellm-call-id"] == std::to_string(m.call_id));
  REQUIRE(h.count("x-litellm-response-duration-ms") == 1);
  CHECK(std::stod(h["x-litellm-response-duration-ms"]) >= 0);
  for (const auto& [k, v] : h) CHECK_FALSE(contains(v, "sk-test-secret-key"));

  // First-try success: no retries, and no x-litellm-max-retries.
  auto plain = router->completion(chat_request("g"));
  REQUIRE(plain.ok());
  CHECK(plain->metadata.retries == 0);
  REQUIRE(plain->metadata.attempt_log.size() == 1);
  auto h2 = header_map(plain->metadata);
  CHECK(h2["x-litellm-attempted-retries"] == "0");
  CHECK(h2.count("x-litellm-max-retries") == 0);
  CHECK(types_of(log.for_call(plain->metadata.call_id)) == std::vector<T>{T::kSuccess});
  CHECK(a.request_count() + b.request_count() == 3);

  // A stream is one call too: one final event.
  a.set_handler(nullptr);
  b.set_handler(nullptr);
  Collected c = run_stream(*router, chat_request("g"));
  REQUIRE(c.done.has_value());
  REQUIRE(c.done->ok());
  CHECK_FALSE(c.text.empty());
  const RouterMetadata& sm = c.done->value().metadata;
  CHECK(sm.time_to_first_token_ms >= 0);
  CHECK(types_of(log.for_call(sm.call_id)) == std::vector<T>{T::kSuccess});
  CHECK(a.request_count() + b.request_count() == 4);
}

TEST_CASE("health(): requests and tokens this minute, and a cooled-down deployment with reason and status",
          "[router][health][observability]") {
  VirtualClock time;
  FakeProvider a, bad;
  a.set_default(ok_with_usage(100, 50));
  bad.set_default(Behavior::error(401, "Incorrect API key provided: sk-test-secret-key", "invalid_request_error",
                                  "invalid_api_key"));
  EventLog log;
  RouterOptions opts;
  opts.time_source = &time;
  opts.on_event = log.callback();
  auto router = make_router_with(
      "model_list:\n" + dep("g", a, "a") + dep("auth", bad, "bad") + "router_settings:\n  cooldown_time: 10\n", opts);

  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  auto hg = router->health("g");
  REQUIRE(hg.size() == 1);
  CHECK(hg[0].id == "a");
  CHECK(hg[0].model_group == "g");
  CHECK(hg[0].api_base == a.base_url());
  CHECK(hg[0].healthy);
  CHECK(hg[0].state == "healthy");
  CHECK(hg[0].in_flight == 0);
  CHECK(hg[0].requests_this_minute == 3);
  CHECK(hg[0].tokens_this_minute == 450);
  CHECK(a.request_count() == 3);

  // A 401 cools the deployment down, even alone in its group.
  auto denied = router->completion(chat_request("auth"));
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().kind == ErrorKind::kAuthentication);
  CHECK(bad.request_count() == 1);
  auto ev = log.for_call(denied.error().metadata.call_id);
  INFO("events: " << names_of(ev));
  REQUIRE(types_of(ev) == std::vector<T>{T::kCooldown, T::kFailure});
  CHECK(ev[0].deployment_id == "bad");
  CHECK(ev[0].cooldown_seconds == Approx(10));
  CHECK(ev[0].error_status == 401);

  auto hb = router->health("auth");
  REQUIRE(hb.size() == 1);
  CHECK_FALSE(hb[0].healthy);
  CHECK(hb[0].state == "cooling_down");
  CHECK(hb[0].status == 401);
  CHECK(contains(hb[0].reason, "401"));
  CHECK(contains(hb[0].reason, "AuthenticationError"));
  CHECK_FALSE(contains(hb[0].reason, "sk-test-secret-key"));
  CHECK(hb[0].cooldown_remaining_seconds == Approx(10));
  CHECK(hb[0].requests_this_minute == 1);
  CHECK(hb[0].tokens_this_minute == 0);

  // While it cools down nothing is sent, and the error says when to retry.
  auto blocked = router->completion(chat_request("auth"));
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().kind == ErrorKind::kNoDeploymentsAvailable);
  REQUIRE(blocked.error().retry_after_seconds.has_value());
  CHECK(*blocked.error().retry_after_seconds == Approx(10));
  CHECK(bad.request_count() == 1);

  time.advance(4);
  hb = router->health("auth");
  REQUIRE(hb.size() == 1);
  CHECK(hb[0].state == "cooling_down");
  CHECK(hb[0].cooldown_remaining_seconds == Approx(6));

  // Past the expiry the circuit is half-open; a new minute starts at 0.
  time.advance(61);
  hb = router->health("auth");
  REQUIRE(hb.size() == 1);
  CHECK(hb[0].state == "half_open");
  CHECK(hb[0].requests_this_minute == 0);
  hg = router->health("g");
  REQUIRE(hg.size() == 1);
  CHECK(hg[0].requests_this_minute == 0);
  CHECK(hg[0].tokens_this_minute == 0);
  CHECK(router->health().size() == 2);
}

TEST_CASE("metrics_prometheus and deployments_json after real calls: counters per group and deployment, no key",
          "[router][metrics][observability]") {
  VirtualClock time;  // the minute windows behind the gauges cannot roll over
  FakeProvider p1, b1, bad;
  p1.set_default(Behavior::rate_limited());
  b1.set_default(ok_with_usage(100, 50));
  bad.set_default(Behavior::error(401, "Incorrect API key provided: sk-test-secret-key", "invalid_request_error",
                                  "invalid_api_key"));
  const std::string price = "      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n";
  RouterOptions opts;
  opts.time_source = &time;
  // The metrics see every event before the caller's callback, which throws.
  opts.on_event = [](const RouterEvent&) { throw std::runtime_error("observer failed"); };
  auto router = make_router_with("model_list:\n" + dep("primary", p1, "p1") + dep("backup", b1, "b1", price) +
                                     dep("auth", bad, "bad") +
                                     "router_settings:\n  num_retries: 0\n  fallbacks:\n    - primary: [backup]\n",
                                 opts);

  auto served = router->completion(chat_request("primary"));
  REQUIRE(served.ok());
  CHECK(served->metadata.deployment_id == "b1");
  auto denied = router->completion(chat_request("auth"));
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().kind == ErrorKind::kAuthentication);
  CHECK(p1.request_count() == 1);
  CHECK(b1.request_count() == 1);
  CHECK(bad.request_count() == 1);

  const std::string text = router->metrics_prometheus();
  INFO(text);
  auto has_line = [&](const std::string& line) { return contains("\n" + text, "\n" + line + "\n"); };
  CHECK(has_line(R"(llmux_calls_total{model_group="primary",outcome="success"} 1)"));
  CHECK(has_line(R"(llmux_calls_total{model_group="auth",outcome="AuthenticationError"} 1)"));
  CHECK(has_line(R"(llmux_attempts_total{model_group="primary",deployment_id="p1",outcome="RateLimitError"} 1)"));
  CHECK(has_line(R"(llmux_attempts_total{model_group="backup",deployment_id="b1",outcome="success"} 1)"));
  CHECK(has_line(R"(llmux_attempts_total{model_group="auth",deployment_id="bad",outcome="AuthenticationError"} 1)"));
  CHECK(has_line(R"(llmux_fallbacks_total{model_group="primary",fallback_group="backup"} 1)"));
  CHECK(has_line(R"(llmux_cooldowns_total{model_group="auth",deployment_id="bad"} 1)"));
  CHECK(has_line(R"(llmux_tokens_total{model_group="primary",type="prompt"} 100)"));
  CHECK(has_line(R"(llmux_tokens_total{model_group="primary",type="completion"} 50)"));
  CHECK(has_line(R"(llmux_call_duration_seconds_count{model_group="primary"} 1)"));
  CHECK(has_line(R"(llmux_call_duration_seconds_count{model_group="auth"} 1)"));
  CHECK(has_line(fmt::format(R"(llmux_deployment_healthy{{model_group="auth",deployment_id="bad",api_base="{}"}} 0)",
                             bad.base_url())));
  CHECK(has_line(fmt::format(R"(llmux_deployment_healthy{{model_group="backup",deployment_id="b1",api_base="{}"}} 1)",
                             b1.base_url())));
  CHECK(has_line(fmt::format(
      R"(llmux_deployment_requests_this_minute{{model_group="backup",deployment_id="b1",api_base="{}"}} 1)",
      b1.base_url())));
  CHECK(has_line(fmt::format(
      R"(llmux_deployment_tokens_this_minute{{model_group="backup",deployment_id="b1",api_base="{}"}} 150)",
      b1.base_url())));
  // 100 × 1e-6 + 50 × 2e-6
  const std::string spend = R"(llmux_spend_usd_total{model_group="primary"} )";
  const size_t at = text.find("\n" + spend);
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(text.substr(at + 1 + spend.size())) == Approx(0.0002));
  CHECK_FALSE(contains(text, "sk-test-secret-key"));
  CHECK_FALSE(contains(text, "Incorrect API key"));

  const std::string deployments = deployments_json(router->deployments());
  INFO(deployments);
  CHECK_FALSE(contains(deployments, "sk-test-secret-key"));
  simdjson::dom::parser parser;
  simdjson::dom::array entries;
  REQUIRE(parser.parse(deployments).get(entries) == simdjson::SUCCESS);
  REQUIRE(entries.size() == 3);
  std::vector<std::string> ids;
  for (simdjson::dom::element entry : entries) {
    std::string_view key, id;
    REQUIRE(entry.at_pointer("/litellm_params/api_key").get_string().get(key) == simdjson::SUCCESS);
    CHECK(key == "***");
    REQUIRE(entry.at_pointer("/model_info/id").get_string().get(id) == simdjson::SUCCESS);
    ids.emplace_back(id);
  }
  CHECK(ids == std::vector<std::string>{"p1", "b1", "bad"});
}
