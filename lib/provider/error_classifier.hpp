// -----------------------------------------------------------------------------
// File: provider/error_classifier.hpp
// -----------------------------------------------------------------------------
// Classifies a failed attempt at an OpenAI-compatible backend into the error
// taxonomy exactly as LiteLLM's exception_type() does for its openai-compatible
// branch (reference §6.0; litellm 1.81.13 exception_mapping_utils.py), keeping
// the provider's own message. Pure functions: thread-safe, no state.
//
// The searched text is "Error code: <status> - <body>", as the OpenAI SDK
// formats it. Rule order: LiteLLM's timeout texts ("Request timed out", ...),
// then §6.0 rules 1-7, with the branch's other text rules ("The server had an
// error processing your request." → 500, "Request too large" → 429) before
// the status switch, as in LiteLLM. Rule 1 matches "429" only as a standalone
// token (Python's `\b429\b`, which litellm 1.81.13 uses; older LiteLLM matched
// any substring): ids like "req_4291" or "14290 ms" are not rate limits.
//
// Differences from LiteLLM, deliberate:
// - 403 → kPermissionDenied (status 403) instead of APIError(403): the taxonomy
//   has the kind; the status, which retry and cooldown decisions use, is the same.
// - Two vLLM context-length texts LiteLLM misses ("... is longer than the
//   maximum model length ...", "please reduce the length of the messages")
//   are ContextWindowExceeded, so context_window_fallbacks work with vLLM.
// - Only the first 16 KiB of a body are searched (a 502 HTML page can be large).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <absl/time/time.h>

#include "llmux/error.hpp"
#include "transport/transfer.hpp"

namespace llmux::provider {

// "OpenAIException" for "openai", else LiteLLM's spelling: the provider name
// with its first letter upper-cased + "Exception" ("Hosted_vllmException").
std::string exception_name(std::string_view provider_name);

// The provider's own message from an error body: error.message, a string
// "error", "message", "detail" (vLLM/FastAPI; raw JSON when not a string), or
// the raw text; at most ~1 KiB. "Error code: <status>" for an empty body.
std::string extract_error_message(std::string_view body, int status);

// Seconds to wait from "retry-after-ms" (milliseconds) or "retry-after"
// (integer seconds, or an HTTP-date relative to `now`); nullopt when absent,
// unparsable or in the past. Header names are lower-case.
std::optional<double> parse_retry_after(const transport::Headers& headers, absl::Time now);

// LiteLLM's context-window texts (ExceptionCheckers.is_error_str_context_
// window_exceeded, plus llmux's vLLM additions) in lower-cased error text:
// the one list every provider's classifier uses.
bool is_context_window_text(std::string_view lower);

// Classifies an HTTP error answer (status + body) with no transport failure.
// Retry-After is not read here.
Error classify_http_error(int status, std::string_view body, std::string_view provider_name);

// Classifies any failed attempt: a transport failure (timeouts → kTimeout 408,
// no response → kConnectionError 500, ...) or an HTTP error status, with
// Retry-After read relative to `now`.
Error classify_failure(const transport::TransferResult& result, std::string_view provider_name, absl::Time now);

}  // namespace llmux::provider
