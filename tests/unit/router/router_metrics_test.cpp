// RouterMetrics fed with hand-built routing events (no router, no HTTP): the
// exact exposition text of a small case, label escaping, histogram buckets,
// and recording from one thread while another renders.
#include "router/router_metrics.hpp"

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using namespace llmux;
using namespace llmux::router;

namespace {

AttemptRecord attempt(std::string group, std::string deployment, std::string error_type = "") {
  AttemptRecord a;
  a.model_group = std::move(group);
  a.deployment_id = std::move(deployment);
  a.error_type = std::move(error_type);
  return a;
}

RouterMetadata call_metadata(std::string requested, std::string served, double latency_ms,
                             std::vector<AttemptRecord> attempts = {}) {
  RouterMetadata m;
  m.requested_model = std::move(requested);
  m.model_group = std::move(served);
  m.latency_ms = latency_ms;
  m.attempt_log = std::move(attempts);
  return m;
}

void record_success(RouterMetrics& metrics, const RouterMetadata& m, const Usage* usage = nullptr) {
  RouterEvent e;
  e.type = RouterEventType::kSuccess;
  e.model_group = m.model_group;
  e.metadata = &m;
  e.usage = usage;
  metrics.record(e);
}

void record_failure(RouterMetrics& metrics, const RouterMetadata& m, const Error& error) {
  RouterEvent e;
  e.type = RouterEventType::kFailure;
  e.model_group = m.model_group;
  e.error = &error;
  e.metadata = &m;
  metrics.record(e);
}

DeploymentHealth deployment_health(std::string group, std::string id, bool healthy) {
  DeploymentHealth h;
  h.model_group = std::move(group);
  h.id = std::move(id);
  h.api_base = "http://127.0.0.1:9/v1";
  h.healthy = healthy;
  return h;
}

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting_with(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// The value of the one sample line starting with `series` + " ".
double sample_value(const std::string& text, const std::string& series) {
  const std::vector<std::string> lines = lines_starting_with(text, series + " ");
  REQUIRE(lines.size() == 1);
  return std::stod(lines[0].substr(series.size() + 1));
}

}  // namespace

TEST_CASE("metrics: the exact exposition text of a small case", "[router][metrics]") {
  RouterMetrics metrics;
  // One call asked for "primary": d1 rate-limited (cooldown, retry), d2 too,
  // the fallback group "backup" served it from b1 in 120 ms.
  const Error rate_limited(ErrorKind::kRateLimit, "slow down", 429);
  RouterEvent cooldown;
  cooldown.type = RouterEventType::kCooldown;
  cooldown.model_group = "primary";
  cooldown.deployment_id = "d1";
  cooldown.error = &rate_limited;
  cooldown.cooldown_seconds = 5;
  metrics.record(cooldown);
  RouterEvent retry;
  retry.type = RouterEventType::kRetry;
  retry.model_group = "primary";
  retry.deployment_id = "d1";
  retry.error = &rate_limited;
  metrics.record(retry);
  RouterEvent fallback;
  fallback.type = RouterEventType::kFallback;
  fallback.model_group = "primary";
  fallback.fallback_group = "backup";
  fallback.error = &rate_limited;
  metrics.record(fallback);
  RouterEvent recovered;  // not counted
  recovered.type = RouterEventType::kRecovered;
  recovered.model_group = "primary";
  recovered.deployment_id = "d2";
  metrics.record(recovered);

  Response response;
  response.metadata = call_metadata("primary", "backup", 120,
                                    {attempt("primary", "d1", "RateLimitError"),
                                     attempt("primary", "d2", "RateLimitError"), attempt("backup", "b1")});
  response.metadata.response_cost = 0.25;
  response.usage.prompt_tokens = 12;
  response.usage.completion_tokens = 3;
  response.usage.total_tokens = 15;
  response.usage.reported = true;
  record_success(metrics, response.metadata, &response.usage);

  // Out of order on purpose: the gauges are sorted by group, then id.
  std::vector<DeploymentHealth> health = {deployment_health("primary", "d2", true),
                                          deployment_health("backup", "b1", true),
                                          deployment_health("primary", "d1", false)};
  health[2].cooldown_remaining_seconds = 4.5;
  health[1].in_flight = 2;
  health[1].requests_this_minute = 7;
  health[1].tokens_this_minute = 150;

  const std::string expected = R"(# HELP llmux_calls_total Calls finished, by requested model group and outcome (success or the LiteLLM error class).
# TYPE llmux_calls_total counter
llmux_calls_total{model_group="primary",outcome="success"} 1
# HELP llmux_attempts_total Backend attempts of finished calls, by deployment and outcome.
# TYPE llmux_attempts_total counter
llmux_attempts_total{model_group="backup",deployment_id="b1",outcome="success"} 1
llmux_attempts_total{model_group="primary",deployment_id="d1",outcome="RateLimitError"} 1
llmux_attempts_total{model_group="primary",deployment_id="d2",outcome="RateLimitError"} 1
# HELP llmux_retries_total Retries within a model group.
# TYPE llmux_retries_total counter
llmux_retries_total{model_group="primary"} 1
# HELP llmux_fallbacks_total Fallbacks from a model group (the one that failed) to another.
# TYPE llmux_fallbacks_total counter
llmux_fallbacks_total{model_group="primary",fallback_group="backup"} 1
# HELP llmux_cooldowns_total Deployments put in cooldown.
# TYPE llmux_cooldowns_total counter
llmux_cooldowns_total{model_group="primary",deployment_id="d1"} 1
# HELP llmux_tokens_total Tokens reported by successful calls.
# TYPE llmux_tokens_total counter
llmux_tokens_total{model_group="primary",type="completion"} 3
llmux_tokens_total{model_group="primary",type="prompt"} 12
# HELP llmux_spend_usd_total Cost of successful calls in USD (from the configured prices).
# TYPE llmux_spend_usd_total counter
llmux_spend_usd_total{model_group="primary"} 0.25
# HELP llmux_call_duration_seconds Call latency from start to the final byte.
# TYPE llmux_call_duration_seconds histogram
llmux_call_duration_seconds_bucket{model_group="primary",le="0.005"} 0
llmux_call_duration_seconds_bucket{model_group="primary",le="0.00625"} 0
llmux_call_duration_seconds_bucket{model_group="primary",le="0.0125"} 0
llmux_call_duration_seconds_bucket{model_group="primary",le="0.025"} 0
llmux_call_duration_seconds_bucket{model_group="primary",le="0.05"} 0
llmux_call_duration_seconds_bucket{model_group="primary",le="0.1"} 0
llmux_call_duration_seconds_bucket{model_group="primary",le="0.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="1"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="1.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="2"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="2.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="3"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="3.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="4"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="4.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="5.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="6"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="6.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="7"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="7.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="8"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="8.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="9"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="9.5"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="10"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="15"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="20"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="25"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="30"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="60"} 1
llmux_call_duration_seconds_bucket{model_group="primary",le="+Inf"} 1
llmux_call_duration_seconds_sum{model_group="primary"} 0.12
llmux_call_duration_seconds_count{model_group="primary"} 1
# HELP llmux_deployment_healthy 1 when the deployment takes traffic, 0 while cooling down, probing or failing its health checks.
# TYPE llmux_deployment_healthy gauge
llmux_deployment_healthy{model_group="backup",deployment_id="b1",api_base="http://127.0.0.1:9/v1"} 1
llmux_deployment_healthy{model_group="primary",deployment_id="d1",api_base="http://127.0.0.1:9/v1"} 0
llmux_deployment_healthy{model_group="primary",deployment_id="d2",api_base="http://127.0.0.1:9/v1"} 1
# HELP llmux_deployment_in_flight Requests in flight to the deployment.
# TYPE llmux_deployment_in_flight gauge
llmux_deployment_in_flight{model_group="backup",deployment_id="b1",api_base="http://127.0.0.1:9/v1"} 2
llmux_deployment_in_flight{model_group="primary",deployment_id="d1",api_base="http://127.0.0.1:9/v1"} 0
llmux_deployment_in_flight{model_group="primary",deployment_id="d2",api_base="http://127.0.0.1:9/v1"} 0
# HELP llmux_deployment_cooldown_remaining_seconds Seconds left in the deployment's cooldown (0 when none).
# TYPE llmux_deployment_cooldown_remaining_seconds gauge
llmux_deployment_cooldown_remaining_seconds{model_group="backup",deployment_id="b1",api_base="http://127.0.0.1:9/v1"} 0
llmux_deployment_cooldown_remaining_seconds{model_group="primary",deployment_id="d1",api_base="http://127.0.0.1:9/v1"} 4.5
llmux_deployment_cooldown_remaining_seconds{model_group="primary",deployment_id="d2",api_base="http://127.0.0.1:9/v1"} 0
# HELP llmux_deployment_requests_this_minute Requests sent to the deployment in the current minute (rpm usage).
# TYPE llmux_deployment_requests_this_minute gauge
llmux_deployment_requests_this_minute{model_group="backup",deployment_id="b1",api_base="http://127.0.0.1:9/v1"} 7
llmux_deployment_requests_this_minute{model_group="primary",deployment_id="d1",api_base="http://127.0.0.1:9/v1"} 0
llmux_deployment_requests_this_minute{model_group="primary",deployment_id="d2",api_base="http://127.0.0.1:9/v1"} 0
# HELP llmux_deployment_tokens_this_minute Tokens used by the deployment in the current minute (tpm usage).
# TYPE llmux_deployment_tokens_this_minute gauge
llmux_deployment_tokens_this_minute{model_group="backup",deployment_id="b1",api_base="http://127.0.0.1:9/v1"} 150
llmux_deployment_tokens_this_minute{model_group="primary",deployment_id="d1",api_base="http://127.0.0.1:9/v1"} 0
llmux_deployment_tokens_this_minute{model_group="primary",deployment_id="d2",api_base="http://127.0.0.1:9/v1"} 0
)";
  CHECK(metrics.render(health) == expected);
}

TEST_CASE("metrics: every family is announced before any sample", "[router][metrics]") {
  RouterMetrics metrics;
  const std::string text = metrics.render({});
  for (const char* family :
       {"llmux_calls_total", "llmux_attempts_total", "llmux_retries_total", "llmux_fallbacks_total",
        "llmux_cooldowns_total", "llmux_tokens_total", "llmux_spend_usd_total", "llmux_call_duration_seconds",
        "llmux_deployment_healthy", "llmux_deployment_in_flight", "llmux_deployment_cooldown_remaining_seconds",
        "llmux_deployment_requests_this_minute", "llmux_deployment_tokens_this_minute"}) {
    INFO(family);
    CHECK(lines_starting_with(text, std::string("# TYPE ") + family + " ").size() == 1);
    CHECK(lines_starting_with(text, std::string("# HELP ") + family + " ").size() == 1);
    CHECK(lines_starting_with(text, std::string(family) + "{").empty());
  }
}

TEST_CASE("metrics: failures count under the error class and the requested group", "[router][metrics]") {
  RouterMetrics metrics;
  const Error rate_limited(ErrorKind::kRateLimit, "slow down", 429);
  const Error auth(ErrorKind::kAuthentication, "Incorrect API key provided: sk-abc", 401);
  // requested_model empty (a request that never named one): the group that
  // failed is used.
  const RouterMetadata a = call_metadata("", "g", 10, {attempt("g", "d1", "RateLimitError")});
  const RouterMetadata b = call_metadata("g", "g", 10, {attempt("g", "d1", "RateLimitError")});
  const RouterMetadata c = call_metadata("g", "g", 10, {attempt("g", "d2", "AuthenticationError")});
  record_failure(metrics, a, rate_limited);
  record_failure(metrics, b, rate_limited);
  record_failure(metrics, c, auth);
  const std::string text = metrics.render({});
  CHECK(lines_starting_with(text, "llmux_calls_total{") ==
        std::vector<std::string>{R"(llmux_calls_total{model_group="g",outcome="AuthenticationError"} 1)",
                                 R"(llmux_calls_total{model_group="g",outcome="RateLimitError"} 2)"});
  CHECK(lines_starting_with(text, "llmux_attempts_total{") ==
        std::vector<std::string>{
            R"(llmux_attempts_total{model_group="g",deployment_id="d1",outcome="RateLimitError"} 2)",
            R"(llmux_attempts_total{model_group="g",deployment_id="d2",outcome="AuthenticationError"} 1)"});
  // Errors' messages are never labels.
  CHECK(text.find("sk-abc") == std::string::npos);
  CHECK(text.find("slow down") == std::string::npos);
  // A failure has no usage and no spend.
  CHECK(lines_starting_with(text, "llmux_tokens_total{").empty());
  CHECK(lines_starting_with(text, "llmux_spend_usd_total{").empty());
  CHECK(has_line(text, R"(llmux_call_duration_seconds_count{model_group="g"} 3)"));
}

TEST_CASE("metrics: label values escape backslash, double quote and line feed", "[router][metrics]") {
  RouterMetrics metrics;
  RouterEvent retry;
  retry.type = RouterEventType::kRetry;
  const std::string group = "a\"b\\c\nd";
  retry.model_group = group;
  metrics.record(retry);
  DeploymentHealth h = deployment_health(group, "id\"1", true);
  h.api_base = "http://h/v1?q=\\x";
  const std::string text = metrics.render({h});
  CHECK(has_line(text, R"(llmux_retries_total{model_group="a\"b\\c\nd"} 1)"));
  CHECK(has_line(text, R"(llmux_deployment_healthy{model_group="a\"b\\c\nd",deployment_id="id\"1",)"
                       R"(api_base="http://h/v1?q=\\x"} 1)"));
  // No raw line feed leaked into a sample line.
  for (const std::string& line : lines_starting_with(text, "llmux_")) CHECK(line.find('}') != std::string::npos);
}

TEST_CASE("metrics: histogram buckets are cumulative with inclusive upper bounds", "[router][metrics]") {
  RouterMetrics metrics;
  for (double ms : {5.0, 6.0, 100.0, 100.0, 2000.0, 70000.0}) record_success(metrics, call_metadata("g", "g", ms));
  const std::string text = metrics.render({});
  const std::string prefix = R"(llmux_call_duration_seconds_bucket{model_group="g",le=")";
  CHECK(has_line(text, prefix + R"(0.005"} 1)"));   // 5 ms is in the 5 ms bucket (le is inclusive)
  CHECK(has_line(text, prefix + R"(0.00625"} 2)"));
  CHECK(has_line(text, prefix + R"(0.05"} 2)"));
  CHECK(has_line(text, prefix + R"(0.1"} 4)"));
  CHECK(has_line(text, prefix + R"(1.5"} 4)"));
  CHECK(has_line(text, prefix + R"(2"} 5)"));
  CHECK(has_line(text, prefix + R"(60"} 5)"));
  CHECK(has_line(text, prefix + R"(+Inf"} 6)"));
  CHECK(lines_starting_with(text, prefix).size() == kCallDurationBuckets.size() + 1);
  CHECK(has_line(text, R"(llmux_call_duration_seconds_count{model_group="g"} 6)"));
  CHECK(sample_value(text, R"(llmux_call_duration_seconds_sum{model_group="g"})") == Approx(72.211));
}

TEST_CASE("metrics: usage without a usage block counts no tokens, spend adds up", "[router][metrics]") {
  RouterMetrics metrics;
  Response response;
  response.metadata = call_metadata("g", "g", 1);
  response.metadata.response_cost = 0.5;
  record_success(metrics, response.metadata, &response.usage);  // usage.reported is false
  response.usage = {4, 6, 10, true};
  response.metadata.response_cost = 0.25;
  record_success(metrics, response.metadata, &response.usage);
  const std::string text = metrics.render({});
  CHECK(lines_starting_with(text, "llmux_tokens_total{") ==
        std::vector<std::string>{R"(llmux_tokens_total{model_group="g",type="completion"} 6)",
                                 R"(llmux_tokens_total{model_group="g",type="prompt"} 4)"});
  CHECK(has_line(text, R"(llmux_spend_usd_total{model_group="g"} 0.75)"));
}

TEST_CASE("metrics: repeated one-attempt successes count like any other call, among other calls", "[router][metrics]") {
  // The usual call (one attempt, usage reported) is counted through series
  // kept from the first one of its group and deployment; calls of another
  // deployment or group, failures and fallbacks in between must neither be
  // lost nor land on the kept series.
  RouterMetrics metrics;
  Response d1;
  d1.metadata = call_metadata("g", "g", 2, {attempt("g", "d1")});
  d1.metadata.response_cost = 0.5;
  d1.usage = {3, 5, 8, true};
  Response d2 = d1;
  d2.metadata.attempt_log = {attempt("g", "d2")};
  Response h1 = d1;
  h1.metadata = call_metadata("h", "h", 20, {attempt("", "h1")});
  h1.metadata.response_cost = 1;
  Response fell_back = d1;
  fell_back.metadata = call_metadata("g", "h", 4, {attempt("g", "d1", "RateLimitError"), attempt("h", "h1")});
  Response no_usage = d1;
  no_usage.usage.reported = false;
  const Error rate_limited(ErrorKind::kRateLimit, "429");
  for (int i = 0; i < 3; ++i) {
    record_success(metrics, d1.metadata, &d1.usage);
    record_success(metrics, d1.metadata, &d1.usage);
    record_success(metrics, d2.metadata, &d2.usage);
    record_success(metrics, h1.metadata, &h1.usage);
    record_success(metrics, fell_back.metadata, &fell_back.usage);
    record_success(metrics, no_usage.metadata, &no_usage.usage);
    record_failure(metrics, d1.metadata, rate_limited);
  }
  const std::string text = metrics.render({});
  CHECK(lines_starting_with(text, "llmux_calls_total{") ==
        std::vector<std::string>{R"(llmux_calls_total{model_group="g",outcome="RateLimitError"} 3)",
                                 R"(llmux_calls_total{model_group="g",outcome="success"} 15)",
                                 R"(llmux_calls_total{model_group="h",outcome="success"} 3)"});
  CHECK(lines_starting_with(text, "llmux_attempts_total{") ==
        std::vector<std::string>{R"(llmux_attempts_total{model_group="g",deployment_id="d1",outcome="RateLimitError"} 3)",
                                 R"(llmux_attempts_total{model_group="g",deployment_id="d1",outcome="success"} 12)",
                                 R"(llmux_attempts_total{model_group="g",deployment_id="d2",outcome="success"} 3)",
                                 R"(llmux_attempts_total{model_group="h",deployment_id="h1",outcome="success"} 6)"});
  // Tokens: every success with usage (d1 twice, d2, h1, the fallback), three rounds.
  CHECK(lines_starting_with(text, "llmux_tokens_total{") ==
        std::vector<std::string>{R"(llmux_tokens_total{model_group="g",type="completion"} 60)",
                                 R"(llmux_tokens_total{model_group="g",type="prompt"} 36)",
                                 R"(llmux_tokens_total{model_group="h",type="completion"} 15)",
                                 R"(llmux_tokens_total{model_group="h",type="prompt"} 9)"});
  CHECK(has_line(text, R"(llmux_spend_usd_total{model_group="g"} 6)"));
  CHECK(has_line(text, R"(llmux_spend_usd_total{model_group="h"} 3)"));
  CHECK(has_line(text, R"(llmux_call_duration_seconds_count{model_group="g"} 18)"));
  CHECK(has_line(text, R"(llmux_call_duration_seconds_count{model_group="h"} 3)"));
  CHECK(sample_value(text, R"(llmux_call_duration_seconds_sum{model_group="h"})") == Approx(0.06));
}

TEST_CASE("metrics: recording on one thread while another renders", "[router][metrics]") {
  RouterMetrics metrics;
  constexpr int kCalls = 2000;
  std::thread recorder([&] {
    const RouterMetadata m = call_metadata("g", "g", 3, {attempt("g", "d1")});
    for (int i = 0; i < kCalls; ++i) record_success(metrics, m);
  });
  for (int i = 0; i < 20; ++i) CHECK(!metrics.render({}).empty());
  recorder.join();
  const std::string text = metrics.render({});
  CHECK(has_line(text, R"(llmux_calls_total{model_group="g",outcome="success"} 2000)"));
  CHECK(has_line(text, R"(llmux_attempts_total{model_group="g",deployment_id="d1",outcome="success"} 2000)"));
}
