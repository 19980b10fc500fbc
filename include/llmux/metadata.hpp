// -----------------------------------------------------------------------------
// File: llmux/metadata.hpp
// -----------------------------------------------------------------------------
// What the router tells the caller about how a call was served. Attached to
// every response and every error. Never holds an API key.
#pragma once

#include "llmux/export.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llmux {

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  bool reported = false;  // false when the provider sent no usage block
};

// One backend attempt of a call (LiteLLM's previous_models trail, per call).
struct AttemptRecord {
  std::string model_group;
  std::string deployment_id;
  std::string error_type;  // LiteLLM exception class name; empty when the attempt succeeded
  int status = 0;          // LiteLLM-equivalent status of the failure; 0 on success
  double latency_ms = 0;
  // When the attempt started, as an offset from the call's start (tracing
  // places each attempt on the call's timeline; waits between attempts show).
  double start_ms = 0;
};

struct RouterMetadata {
  uint64_t call_id = 0;
  std::string requested_model;  // the `model` the caller asked for
  std::string model_group;      // group that served (the fallback group after a fallback)
  std::string deployment_id;    // model_info.id or the stable hash
  std::string deployment_model; // model name sent to the provider
  std::string provider;         // "openai", "hosted_vllm", "mock", ...
  std::string api_base;         // never a key
  int attempts = 0;             // backend attempts made in total (>= 1 once anything was tried)
  int retries = 0;              // attempts beyond the first within the serving group
  int max_retries = 0;          // retries the serving group allowed
  int fallbacks = 0;            // fallback groups entered
  std::string fallback_model_group;  // the fallback group that served/failed last; empty without fallback
  double latency_ms = 0;        // call start to final byte
  double time_to_first_token_ms = -1;  // streaming: first content chunk; -1 when n/a
  double response_cost = 0;     // from usage x price when prices are configured
  int malformed_events = 0;     // SSE events skipped because they were not valid JSON
  int stream_continuations = 0; // times a stream went on on another deployment after content was delivered
  std::vector<AttemptRecord> attempt_log;  // every backend attempt, in order
  // LiteLLM's model-group rate-limit headers (x-ratelimit-remaining-requests,
  // -tokens, x-ratelimit-limit-requests, -tokens) on a success of a group
  // whose deployments have rpm/tpm limits, unless the provider sent its own.
  std::vector<std::pair<std::string, std::string>> rate_limit_headers;
};

// LiteLLM's response headers for this metadata (as its proxy sets them), names
// lower-case: x-litellm-model-group, x-litellm-attempted-retries,
// x-litellm-max-retries, x-litellm-attempted-fallbacks, x-litellm-model-id,
// x-litellm-model-api-base, x-litellm-response-cost,
// x-litellm-response-duration-ms, x-litellm-call-id, then
// rate_limit_headers. Bindings expose them as
// `_hidden_params["additional_headers"]`.
LLMUX_API std::vector<std::pair<std::string, std::string>> litellm_headers(const RouterMetadata& metadata);

}  // namespace llmux
