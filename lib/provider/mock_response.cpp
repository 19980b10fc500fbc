#include "provider/mock_response.hpp"

#include <atomic>
#include <chrono>
#include <optional>

#include <absl/strings/ascii.h>
#include <fmt/format.h>

#include "json/writer.hpp"

namespace llmux::provider {
namespace {

struct MockErrorClass {
  std::string_view name;  // LiteLLM's class name, without "litellm."
  ErrorKind kind;
  std::string_view message;
};

constexpr MockErrorClass kMockErrors[] = {
    {"RateLimitError", ErrorKind::kRateLimit, "this is a mock rate limit error"},
    {"InternalServerError", ErrorKind::kInternalServer, "this is a mock internal server error"},
    {"ContextWindowExceededError", ErrorKind::kContextWindowExceeded, "this is a mock context window exceeded error"},
    {"ContentPolicyViolationError", ErrorKind::kContentPolicyViolation,
     "this is a mock content policy violation error"},
    {"BadRequestError", ErrorKind::kBadRequest, "this is a mock bad request error"},
    {"AuthenticationError", ErrorKind::kAuthentication, "this is a mock authentication error"},
    {"PermissionDeniedError", ErrorKind::kPermissionDenied, "this is a mock permission denied error"},
    {"NotFoundError", ErrorKind::kNotFound, "this is a mock not found error"},
    {"Timeout", ErrorKind::kTimeout, "this is a mock timeout error"},
    {"ServiceUnavailableError", ErrorKind::kServiceUnavailable, "this is a mock service unavailable error"},
    {"APIConnectionError", ErrorKind::kConnectionError, "this is a mock api connection error"},
    {"BadGatewayError", ErrorKind::kBadGateway, "this is a mock bad gateway error"},
    {"APIError", ErrorKind::kApiError, "this is a mock api error"},
};

// LiteLLM raises a 400 content-filter error for this prefix (main.py).
constexpr std::string_view kContentFilterPrefix = "Exception: content_filter_policy";

const MockErrorClass* find_mock_error(std::string_view mock) {
  constexpr std::string_view kPrefix = "litellm.";
  if (mock.substr(0, kPrefix.size()) == kPrefix) mock.remove_prefix(kPrefix.size());
  for (const auto& c : kMockErrors) {
    if (c.name == mock) return &c;
  }
  return nullptr;
}

int64_t count_words(std::string_view text) {
  int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++words;
    }
  }
  return words;
}

