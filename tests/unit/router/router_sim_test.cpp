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

StreamResult stream(Router& router, SimulatedLoop& loop, const std::string& request) {
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
  // Each attempt is placed on the call's timeline (tracing draws the wait between them).
  REQUIRE(r->metadata.attempt_log.size() == 2);
  CHECK(r->metadata.attempt_log[0].start_ms == Approx(1000 * seconds_since_start(loop, 0)).margin(1));
  CHECK(r->metadata.attempt_log[1].start_ms == Approx(1000 * seconds_since_start(loop, 1)).margin(1));
  CHECK(r->metadata.attempt_log[1].start_ms >= 7000);
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

TEST_CASE("sim: mock_response answers are attempts like any other: they count toward rpm", "[sim][rpm]") {
  // LiteLLM counts a mocked call in its rpm usage; so does llmux (in this
  // replica's minute, and in the fleet's usage keys when Redis is there).
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) { return ok(); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1", "      rpm: 3\n      mock_response: mocked\n") +
                               "router_settings:\n  enable_pre_call_checks: true\n  num_retries: 0\n",
                           loop);
  loop.advance(10.0);
  REQUIRE(router->completion(chat("g")).ok());
  // A mocked failure is an attempt too.
  CHECK_FALSE(router->completion(chat("g", R"("mock_response":"litellm.InternalServerError")")).ok());
  REQUIRE(router->completion(chat("g")).ok());
  CHECK(router->health()[0].requests_this_minute == 3);
  auto over = router->completion(chat("g"));
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(router->health()[0].in_flight == 0);
  CHECK(loop.requests().empty());  // none of it reached the network
}

TEST_CASE("sim: a silent deployment is failed over at the first-byte deadline, not retried in place", "[sim][timeout]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) { return ScriptedResponse::silent(); });
  loop.route("b.sim", [](const transport::HttpRequest&) { return ok("from b"); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + dep("backup", "b", "b1") +
                               "router_settings:\n  num_retries: 3\n  timeout: 20\n  fallbacks: [{\"g\": [\"backup\"]}]\n",
                           loop);
  auto r = router->completion(chat("g"));
  INFO((r.ok() ? std::string("ok") : r.error().to_string()));
  REQUIRE(r.ok());
  CHECK(r->metadata.deployment_id == "b1");
  CHECK(loop.request_count("a.sim") == 1);
  CHECK(seconds_since_start(loop, 1) == Approx(20.0));
}
// --- issue 9 §7: three failover defects -----------------------------------------------

TEST_CASE("sim: a stream that stalls after content continues elsewhere at once, never retried in place",
          "[sim][stream][defect]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) {
    ScriptedResponse r = ScriptedResponse::sse(chat_chunks({"Hello"}), 0s, 1s, /*done=*/false);
    r.body.pop_back();  // no finish chunk,
    r.body.pop_back();  // no usage chunk: the stream just goes silent after "Hello"
    r.end = ScriptedResponse::End::kHang;
    return r;
  });
  // The fallback accepts an assistant prefill (vLLM) and continues the text.
  loop.route("b.sim", [](const transport::HttpRequest&) { return ScriptedResponse::sse(chat_chunks({" world"})); });
  const std::string backup =
      "  - model_name: backup\n    litellm_params:\n      model: hosted_vllm/m\n      api_base: http://b.sim/v1\n"
      "    model_info:\n      id: b1\n";

  SECTION("single deployment, then the fallback group") {
    auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + backup +
                                 "router_settings:\n  num_retries: 2\n  stream_idle_timeout: 30\n"
                                 "  fallbacks: [{\"g\": [\"backup\"]}]\n",
                             loop);
    StreamResult s = stream(*router, loop, chat("g"));
    REQUIRE(s.done.has_value());
    REQUIRE(s.done->ok());
    CHECK(s.text == "Hello world");
    CHECK(loop.request_count("a.sim") == 1);  // not retried in place
    REQUIRE(loop.requests().size() == 2);
    // The fallback starts as soon as the stall is detected: 1 s to "Hello", then 30 s of silence.
    CHECK(seconds_since_start(loop, 1) == Approx(31.0));
  }
  SECTION("another deployment in the group takes over") {
    auto router = sim_router("model_list:\n" + dep("g", "a", "a1") +
                                 "  - model_name: g\n    litellm_params:\n      model: hosted_vllm/m\n"
                                 "      api_base: http://b.sim/v1\n    model_info:\n      id: b1\n"
                                 "router_settings:\n  num_retries: 2\n  stream_idle_timeout: 30\n",
                             loop);
    // Route until a1 was the first pick (b1 alone would just succeed).
    for (int i = 0; i < 20; ++i) {
      const size_t before = loop.request_count("a.sim");
      StreamResult s = stream(*router, loop, chat("g"));
      REQUIRE(s.done.has_value());
      REQUIRE(s.done->ok());
      CHECK((s.text == "Hello world" || s.text == " world"));
      if (loop.request_count("a.sim") > before) {
        CHECK(loop.request_count("a.sim") == before + 1);
        CHECK(s.text == "Hello world");
        CHECK(s.done->value().metadata.deployment_id == "b1");
        break;
      }
    }
    CHECK(loop.request_count("a.sim") >= 1);
  }
}

