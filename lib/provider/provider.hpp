// -----------------------------------------------------------------------------
// File: provider/provider.hpp
// -----------------------------------------------------------------------------
// A provider adapter turns a parsed request into an HTTP request for one
// deployment, and reads what comes back: classifies failures into the error
// taxonomy and inspects responses and stream events. Providers know nothing
// of routing. One adapter per API family, each in its own file; stateless and
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "request/request.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/metadata.hpp"
#include "transport/transfer.hpp"

namespace llmux::provider {

struct ResponseInfo {
  Usage usage;
  std::string finish_reason;  // first choice's finish_reason, "" when absent
  std::string model;          // the model the provider says served
};

struct ChunkInfo {
  enum class Kind {
    kChunk,      // a normal chunk
    kDone,       // the "[DONE]" sentinel
    kError,      // an {"error": ...} object sent inside the stream
    kMalformed,  // not valid JSON: skipped and counted
  };
  Kind kind = Kind::kChunk;
  bool has_content = false;   // carries delta content / tool-call text (counts as "first token")
  bool has_choices = false;   // false for a usage-only chunk (choices: [])
  // Unescaped text of delta.content of choice 0 (the choice whose "index" is
  // 0; an element without "index" counts by its position); empty when there
  // is none. What a stream continuation compares and prefills with.
  std::string content;
  // delta.content of choice 0 is present and non-empty but its text is not
  // known (a lone UTF-16 surrogate escape, or a non-string value): `content`
  // is empty and the text delivered so far can no longer be continued.
  bool content_undecodable = false;
  // Where the JSON string of that delta.content (quotes included) sits in the
  // payload, so a continuation can rewrite the chunk without parsing it
  // again; length 0 when `content` is empty or undecodable.
  size_t content_token_offset = 0;
  size_t content_token_length = 0;
  // Some choice's delta carries tool_calls (non-empty) or a function_call:
  // such a stream cannot be continued by prefill or restart.
  bool has_tool_calls = false;
  std::optional<Usage> usage;
  std::string finish_reason;
  std::string model;
  std::optional<Error> error; // kError: the classified error
};

// An answer made without the network (LiteLLM's mock_response hooks): the
// attempt then runs through the same reading, classification and stream
// relay as one that went over HTTP.
struct LocalAnswer {
  int status = 200;
  std::string body;           // the JSON body; for a streaming call, the SSE bytes
  std::optional<Error> error; // the attempt fails with this error instead
  bool silent = false;        // ... as a deployment that never answered (mock_timeout)
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;

  // Fills `out` (url, method, headers, body) for one attempt. `stream` is
  // whether this call streams. Reuses `out`'s buffers.
  virtual Status build_request(const DeploymentConfig& deployment, const request::ParsedRequest& request,
                               bool stream, transport::HttpRequest& out) const = 0;

  // Classifies a failed attempt: an HTTP error status (with body/headers) or
  // a transport failure (timeouts, connection errors). Keeps the provider's
  // own message; sets retry_after_seconds from Retry-After.
  virtual Error classify_failure(const transport::TransferResult& result) const = 0;

  // Reads a 2xx non-stream body. Fails when the body is not JSON or is an
  // error object despite the 2xx status.
  virtual Result<ResponseInfo> inspect_response(std::string_view body, request::Endpoint endpoint) const = 0;

  // Reads one SSE data payload of a stream.
  virtual ChunkInfo inspect_chunk(std::string_view data) const = 0;

  // An answer to give without a request, or nullopt to go over HTTP (every
  // network provider: this default).
  virtual std::optional<LocalAnswer> answer_locally(const DeploymentConfig& /*deployment*/,
                                                    const request::ParsedRequest& /*request*/, bool /*stream*/) const {
    return std::nullopt;
  }

  // Fills `out` for a streaming chat request that continues a stream cut
  // after `delivered_text` reached the consumer (DESIGN.md §4, streams): the
  // caller's messages plus a trailing assistant message holding
  // `delivered_text`, marked so the model continues it rather than answering
  // anew (assistant prefill; the style is the provider's). A new assistant
  // message is appended even when the caller's last message already is one.
  // Only call it for deployments where accepts_assistant_prefill() holds.
  // This default says the provider has no prefill (kInvalidArgument).
  virtual Status build_continuation_request(const DeploymentConfig& deployment, const request::ParsedRequest& request,
                                            std::string_view delivered_text, transport::HttpRequest& out) const;
};

// Whether `deployment` accepts an assistant prefill (a continuation request):
// its supports_assistant_prefill when set, else true for hosted_vllm and vllm
// (vLLM's chat API has continue_final_message) and false for every other
// provider: one that does not know the prefill marker would answer the
// conversation anew and repeat the delivered text.
bool accepts_assistant_prefill(const DeploymentConfig& deployment);

// The adapter for a resolved provider name ("openai", "hosted_vllm", ...);
// nullptr when that provider is not supported (yet).
const Provider* find_provider(std::string_view provider_name);

// The adapter for one attempt on `deployment`: the mock (mock_provider.hpp)
// when the request or the deployment carries one of LiteLLM's mock hooks,
// else `network` (the deployment's own adapter; may be null when only mocks
// can serve it: then null).
const Provider* provider_for_attempt(const DeploymentConfig& deployment, const request::ParsedRequest& request,
                                     const Provider* network);

// Names of the supported providers, for error messages.
std::string_view supported_provider_list();

}  // namespace llmux::provider
