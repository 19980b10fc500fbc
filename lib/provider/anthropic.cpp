#include "provider/anthropic.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include <absl/time/clock.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "provider/connection_settings.hpp"
#include "provider/anthropic_messages.hpp"

namespace llmux::provider {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kDefaultApiBase = "https://api.anthropic.com";
constexpr std::string_view kMessagesPath = "/v1/messages";
constexpr std::string_view kOAuthBeta = "oauth-2025-04-20";

std::string_view env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string_view() : std::string_view(v);
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool truthy(std::string_view v) {
  return equals_ignore_case(v, "true") || v == "1" || equals_ignore_case(v, "yes") || equals_ignore_case(v, "on");
}

// The deployment's litellm_params that preset request parameters
// (temperature, max_tokens, ...): owned copies, handed to the mapping as
// RawFields that point into them.
struct Defaults {
  std::vector<std::pair<std::string, std::string>> owned;
  std::vector<request::RawField> fields;
};

Defaults read_defaults(const DeploymentConfig& deployment) {
  Defaults d;
  if (deployment.litellm_params_json.empty()) return d;
  static constexpr std::string_view kKeys[] = {"max_tokens", "max_completion_tokens", "temperature", "top_p",
                                               "top_k",      "stop",                  "reasoning_effort", "thinking"};
  dom::parser parser;
  dom::element top;
  dom::object params;
  if (parser.parse(deployment.litellm_params_json).get(top) != simdjson::SUCCESS ||
      top.get_object().get(params) != simdjson::SUCCESS) {
    return d;
  }
  for (dom::key_value_pair kv : params) {
    if (std::find(std::begin(kKeys), std::end(kKeys), kv.key) == std::end(kKeys)) continue;
    d.owned.emplace_back(std::string(kv.key), simdjson::minify(kv.value));
  }
  for (const auto& [k, v] : d.owned) d.fields.push_back(request::RawField{k, v});
  return d;
}

// A request's own "extra_headers" object (LiteLLM's extra_headers kwarg).
std::vector<std::pair<std::string, std::string>> request_headers(const request::ParsedRequest& request) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const request::RawField& f : request.kept) {
    if (f.key != "extra_headers") continue;
    dom::parser parser;
    dom::element el;
    dom::object o;
    if (parser.parse(f.value.data(), f.value.size()).get(el) != simdjson::SUCCESS ||
        el.get_object().get(o) != simdjson::SUCCESS) {
      continue;
    }
    for (dom::key_value_pair kv : o) {
      std::string_view v;
      if (kv.value.get_string().get(v) == simdjson::SUCCESS) out.emplace_back(std::string(kv.key), std::string(v));
    }
  }
  return out;
}

}  // namespace

std::string AnthropicProvider::messages_url(std::string_view api_base) {
  std::string_view base = api_base;
  if (base.empty()) base = env("ANTHROPIC_API_BASE");
  if (base.empty()) base = env("ANTHROPIC_BASE_URL");
  if (base.empty()) base = kDefaultApiBase;
  // LiteLLM keeps a trailing '/' and sends to "//v1/messages".
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  std::string url(base);
  if (!base.ends_with(kMessagesPath) && !truthy(env("LITELLM_ANTHROPIC_DISABLE_URL_SUFFIX"))) {
    url.append(kMessagesPath);
  }
  return url;
}

Status AnthropicProvider::build_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                        bool stream, transport::HttpRequest& out) const {
  return build(target, request, stream, std::nullopt, out);
}

Status AnthropicProvider::build_continuation_request(const ProviderTarget& target,
                                                     const request::ParsedRequest& request,
                                                     std::string_view delivered_text,
                                                     transport::HttpRequest& out) const {
  if (request.endpoint != request::Endpoint::kChatCompletions) {
    return Error(ErrorKind::kInvalidArgument, "only a chat completion can be continued");
  }
  return build(target, request, true, delivered_text, out);
}

std::shared_ptr<DeploymentAuth> AnthropicProvider::make_auth(const DeploymentConfig& deployment) const {
  if (!deployment.api_key.empty()) return nullptr;
  const std::string_view key = env("ANTHROPIC_API_KEY");
  if (key.empty()) return nullptr;
  return std::make_shared<EnvironmentSecrets>(std::vector<std::string>{std::string(key)});
}