TEST_CASE("sim: first_token_timeout bounds the first content token, not the response headers",
          "[sim][timeout][defect]") {
  SimulatedLoop loop;
  // Headers at once, the first content token only after 40 s.
  loop.route("a.sim", [](const transport::HttpRequest& req) {
    if (req.body.find(R"("stream":true)") == std::string::npos) {
      ScriptedResponse r = ScriptedResponse::json(200, chat_completion_json("slow"));
      r.head_at = 0s;
      r.body[0].at = 40s;
      return r;
    }
    ScriptedResponse r = ScriptedResponse::sse(chat_chunks({"slow"}), 0s, 0s);
    for (size_t i = 1; i < r.body.size(); ++i) r.body[i].at = 40s;  // the role chunk at once, content later
    return r;
  });
  loop.route("b.sim", [](const transport::HttpRequest& req) {
    if (req.body.find(R"("stream":true)") == std::string::npos) return ok("fast");
    return ScriptedResponse::sse(chat_chunks({"fast"}));
  });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + dep("backup", "b", "b1") +
                               "router_settings:\n  num_retries: 2\n  fallbacks: [{\"g\": [\"backup\"]}]\n",
                           loop);
  SECTION("streaming") {
    StreamResult s = stream(*router, loop, chat("g", R"("first_token_timeout":10)"));
    REQUIRE(s.done.has_value());
    REQUIRE(s.done->ok());
    CHECK(s.text == "fast");
    CHECK(loop.request_count("a.sim") == 1);
    CHECK(seconds_since_start(loop, 1) == Approx(10.0));
  }
  SECTION("non-streaming: the first body byte") {
    auto r = router->completion(chat("g", R"("first_token_timeout":10)"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "b1");
    CHECK(loop.request_count("a.sim") == 1);
    CHECK(seconds_since_start(loop, 1) == Approx(10.0));
  }
}

TEST_CASE("sim: a content-policy violation without content_policy_fallbacks is not routed to the generic fallbacks",
          "[sim][fallback][defect]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) {
    return ScriptedResponse::json(
        400, R"({"error":{"message":"Your request was rejected as a result of our safety system.",)"
             R"("type":"invalid_request_error","code":"content_policy_violation"}})");
  });
  loop.route("b.sim", [](const transport::HttpRequest&) { return ok("from b"); });
  SECTION("generic and default fallbacks only: a clean error after one attempt") {
    auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + dep("backup", "b", "b1") +
                                 "router_settings:\n  num_retries: 2\n  fallbacks: [{\"g\": [\"backup\"]}]\n"
                                 "  default_fallbacks: [\"backup\"]\n",
                             loop);
    auto r = router->completion(chat("g"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kContentPolicyViolation);
    CHECK(loop.request_count("a.sim") == 1);
    CHECK(loop.request_count("b.sim") == 0);
  }
  SECTION("content_policy_fallbacks are used") {
    auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + dep("backup", "b", "b1") +
                                 "router_settings:\n  content_policy_fallbacks: [{\"g\": [\"backup\"]}]\n",
                             loop);
    auto r = router->completion(chat("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.model_group == "backup");
    CHECK(loop.request_count("a.sim") == 1);
  }
}

TEST_CASE("sim: total_timeout bounds the whole call, retry waits included", "[sim][timeout]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) { return rate_limited(40); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + "router_settings:\n  num_retries: 5\n", loop);
  auto r = router->completion(chat("g", R"("total_timeout":100)"));
  REQUIRE_FALSE(r.ok());
  // A Retry-After of 40 s is honoured only while it ends before the deadline:
  // attempts at 0 and ~40 s (and ~80 s), never a wait past 100 s.
  CHECK(loop.requests().size() >= 2);
  CHECK(seconds_since_start(loop, loop.requests().size() - 1) < 100.0);
  CHECK(duration_to_seconds(loop.now() - VirtualClock::kStart) <= 100.0);
}

