// -----------------------------------------------------------------------------
// File: provider/anthropic_messages.hpp
// -----------------------------------------------------------------------------
// Anthropic's Messages wire format, apart from where it is sent: the OpenAI
// chat request mapped to a Messages body, a Messages answer mapped back to an
// OpenAI chat.completion, Messages SSE events mapped to chat.completion.chunk
// payloads, and Anthropic's errors classified as LiteLLM does (reference
// providers.md §3.3-3.6). The Anthropic adapter (anthropic.hpp) and Vertex AI's
// Claude route (rawPredict, body without "model", plus "anthropic_version")
// both build on it. Free functions are pure and thread-safe; a
// MessagesStreamTranslator belongs to one stream.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <absl/time/time.h>
#include <simdjson.h>

#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "provider/chat_answer_writer.hpp"
#include "provider/provider.hpp"
#include "request/request.hpp"
#include "transport/sse_parser.hpp"
#include "transport/transfer.hpp"

namespace llmux::provider::anthropic {

// max_tokens when neither the request nor the deployment gives one, as
// LiteLLM's get_max_tokens_for_model: the model's max_output_tokens
// (model_info, else the model map, filled in when the deployment joined the
// pool), else env DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS, else 4096.
int64_t default_max_tokens(const DeploymentConfig& deployment);

struct BodyOptions {
  // Written as "model" unless omit_model (Vertex names the model in its URL).
  std::string_view model;
  bool omit_model = false;
  // Raw top-level members ("k":v,...) appended last, e.g. Vertex's
  // "anthropic_version":"vertex-2023-10-16"; may be empty.
  std::string_view extra_members;
  int64_t default_max_tokens = 4096;
  bool stream = false;
  // A trailing assistant turn holding this text (right-trimmed, as Anthropic
  // rejects trailing whitespace there): the model continues it. Merged into
  // the caller's last turn when that is an assistant turn.
  std::optional<std::string_view> prefill;
  // OpenAI parameters Anthropic lacks are dropped instead of failing (400).
  bool drop_params = false;
  // Deployment-level parameters (litellm_params) used when the request does
  // not set them: the request wins. Only max_tokens, max_completion_tokens,
  // temperature, top_p, top_k, stop, reasoning_effort and thinking are read.
  std::span<const request::RawField> defaults;
  std::string_view provider_name = "anthropic";  // for error messages
};

// Writes the Messages body for `request` into `out` (cleared first). Fails
// with kBadRequest (LiteLLM's UnsupportedParamsError / BadRequestError
// wording) when the request cannot be expressed: an unsupported OpenAI
// parameter without drop_params, an http:// image URL (never downloaded),
// malformed messages.
Status build_messages_body(const request::ParsedRequest& request, const BodyOptions& options, std::string& out);

// Whether response_format became the forced "json_tool_call" tool, whose
// input is then handed back as message content.
bool uses_json_tool(const request::ParsedRequest& request);

// LiteLLM's map_finish_reason for Anthropic's stop_reason, except "refusal",
// which is "content_filter" here (content-policy fallbacks fire on it).
std::string_view map_finish_reason(std::string_view stop_reason);

struct ResponseOptions {
  bool json_mode = false;  // uses_json_tool(request)
  int64_t created = 0;     // unix seconds for "created"
  std::string_view provider_name = "anthropic";
};

// Rewrites a 2xx Messages answer in place into an OpenAI chat.completion.
// A body that is not a Messages answer (not JSON, an error object) fails,
// classified as classify_http_error would.
Status translate_messages_response(std::string& body, const ResponseOptions& options);

// Messages SSE (event:/data: lines, split anywhere) → OpenAI chunk payloads,
// all with one id (the message's) and choice index 0. Emits: a role chunk at
// message_start, text deltas, tool-call deltas with a running tool index (an
// empty-input tool gets arguments "{}"), reasoning_content for thinking, the
// finish chunk at message_delta, and at message_stop one usage-only chunk
// (choices: []) — always, so the router records usage; it reaches the
// consumer only when the request asked for include_usage. `ping` is ignored;
// an `error` event fails the stream with the error classified.
class MessagesStreamTranslator final : public StreamTranslator {
 public:
  struct Options {
    bool json_mode = false;
    int64_t created = 0;
    std::string_view provider_name = "anthropic";  // must outlive the translator
  };
  explicit MessagesStreamTranslator(Options options) : options_(options) {}

  bool feed(std::string_view bytes, Sink sink) override;
  bool finish(Sink sink) override;

 private:
  bool on_event(std::string_view data, Sink& sink);
  bool emit_delta(Sink& sink, std::string_view delta_members, std::string_view finish_reason = {});
  bool emit_usage(Sink& sink);

  Options options_;
  transport::SseParser sse_;
  simdjson::dom::parser parser_;
  std::string id_ = "chatcmpl-anthropic";
  std::string model_;
  std::string chunk_;   // the chunk being written (reused)
  std::string delta_;   // its delta members (reused)
  int64_t input_tokens_ = 0;
  int64_t output_tokens_ = 0;
  int64_t cache_creation_ = 0;
  int64_t cache_read_ = 0;
  chat_answer::StreamToolBlocks tool_blocks_;
  bool saw_stop_reason_ = false;
  bool saw_message_stop_ = false;
  bool usage_sent_ = false;
};

// Classifies an Anthropic HTTP error answer (§3.6, first match wins), with
// llmux's fixes: 403 is kPermissionDenied (LiteLLM: APIConnectionError) and
// any other unlisted status is kApiError with that status.
Error classify_http_error(int status, std::string_view body, std::string_view provider_name);

// Any failed attempt: transport failures as provider::classify_failure,
// HTTP errors as above with Retry-After read relative to `now`.
Error classify_failure(const transport::TransferResult& result, std::string_view provider_name, absl::Time now);

// The error of a mid-stream `error` event's JSON: its error.type mapped to
// Anthropic's HTTP status (overloaded_error → 529, ...) and classified.
Error classify_stream_error(std::string_view event_json, std::string_view provider_name);

}  // namespace llmux::provider::anthropic
