#include "router/secrets.hpp"

#include <algorithm>

#include <absl/strings/ascii.h>
#include <simdjson.h>

#include "common/strings.hpp"

namespace llmux::router {

namespace {

constexpr size_t kMinSecretLength = 4;

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

void add_secret(std::vector<std::string>& out, std::string_view value) {
  if (value.size() < kMinSecretLength) return;
  if (std::find(out.begin(), out.end(), value) == out.end()) out.emplace_back(value);
}

void collect(simdjson::dom::element value, bool secret, std::vector<std::string>& out, int depth);

// A string that holds JSON (an inline credentials file): its members too.
void collect_string(std::string_view text, bool secret, std::vector<std::string>& out, int depth) {
  if (secret) add_secret(out, text);
  const std::string_view trimmed = strip_ascii_whitespace(text);
  if (depth > 8 || trimmed.size() < 2 || trimmed.front() != '{') return;
  simdjson::dom::parser parser;
  simdjson::dom::element inner;
  if (parser.parse(trimmed.data(), trimmed.size()).get(inner) == simdjson::SUCCESS) {
    collect(inner, secret, out, depth + 1);
  }
}

void collect(simdjson::dom::element value, bool secret, std::vector<std::string>& out, int depth) {
  if (depth > 8) return;
  switch (value.type()) {
    case simdjson::dom::element_type::OBJECT:
    {
      simdjson::dom::object object = value.get_object().value_unsafe();
      for (const auto field : object) collect(field.value, secret || is_secret_key(field.key), out, depth + 1);
    }
      break;
    case simdjson::dom::element_type::ARRAY:
    {
      simdjson::dom::array items = value.get_array().value_unsafe();
      for (const simdjson::dom::element item : items) collect(item, secret, out, depth + 1);
    }
      break;
    case simdjson::dom::element_type::STRING:
      collect_string(value.get_string().value_unsafe(), secret, out, depth);
      break;
    default:
      break;
  }
}

}  // namespace

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

std::vector<std::string> deployment_secrets(const DeploymentConfig& deployment, const provider::DeploymentAuth* auth) {
  std::vector<std::string> out;
  add_secret(out, deployment.api_key);
  for (const auto& [name, value] : deployment.extra_headers) {
    if (is_secret_key(name)) add_secret(out, value);
  }
  if (!deployment.litellm_params_json.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::element params;
    if (parser.parse(deployment.litellm_params_json).get(params) == simdjson::SUCCESS) collect(params, false, out, 0);
  }
  if (auth) {
    std::vector<std::string> more;
    auth->append_secrets(more);
    for (const std::string& s : more) add_secret(out, s);
  }
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

void redact_secrets(std::string& text, std::span<const std::string> secrets) {
  for (const std::string& secret : secrets) {
    for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
      text.replace(pos, secret.size(), "[REDACTED]");
    }
  }
}

}  // namespace llmux::router
