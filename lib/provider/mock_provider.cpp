#include "provider/mock_provider.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <simdjson.h>

#include "json/writer.hpp"

#include "provider/mock_response.hpp"
#include "provider/openai_compatible.hpp"

namespace llmux::provider {
namespace {

// Mock bodies are OpenAI-shaped: read them as the OpenAI adapter does.
const OpenAiCompatibleProvider& openai_reader() {
  static const OpenAiCompatibleProvider reader("mock", "");
  return reader;
}

LocalAnswer failed(Error error, bool silent = false) {
  LocalAnswer a;
  a.status = error.status;
  a.error = std::move(error);
  a.silent = silent;
  return a;
}

// An llmux_mock_error {status_code, message, type}: the error a provider
// answering that status and body would give, classified the same way (so it
// is retried, falls back and cools down like the real one).
Error mock_error_from_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  int64_t status = 500;
  std::string_view message = "mock error";
  std::string_view type;
  if (parser.parse(json).get(doc) == simdjson::SUCCESS) {
    int64_t n = 0;
    if (doc["status_code"].get_int64().get(n) == simdjson::SUCCESS && n >= 100 && n <= 599) status = n;
    std::string_view text;
    if (doc["message"].get_string().get(text) == simdjson::SUCCESS) message = text;
    if (doc["type"].get_string().get(text) == simdjson::SUCCESS) type = text;
  }
  transport::TransferResult result;
  result.status = static_cast<int>(status);
  json::Writer w(result.body);
  w.begin_object().key("error").begin_object().member("message", message);
  if (!type.empty()) w.member("type", type);
  w.end_object().end_object();
  return openai_reader().classify_failure(result);
}

// The text of choices[0].message.content of a mock body (streams of an
// object mock_response), "" when it has none.
std::string mock_body_text(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view text;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return {};
  if (doc.at_pointer("/choices/0/message/content").get_string().get(text) != simdjson::SUCCESS) return {};
  return std::string(text);
}

}  // namespace

bool has_mock_hook(const DeploymentConfig& deployment, const request::ParsedRequest& request) {
  const request::RouterRequestOptions& ro = request.router;
  return ro.mock_testing_rate_limit_error || ro.mock_timeout || ro.mock_response || ro.mock_response_json ||
         ro.mock_error_json || deployment.mock_response || deployment.mock_response_json ||
         deployment.mock_error_json;
}

std::optional<Error> mock_fallback_error(const request::RouterRequestOptions& ro) {
  if (ro.mock_testing_fallbacks) {
    return Error(ErrorKind::kInternalServer, "This is a mock exception for model fallbacks (mock_testing_fallbacks=true)");
  }
  if (ro.mock_testing_context_fallbacks) {
    return Error(ErrorKind::kContextWindowExceeded,
                 "This is a mock exception for context window fallbacks (mock_testing_context_fallbacks=true)");
  }
  if (ro.mock_testing_content_policy_fallbacks) {
    return Error(ErrorKind::kContentPolicyViolation,
                 "This is a mock exception for content policy fallbacks (mock_testing_content_policy_fallbacks=true)");
  }
  return std::nullopt;
}

const MockProvider& mock_provider() {
  static const MockProvider provider;
  return provider;
}

const Provider* provider_for_attempt(const DeploymentConfig& deployment, const request::ParsedRequest& request,
                                     const Provider* network) {
  return has_mock_hook(deployment, request) ? &mock_provider() : network;
}

Status MockProvider::build_request(const ProviderTarget& target, const request::ParsedRequest&, bool,
                                   transport::HttpRequest&) const {
  return Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: the mock answers locally", target.config.id));
}

Error MockProvider::classify_failure(const transport::TransferResult& result) const {
  return openai_reader().classify_failure(result);
}

Result<ResponseInfo> MockProvider::inspect_response(std::string_view body, request::Endpoint endpoint) const {
  return openai_reader().inspect_response(body, endpoint);
}

ChunkInfo MockProvider::inspect_chunk(std::string_view data) const { return openai_reader().inspect_chunk(data); }

std::optional<LocalAnswer> MockProvider::answer_locally(const ProviderTarget& target, const request::ParsedRequest& request,
                                                        bool stream) const {
  const DeploymentConfig& deployment = target.config;
  const request::RouterRequestOptions& ro = request.router;
  if (ro.mock_testing_rate_limit_error) {
    return failed(Error(ErrorKind::kRateLimit,
                        "This is a mock exception for rate limits (mock_testing_rate_limit_error=true)"));
  }
  if (ro.mock_timeout) {
    // LiteLLM sleeps past the timeout; the outcome is the same without the wait.
    return failed(Error(ErrorKind::kTimeout, "This is a mock timeout (mock_timeout=true)"), /*silent=*/true);
  }
  // The request's hook beats the deployment's; of each, an error first.
  const bool from_request = ro.mock_error_json || ro.mock_response || ro.mock_response_json;
  const std::optional<std::string>& error_json = from_request ? ro.mock_error_json : deployment.mock_error_json;
  if (error_json) return failed(mock_error_from_json(*error_json));
  const std::optional<std::string>& body_json = from_request ? ro.mock_response_json : deployment.mock_response_json;
  if (body_json) {
    LocalAnswer a;
    if (!stream) {
      a.body = *body_json;  // answered as it is (LiteLLM returns the dict as a ModelResponse)
      return a;
    }
    const std::string text = mock_body_text(*body_json);
    for (const std::string& chunk : mock_stream_chunks(target.model, text, request.include_usage)) {
      fmt::format_to(std::back_inserter(a.body), "data: {}\n\n", chunk);
    }
    a.body += "data: [DONE]\n\n";
    return a;
  }
  const std::optional<std::string>& mock = from_request ? ro.mock_response : deployment.mock_response;
  if (!mock) return std::nullopt;
  if (mock_is_error(*mock)) return failed(mock_error(*mock));
  const std::string_view model = target.model;
  LocalAnswer a;
  if (request.endpoint == request::Endpoint::kEmbeddings) {
    a.body = mock_embedding_body(model, 1);
  } else if (request.endpoint == request::Endpoint::kModerations) {
    a.body = mock_moderation_body(model);
  } else if (request.endpoint == request::Endpoint::kTextCompletions ||
             request.endpoint == request::Endpoint::kResponses) {
    const Usage u = mock_usage(request.estimated_prompt_tokens, *mock);
    a.body = request.endpoint == request::Endpoint::kResponses ? mock_responses_body(model, *mock, u)
                                                               : mock_text_completion_body(model, *mock, u);
  } else if (stream) {
    for (const std::string& chunk : mock_stream_chunks(model, *mock, request.include_usage)) {
      fmt::format_to(std::back_inserter(a.body), "data: {}\n\n", chunk);
    }
    a.body += "data: [DONE]\n\n";
  } else {
    Usage u;
    u.prompt_tokens = request.estimated_prompt_tokens;
    u.completion_tokens = static_cast<int64_t>(std::count(mock->begin(), mock->end(), ' ') + 1);
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
    u.reported = true;
    a.body = mock_completion_body(model, *mock, u);
  }
  return a;
}

}  // namespace llmux::provider
