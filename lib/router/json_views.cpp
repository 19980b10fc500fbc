// JSON views of responses, errors, deployments and health for the C ABI and the bindings.
#include <string>
#include <vector>

#include <absl/strings/ascii.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "json/request.hpp"
#include "json/whitespace.hpp"
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


// What a secret's value is shown as.
constexpr std::string_view kRedacted = "***";

// The words of a key, lower-cased: split at every non-alphanumeric character
// and at camelCase humps ("x-api-key", "apiKey", "aws_session_token").
std::vector<std::string> key_words(std::string_view key) {
  std::vector<std::string> words(1);
  for (size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (!absl::ascii_isalnum(c)) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    const bool hump = absl::ascii_isupper(c) && i > 0 && absl::ascii_islower(static_cast<unsigned char>(key[i - 1]));
    if (hump && !words.back().empty()) words.emplace_back();
    words.back().push_back(absl::ascii_tolower(c));
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

// Whether a litellm_params / model_info / header name holds a credential:
// api_key, aws_secret_access_key, aws_session_token, vertex_credentials,
// azure_ad_token, client_secret, Authorization, x-api-key, ... Matched by
// word so that prices and limits stay visible (input_cost_per_token,
// max_tokens): a word ending in "key" or "token" (not "per token"), or one
// containing secret/password/passwd/credential, or starting with "auth".
bool is_secret_key(std::string_view key) {
  const std::vector<std::string> words = key_words(key);
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string_view w = words[i];
    if (str_contains(w, "secret") || str_contains(w, "password") || str_contains(w, "passwd") ||
        str_contains(w, "credential") || w.starts_with("auth") || w.ends_with("key") || w == "keys") {
      return true;
    }
    if (w.ends_with("token") && !(i > 0 && words[i - 1] == "per")) return true;
  }
  return false;
}

void append_redacted_value(std::string& out, simdjson::dom::element value);

// `object` with every secret member's value replaced by "***", recursively.
// A non-empty `id` is written first as "id" (replacing the object's own).
void append_redacted_object(std::string& out, simdjson::dom::object object, std::string_view id) {
  out.push_back('{');
  if (!id.empty()) str(out, "id", id);
  for (const simdjson::dom::key_value_pair field : object) {
    if (!id.empty() && field.key == "id") continue;
    member(out, field.key);
    if (is_secret_key(field.key) && !field.value.is_null()) {
      json::append_json_string(out, kRedacted);
    } else {
      append_redacted_value(out, field.value);
    }
  }
  out.push_back('}');
}

void append_redacted_value(std::string& out, simdjson::dom::element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::OBJECT:
      append_redacted_object(out, value.get_object().value_unsafe(), {});
      return;
    case simdjson::dom::element_type::ARRAY: {
      // A named array: iterating a temporary's range trips GCC 12's -Wdangling-pointer at -O2.
      const simdjson::dom::array items = value.get_array().value_unsafe();
      out.push_back('[');
      bool first = true;
      for (const simdjson::dom::element item : items) {
        if (!first) out.push_back(',');
        first = false;
        append_redacted_value(out, item);
      }
      out.push_back(']');
      return;
    }
    case simdjson::dom::element_type::STRING: json::append_json_string(out, value.get_string().value_unsafe()); return;
    case simdjson::dom::element_type::INT64:
      fmt::format_to(std::back_inserter(out), "{}", value.get_int64().value_unsafe());
      return;
    case simdjson::dom::element_type::UINT64:
      fmt::format_to(std::back_inserter(out), "{}", value.get_uint64().value_unsafe());
      return;
    case simdjson::dom::element_type::DOUBLE:
      fmt::format_to(std::back_inserter(out), "{}", value.get_double().value_unsafe());
      return;
    case simdjson::dom::element_type::BOOL: out += value.get_bool().value_unsafe() ? "true" : "false"; return;
    case simdjson::dom::element_type::NULL_VALUE: out += "null"; return;
  }
}
}  // namespace

std::string response_json(const Response& r) {
  std::string out;
  const std::string_view body = json::strip_trailing_whitespace(r.body);
  const bool object = body.size() >= 2 && body.front() == '{' && body.back() == '}';
  if (object) {
    out.reserve(body.size() + 1024);
    out.append(body.substr(0, body.size() - 1));
    // "{}" has no member to follow.
    const bool empty = body.find_first_not_of(json::kWhitespace, 1) == body.size() - 1;
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
  num(out, "status", e.status ? e.status : error_kind_default_status(e.kind));
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

std::string deployments_json(const std::vector<DeploymentConfig>& deployments) {
  simdjson::dom::parser parser;
  std::string out = "[";
  for (const DeploymentConfig& d : deployments) {
    if (out.back() != '[') out.push_back(',');
    out.push_back('{');
    str(out, "model_name", d.model_name);

    member(out, "litellm_params");
    simdjson::dom::object params;
    if (parser.parse(d.litellm_params_json).get(params) == simdjson::SUCCESS) {
      append_redacted_object(out, params, {});
    } else {
      // Built in code rather than parsed from a config: the typed fields.
      out.push_back('{');
      str(out, "model", d.model);
      if (!d.api_base.empty()) str(out, "api_base", d.api_base);
      if (!d.api_key.empty()) str(out, "api_key", kRedacted);
      if (!d.api_version.empty()) str(out, "api_version", d.api_version);
      if (!d.organization.empty()) str(out, "organization", d.organization);
      out.push_back('}');
    }

    // model_info always names the id, also when it was generated (the hash).
    member(out, "model_info");
    simdjson::dom::object info;
    if (parser.parse(d.model_info_json).get(info) == simdjson::SUCCESS) {
      append_redacted_object(out, info, d.id);
    } else {
      out.push_back('{');
      str(out, "id", d.id);
      out.push_back('}');
    }
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

std::string json_string(std::string_view text) {
  std::string out;
  json::append_json_string(out, text);
  return out;
}

}  // namespace llmux
