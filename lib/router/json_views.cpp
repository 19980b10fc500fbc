// JSON views of responses, errors, deployments and health for the C ABI and the bindings.
#include <string>
#include <vector>

#include <absl/strings/ascii.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/litellm_headers.hpp"
#include "common/strings.hpp"
#include "json/literal_writer.hpp"
#include "json/whitespace.hpp"
#include "json/writer.hpp"
#include "llmux/router.hpp"
#include "router/secrets.hpp"

namespace llmux {
namespace {

using router::is_secret_key;

// The "usage" member.
void write_usage(json::LiteralWriter& t, const Usage& u) {
  t.literal(R"("usage":{"prompt_tokens":)");
  t.number(u.prompt_tokens);
  t.literal(R"(,"completion_tokens":)");
  t.number(u.completion_tokens);
  t.literal(R"(,"total_tokens":)");
  t.number(u.total_tokens);
  t.literal(R"(,"reported":)");
  t.boolean(u.reported);
  t.literal("}");
}

void append_usage(json::Writer& w, const Usage& u) {
  json::LiteralWriter t;
  write_usage(t, u);
  w.raw_members(t.view());
}

// The "_llmux" object. Its keys are fixed, so they are written as literals
// (json/literal_writer.hpp) rather than a Writer call per key: the same bytes,
// in about a third of the instructions the C ABI paid per call for them.
void append_metadata(json::Writer& w, const RouterMetadata& m, const Usage* usage, std::string_view finish_reason) {
  json::LiteralWriter t;
  t.literal(R"({"call_id":)");
  t.number(m.call_id);
  t.literal(R"(,"requested_model":)");
  t.string(m.requested_model);
  t.literal(R"(,"model_group":)");
  t.string(m.model_group);
  t.literal(R"(,"fallback_model_group":)");
  t.string(m.fallback_model_group);
  t.literal(R"(,"deployment_id":)");
  t.string(m.deployment_id);
  t.literal(R"(,"deployment_model":)");
  t.string(m.deployment_model);
  t.literal(R"(,"provider":)");
  t.string(m.provider);
  t.literal(R"(,"api_base":)");
  t.string(m.api_base);
  t.literal(R"(,"attempts":)");
  t.number(m.attempts);
  t.literal(R"(,"retries":)");
  t.number(m.retries);
  t.literal(R"(,"max_retries":)");
  t.number(m.max_retries);
  t.literal(R"(,"fallbacks":)");
  t.number(m.fallbacks);
  t.literal(R"(,"latency_ms":)");
  t.number(m.latency_ms);
  t.literal(R"(,"time_to_first_token_ms":)");
  t.number(m.time_to_first_token_ms);
  t.literal(R"(,"response_cost":)");
  t.number(m.response_cost);
  t.literal(R"(,"malformed_events":)");
  t.number(m.malformed_events);
  t.literal(R"(,"stream_continuations":)");
  t.number(m.stream_continuations);
  if (usage) {
    t.literal(",");
    write_usage(t, *usage);
  }
  if (!finish_reason.empty()) {
    t.literal(R"(,"finish_reason":)");
    t.string(finish_reason);
  }
  t.literal(R"(,"attempt_log":[)");
  bool first = true;
  for (const AttemptRecord& a : m.attempt_log) {
    if (!first) t.literal(",");
    first = false;
    t.literal(R"({"model_group":)");
    t.string(a.model_group);
    t.literal(R"(,"deployment_id":)");
    t.string(a.deployment_id);
    t.literal(R"(,"error_type":)");
    t.string(a.error_type);
    t.literal(R"(,"status":)");
    t.number(a.status);
    t.literal(R"(,"latency_ms":)");
    t.number(a.latency_ms);
    t.literal(R"(,"start_ms":)");
    t.number(a.start_ms);
    t.literal("}");
  }
  t.literal(R"(],"headers":{)");
  first = true;
  common::for_each_litellm_header(m, [&t, &first](std::string_view name, std::string_view value) {
    if (!first) t.literal(",");
    first = false;
    t.string(name);
    t.literal(":");
    t.string(value);
  });
  t.literal("}}");
  w.raw(t.view());
}

// What a secret's value is shown as.
constexpr std::string_view kRedacted = "***";

void append_redacted_value(json::Writer& w, simdjson::dom::element value);

// `object` with every secret member's value replaced by "***", recursively.
// A non-empty `id` is written first as "id" (replacing the object's own).
void append_redacted_object(json::Writer& w, simdjson::dom::object object, std::string_view id) {
  w.begin_object();
  if (!id.empty()) w.member("id", id);
  for (const simdjson::dom::key_value_pair field : object) {
    if (!id.empty() && field.key == "id") continue;
    w.key(field.key);
    if (is_secret_key(field.key) && !field.value.is_null()) {
      w.string(kRedacted);
    } else {
      append_redacted_value(w, field.value);
    }
  }
  w.end_object();
}

void append_redacted_value(json::Writer& w, simdjson::dom::element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::OBJECT:
      append_redacted_object(w, value.get_object().value_unsafe(), {});
      return;
    case simdjson::dom::element_type::ARRAY: {
      // A named array: iterating a temporary's range trips GCC 12's -Wdangling-pointer at -O2.
      const simdjson::dom::array items = value.get_array().value_unsafe();
      w.begin_array();
      for (const simdjson::dom::element item : items) append_redacted_value(w, item);
      w.end_array();
      return;
    }
    case simdjson::dom::element_type::STRING: w.string(value.get_string().value_unsafe()); return;
    case simdjson::dom::element_type::INT64: w.number(value.get_int64().value_unsafe()); return;
    case simdjson::dom::element_type::UINT64: w.number(value.get_uint64().value_unsafe()); return;
    case simdjson::dom::element_type::DOUBLE: w.number(value.get_double().value_unsafe()); return;
    case simdjson::dom::element_type::BOOL: w.boolean(value.get_bool().value_unsafe()); return;
    case simdjson::dom::element_type::NULL_VALUE: w.null(); return;
  }
}
}  // namespace

