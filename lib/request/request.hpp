// -----------------------------------------------------------------------------
// File: request/request.hpp
// -----------------------------------------------------------------------------
// Reads an OpenAI request body once (simdjson on-demand) for what routing
// needs, and splices the outgoing body: only `model` is replaced and
// router-only keys are removed; every other value is copied byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/inlined_vector.h>

#include "llmux/config.hpp"
#include "llmux/error.hpp"

namespace llmux::request {

// The OpenAI endpoint a request is for. Its prompt member: "messages" (chat),
// "prompt" (text completions), "input" (the others).
enum class Endpoint { kChatCompletions, kEmbeddings, kTextCompletions, kModerations, kResponses };

// The endpoint's path under an OpenAI-style api_base ("/chat/completions", ...).
std::string_view endpoint_path(Endpoint endpoint);

// A top-level member kept for the outgoing body: raw bytes of key (without
// quotes, still escaped as in the input) and value (exact JSON text).
struct RawField {
  std::string_view key;
  std::string_view value;
};

// Router-only keys a request may carry (LiteLLM's request kwargs). All of
// them are stripped from the outgoing body.
struct RouterRequestOptions {
  std::optional<int> num_retries;
  std::optional<double> timeout_seconds;         // "timeout" or "request_timeout"
  std::optional<double> stream_timeout_seconds;
  std::optional<double> cooldown_time_seconds;
  std::optional<int> max_fallbacks;
  // "fallbacks": either client-side (a list of group names, or of {"model": ...}
  // objects: only "model" is used) or standard rules [{"group": [...]}].
  std::optional<std::vector<std::string>> client_fallbacks;
  std::optional<std::vector<FallbackRule>> fallbacks;
  std::optional<std::vector<FallbackRule>> context_window_fallbacks;
  std::optional<std::vector<FallbackRule>> content_policy_fallbacks;
  bool disable_fallbacks = false;
  std::optional<std::string> mock_response;      // text, or "litellm.<ErrorClass>"
  // mock_response given as an object (LiteLLM's dict or ModelResponse): the
  // JSON body answered as it is (raw JSON text of the object).
  std::optional<std::string> mock_response_json;
  // llmux_mock_error: {"status_code", "message", "type"} (raw JSON text): the
  // attempt fails as a provider answering that status would (an Exception
  // given as mock_response, in the bindings).
  std::optional<std::string> mock_error_json;
  // LiteLLM's client-side credentials: the call goes to a twin of the chosen
  // deployment with these (router/client_side_deployments.hpp). "base_url"
  // is read as api_base.
  std::optional<std::string> api_key;
  std::optional<std::string> api_base;
  bool mock_timeout = false;
  // LiteLLM's per-request drop_params: parameters the provider lacks are
  // dropped instead of failing the call (OpenAI-compatible bodies ignore it).
  bool drop_params = false;
  bool mock_testing_fallbacks = false;
  bool mock_testing_context_fallbacks = false;
  bool mock_testing_content_policy_fallbacks = false;
  bool mock_testing_rate_limit_error = false;
  std::vector<std::string> tags;                 // metadata.tags
  // llmux per-request limits.
  std::optional<double> connect_timeout_seconds;
  std::optional<double> first_token_timeout_seconds;
  std::optional<double> stream_idle_timeout_seconds;
  std::optional<double> total_timeout_seconds;
  // LiteLLM's allowed_model_region: only deployments whose region_name matches.
  std::optional<std::string> allowed_model_region;
};

struct ParsedRequest {
  std::string body;            // owned copy of the input; the views below point into it
  Endpoint endpoint = Endpoint::kChatCompletions;
  std::string model;           // unescaped
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool has_stream_options = false;
  int64_t prompt_bytes = 0;    // raw size of the prompt member ("messages", "prompt" or "input")
  int64_t estimated_prompt_tokens = 0;  // prompt_bytes / 4, rounded up: a fast estimate
  // Every other top-level member, in input order. Requests rarely carry more
  // than a dozen: those need no allocation.
  absl::InlinedVector<RawField, 12> kept;
  RouterRequestOptions router;

  ParsedRequest() = default;
  // Views point into `body`; a copy would dangle, so moves only.
  ParsedRequest(ParsedRequest&&) = default;
  ParsedRequest& operator=(ParsedRequest&&) = default;
  ParsedRequest(const ParsedRequest&) = delete;
  ParsedRequest& operator=(const ParsedRequest&) = delete;
};

// Parses `bytes`. Errors are kInvalidArgument with a precise message ("request
// body is not valid JSON: ...", "'model' is required", "'messages' must be an
// array", "'num_retries' must be a non-negative integer", ...).
// kOptional: a request without "messages"/"input" is accepted (a routing
// decision without a call needs only the model and the router keys).
enum class PromptRule { kRequired, kOptional };
Result<ParsedRequest> parse_request(std::string_view bytes, Endpoint endpoint,
                                    PromptRule prompt = PromptRule::kRequired);

struct SpliceOptions {
  // Sets "stream": true (replacing the caller's value).
  bool force_stream = false;
  // Drops the caller's "stream" and "stream_options" (a non-streaming attempt
  // of a request that said "stream": true, e.g. an embedding). Ignored when
  // force_stream is set.
  bool force_no_stream = false;
  // Adds "stream_options": {"include_usage": true} when the caller sent no
  // stream_options, so usage is always reported.
  bool add_include_usage = false;
  // Extra top-level members to append, as raw JSON "key":value pairs (e.g. a
  // provider's prefill messages); may be empty.
  std::string_view extra_members;
  // When non-empty, replaces the value of the caller's "messages" (raw JSON
  // array), e.g. with an assistant prefill appended; never duplicates the key.
  std::string_view messages_override;
};

// Writes the outgoing body: {"model":<model>, ...kept fields...} into `out`
// (cleared first; its capacity is reused).
void splice_request(const ParsedRequest& request, std::string_view model, const SpliceOptions& options,
                    std::string& out);

}  // namespace llmux::request
