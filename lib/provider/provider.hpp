// -----------------------------------------------------------------------------
// File: provider/provider.hpp
// -----------------------------------------------------------------------------
// A provider adapter turns a parsed request into an HTTP request for one
// deployment, and reads what comes back: classifies failures into the error
// taxonomy and inspects responses and stream events. Providers know nothing
// of routing. One adapter per API family, each in its own file; the adapter
// itself is stateless and thread-safe, and what a deployment needs at run
// time (OAuth tokens, cloud credentials) lives in that deployment's
// DeploymentAuth, which the adapter creates, refreshes on the router's loop
// without blocking, and reads when it builds a request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/functional/function_ref.h>

#include "request/request.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/metadata.hpp"
#include "transport/event_loop.hpp"
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
  // The model the chunk names, unescaped. A view into the reading thread's
  // parser scratch (no allocation per chunk for a name past the small-string
  // size): valid until the next inspect_chunk or inspect_response on this
  // thread, so copy it to keep it.
  std::string_view model;
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

// Per-deployment run-time state an adapter owns (tokens, credentials). Made
// by Provider::make_auth when the deployment joins the pool, kept across pool
// snapshots with the deployment's health; used on the router's loop thread.
class DeploymentAuth {
 public:
  virtual ~DeploymentAuth() = default;
  // Secrets this state read from outside the deployment's config (the
  // environment, credential files, fetched tokens' sources), so that the
  // router keeps them out of error messages. Called when the deployment
  // joins the pool.
  virtual void append_secrets(std::vector<std::string>& /*out*/) const {}
};

// The auth state of a family with nothing to refresh, kept only to name the
// secrets it read from the environment (e.g. ANTHROPIC_API_KEY).
class EnvironmentSecrets final : public DeploymentAuth {
 public:
  explicit EnvironmentSecrets(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {}
  void append_secrets(std::vector<std::string>& out) const override {
    out.insert(out.end(), secrets_.begin(), secrets_.end());
  }

 private:
  std::vector<std::string> secrets_;
};

// The deployment one attempt goes to, resolved for its adapter: the config,
// the provider model for this attempt (a wildcard group's capture already
// substituted), and the deployment's auth state.
struct ProviderTarget {
  const DeploymentConfig& config;
  std::string_view model;
  DeploymentAuth* auth = nullptr;

  // `config` as it is: its provider model (else its model), no auth state.
  static ProviderTarget of(const DeploymentConfig& config, DeploymentAuth* auth = nullptr) {
    return ProviderTarget{config, config.provider_model.empty() ? config.model : config.provider_model, auth};
  }
};

// Called once with whether the deployment's credentials are usable.
using ReadyCallback = std::function<void(Status)>;

// Turns one attempt's native stream (Anthropic's or Gemini's SSE events,
// AWS event-stream frames) into OpenAI chat.completion.chunk payloads, the
// one stream format the router relays. Fed the 2xx body's bytes split
// anywhere; keeps what a chunk needs across events (ids, tool-call indexes,
// usage seen so far). One per streaming attempt, used on the loop thread.
class StreamTranslator {
 public:
  // Receives one OpenAI chunk payload (the JSON after "data: "; "[DONE]" is
  // never sent) and returns false to stop the stream.
  using Sink = absl::FunctionRef<bool(std::string_view chunk)>;

  virtual ~StreamTranslator() = default;
  // Native body bytes. False stops the transfer: the sink said stop, or the
  // provider sent an error (take_error() then holds it, classified).
  virtual bool feed(std::string_view bytes, Sink sink) = 0;
  // The body ended without a transport error: emits what is still pending.
  // False as for feed(); a stream cut inside an event is an error here.
  virtual bool finish(Sink sink) = 0;

  std::optional<Error> take_error() { return std::exchange(error_, std::nullopt); }

 protected:
  std::optional<Error> error_;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;