// "chatcmpl-mock-<16 hex>": unique within the process, not guessable across runs.
std::string mock_id() {
  static std::atomic<uint64_t> counter{
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  uint64_t z = counter.fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;  // splitmix64 finaliser
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return fmt::format("chatcmpl-mock-{:016x}", z);
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write_usage(json::Writer& w, const Usage& u) {
  w.key("usage").begin_object();
  w.member("prompt_tokens", u.prompt_tokens).member("completion_tokens", u.completion_tokens);
  w.member("total_tokens", u.total_tokens).end_object();
}

// The members every chunk of one stream shares, as an object each chunk reopens.
std::string chunk_head(std::string_view id, int64_t created, std::string_view model) {
  std::string head;
  json::Writer w(head);
  w.begin_object().member("id", id).member("object", "chat.completion.chunk").member("created", created);
  w.member("model", model).end_object();
  return head;
}

// A chunk with one choice: `head`'s members, then choices[0] with the delta
// members `delta` writes and `finish_reason` (null when empty).
template <class Delta>
std::string choice_chunk(std::string_view head, Delta&& delta, std::string_view finish_reason) {
  std::string chunk;
  json::Writer w(chunk);
  w.reopen_object(head).key("choices").begin_array().begin_object().member("index", 0);
  w.key("delta").begin_object();
  delta(w);
  w.end_object().key("finish_reason");
  if (finish_reason.empty()) {
    w.null();
  } else {
    w.string(finish_reason);
  }
  w.end_object().end_array().end_object();
  return chunk;
}

}  // namespace

bool mock_is_error(std::string_view mock) {
  return find_mock_error(mock) != nullptr || mock.substr(0, kContentFilterPrefix.size()) == kContentFilterPrefix;
}

Error mock_error(std::string_view mock) {
  if (const MockErrorClass* c = find_mock_error(mock)) return Error(c->kind, std::string(c->message));
  if (mock.substr(0, kContentFilterPrefix.size()) == kContentFilterPrefix) {
    return Error(ErrorKind::kContentPolicyViolation, std::string(mock));
  }
  return Error(ErrorKind::kInvalidArgument, "mock_response does not name an error class");
}

Usage mock_usage(int64_t prompt_tokens, std::string_view text) {
  Usage u;
  u.prompt_tokens = prompt_tokens;
  u.completion_tokens = count_words(text);
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  u.reported = true;
  return u;
}

std::string mock_completion_body(std::string_view model, std::string_view text, const Usage& usage) {
  std::string out;
  out.reserve(256 + model.size() + text.size());
  json::Writer w(out);
  w.begin_object().member("id", mock_id()).member("object", "chat.completion").member("created", unix_now());
  w.member("model", model);
  w.key("choices").begin_array().begin_object().member("index", 0);
  w.key("message").begin_object().member("role", "assistant").member("content", text).end_object();
  w.member("finish_reason", "stop").end_object().end_array();
  write_usage(w, usage);
  w.end_object();
  return out;
}

std::vector<std::string> mock_stream_chunks(std::string_view model, std::string_view text, bool include_usage,
                                            int64_t prompt_tokens) {
  const std::string head = chunk_head(mock_id(), unix_now(), model);
  std::vector<std::string> chunks;
  chunks.push_back(choice_chunk(
      head, [](json::Writer& w) { w.member("role", "assistant").member("content", ""); }, {}));
  // One chunk per word, each with the whitespace that precedes it, so the
  // concatenated deltas are exactly `text`.
  auto is_space = [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); };
  size_t start = 0;
  while (start < text.size()) {
    size_t i = start;
    while (i < text.size() && is_space(text[i])) ++i;
    while (i < text.size() && !is_space(text[i])) ++i;
    const std::string_view word = text.substr(start, i - start);
    chunks.push_back(choice_chunk(head, [&](json::Writer& w) { w.member("content", word); }, {}));
    start = i;
  }
  chunks.push_back(choice_chunk(head, [](json::Writer&) {}, "stop"));
  if (include_usage) {
    std::string chunk;
    json::Writer w(chunk);
    w.reopen_object(head).key("choices").begin_array().end_array();
    write_usage(w, mock_usage(prompt_tokens, text));
    w.end_object();
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

std::string mock_embedding_body(std::string_view model, size_t n_inputs, int64_t prompt_tokens) {
  // Written once, inserted raw: "0.0" as OpenAI writes it (a number would print as "0").
  std::string vector;
  vector.reserve(kMockEmbeddingDimensions * 4);
  vector.push_back('[');
  for (size_t i = 0; i < kMockEmbeddingDimensions; ++i) vector.append(i == 0 ? "0.0" : ",0.0");
  vector.push_back(']');

  std::string out;
  out.reserve(64 + n_inputs * (vector.size() + 48) + model.size());
  json::Writer w(out);
  w.begin_object().member("object", "list").key("data").begin_array();
  for (size_t i = 0; i < n_inputs; ++i) {
    w.begin_object().member("object", "embedding").member("index", i).key("embedding").raw(vector).end_object();
  }
  w.end_array().member("model", model);
  w.key("usage").begin_object().member("prompt_tokens", prompt_tokens).member("total_tokens", prompt_tokens);
  w.end_object().end_object();
  return out;
}

std::string mock_text_completion_body(std::string_view model, std::string_view text, const Usage& usage) {
  std::string out;
  json::Writer w(out);
  w.begin_object().member("id", mock_id()).member("object", "text_completion").member("created", unix_now());
  w.member("model", model);
  w.key("choices").begin_array().begin_object().member("index", 0).member("text", text);
  w.key("logprobs").null().member("finish_reason", "stop").end_object().end_array();
  write_usage(w, usage);
  w.end_object();
  return out;
}

std::string mock_moderation_body(std::string_view model) {
  std::string out;
  json::Writer w(out);
  w.begin_object().member("id", mock_id()).member("model", model);
  w.key("results").begin_array().begin_object().key("flagged").boolean(false);
  w.key("categories").begin_object().end_object().key("category_scores").begin_object().end_object();
  w.key("category_applied_input_types").begin_object().end_object();
  w.end_object().end_array().end_object();
  return out;
}

std::string mock_responses_body(std::string_view model, std::string_view text, const Usage& usage) {
  std::string out;
  json::Writer w(out);
  const std::string id = mock_id();
  w.begin_object().member("id", id).member("object", "response").member("created_at", unix_now());
  w.member("status", "completed").member("model", model);
  w.key("output").begin_array().begin_object().member("type", "message").member("id", "msg-" + id);
  w.member("status", "completed").member("role", "assistant");
  w.key("content").begin_array().begin_object().member("type", "output_text").member("text", text);
  w.key("annotations").begin_array().end_array().end_object().end_array();
  w.end_object().end_array();
  w.key("usage").begin_object().member("input_tokens", usage.prompt_tokens);
  w.member("output_tokens", usage.completion_tokens).member("total_tokens", usage.total_tokens).end_object();
  w.end_object();
  return out;
}

}  // namespace llmux::provider
