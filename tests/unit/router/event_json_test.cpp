// event_json: every event type as one JSON object, with the fields the C ABI
// documents (error and metadata as their own JSON views, null when absent),
// re-parsed with simdjson.
#include <string>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "llmux/router.hpp"

using namespace llmux;

TEST_CASE("event_json writes a success with metadata and usage, and null error", "[event_json]") {
  RouterMetadata metadata;
  metadata.call_id = 42;
  metadata.model_group = "chat \"q\"";
  metadata.deployment_id = "chat-1";
  metadata.attempts = 2;
  metadata.response_cost = 0.25;
  Usage usage{3, 4, 7, true};
  RouterEvent ev;
  ev.type = RouterEventType::kSuccess;
  ev.call_id = 42;
  ev.model_group = "chat \"q\"";
  ev.deployment_id = "chat-1";
  ev.metadata = &metadata;
  ev.usage = &usage;

  const std::string json = event_json(ev);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
  // The type and call id lead (the Python binding reads them without a parse).
  CHECK(json.rfind(R"({"type":"success","call_id":42,)", 0) == 0);
  CHECK(std::string(doc["model_group"].get_string().value()) == "chat \"q\"");
  CHECK(std::string(doc["deployment_id"].get_string().value()) == "chat-1");
  CHECK(doc["error"].is_null());
  CHECK(doc["response_cost"].get_double().value() == 0.25);
  CHECK(doc["metadata"]["attempts"].get_int64().value() == 2);
  CHECK(doc["usage"]["total_tokens"].get_int64().value() == 7);
}

TEST_CASE("event_json writes retry, fallback and cooldown causes as error JSON", "[event_json]") {
  const Error cause(ErrorKind::kRateLimit, "slow down", 429);
  for (const RouterEventType type : {RouterEventType::kRetry, RouterEventType::kFallback, RouterEventType::kCooldown,
                                     RouterEventType::kFailure, RouterEventType::kRecovered}) {
    RouterEvent ev;
    ev.type = type;
    ev.call_id = 7;
    ev.error = type == RouterEventType::kRecovered ? nullptr : &cause;
    ev.fallback_group = type == RouterEventType::kFallback ? "backup" : "";
    ev.cooldown_seconds = type == RouterEventType::kCooldown ? 60 : 0;
    ev.retry_in_seconds = type == RouterEventType::kRetry ? 1.5 : 0;
    const std::string json = event_json(ev);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
    CHECK(std::string(doc["type"].get_string().value()) == router_event_type_name(type));
    CHECK(doc["metadata"].is_null());
    CHECK(doc["usage"].is_null());
    if (type == RouterEventType::kRecovered) {
      CHECK(doc["error"].is_null());
      continue;
    }
    CHECK(std::string(doc["error"]["type"].get_string().value()) == "RateLimitError");
    CHECK(doc["error"]["status"].get_int64().value() == 429);
    CHECK(doc["error"]["kind"].get_int64().value() == static_cast<int>(ErrorKind::kRateLimit));
    CHECK(std::string(doc["fallback_group"].get_string().value()) == std::string(ev.fallback_group));
    CHECK(doc["cooldown_seconds"].get_double().value() == ev.cooldown_seconds);
    CHECK(doc["retry_in_seconds"].get_double().value() == ev.retry_in_seconds);
  }
}