  // The deployment's auth state, or null when the family needs none (this
  // default). Called when the deployment joins the pool.
  virtual std::shared_ptr<DeploymentAuth> make_auth(const DeploymentConfig& /*deployment*/) const { return nullptr; }

  // Before each network attempt: makes the target's credentials usable,
  // refreshing them on `loop` when they are missing or about to expire (a
  // token fetch is a transfer like any other), and calls `ready` exactly
  // once on the loop thread — inline when nothing needs refreshing (this
  // default). Never blocks. A failed refresh is a kAuthentication error that
  // names the deployment (never a secret).
  virtual void prepare(const ProviderTarget& /*target*/, transport::EventLoop& /*loop*/, ReadyCallback ready) const {
    ready(Status::Ok());
  }

  // Fills `out` (url, method, headers, body) for one attempt. `stream` is
  // whether this call streams. Reuses `out`'s buffers.
  virtual Status build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                               transport::HttpRequest& out) const = 0;

  // Classifies a failed attempt: an HTTP error status (with body/headers) or
  // a transport failure (timeouts, connection errors). Keeps the provider's
  // own message; sets retry_after_seconds from Retry-After.
  virtual Error classify_failure(const transport::TransferResult& result) const = 0;

  // A family whose wire format is not OpenAI's: rewrites a 2xx non-stream
  // body, in place, into OpenAI's shape (a chat.completion or an embedding
  // list) before inspect_response reads it and the caller gets it. Fails,
  // classified, when the body is no answer (not JSON, an error object). This
  // default leaves an OpenAI body as it is.
  virtual Status translate_response(const ProviderTarget& /*target*/, const request::ParsedRequest& /*request*/,
                                    std::string& /*body*/) const {
    return Status::Ok();
  }

  // The translator of one streaming attempt, or null when the stream already
  // is OpenAI's SSE (this default). With one, inspect_chunk reads the
  // translated chunks.
  virtual std::unique_ptr<StreamTranslator> make_stream_translator(const ProviderTarget& /*target*/,
                                                                   const request::ParsedRequest& /*request*/) const {
    return nullptr;
  }

  // Whether the family serves `endpoint`. This default: chat completions and
  // embeddings; OpenAI-compatible families (and the mock) serve the others
  // too (text completions, moderations, the Responses API), passed through.
  virtual bool supports_endpoint(request::Endpoint endpoint) const {
    return endpoint == request::Endpoint::kChatCompletions || endpoint == request::Endpoint::kEmbeddings;
  }

  // Whether the family continues an assistant prefill natively (Anthropic's
  // Messages API does), when a deployment does not say; see
  // accepts_assistant_prefill.
  virtual bool prefill_by_default() const { return false; }

  // Reads a 2xx non-stream body (after translate_response). Fails when the
  // body is not JSON or is an error object despite the 2xx status.
  virtual Result<ResponseInfo> inspect_response(std::string_view body, request::Endpoint endpoint) const = 0;

  // Reads one SSE data payload of a stream.
  virtual ChunkInfo inspect_chunk(std::string_view data) const = 0;

  // An answer to give without a request, or nullopt to go over HTTP (every
  // network provider: this default).
  virtual std::optional<LocalAnswer> answer_locally(const ProviderTarget& /*target*/,
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
  virtual Status build_continuation_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                            std::string_view delivered_text, transport::HttpRequest& out) const;
};

// Whether `deployment` accepts an assistant prefill (a continuation request):
// its supports_assistant_prefill when set, else true for hosted_vllm and vllm
// (vLLM's chat API has continue_final_message) and for families whose
// adapter says prefill_by_default(), false for every other provider: one
// that does not know the prefill marker would answer the conversation anew
// and repeat the delivered text.
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
std::string supported_provider_list();

// Adds an adapter family to the registry under its name() (process-wide,
// thread-safe; replaces one of the same name). Deployments naming it in a
// config are served by it from then on: how new families and tests' own
// adapters join without a list of their own.
void register_provider(std::shared_ptr<const Provider> provider);

}  // namespace llmux::provider
