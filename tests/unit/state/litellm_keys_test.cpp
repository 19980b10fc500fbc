// LiteLLM's key names byte for byte, its namespace rule with its quirk, the
// UTC minute tag, and llmux's own keys.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "llmux/error.hpp"
#include "state/litellm_keys.hpp"

namespace llmux::state {
namespace {

using std::chrono::system_clock;

// 2026-12-02T01:11:59Z (the reference's observed key global_router:dep-b:openai/gpt-4o:tpm:01-11).
constexpr int64_t kSample = 1796173919;

system_clock::time_point at_seconds(int64_t seconds) { return system_clock::time_point(std::chrono::seconds(seconds)); }

TEST_CASE("the minute tag is UTC HH-MM of the wall clock given", "[state][keys]") {
  CHECK(utc_minute_tag(at_seconds(kSample)) == "01-11");
  CHECK(utc_minute_tag(at_seconds(kSample) + std::chrono::milliseconds(999)) == "01-11");
  CHECK(utc_minute_tag(at_seconds(kSample) + std::chrono::seconds(1)) == "01-12");
  CHECK(utc_minute_tag(at_seconds(0)) == "00-00");
  CHECK(utc_minute_tag(at_seconds(86399)) == "23-59");
  CHECK(utc_minute_tag(at_seconds(86400 + 13 * 3600 + 7 * 60)) == "13-07");
  // Before 1970 the minute still counts forward within its day (Python agrees).
  CHECK(utc_minute_tag(at_seconds(-1)) == "23-59");
  CHECK(utc_minute_tag(at_seconds(-86400 + 61)) == "00-01");
}

TEST_CASE("LiteLLM's keys, without a namespace", "[state][keys]") {
  const SharedKeys keys;
  CHECK(keys.key_namespace().empty());
  CHECK(keys.cooldown("dep-a") == "deployment:dep-a:cooldown");
  CHECK(keys.allowed_fails("dep-a") == "deployment:dep-a:allowed_fails");
  CHECK(keys.allowed_fails("dep-a", kAllowedFailsGenericSuffix) == "deployment:dep-a:allowed_fails:generic");
  // A deployment policy entry that matched: LiteLLM's exception class name.
  CHECK(keys.allowed_fails("dep-a", error_kind_name(ErrorKind::kRateLimit)) ==
        "deployment:dep-a:allowed_fails:RateLimitError");
  CHECK(keys.allowed_fails("dep-a", error_kind_name(ErrorKind::kTimeout)) == "deployment:dep-a:allowed_fails:Timeout");
  CHECK(keys.global_router_usage("dep-b", "openai/gpt-4o", UsageCounter::kTpm, "01-11") ==
        "global_router:dep-b:openai/gpt-4o:tpm:01-11");
  CHECK(keys.global_router_usage("dep-b", "openai/gpt-4o", UsageCounter::kRpm, "01-11") ==
        "global_router:dep-b:openai/gpt-4o:rpm:01-11");
  CHECK(keys.global_router_usage("d", "m", UsageCounter::kItpm, "00-00") == "global_router:d:m:itpm:00-00");
  CHECK(keys.global_router_usage("d", "m", UsageCounter::kOtpm, "00-00") == "global_router:d:m:otpm:00-00");
  // Bedrock model names carry ':' — kept verbatim.
  CHECK(keys.usage_v2("dep-c", "bedrock/anthropic.claude-3-haiku-20240307-v1:0", UsageCounter::kRpm, "23-59") ==
        "dep-c:bedrock/anthropic.claude-3-haiku-20240307-v1:0:rpm:23-59");
  CHECK(keys.usage_v2("dep-c", "openai/gpt-4o", UsageCounter::kTpm, "07-05") == "dep-c:openai/gpt-4o:tpm:07-05");
  CHECK(keys.provider_spend("openai", "1d") == "provider_spend:openai:1d");
  CHECK(keys.deployment_spend("dep-a", "30d") == "deployment_spend:dep-a:30d");
  CHECK(keys.tag_spend("team-a", "1mo") == "tag_spend:team-a:1mo");
  CHECK(keys.provider_budget_start_time("openai") == "provider_budget_start_time:openai");
  CHECK(keys.deployment_budget_start_time("dep-a") == "deployment_budget_start_time:dep-a");
  CHECK(keys.tag_budget_start_time("team-a") == "tag_budget_start_time:team-a");
  CHECK(keys.health_check_state() == "litellm:health_check:deployment_health_state");
}

TEST_CASE("llmux's own keys live under llmux:", "[state][keys]") {
  const SharedKeys keys;
  CHECK(keys.in_flight("dep-a") == "llmux:in_flight:dep-a");
  CHECK(keys.latency_samples("dep-a") == "llmux:latency:dep-a");
  CHECK(keys.probe_lease("dep-a") == "llmux:probe:dep-a");
  CHECK(keys.events_channel() == "llmux:events");
}

TEST_CASE("the namespace is applied as LiteLLM's check_and_fix_namespace does", "[state][keys]") {
  SECTION("every key gets ns: in front, llmux's own included") {
    const SharedKeys keys("ns1");
    CHECK(keys.key_namespace() == "ns1");
    // The reference's observed keys with cache_kwargs={"namespace": "ns1"}.
    CHECK(keys.cooldown("dep-a") == "ns1:deployment:dep-a:cooldown");
    CHECK(keys.global_router_usage("dep-b", "openai/gpt-4o", UsageCounter::kTpm, "01-11") ==
          "ns1:global_router:dep-b:openai/gpt-4o:tpm:01-11");
    CHECK(keys.usage_v2("dep-b", "openai/gpt-4o", UsageCounter::kRpm, "01-11") == "ns1:dep-b:openai/gpt-4o:rpm:01-11");
    CHECK(keys.allowed_fails("dep-a", "generic") == "ns1:deployment:dep-a:allowed_fails:generic");
    CHECK(keys.provider_spend("openai", "1d") == "ns1:provider_spend:openai:1d");
    CHECK(keys.deployment_budget_start_time("dep-a") == "ns1:deployment_budget_start_time:dep-a");
    CHECK(keys.health_check_state() == "ns1:litellm:health_check:deployment_health_state");
    CHECK(keys.in_flight("dep-a") == "ns1:llmux:in_flight:dep-a");
    CHECK(keys.probe_lease("dep-a") == "ns1:llmux:probe:dep-a");
    CHECK(keys.events_channel() == "ns1:llmux:events");
  }
  SECTION("the quirk: a key that already starts with the namespace string is left alone") {
    const SharedKeys keys("dep");
    // No colon test: "dep-a:..." starts with "dep".
    CHECK(keys.usage_v2("dep-a", "openai/gpt-4o", UsageCounter::kRpm, "10-00") == "dep-a:openai/gpt-4o:rpm:10-00");
    CHECK(keys.usage_v2("other", "openai/gpt-4o", UsageCounter::kRpm, "10-00") ==
          "dep:other:openai/gpt-4o:rpm:10-00");
    // ... and so does every deployment:* key: "deployment" starts with "dep".
    CHECK(keys.cooldown("dep-a") == "deployment:dep-a:cooldown");
    CHECK(keys.provider_spend("openai", "1d") == "dep:provider_spend:openai:1d");
    CHECK(apply_namespace("deploy", "deployment:x:cooldown") == "deployment:x:cooldown");
    CHECK(apply_namespace("ns", "ns") == "ns");
    CHECK(apply_namespace("ns", "n") == "ns:n");
  }
  SECTION("an empty namespace prefixes nothing (every key starts with '')") {
    CHECK(apply_namespace("", "deployment:x:cooldown") == "deployment:x:cooldown");
    CHECK(SharedKeys("").cooldown("x") == "deployment:x:cooldown");
  }
  SECTION("the namespace is used as written") {
    CHECK(apply_namespace("litellm_caching:", "deployment:x:cooldown") == "litellm_caching::deployment:x:cooldown");
    CHECK(apply_namespace("A", "a") == "A:a");
  }
}

}  // namespace
}  // namespace llmux::state