Status AnthropicProvider::build(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                                std::optional<std::string_view> prefill, transport::HttpRequest& out) const {
  const DeploymentConfig& deployment = target.config;
  std::string_view key = deployment.api_key;
  if (key.empty()) key = env("ANTHROPIC_API_KEY");
  if (key.empty()) {
    Error e(ErrorKind::kAuthentication,
            fmt::format("AnthropicException - deployment {} (model_name '{}'): no API key; set litellm_params.api_key "
                        "or ANTHROPIC_API_KEY",
                        deployment.id, deployment.model_name));
    e.status = 401;
    e.llm_provider = "anthropic";
    return e;
  }
  if (has_line_break(key)) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: api_key contains a line break", deployment.id));
  }
  std::string url = messages_url(deployment.api_base);
  if (has_line_break(url)) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: api_base contains a line break", deployment.id));
  }
  std::vector<std::pair<std::string, std::string>> extra = deployment.extra_headers;
  for (auto& h : request_headers(request)) extra.push_back(std::move(h));
  for (const auto& [name, value] : extra) {
    if (has_line_break(name) || has_line_break(value) || name.find(':') != std::string::npos || name.empty()) {
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("deployment {}: extra header '{}' is not a valid header", deployment.id,
                               has_line_break(name) ? std::string("<name with a line break>") : name));
    }
  }

  const Defaults defaults = read_defaults(deployment);
  anthropic::BodyOptions options;
  options.model = target.model;
  options.default_max_tokens = anthropic::default_max_tokens(deployment);
  options.stream = stream;
  options.prefill = prefill;
  options.drop_params = request.router.drop_params || deployment.drop_params.value_or(false);
  options.defaults = defaults.fields;
  if (Status s = anthropic::build_messages_body(request, options, out.body); !s.ok()) return s;

  out.url = std::move(url);
  out.method.assign("POST");
  out.headers.clear();
  out.headers.emplace_back("content-type: application/json");
  out.headers.emplace_back("accept: application/json");
  out.headers.emplace_back("anthropic-version: 2023-06-01");
  // Betas: the user's anthropic-beta headers and OAuth's, as one list.
  std::vector<std::string> betas;
  const bool oauth = key.starts_with("sk-ant-oat");
  if (oauth) {
    out.headers.push_back(fmt::format("authorization: Bearer {}", key));
    out.headers.emplace_back("anthropic-dangerous-direct-browser-access: true");
    betas.emplace_back(kOAuthBeta);
  } else {
    out.headers.push_back(fmt::format("x-api-key: {}", key));
  }
  for (const auto& [name, value] : extra) {
    if (equals_ignore_case(name, "anthropic-beta")) {
      if (std::find(betas.begin(), betas.end(), value) == betas.end()) betas.push_back(value);
      continue;
    }
    out.headers.push_back(fmt::format("{}: {}", name, value));
  }
  if (!betas.empty()) out.headers.push_back(fmt::format("anthropic-beta: {}", fmt::join(betas, ",")));
  out.stream_body = stream;
  apply_connection_settings(deployment, out);
  return {};
}

Error AnthropicProvider::classify_failure(const transport::TransferResult& result) const {
  // Wall time only to read a Retry-After given as an HTTP date.
  return anthropic::classify_failure(result, name(), absl::Now());
}

Status AnthropicProvider::translate_response(const ProviderTarget&, const request::ParsedRequest& request,
                                             std::string& body) const {
  anthropic::ResponseOptions options;
  options.json_mode = anthropic::uses_json_tool(request);
  options.created = absl::ToUnixSeconds(absl::Now());  // a timestamp in the answer, not a timing
  return anthropic::translate_messages_response(body, options);
}

std::unique_ptr<StreamTranslator> AnthropicProvider::make_stream_translator(
    const ProviderTarget&, const request::ParsedRequest& request) const {
  anthropic::MessagesStreamTranslator::Options options;
  options.json_mode = anthropic::uses_json_tool(request);
  options.created = absl::ToUnixSeconds(absl::Now());
  return std::make_unique<anthropic::MessagesStreamTranslator>(options);
}

}  // namespace llmux::provider
