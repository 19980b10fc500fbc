// -----------------------------------------------------------------------------
// File: provider/gemini_content.hpp
// -----------------------------------------------------------------------------
// Google's generateContent wire format, independent of URL and auth: the
// OpenAI chat request mapped to a generateContent body, the answer (JSON or
// the SSE stream of streamGenerateContent?alt=sse) mapped back to OpenAI's
// chat.completion / chat.completion.chunk, embeddings (AI Studio's
// batchEmbedContents and Vertex's predict), and Google's error bodies
// classified as LiteLLM does (providers.md §4.4-4.7). Shared by the AI Studio
// adapter (gemini.hpp) and Vertex AI's Gemini route. Pure functions plus one
// stream translator per streaming attempt; thread-safe (parsers are
// thread_local).
//
// Differences from LiteLLM, deliberate (README "Differences from LiteLLM"):
// - Images are never downloaded: a data: URI becomes inline_data, any other
//   URL (gs://, https://, http://) file_data with the MIME type from
//   image_url.format or the file extension (an unknown type is a BadRequest
//   naming the URL). LiteLLM downloads http(s) images it cannot type — a
//   latency and SSRF hazard inside an embedded router.
// - A flagged candidate (SAFETY, RECITATION, BLOCKLIST, ...) becomes a
//   content_filter choice with content null, as in LiteLLM, but per
//   candidate: other candidates of an n>1 answer are kept. In a stream the
//   text already sent stays sent; the last chunk says content_filter.
// - Errors: a Google 403 is PermissionDenied (403), not BadRequest because
//   the text contains "403"; 502 is BadGateway and 504 Timeout, not
//   APIConnectionError; a 429's RetryInfo.retryDelay counts as Retry-After.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <absl/time/time.h>

#include "llmux/error.hpp"
#include "provider/provider.hpp"
#include "request/request.hpp"
#include "transport/transfer.hpp"

namespace llmux::provider::gemini {

struct ContentOptions {
  // OpenAI parameters Gemini lacks are dropped instead of failing the call
  // (LiteLLM's drop_params). A "drop_params" in the request body wins.
  bool drop_params = false;
  // system messages go to system_instruction; false merges them into the
  // user turn (models without system support, e.g. Gemma).
  bool system_instruction = true;
  // The provider model (decides Gemini-3 thinkingLevel vs thinkingBudget).
  std::string_view model;
  // litellm_params of the deployment as JSON (safety_settings, top_k ...
  // given there apply unless the request sets them); may be empty.
  std::string_view deployment_params_json;
};

// The generateContent body for an OpenAI chat request. kBadRequest for what
// cannot be mapped (an unsupported parameter without drop_params, a tool
// result whose call is unknown, an image URL of unknown type, ...).
Status build_generate_content(const request::ParsedRequest& request, const ContentOptions& options,
                              std::string& out);

// AI Studio's batchEmbedContents body for an OpenAI embeddings request:
// one request per input string, each naming "models/<model>".
Status build_batch_embed_contents(const request::ParsedRequest& request, std::string_view model, std::string& out);
// Vertex AI's predict body for text embeddings:
// {"instances":[{"content":..,"task_type"?,"title"?}],"parameters"?:{"outputDimensionality","autoTruncate"}}
// from input, dimensions, task_type (or LiteLLM's input_type), title and
// auto_truncate; the request's values win over the deployment's
// litellm_params (JSON, may be empty) for all but title.
Status build_predict_embeddings(const request::ParsedRequest& request, std::string& out,
                                std::string_view deployment_params_json = {});

// Rewrites a 2xx generateContent body, in place, into an OpenAI
// chat.completion for `model`. Fails (classified) when the body is not a
// GenerateContentResponse (not JSON, an error object).
Status translate_generate_content(std::string& body, std::string_view model, std::string_view provider_name);
// batchEmbedContents' {"embeddings":[{"values":[..]}]} → an OpenAI embedding list.
Status translate_batch_embed_contents(std::string& body, std::string_view model, std::string_view provider_name);
// predict's {"predictions":[{"embeddings":{"values":[..],"statistics":{"token_count":N}}}]}
// → an OpenAI embedding list (usage from the token counts).
Status translate_predict_embeddings(std::string& body, std::string_view model, std::string_view provider_name);

// OpenAI's finish_reason for a Gemini finishReason (providers.md §4.5).
std::string_view map_finish_reason(std::string_view gemini_reason);

// The translator of one streamGenerateContent?alt=sse attempt: each SSE
// data event (a GenerateContentResponse) becomes one chat.completion.chunk;
// functionCall parts become complete tool calls with a running index; the
// latest usageMetadata is sent as a usage-only chunk (choices: []) when the
// body ends. There is no [DONE]: the stream ends at EOF.
std::unique_ptr<StreamTranslator> make_stream_translator(std::string model, std::string provider_name);

// Classifies an HTTP error answer from a Google endpoint (§4.7 with the
// differences above). Retry-After is not read here.
Error classify_http_error(int status, std::string_view body, std::string_view provider_name);
// Any failed attempt: transport failures as for every provider, HTTP errors
// as above, Retry-After from the header or else the body's RetryInfo.
Error classify_failure(const transport::TransferResult& result, std::string_view provider_name, absl::Time now);

}  // namespace llmux::provider::gemini
