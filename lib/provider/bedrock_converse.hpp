// -----------------------------------------------------------------------------
// File: provider/bedrock_converse.hpp
// -----------------------------------------------------------------------------
// AWS Bedrock's Converse wire format, apart from where and how it is sent
// (bedrock.hpp): the OpenAI chat request mapped to a Converse body, a Converse
// answer mapped back to an OpenAI chat.completion, ConverseStream's binary
// event-stream frames mapped to chat.completion.chunk payloads, and Bedrock's
// errors classified (reference providers.md §5.6-5.9), with llmux's decisions
// where LiteLLM 1.81.13 is quirky (§7 items 1, 4, 8, 10; README "Differences
// from LiteLLM"):
//   - image URLs are never downloaded: only base64 data URIs (kBadRequest);
//   - guardrail_intervened and content_filtered finish as "content_filter";
//   - usage.total_tokens = prompt_tokens + completion_tokens (prompt includes
//     cache reads and writes), not Bedrock's own totalTokens;
//   - HTTP 500 stays kInternalServer (500), 403 AccessDenied is
//     kPermissionDenied, 424 ModelErrorException and a mid-stream
//     modelStreamErrorException are server errors (kInternalServer, 500), and
//     mid-stream internalServerException / serviceUnavailableException keep
//     their 500 / 503 — never LiteLLM's BadRequest;
//   - an event-stream `error` frame or a frame with a bad CRC fails the stream
//     cleanly (LiteLLM's decoder crashes on the former).
// Free functions are pure and thread-safe; a ConverseStreamTranslator belongs
// to one stream (loop thread).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/time/time.h>
#include <simdjson.h>

#include "llmux/error.hpp"
#include "provider/chat_answer_writer.hpp"
#include "provider/provider.hpp"
#include "request/request.hpp"
#include "transport/aws_event_stream.hpp"
#include "transport/transfer.hpp"

namespace llmux::provider::bedrock {

// The forced tool response_format becomes (its input is the answer).
inline constexpr std::string_view kJsonToolName = "json_tool_call";

// Tool names as Bedrock requires them ([A-Za-z0-9_], a letter first) and the
// caller's originals, for the names in answers. Only changed names are kept.
class ToolNames {
 public:
  // Bedrock's form of `name`: every other character becomes '_', and an 'a'
  // goes first when the name does not start with a letter.
  static std::string sanitize(std::string_view name);
  // Reads the request's tools (nothing when it has none).
  static ToolNames of(const request::ParsedRequest& request);
  void add(std::string_view original);
  // The caller's name for a name Bedrock answered with.
  std::string_view original(std::string_view sent) const;

