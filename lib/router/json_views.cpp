// JSON views of responses, errors and health for the C ABI and the bindings.
#include <fmt/format.h>

#include "json/request.hpp"
#include "llmux/router.hpp"

namespace llmux {
namespace {

void member(std::string& out, std::string_view key) {
  if (out.back() != '{' && out.back() != '[') out.push_back(',');
  json::append_json_string(out, key);
  out.push_back(':');
}

void str(std::string& out, std::string_view key, std::string_view value) {
  member(out, key);
  json::append_json_string(out, value);
}

template <class T>
void num(std::string& out, std::string_view key, T value) {
  member(out, key);
  fmt::format_to(std::back_inserter(out), "{}", value);
}

void boolean(std::string& out, std::string_view key, bool value) {
  member(out, key);
  out += value ? "true" : "false";
}

void append_usage(std::string& out, const Usage& u) {
  member(out, "usage");
  out.push_back('{');
  num(out, "prompt_tokens", u.prompt_tokens);
  num(out, "completion_tokens", u.completion_tokens);
  num(out, "total_tokens", u.total_tokens);
  boolean(out, "reported", u.reported);
  out.push_back('}');
}

// The "_llmux" object.
void append_metadata(std::string& out, const RouterMetadata& m, const Usage* usage, std::string_view finish_reason) {
  out.push_back('{');
  num(out, "call_id", m.call_id);
  str(out, "requested_model", m.requested_model);
  str(out, "model_group", m.model_group);
  str(out, "fallback_model_group", m.fallback_model_group);
  str(out, "deployment_id", m.deployment_id);
  str(out, "deployment_model", m.deployment_model);
  str(out, "provider", m.provider);
  str(out, "api_base", m.api_base);
  num(out, "attempts", m.attempts);
  num(out, "retries", m.retries);
  num(out, "max_retries", m.max_retries);
  num(out, "fallbacks", m.fallbacks);
  num(out, "latency_ms", m.latency_ms);
  num(out, "time_to_first_token_ms", m.time_to_first_token_ms);
  num(out, "response_cost", m.response_cost);
  num(out, "malformed_events", m.malformed_events);
  num(out, "stream_continuations", m.stream_continuations);
  if (usage) append_usage(out, *usage);
  if (!finish_reason.empty()) str(out, "finish_reason", finish_reason);
  member(out, "attempt_log");
  out.push_back('[');
  for (const AttemptRecord& a : m.attempt_log) {
    if (out.back() != '[') out.push_back(',');
    out.push_back('{');
    str(out, "model_group", a.model_group);
    str(out, "deployment_id", a.deployment_id);
    str(out, "error_type", a.error_type);
    num(out, "status", a.status);
    num(out, "latency_ms", a.latency_ms);
    out.push_back('}');
  }
  out.push_back(']');
  member(out, "headers");
  out.push_back('{');
  for (const auto& [k, v] : litellm_headers(m)) str(out, k, v);
  out.push_back('}');
  out.push_back('}');
}

}  // namespace

std::string response_json(const Response& r) {
  std::string out;
  std::string_view body = r.body;
  while (!body.empty() && (body.back() == ' ' || body.back() == '\n' || body.back() == '\r' || body.back() == '\t')) {
    body.remove_suffix(1);
  }
  const bool object = body.size() >= 2 && body.front() == '{' && body.back() == '}';
  if (object) {
    out.reserve(body.size() + 1024);
    out.append(body.substr(0, body.size() - 1));
    // "{}" has no member to follow.
    const bool empty = body.find_first_not_of(" \t\r\n", 1) == body.size() - 1;
    if (!empty) out.push_back(',');
  } else {
    out.push_back('{');
  }
  json::append_json_string(out, "_llmux");
  out.push_back(':');
  append_metadata(out, r.metadata, &r.usage, r.finish_reason);
  out.push_back('}');
  return out;
}

std::string error_json(const Error& e) {
  std::string out = "{";
  str(out, "type", error_kind_name(e.kind));
  str(out, "message", e.message);
  num(out, "status", e.status);
  num(out, "kind", static_cast<int>(e.kind));
  str(out, "llm_provider", e.llm_provider);
  if (e.retry_after_seconds) num(out, "retry_after_seconds", *e.retry_after_seconds);
  member(out, "_llmux");
  append_metadata(out, e.metadata, nullptr, {});
  out.push_back('}');
  return out;
}

std::string health_json(const std::vector<DeploymentHealth>& hs) {
  std::string out = "[";
  for (const DeploymentHealth& h : hs) {
    if (out.back() != '[') out.push_back(',');
    out.push_back('{');
    str(out, "id", h.id);
    str(out, "model_group", h.model_group);
    str(out, "api_base", h.api_base);
    boolean(out, "healthy", h.healthy);
    str(out, "state", h.state);
    str(out, "reason", h.reason);
    num(out, "status", h.status);
    num(out, "cooldown_remaining_seconds", h.cooldown_remaining_seconds);
    num(out, "trips", h.trips);
    num(out, "in_flight", h.in_flight);
    num(out, "requests_this_minute", h.requests_this_minute);
    num(out, "tokens_this_minute", h.tokens_this_minute);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

// TODO(issue 4, metrics helper): the real view.
std::string deployments_json(const std::vector<DeploymentConfig>&) { return "[]"; }

}  // namespace llmux
