// -----------------------------------------------------------------------------
// File: provider/mock_response.hpp
// -----------------------------------------------------------------------------
// LiteLLM's `mock_response` test hook (reference §3.2 and §6.10): a request or
// deployment carrying `mock_response` is answered without any network call —
// with a fake OpenAI-shaped reply, or, when the text names a LiteLLM error
// class ("litellm.RateLimitError"), with that error. MockProvider
// (mock_provider.hpp) builds its local answers from these. Pure functions,
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/error.hpp"
#include "llmux/metadata.hpp"

namespace llmux::provider {

// Dimensions of a mock embedding (LiteLLM's mock_embedding: 1536 zeros).
inline constexpr size_t kMockEmbeddingDimensions = 1536;

// Whether `mock` names an error: "litellm.<Class>" or "<Class>" for RateLimitError,
// InternalServerError, ContextWindowExceededError, ContentPolicyViolationError,
// BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError,
// Timeout, ServiceUnavailableError, APIConnectionError, BadGatewayError, APIError;
// or LiteLLM's "Exception: content_filter_policy..." content-filter hook.
bool mock_is_error(std::string_view mock);

// The error `mock` names (status = the kind's LiteLLM status, provider_status
// 0), with LiteLLM's mock message ("this is a mock rate limit error").
// A text that names no error gives kInvalidArgument.
Error mock_error(std::string_view mock);

// Usage for a mock reply: completion tokens estimated as the number of words
// of `text`.
Usage mock_usage(int64_t prompt_tokens, std::string_view text);

// A non-streaming chat.completion body (OpenAI's shape) answering `text`,
// id "chatcmpl-mock-<hex>", finish_reason "stop", with `usage`.
std::string mock_completion_body(std::string_view model, std::string_view text, const Usage& usage);

// The SSE data payloads of a streamed reply, without the "data: " framing and
// without "[DONE]" (the router ends the stream): a role chunk, one content
// chunk per word (with the whitespace before it), a finish chunk, and with
// `include_usage` a usage chunk with "choices": [].
std::vector<std::string> mock_stream_chunks(std::string_view model, std::string_view text, bool include_usage,
                                            int64_t prompt_tokens = 0);

// An embeddings response with `n_inputs` zero vectors of
// kMockEmbeddingDimensions (LiteLLM reports 10 prompt tokens).
std::string mock_embedding_body(std::string_view model, size_t n_inputs, int64_t prompt_tokens = 10);

// A text_completion body (OpenAI's /completions) answering `text`.
std::string mock_text_completion_body(std::string_view model, std::string_view text, const Usage& usage);

// A moderation body (OpenAI's /moderations): one result, nothing flagged.
std::string mock_moderation_body(std::string_view model);

// A Responses API body (OpenAI's /responses): one output message with `text`,
// status "completed", usage as input_tokens/output_tokens.
std::string mock_responses_body(std::string_view model, std::string_view text, const Usage& usage);

}  // namespace llmux::provider
