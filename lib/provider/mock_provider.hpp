// -----------------------------------------------------------------------------
// File: provider/mock_provider.hpp
// -----------------------------------------------------------------------------
// LiteLLM's mock hooks as a provider adapter like any other: `mock_response`
// (on the request or the deployment), `mock_timeout` and
// `mock_testing_rate_limit_error` are answered locally (Provider::answer_locally)
// with OpenAI-shaped bodies — a reply, a stream, an embedding, or the error a
// mock names — which the router then reads exactly as a network answer.
// Stateless, thread-safe.
#pragma once

#include "provider/provider.hpp"

namespace llmux::provider {

class MockProvider final : public Provider {
 public:
  std::string_view name() const override { return "mock"; }
  // Never used: every answer is local.
  Status build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override;
  Error classify_failure(const transport::TransferResult& result) const override;
  Result<ResponseInfo> inspect_response(std::string_view body, request::Endpoint endpoint) const override;
  ChunkInfo inspect_chunk(std::string_view data) const override;
  bool supports_endpoint(request::Endpoint) const override { return true; }
  std::optional<LocalAnswer> answer_locally(const ProviderTarget& target, const request::ParsedRequest& request,
                                            bool stream) const override;
};

// Whether a mock hook applies to an attempt on `deployment`.
bool has_mock_hook(const DeploymentConfig& deployment, const request::ParsedRequest& request);

const MockProvider& mock_provider();

// The error of a mock_testing_*fallbacks request hook, if any. LiteLLM raises
// these before any backend call, so they skip retries and go straight to
// fallbacks (reference §6.1 step 2).
std::optional<Error> mock_fallback_error(const request::RouterRequestOptions& request);

}  // namespace llmux::provider
