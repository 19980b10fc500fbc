// -----------------------------------------------------------------------------
// File: llmux/metadata.hpp
// -----------------------------------------------------------------------------
// What the router tells the caller about how a call was served. Attached to
// every response and every error (DESIGN.md §3.5). Never holds an API key.
#pragma once

#include <cstdint>
#include <string>

namespace llmux {

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  bool reported = false;  // false when the provider sent no usage block
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
  int fallbacks = 0;            // fallback groups entered
  double latency_ms = 0;        // call start to final byte
  double time_to_first_token_ms = -1;  // streaming: first content chunk; -1 when n/a
  double response_cost = 0;     // from usage x price when prices are configured
  int malformed_events = 0;     // SSE events skipped because they were not valid JSON
};

}  // namespace llmux