std::string_view append_response_json_tail(const Response& r, std::string& tail) {
  const std::string_view body = json::strip_trailing_whitespace(r.body);
  const bool reopen = body.size() >= 2 && body.front() == '{' && body.back() == '}';
  const std::string_view head = reopen ? body.substr(0, body.size() - 1) : std::string_view("{");
  json::Writer w(tail);
  // What follows the head: a comma unless the body's object has no member (as Writer::reopen_object).
  if (reopen && body.find_first_not_of(json::kWhitespace, 1) != body.size() - 1) tail.push_back(',');
  w.raw_key("_llmux");
  append_metadata(w, r.metadata, &r.usage, r.finish_reason);
  tail.push_back('}');
  return head;
}

std::string response_json(const Response& r) {
  std::string tail;
  tail.reserve(1024);
  const std::string_view head = append_response_json_tail(r, tail);
  std::string out;
  out.reserve(head.size() + tail.size());
  out.append(head).append(tail);
  return out;
}

std::string error_json(const Error& e) {
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
  append_metadata(w, e.metadata, nullptr, {});
  w.end_object();
  return out;
}

std::string event_json(const RouterEvent& ev) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.member("type", router_event_type_name(ev.type));
  w.member("call_id", ev.call_id);
  w.member("model_group", ev.model_group);
  w.member("deployment_id", ev.deployment_id);
  w.member("fallback_group", ev.fallback_group);
  w.member("cooldown_seconds", ev.cooldown_seconds);
  w.member("retry_in_seconds", ev.retry_in_seconds);
  w.member("response_cost", ev.metadata ? ev.metadata->response_cost : 0.0);
  w.key("error");
  if (ev.error) {
    w.raw(error_json(*ev.error));
  } else {
    w.null();
  }
  w.key("metadata");
  if (ev.metadata) {
    append_metadata(w, *ev.metadata, ev.usage, {});
  } else {
    w.null();
  }
  if (ev.usage) {
    append_usage(w, *ev.usage);
  } else {
    w.key("usage").null();
  }
  w.end_object();
  return out;
}