 private:
  std::vector<std::pair<std::string, std::string>> renamed_;  // (sent, original)
};

struct ConverseOptions {
  // The Bedrock model id (route prefixes removed): picks family-specific
  // fields (top_k and thinking for anthropic.*, topK for amazon.nova*,
  // reasoning_effort kept for gpt-oss).
  std::string_view model;
  // OpenAI parameters Converse lacks are dropped instead of failing (400).
  bool drop_params = false;
  // Deployment-level parameters used when the request does not set them
  // (max_tokens, max_completion_tokens, temperature, top_p, top_k, stop,
  // reasoning_effort, thinking only).
  std::span<const request::RawField> defaults;
  std::string_view provider_name = "bedrock";  // for error messages
};

// Writes the Converse body for `request` into `out` (cleared first). Fails
// with kBadRequest when the request cannot be expressed: an unsupported
// OpenAI parameter without drop_params, an image given by URL, tool blocks
// without tools, malformed messages.
Status build_converse_body(const request::ParsedRequest& request, const ConverseOptions& options, std::string& out);

// Whether response_format became the forced json_tool_call tool.
bool uses_json_tool(const request::ParsedRequest& request);

// Converse stopReason → OpenAI finish_reason (providers.md §1.2, plus
// guardrail_intervened / content_filtered → "content_filter"); unknown
// values pass through.
std::string_view map_stop_reason(std::string_view stop_reason);

struct ResponseOptions {
  std::string_view model;  // written as "model" (Bedrock's answer names none)
  int64_t created = 0;     // unix seconds
  bool json_mode = false;  // uses_json_tool(request)
  const ToolNames* tool_names = nullptr;
  std::string_view provider_name = "bedrock";
  std::string_view id;  // the answer's id; empty: "chatcmpl-" + random hex
};

// Rewrites a 2xx Converse answer in place into an OpenAI chat.completion.
// A body that is not a Converse answer fails as a 422 (LiteLLM's
// BedrockError(422)) classified by classify_http_error.
Status translate_converse_response(std::string& body, const ResponseOptions& options);

// ConverseStream event-stream bytes (split anywhere) → OpenAI chunk payloads,
// all with one id and choice index 0: a role chunk at messageStart, text
// deltas, tool-call deltas with a running tool index (an empty-input tool
// gets arguments "{}"), reasoning_content, the finish chunk at messageStop,
// and a usage-only chunk (choices: []) at metadata. Exception and error
// frames fail the stream classified (classify_stream_exception); an invalid
// frame (bad CRC, bad lengths) fails it as a kConnectionError; a stream that
// ends inside a frame or before messageStop is a kConnectionError too.
class ConverseStreamTranslator final : public StreamTranslator {
 public:
  struct Options {
    std::string model;
    int64_t created = 0;
    bool json_mode = false;
    ToolNames tool_names;
    std::string provider_name = "bedrock";
    std::string id;  // every chunk's id; empty: "chatcmpl-" + random hex
  };
  explicit ConverseStreamTranslator(Options options);

  bool feed(std::string_view bytes, Sink sink) override;
  bool finish(Sink sink) override;

 private:
  bool on_message(const transport::EventStreamMessage& message, Sink& sink);
  bool on_event(std::string_view event_type, std::string_view payload, Sink& sink);
  bool emit_delta(Sink& sink, std::string_view delta_members, std::string_view finish_reason = {});
  bool emit_usage(Sink& sink);

  Options options_;
  transport::EventStreamDecoder decoder_;
  simdjson::dom::parser parser_;
  std::string id_;
  std::string chunk_;
  std::string delta_;
  chat_answer::StreamToolBlocks tool_blocks_;
  bool role_sent_ = false;
  bool saw_stop_ = false;
};

// A Bedrock error answer (providers.md §5.9) with llmux's decisions (see the
// file comment). `error_type` is x-amzn-ErrorType's name (anything after ':'
// and before '#' already removed, or not: both are accepted); may be empty.
Error classify_http_error(int status, std::string_view error_type, std::string_view body,
                          std::string_view provider_name);

// Any failed attempt: transport failures as provider::classify_failure, HTTP
// errors as above with x-amzn-ErrorType read from the headers and Retry-After
// relative to `now`.
Error classify_failure(const transport::TransferResult& result, std::string_view provider_name, absl::Time now);

// A mid-stream `exception` frame (":exception-type" + JSON {"message"}) or an
// `error` frame (":error-code" / ":error-message"), classified as the HTTP
// error it stands for: throttlingException → kRateLimit 429,
// validationException → 400 (a context-window text → kContextWindowExceeded),
// internalServerException → 500, serviceUnavailableException → 503,
// modelStreamErrorException → kInternalServer 500, modelTimeoutException →
// kTimeout 408; an `error` frame → kInternalServer 500 unless its text says
// otherwise.
Error classify_stream_exception(const transport::EventStreamMessage& message, std::string_view provider_name);

// An event-stream framing failure (bad CRC, lengths, a stream cut inside a
// frame) as a kConnectionError (500) naming what was wrong.
Error stream_framing_error(std::string_view what, std::string_view provider_name);

}  // namespace llmux::provider::bedrock
