// Fuzz target: provider/error_classifier (provider error bodies, statuses,
// Retry-After headers, transport failures).
// Input: bytes 0-1 the HTTP status (0..699); byte 2 the provider name (bits
// 0-1), the header name (bits 2-3) and the transfer error (bits 4-7); byte 3
// the length of the header value that follows; the rest is the body.
// Properties: the message is short and non-empty (valid UTF-8 when the body
// is), starts with the provider's exception name; the status is positive;
// Retry-After is absent or a finite, non-negative number of seconds.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <absl/time/time.h>
#include <simdjson.h>

#include "fuzz_check.hpp"
#include "provider/error_classifier.hpp"

namespace {

using llmux::Error;
using llmux::transport::TransferError;

constexpr std::string_view kProviders[] = {"openai", "hosted_vllm", "", "x"};
constexpr std::string_view kHeaders[] = {"retry-after", "retry-after-ms", "x-ratelimit-reset", "retry-after"};
constexpr size_t kMaxMessage = 1024 + 3;  // extract_error_message's bound, plus "..."

bool utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

void check_retry_after(const std::optional<double>& seconds) {
  if (seconds) FUZZ_CHECK(std::isfinite(*seconds) && *seconds >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const int status = ((data[0] << 8) | data[1]) % 700;
  const std::string_view provider = kProviders[data[2] & 3];
  const std::string_view header = kHeaders[(data[2] >> 2) & 3];
  const auto transfer_error = static_cast<TransferError>((data[2] >> 4) % (static_cast<int>(TransferError::kOther) + 1));
  std::string_view rest(reinterpret_cast<const char*>(data) + 4, size - 4);
  const std::string_view header_value = rest.substr(0, data[3]);
  rest.remove_prefix(header_value.size());
  const std::string_view body = rest;
  const absl::Time now = absl::FromUnixSeconds(1700000000);

  const std::string message = llmux::provider::extract_error_message(body, status);
  FUZZ_CHECK(!message.empty() && message.size() <= kMaxMessage);
  if (utf8(body)) FUZZ_CHECK(utf8(message));

  const std::string prefix = llmux::provider::exception_name(provider);
  const Error http = llmux::provider::classify_http_error(status, body, provider);
  FUZZ_CHECK(http.status > 0);
  FUZZ_CHECK(http.provider_status == status);
  FUZZ_CHECK(std::string_view(http.message).substr(0, prefix.size()) == prefix);
  FUZZ_CHECK(http.message.size() <= prefix.size() + 3 + kMaxMessage);

  llmux::transport::Headers headers{{std::string(header), std::string(header_value)}};
  check_retry_after(llmux::provider::parse_retry_after(headers, now));

  llmux::transport::TransferResult result;
  result.error = transfer_error;
  result.status = status;
  result.body = std::string(body);
  result.headers = std::move(headers);
  const Error failure = llmux::provider::classify_failure(result, provider, now);
  FUZZ_CHECK(failure.status > 0);
  check_retry_after(failure.retry_after_seconds);
  FUZZ_CHECK(std::string_view(failure.message).substr(0, prefix.size()) == prefix);
  return 0;
}