TEST_CASE("sim: a stream that stalls before its first token is retried invisibly elsewhere", "[sim][stream]") {
  SimulatedLoop loop;
  loop.route("a.sim", [](const transport::HttpRequest&) {
    ScriptedResponse r = ScriptedResponse::sse(chat_chunks({"never"}), 0s, 0s, false);
    r.body.resize(1);  // the role chunk only, then silence
    r.end = ScriptedResponse::End::kHang;
    return r;
  });
  loop.route("b.sim", [](const transport::HttpRequest&) { return ScriptedResponse::sse(chat_chunks({"Hello", "!"})); });
  auto router = sim_router("model_list:\n" + dep("g", "a", "a1") + dep("backup", "b", "b1") +
                               "router_settings:\n  stream_idle_timeout: 20\n  first_token_timeout: 300\n"
                               "  fallbacks: [{\"g\": [\"backup\"]}]\n",
                           loop);
  StreamResult s = stream(*router, loop, chat("g"));
  REQUIRE(s.done.has_value());
  REQUIRE(s.done->ok());
  CHECK(s.text == "Hello!");  // nothing of the silent attempt reached the consumer
  CHECK(loop.request_count("a.sim") == 1);
  CHECK(seconds_since_start(loop, 1) == Approx(20.0));
}

TEST_CASE("simulated loop: deadlines, refusals and resets as CurlEventLoop reports them", "[sim][loop]") {
  SimulatedLoop loop;
  struct Rec final : transport::TransferObserver {
    std::optional<transport::TransferResult> result;
    std::string body;
    bool on_body(std::string_view b) override {
      body += b;
      return true;
    }
    void on_complete(transport::TransferResult&& r) override { result = std::move(r); }
  };
  auto run = [&](ScriptedResponse script, transport::HttpRequest req) {
    loop.set_default_responder([script](const transport::HttpRequest&) { return script; });
    auto rec = std::make_unique<Rec>();
    loop.start_transfer(std::move(req), rec.get());
    loop.run_until_idle();
    REQUIRE(rec->result.has_value());
    return rec;
  };
  transport::HttpRequest req;
  req.url = "http://x.sim/v1/chat/completions";

  ScriptedResponse slow_connect = ScriptedResponse::json(200, "{}");
  slow_connect.connect_delay = 5s;
  transport::HttpRequest with_connect = req;
  with_connect.connect_timeout = 2s;
  auto r1 = run(slow_connect, with_connect);
  CHECK(r1->result->error == transport::TransferError::kConnectTimeout);
  CHECK(r1->result->error_message == "no connection within 2.000 s");

  ScriptedResponse refused;
  refused.refuse_connection = true;
  CHECK(run(refused, req)->result->error == transport::TransferError::kConnectFailed);

  transport::HttpRequest with_first_byte = req;
  with_first_byte.first_byte_timeout = 3s;
  auto r3 = run(ScriptedResponse::silent(), with_first_byte);
  CHECK(r3->result->error == transport::TransferError::kFirstByteTimeout);
  CHECK(r3->result->error_message == "no first byte within 3.000 s");
  CHECK(r3->result->status == 0);

  ScriptedResponse cut = ScriptedResponse::sse({"a", "b"}, 0s, 1s, false);
  cut.end = ScriptedResponse::End::kReset;
  transport::HttpRequest streaming = req;
  streaming.stream_body = true;
  auto r4 = run(cut, streaming);
  CHECK(r4->result->error == transport::TransferError::kConnectionClosed);
  CHECK(r4->body == "data: a\n\ndata: b\n\n");

  ScriptedResponse stall = ScriptedResponse::sse({"a"}, 0s, 0s, false);
  stall.end = ScriptedResponse::End::kHang;
  streaming.idle_timeout = 7s;
  auto r5 = run(stall, streaming);
  CHECK(r5->result->error == transport::TransferError::kIdleTimeout);
  CHECK(r5->result->error_message == "stream idle for more than 7.000 s");
  CHECK(duration_to_seconds(r5->result->finished - r5->result->started) == Approx(7.0));

  // A 500 on a streaming request is buffered, not streamed.
  auto r6 = run(ScriptedResponse::error(500, "boom"), streaming);
  CHECK(r6->result->status == 500);
  CHECK(r6->body.empty());
  CHECK(r6->result->body.find("boom") != std::string::npos);
}
