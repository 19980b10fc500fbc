#include "provider/error_classifier.hpp"

#include <algorithm>
#include <cmath>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <fmt/format.h>

#include "common/strings.hpp"
#include "json/scratch_parser.hpp"
#include "json/whitespace.hpp"

namespace llmux::provider {
namespace {

namespace od = simdjson::ondemand;

constexpr size_t kMaxMessageBytes = 1024;
constexpr size_t kMaxSearchedBodyBytes = 16 * 1024;

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view truncate_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// A message of bounded size: providers may send whole HTML pages.
std::string bounded(std::string_view s) {
  s = strip_ascii_whitespace(s);
  if (s.size() <= kMaxMessageBytes) return std::string(s);
  std::string out(truncate_utf8(s, kMaxMessageBytes));
  out += "...";
  return out;
}

// Raw text of any value (containers via raw_json, scalars via their token).
simdjson::error_code raw_text(od::value& v, std::string_view& out) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  if (t == od::json_type::object) {
    od::object o;
    SIMDJSON_TRY(v.get_object().get(o));
    SIMDJSON_TRY(o.raw_json().get(out));
  } else if (t == od::json_type::array) {
    od::array a;
    SIMDJSON_TRY(v.get_array().get(a));
    SIMDJSON_TRY(a.raw_json().get(out));
  } else {
    out = v.raw_json_token();
  }
  out = json::strip_trailing_whitespace(out);
  return simdjson::SUCCESS;
}

// Python's re `\b429\b`: "429" not adjacent to a word character. Bytes of
// multi-byte UTF-8 sequences count as word characters, as Unicode letters do
// for Python.
bool is_word_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || u == '_' || absl::ascii_isalnum(u);
}

bool has_standalone_429(std::string_view text) {
  for (size_t pos = text.find("429"); pos != std::string_view::npos; pos = text.find("429", pos + 1)) {
    const bool left_ok = pos == 0 || !is_word_byte(text[pos - 1]);
    const bool right_ok = pos + 3 >= text.size() || !is_word_byte(text[pos + 3]);
    if (left_ok && right_ok) return true;
  }
  return false;
}

// LiteLLM's `rate[\s_\-]*limit` on the lower-cased text.
bool has_rate_limit_phrase(std::string_view lower) {
  for (size_t pos = lower.find("rate"); pos != std::string_view::npos; pos = lower.find("rate", pos + 1)) {
    size_t i = pos + 4;
    while (i < lower.size() && (absl::ascii_isspace(static_cast<unsigned char>(lower[i])) || lower[i] == '_' ||
                                lower[i] == '-')) {
      ++i;
    }
    if (lower.substr(i, 5) == "limit") return true;
  }
  return false;
}

// ExceptionCheckers.is_error_str_rate_limit.
bool is_rate_limit(std::string_view text, std::string_view lower) {
  return has_standalone_429(text) || has_rate_limit_phrase(lower) || str_contains(lower, "service tier capacity exceeded");
}

// ExceptionCheckers.is_error_str_context_window_exceeded, plus two vLLM texts.
bool is_context_window_exceeded(std::string_view lower) {
  if (str_contains(lower, "string_above_max_length")) return false;
  if (str_contains(lower, "invalid 'user'") && str_contains(lower, "string too long")) return false;
  static constexpr std::string_view kPhrases[] = {
      "exceed context limit",
      "this model's maximum context length is",
      "string too long. expected a string with maximum length",
      "model's maximum context limit",
      "is longer than the model's context length",
      "input tokens exceed the configured limit",
      "`inputs` tokens + `max_new_tokens` must be",
      "exceeds the maximum number of tokens allowed",
      // llmux additions (vLLM V1 engine and older vLLM wording):
      "is longer than the maximum model length",
      "please reduce the length of the messages",
  };
  for (std::string_view p : kPhrases) {
    if (str_contains(lower, p)) return true;
  }
  return str_contains(lower, "current length is") && str_contains(lower, "while limit is");
}

Error make_error(ErrorKind kind, int litellm_status, int provider_status, std::string message,
                 std::string_view provider_name) {
  Error e(kind, std::move(message));
  e.status = litellm_status;
  e.provider_status = provider_status;
  e.llm_provider = std::string(provider_name);
  return e;
}

}  // namespace

bool is_context_window_text(std::string_view lower) { return is_context_window_exceeded(lower); }

std::string exception_name(std::string_view provider_name) {
  if (provider_name == "openai" || provider_name.empty()) return "OpenAIException";
  std::string out(provider_name);
  out[0] = absl::ascii_toupper(static_cast<unsigned char>(out[0]));
  out += "Exception";
  return out;
}

