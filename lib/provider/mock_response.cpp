#include "provider/mock_response.hpp"

#include <atomic>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "json/request.hpp"

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

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int64_t count_words(std::string_view text) {
  int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    if (is_space(c)) {
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

void append_usage(std::string& out, const Usage& u) {
  fmt::format_to(std::back_inserter(out), R"("usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}})",
                 u.prompt_tokens, u.completion_tokens, u.total_tokens);
}

// The members every chunk of one stream shares, up to and including the comma.
std::string chunk_head(std::string_view id, int64_t created, std::string_view model) {
  std::string head = fmt::format(R"({{"id":"{}","object":"chat.completion.chunk","created":{},"model":)", id, created);
  json::append_json_string(head, model);
  head.push_back(',');
  return head;
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
  fmt::format_to(std::back_inserter(out), R"({{"id":"{}","object":"chat.completion","created":{},"model":)", mock_id(),
                 unix_now());
  json::append_json_string(out, model);
  out.append(R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)");
  json::append_json_string(out, text);
  out.append(R"(},"finish_reason":"stop"}],)");
  append_usage(out, usage);
  out.push_back('}');
  return out;
}

std::vector<std::string> mock_stream_chunks(std::string_view model, std::string_view text, bool include_usage,
                                            int64_t prompt_tokens) {
  const std::string head = chunk_head(mock_id(), unix_now(), model);
  std::vector<std::string> chunks;
  chunks.push_back(head + R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})");
  // One chunk per word, each with the whitespace that precedes it, so the
  // concatenated deltas are exactly `text`.
  size_t start = 0;
  while (start < text.size()) {
    size_t i = start;
    while (i < text.size() && is_space(text[i])) ++i;
    while (i < text.size() && !is_space(text[i])) ++i;
    std::string chunk = head;
    chunk.append(R"("choices":[{"index":0,"delta":{"content":)");
    json::append_json_string(chunk, text.substr(start, i - start));
    chunk.append(R"(},"finish_reason":null}]})");
    chunks.push_back(std::move(chunk));
    start = i;
  }
  chunks.push_back(head + R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
  if (include_usage) {
    std::string chunk = head;
    chunk.append(R"("choices":[],)");
    append_usage(chunk, mock_usage(prompt_tokens, text));
    chunk.push_back('}');
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

std::string mock_embedding_body(std::string_view model, size_t n_inputs, int64_t prompt_tokens) {
  std::string vector;
  vector.reserve(kMockEmbeddingDimensions * 4);
  vector.push_back('[');
  for (size_t i = 0; i < kMockEmbeddingDimensions; ++i) vector.append(i == 0 ? "0.0" : ",0.0");
  vector.push_back(']');

  std::string out;
  out.reserve(64 + n_inputs * (vector.size() + 48) + model.size());
  out.append(R"({"object":"list","data":[)");
  for (size_t i = 0; i < n_inputs; ++i) {
    if (i > 0) out.push_back(',');
    fmt::format_to(std::back_inserter(out), R"({{"object":"embedding","index":{},"embedding":)", i);
    out.append(vector);
    out.push_back('}');
  }
  out.append(R"(],"model":)");
  json::append_json_string(out, model);
  fmt::format_to(std::back_inserter(out), R"(,"usage":{{"prompt_tokens":{},"total_tokens":{}}}}})", prompt_tokens,
                 prompt_tokens);
  return out;
}

}  // namespace llmux::provider
