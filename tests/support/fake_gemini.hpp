// -----------------------------------------------------------------------------
// File: tests/support/fake_gemini.hpp
// -----------------------------------------------------------------------------
// Google's generateContent wire format for the scripted fake provider: native
// answer bodies and SSE streams, Google error bodies, and a FakeProvider
// handler that answers POST {prefix}/models/{model}:{method} (generateContent,
// streamGenerateContent?alt=sse, batchEmbedContents, and Vertex's predict —
// answered from the request's instances) after checking
// one auth header. AI Studio: prefix "" and x-goog-api-key; Vertex AI:
// prefix "/v1/projects/<p>/locations/<l>/publishers/google" and
// "authorization: Bearer <token>" — both are parameters. Thread-safe as
// FakeProvider handlers are (no state of its own).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/fake_provider.hpp"

namespace llmux::testing {

// --- native bodies --------------------------------------------------------

// A generateContent answer with one text candidate and usageMetadata.
std::string gemini_text_body(std::string_view text, int prompt_tokens = 5, int completion_tokens = 3,
                             std::string_view finish_reason = "STOP");
// One functionCall part (args: a JSON object's text).
std::string gemini_function_call_body(std::string_view name, std::string_view args_json);
// promptFeedback.blockReason SAFETY, no candidates.
std::string gemini_prompt_blocked_body();
// A candidate cut by finishReason SAFETY after `partial_text`.
std::string gemini_safety_body(std::string_view partial_text);
// {"error":{"code","message","status"}}.
std::string gemini_error_body(int code, std::string_view status, std::string_view message);
// batchEmbedContents' answer: one embedding of `dimensions` values per input.
std::string gemini_embeddings_body(int inputs, int dimensions);
// Vertex AI predict's answer for text embeddings: one prediction per
// `token_counts` entry, `dimensions` values of 0.25 * (i + 1) each, its
// statistics.token_count the entry.
std::string vertex_predict_embeddings_body(const std::vector<int>& token_counts, int dimensions);
// What the fake answers a predict request natively: one prediction per
// instance, parameters.outputDimensionality values (default 3), token_count
// the number of space-separated words of the instance's content; nullopt
// (with `why`) when the body is not a text-embedding predict request.
std::optional<std::string> vertex_predict_answer(std::string_view request_body, std::string& why);

// --- behaviors ------------------------------------------------------------

// 200 with `body` as it is.
Behavior gemini_json(std::string body);
// An error status with a Google error body.
Behavior gemini_error(int code, std::string_view status, std::string_view message);
// A streamGenerateContent?alt=sse answer: `text` in `chunks` events
// ("data: <json>\r\n\r\n", Google's framing), finishReason and usage on the
// last one, no [DONE].
Behavior gemini_stream(std::string_view text, int chunks = 3, int prompt_tokens = 5, int completion_tokens = 3);
// Raw native events (each a GenerateContentResponse JSON) framed as Google does.
Behavior gemini_stream_events(const std::vector<std::string>& json_events);

// --- the handler ----------------------------------------------------------

struct GeminiCall {
  std::string model;   // from the path
  std::string method;  // "generateContent", "streamGenerateContent", "batchEmbedContents", "predict"
  bool sse = false;    // ?alt=sse
  const ReceivedRequest* request = nullptr;
};

struct GeminiFakeOptions {
  std::string path_prefix;                       // before "/models/..."
  std::string auth_header = "x-goog-api-key";    // lower-case; empty: no check
  std::string auth_value = "test-gemini-key";    // e.g. "Bearer ya29.fake" for Vertex
};

// The script decides each well-formed, authorised call; nullopt (or no
// script) answers "Hello from <model>." in the call's format. A wrong key gets
// Google's 400 "API key not valid" (401 UNAUTHENTICATED for a bearer token),
// an unknown path 404, a stream without alt=sse 400.
using GeminiScript = std::function<std::optional<Behavior>(const GeminiCall&)>;
std::function<Behavior(const ReceivedRequest&)> gemini_handler(GeminiFakeOptions options = {},
                                                               GeminiScript script = {});

}  // namespace llmux::testing