std::string extract_error_message(std::string_view body, int status) {
  const std::string_view trimmed = strip_ascii_whitespace(body);
  if (trimmed.empty()) return fmt::format("Error code: {}", status);
  if (trimmed.front() != '{') return bounded(trimmed);

  // Error paths are rare; a separate parser keeps them from disturbing a
  // document the caller may still be reading on this thread.
  thread_local json::ScratchParser scratch;
  od::document doc;
  if (scratch.iterate(trimmed, doc)) return bounded(trimmed);
  od::object top;
  if (doc.get_object().get(top)) return bounded(trimmed);

  std::optional<std::string> error_message;  // error.message or "error": "text"
  std::optional<std::string> error_raw;      // the error object when it has no message
  std::optional<std::string> message;
  std::optional<std::string> detail;
  for (auto fr : top) {
    od::field f;
    if (std::move(fr).get(f)) break;
    std::string_view key;
    if (f.unescaped_key().get(key)) break;
    od::value v = f.value();
    od::json_type t;
    if (v.type().get(t)) break;
    std::string_view s;
    if (key == "error") {
      if (t == od::json_type::string) {
        if (!v.get_string().get(s)) error_message.emplace(s);
      } else if (t == od::json_type::object) {
        const char* raw_start = v.raw_json_token().data();
        od::object eo;
        if (v.get_object().get(eo)) break;
        for (auto efr : eo) {
          od::field ef;
          if (std::move(efr).get(ef)) break;
          std::string_view ekey;
          if (ef.unescaped_key().get(ekey)) break;
          od::value ev = ef.value();
          od::json_type et;
          if (ekey == "message" && !ev.type().get(et) && et == od::json_type::string &&
              !ev.get_string().get(s)) {
            error_message.emplace(s);
          }
        }
        if (!error_message) {
          // The object's text runs from its '{' to the current position.
          const char* end = nullptr;
          if (!doc.current_location().get(end) && end > raw_start) {
            error_raw.emplace(json::strip_trailing_whitespace(std::string_view(raw_start, size_t(end - raw_start))));
          }
        }
      }
    } else if (key == "message" && t == od::json_type::string) {
      if (!v.get_string().get(s)) message.emplace(s);
    } else if (key == "detail") {
      if (t == od::json_type::string) {
        if (!v.get_string().get(s)) detail.emplace(s);
      } else if (!raw_text(v, s)) {
        detail.emplace(s);
      }
    }
  }
  // The first non-blank one: an empty "message" says nothing, the body does.
  for (const auto* candidate : {&error_message, &message, &detail, &error_raw}) {
    if (*candidate && !strip_ascii_whitespace(**candidate).empty()) return bounded(**candidate);
  }
  return bounded(trimmed);
}

std::optional<double> parse_retry_after(const transport::Headers& headers, absl::Time now) {
  const std::string* retry_after = nullptr;
  const std::string* retry_after_ms = nullptr;
  for (const auto& [name, value] : headers) {
    if (name == "retry-after" && retry_after == nullptr) retry_after = &value;
    if (name == "retry-after-ms" && retry_after_ms == nullptr) retry_after_ms = &value;
  }
  // retry-after-ms first, as the OpenAI SDK does: it is the more precise one.
  if (retry_after_ms != nullptr) {
    double ms = 0;
    if (absl::SimpleAtod(to_absl(*retry_after_ms), &ms) && std::isfinite(ms) && ms >= 0) return ms / 1000.0;
  }
  if (retry_after == nullptr) return std::nullopt;
  const absl::string_view v = absl::StripAsciiWhitespace(to_absl(*retry_after));
  // Integer seconds only: LiteLLM's int() rejects "1.5", which then fails as
  // a date too.
  int64_t seconds = 0;
  if (absl::SimpleAtoi(v, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return static_cast<double>(seconds);
  }
  // HTTP-date (RFC 9110 IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT").
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",
      "%a, %d %b %Y %H:%M:%S %z",
      "%d %b %Y %H:%M:%S GMT",
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850, obsolete but legal
  };
  for (const char* format : kFormats) {
    absl::Time when;
    std::string err;
    if (absl::ParseTime(format, std::string(v), absl::UTCTimeZone(), &when, &err)) {
      const double delta = absl::ToDoubleSeconds(when - now);
      // absl::ParseTime also accepts "infinite-future" / "infinite-past".
      if (!std::isfinite(delta) || delta < 0) return std::nullopt;
      return std::floor(delta);  // LiteLLM: int(retry_date - time.time())
    }
  }
  return std::nullopt;
}