namespace {

// Who ran a check: a replica id, or this router.
std::string_view checked_by_text(const std::string& checked_by) {
  return checked_by.empty() ? std::string_view("this replica") : std::string_view(checked_by);
}

void append_check_result(json::Writer& w, const HealthCheckResult& r) {
  w.begin_object();
  w.member("deployment_id", r.deployment_id);
  w.member("model_group", r.model_group);
  w.member("mode", r.mode);
  w.member("model", r.model);
  w.member("healthy", r.healthy);
  w.member("skipped", r.skipped);
  w.member("error_type", r.error_type);
  w.member("status", r.status);
  w.member("reason", r.reason);
  w.member("checked_at", r.checked_at);
  w.member("latency_ms", r.latency_ms);
  w.member("checked_by", checked_by_text(r.checked_by));
  w.end_object();
}

void append_endpoints(json::Writer& w, std::string_view key, const std::vector<HealthEndpoint>& endpoints) {
  w.key(key).begin_array();
  for (const HealthEndpoint& e : endpoints) {
    w.begin_object();
    w.member("model", e.model);
    w.member("model_group", e.model_group);
    w.member("model_id", e.model_id);
    w.member("api_base", e.api_base);
    w.member("mode", e.mode);
    w.member("error", e.error);
    w.member("error_type", e.error_type);
    w.member("status", e.status);
    w.member("last_check_at", e.last_check_at);
    w.member("latency_ms", e.latency_ms);
    w.member("checked_by", checked_by_text(e.checked_by));
    w.member("stale", e.stale);
    w.member("routed_around", e.routed_around);
    w.end_object();
  }
  w.end_array();
}

}  // namespace

std::string health_check_result_json(const HealthCheckResult& result) {
  std::string out;
  json::Writer w(out);
  append_check_result(w, result);
  return out;
}

std::string health_report_json(const HealthReport& report) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  append_endpoints(w, "healthy_endpoints", report.healthy_endpoints);
  append_endpoints(w, "unhealthy_endpoints", report.unhealthy_endpoints);
  append_endpoints(w, "unchecked_endpoints", report.unchecked_endpoints);
  w.member("healthy_count", report.healthy_endpoints.size());
  w.member("unhealthy_count", report.unhealthy_endpoints.size());
  w.member("unchecked_count", report.unchecked_endpoints.size());
  w.end_object();
  return out;
}

std::string health_json(const std::vector<DeploymentHealth>& hs) {
  std::string out;
  json::Writer w(out);
  w.begin_array();
  for (const DeploymentHealth& h : hs) {
    w.begin_object();
    w.member("id", h.id);
    w.member("model_group", h.model_group);
    w.member("api_base", h.api_base);
    w.member("healthy", h.healthy);
    w.member("state", h.state);
    w.member("reason", h.reason);
    w.member("cooled_by", h.cooled_by);
    w.member("status", h.status);
    w.member("cooldown_remaining_seconds", h.cooldown_remaining_seconds);
    w.member("trips", h.trips);
    w.member("in_flight", h.in_flight);
    w.member("requests_this_minute", h.requests_this_minute);
    w.member("tokens_this_minute", h.tokens_this_minute);
    w.key("last_check");
    if (h.last_check) {
      append_check_result(w, *h.last_check);
    } else {
      w.null();
    }
    w.member("failed_health_check", h.failed_health_check);
    w.member("next_health_check_seconds", h.next_health_check_seconds);
    w.end_object();
  }
  w.end_array();
  return out;
}

std::string deployments_json(const std::vector<DeploymentConfig>& deployments) {
  simdjson::dom::parser parser;
  std::string out;
  json::Writer w(out);
  w.begin_array();
  for (const DeploymentConfig& d : deployments) {
    w.begin_object();
    w.member("model_name", d.model_name);

    w.key("litellm_params");
    simdjson::dom::object params;
    if (parser.parse(d.litellm_params_json).get(params) == simdjson::SUCCESS) {
      append_redacted_object(w, params, {});
    } else {
      // Built in code rather than parsed from a config: the typed fields.
      w.begin_object();
      w.member("model", d.model);
      if (!d.api_base.empty()) w.member("api_base", d.api_base);
      if (!d.api_key.empty()) w.member("api_key", kRedacted);
      if (!d.api_version.empty()) w.member("api_version", d.api_version);
      if (!d.organization.empty()) w.member("organization", d.organization);
      w.end_object();
    }

    // model_info always names the id, also when it was generated (the hash).
    w.key("model_info");
    simdjson::dom::object info;
    if (parser.parse(d.model_info_json).get(info) == simdjson::SUCCESS) {
      append_redacted_object(w, info, d.id);
    } else {
      w.begin_object().member("id", d.id).end_object();
    }
    w.end_object();
  }
  w.end_array();
  return out;
}

std::string json_string(std::string_view text) {
  std::string out;
  json::Writer(out).string(text);
  return out;
}

}  // namespace llmux
