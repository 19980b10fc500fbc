#include "provider/mock_provider.hpp"

#include <algorithm>

#include <fmt/format.h>

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

}  // namespace

bool has_mock_hook(const DeploymentConfig& deployment, const request::ParsedRequest& request) {
  const request::RouterRequestOptions& ro = request.router;
  return ro.mock_testing_rate_limit_error || ro.mock_timeout || ro.mock_response || deployment.mock_response;
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
  const std::optional<std::string>& mock = ro.mock_response ? ro.mock_response : deployment.mock_response;
  if (!mock) return std::nullopt;
  if (mock_is_error(*mock)) return failed(mock_error(*mock));
  const std::string_view model = target.model;
  LocalAnswer a;
  if (request.endpoint == request::Endpoint::kEmbeddings) {
    a.body = mock_embedding_body(model, 1);
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