Error classify_http_error(int status, std::string_view body, std::string_view provider_name) {
  // The text LiteLLM searches is str() of the OpenAI SDK error.
  std::string text = fmt::format("Error code: {} - ", status);
  text.append(truncate_utf8(body, kMaxSearchedBodyBytes));
  const std::string lower = ascii_lower(text);
  const std::string message = fmt::format("{} - {}", exception_name(provider_name), extract_error_message(body, status));

  auto make = [&](ErrorKind kind, int litellm_status) {
    return make_error(kind, litellm_status, status, message, provider_name);
  };
  // The checks run before the provider branch of exception_type().
  if (str_contains(text, "Request Timeout Error") || str_contains(text, "Request timed out") ||
      str_contains(text, "Timed out generating response") || str_contains(text, "The read operation timed out")) {
    return make(ErrorKind::kTimeout, 408);
  }
  // 1. Rate limit — for any status (reference §14 item 16).
  if (is_rate_limit(text, lower)) return make(ErrorKind::kRateLimit, 429);
  // 2. Context window.
  if (is_context_window_exceeded(lower)) return make(ErrorKind::kContextWindowExceeded, 400);
  const bool invalid_request = str_contains(text, "invalid_request_error");
  // 3. Model not found.
  if (invalid_request && str_contains(text, "model_not_found")) return make(ErrorKind::kNotFound, 404);
  // 4. Timeout text.
  if (str_contains(text, "A timeout occurred")) return make(ErrorKind::kTimeout, 408);
  // 5. Content policy.
  if ((invalid_request && str_contains(text, "content_policy_violation")) ||
      (str_contains(text, "Invalid prompt") && str_contains(text, "violating our usage policy")) ||
      str_contains(lower, "request was rejected as a result of the safety system")) {
    return make(ErrorKind::kContentPolicyViolation, 400);
  }
  // 6. Any other invalid request (a wrong key is decided by its status below).
  if (invalid_request && !str_contains(text, "Incorrect API key provided")) return make(ErrorKind::kBadRequest, 400);
  // The remaining text rules of LiteLLM's openai-compatible branch.
  if (str_contains(text, "Web server is returning an unknown error") ||
      str_contains(text, "The server had an error processing your request.")) {
    return make(ErrorKind::kInternalServer, 500);
  }
  if (str_contains(text, "Request too large")) return make(ErrorKind::kRateLimit, 429);
  // 7. By status.
  switch (status) {
    case 400: return make(ErrorKind::kBadRequest, 400);
    case 401: return make(ErrorKind::kAuthentication, 401);
    case 403: return make(ErrorKind::kPermissionDenied, 403);
    case 404: return make(ErrorKind::kNotFound, 404);
    case 408: return make(ErrorKind::kTimeout, 408);
    case 422: return make(ErrorKind::kBadRequest, 400);
    case 429: return make(ErrorKind::kRateLimit, 429);
    case 500: return make(ErrorKind::kInternalServer, 500);
    case 502: return make(ErrorKind::kBadGateway, 502);
    case 503: return make(ErrorKind::kServiceUnavailable, 503);
    case 504: return make(ErrorKind::kTimeout, 504);
    default: return make(ErrorKind::kApiError, status > 0 ? status : 500);
  }
}

Error classify_failure(const transport::TransferResult& result, std::string_view provider_name, absl::Time now) {
  using transport::TransferError;
  const std::string prefix = exception_name(provider_name);
  auto detail = [&](std::string_view what) {
    return result.error_message.empty() ? fmt::format("{} - {}", prefix, what)
                                        : fmt::format("{} - {} ({})", prefix, what, result.error_message);
  };
  auto make = [&](ErrorKind kind, std::string message, int provider_status = 0) {
    return make_error(kind, error_kind_default_status(kind), provider_status, std::move(message), provider_name);
  };
  switch (result.error) {
    case TransferError::kNone:
      break;
    case TransferError::kConnectTimeout:
      return make(ErrorKind::kTimeout, detail("Request timed out: no connection within the connect timeout"));
    case TransferError::kFirstByteTimeout:
      return make(ErrorKind::kTimeout,
                  detail("Request timed out: no response within the first-token timeout"));
    case TransferError::kIdleTimeout:
      return make(ErrorKind::kTimeout, detail("Request timed out: the stream was idle longer than the stream idle timeout"));
    case TransferError::kTotalTimeout:
      return make(ErrorKind::kTimeout, detail("Request timed out: the request timeout elapsed"));
    case TransferError::kConnectFailed:
      return make(ErrorKind::kConnectionError, detail("Connection error: could not connect"));
    case TransferError::kConnectionClosed:
      return make(ErrorKind::kConnectionError, detail("Connection error: the connection closed before a complete response"));
    case TransferError::kAborted:
      return make(ErrorKind::kCancelled, detail("the transfer was aborted by its consumer"));
    case TransferError::kCancelled:
      return make(ErrorKind::kCancelled, detail("the request was cancelled"));
    case TransferError::kResponseTooLarge:
      // The provider did answer, just too much: an API error (it counts
      // towards cooldown), not a connection problem.
      return make(ErrorKind::kApiError, detail("the response body exceeded the buffering limit"), result.status);
    case TransferError::kOther:
      // TLS, send/receive and protocol failures: no usable HTTP response.
      return make(ErrorKind::kConnectionError, detail("Connection error"));
  }
  if (result.status >= 200 && result.status < 300) {
    return make(ErrorKind::kApiError, fmt::format("{} - unexpected failure of a {} response", prefix, result.status),
                result.status);
  }
  if (result.status == 0) return make(ErrorKind::kConnectionError, detail("Connection error: no HTTP response"));
  Error e = classify_http_error(result.status, result.body, provider_name);
  e.retry_after_seconds = parse_retry_after(result.headers, now);
  return e;
}

}  // namespace llmux::provider
