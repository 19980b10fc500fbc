// The "_llmux" object written with literal keys (json/literal_writer.hpp) is
// byte for byte what the json::Writer version wrote before it: the reference
// below is that version, kept verbatim, run over calls that were served by a
// fallback, retried, priced or not, with ids and bases that need escaping and
// numbers at the edges of their formats.
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "common/litellm_headers.hpp"
#include "json/writer.hpp"
#include "llmux/router.hpp"

using namespace llmux;

namespace {

void reference_usage(json::Writer& w, const Usage& u) {
  w.raw_key("usage").begin_object();
  w.raw_key("prompt_tokens").value(u.prompt_tokens);
  w.raw_key("completion_tokens").value(u.completion_tokens);
  w.raw_key("total_tokens").value(u.total_tokens);
  w.raw_key("reported").value(u.reported);
  w.end_object();
}

void reference_metadata(json::Writer& w, const RouterMetadata& m, const Usage* usage, std::string_view finish_reason) {
  w.begin_object();
  w.raw_key("call_id").value(m.call_id);
  w.raw_key("requested_model").value(m.requested_model);
  w.raw_key("model_group").value(m.model_group);
  w.raw_key("fallback_model_group").value(m.fallback_model_group);
  w.raw_key("deployment_id").value(m.deployment_id);
  w.raw_key("deployment_model").value(m.deployment_model);
  w.raw_key("provider").value(m.provider);
  w.raw_key("api_base").value(m.api_base);
  w.raw_key("attempts").value(m.attempts);
  w.raw_key("retries").value(m.retries);
  w.raw_key("max_retries").value(m.max_retries);
  w.raw_key("fallbacks").value(m.fallbacks);
  w.raw_key("latency_ms").value(m.latency_ms);
  w.raw_key("time_to_first_token_ms").value(m.time_to_first_token_ms);
  w.raw_key("response_cost").value(m.response_cost);
  w.raw_key("malformed_events").value(m.malformed_events);
  w.raw_key("stream_continuations").value(m.stream_continuations);
  if (usage) reference_usage(w, *usage);
  if (!finish_reason.empty()) w.raw_key("finish_reason").value(finish_reason);
  w.raw_key("attempt_log").begin_array();
  for (const AttemptRecord& a : m.attempt_log) {
    w.begin_object();
    w.raw_key("model_group").value(a.model_group);
    w.raw_key("deployment_id").value(a.deployment_id);
    w.raw_key("error_type").value(a.error_type);
    w.raw_key("status").value(a.status);
    w.raw_key("latency_ms").value(a.latency_ms);
    w.raw_key("start_ms").value(a.start_ms);
    w.end_object();
  }
  w.end_array();
  w.raw_key("headers").begin_object();
  common::for_each_litellm_header(m, [&w](std::string_view name, std::string_view value) { w.member(name, value); });
  w.end_object();
  w.end_object();
}

// response_json as the reference wrote it, for a body that is an object with members.
std::string reference_response_json(const Response& r) {
  std::string out(r.body.substr(0, r.body.rfind('}')));
  json::Writer w(out);
  out.push_back(',');
  w.raw_key("_llmux");
  reference_metadata(w, r.metadata, &r.usage, r.finish_reason);
  out.push_back('}');
  return out;
}

std::string reference_error_json(const Error& e) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.member("type", error_kind_name(e.kind));
  w.member("message", e.message);
  w.member("status", e.status ? e.status : error_kind_default_status(e.kind));
  w.member("kind", static_cast<int>(e.kind));
  w.member("llm_provider", e.llm_provider);
  if (e.retry_after_seconds) w.member("retry_after_seconds", *e.retry_after_seconds);
  w.key("_llmux");
  reference_metadata(w, e.metadata, nullptr, {});
  w.end_object();
  return out;
}

// A call served by `group` after `retries` retries and `fallbacks` fallbacks.
RouterMetadata served(std::string_view group, std::string_view deployment_id, std::string_view api_base, int retries,
                      int fallbacks) {
  RouterMetadata m;
  m.call_id = 42;
  m.requested_model = "primary";
  m.model_group = std::string(group);
  if (fallbacks > 0) m.fallback_model_group = std::string(group);
  m.deployment_id = std::string(deployment_id);
  m.deployment_model = "qwen3-14b";
  m.provider = "openai";
  m.api_base = std::string(api_base);
  m.attempts = 1 + retries + fallbacks;
  m.retries = retries;
  m.max_retries = 3;
  m.fallbacks = fallbacks;
  m.latency_ms = 12.5;
  for (int i = 0; i < retries + fallbacks; ++i) {
    m.attempt_log.push_back({i < retries ? "primary" : std::string(group), "d" + std::to_string(i), "RateLimitError", 429,
                             0.25 * i});
  }
  m.attempt_log.push_back({std::string(group), std::string(deployment_id), "", 0, 3.0});
  return m;
}

}  // namespace

TEST_CASE("the _llmux object is byte for byte what the Writer version wrote", "[response_json]") {
  const std::vector<std::string> ids = {"d-0123456789abcdef", "", "id \"quoted\" \\ back", "ctl\x01\x1f\n\t\r\b\f",
                                        "日本 héllo", std::string(70, 'x') + "\""};
  const std::vector<std::string> bases = {"http://127.0.0.1:8080/v1", "", "https://h/v1?q=\"a\"\\b", "tab\there"};
  const double numbers[] = {0.0,  -0.0, 1.0,  -1.0, 2.5,   0.1,    1.5e-07, 1e300, 123456789.125, 9007199254740993.0,
                            1e16, 1e15, 1e21, -1e-5, 12.3456789, std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max()};
  int cases = 0;
  for (const std::string& id : ids) {
    for (const std::string& base : bases) {
      for (int retries : {0, 2}) {
        for (int fallbacks : {0, 1}) {
          for (double number : numbers) {
            Response r;
            r.body = R"({"id":"x","choices":[]})";
            r.metadata = served(fallbacks ? "fallback \"fb\"" : "primary", id, base, retries, fallbacks);
            r.metadata.response_cost = number;          // priced or not (0), and every edge of the format
            r.metadata.time_to_first_token_ms = number;
            r.metadata.attempt_log.back().latency_ms = number;
            r.metadata.attempt_log.front().start_ms = number;
            if (number > 1) r.metadata.rate_limit_headers.push_back({"x-ratelimit-remaining-requests", "1\"47"});
            r.usage = Usage{3, 4, 7, number > 0};
            r.finish_reason = number > 0 ? "stop" : "";
            INFO("id=" << id << " base=" << base << " retries=" << retries << " fallbacks=" << fallbacks
                       << " number=" << number);
            REQUIRE(response_json(r) == reference_response_json(r));
            Error e{ErrorKind::kRateLimit, "limited", 429};
            e.metadata = r.metadata;
            REQUIRE(error_json(e) == reference_error_json(e));
            ++cases;
          }
        }
      }
    }
  }
  CHECK(cases == 6 * 4 * 2 * 2 * 20);
}
