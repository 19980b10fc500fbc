// Fuzz target: state/cooldown_record — the cooldown value LiteLLM and llmux
// store in Redis (JSON or Python repr) and the counter values.
// Input: the whole input is a stored value, decoded as a cooldown record and
// as a counter; it is also used as an exception message (masked) for a record
// whose numbers come from its first 20 bytes (when it has them).
// Properties: a decode failure is kInvalidArgument with a non-empty UTF-8
// message; a decoded record has a UTF-8 message, its encoding is ASCII (as
// json.dumps' ensure_ascii) and decodes back to the same record, and encoding
// that again gives the same bytes; a decoded counter is finite; a masked
// message is UTF-8 with as many characters as the input has (invalid bytes
// counted as U+FFFD), and a record built from it survives encode → decode.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "fuzz_check.hpp"
#include "state/cooldown_record.hpp"

namespace {

using llmux::ErrorKind;
using llmux::state::CooldownRecord;

bool is_utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

size_t code_points(std::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void check_round_trip(const CooldownRecord& record) {
  const std::string encoded = llmux::state::encode_cooldown_record(record);
  FUZZ_CHECK(is_ascii(encoded));
  const auto again = llmux::state::decode_cooldown_record(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == record);
  FUZZ_CHECK(llmux::state::encode_cooldown_record(*again) == encoded);
}

double finite_or_zero(const uint8_t* bytes) {
  double d = 0;
  std::memcpy(&d, bytes, sizeof d);
  return std::isfinite(d) ? d : 0.0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto decoded = llmux::state::decode_cooldown_record(text);
  if (decoded.ok()) {
    FUZZ_CHECK(is_utf8(decoded->message));
    FUZZ_CHECK(std::isfinite(decoded->timestamp) && std::isfinite(decoded->cooldown_time));
    check_round_trip(*decoded);
  } else {
    FUZZ_CHECK(decoded.error().kind == ErrorKind::kInvalidArgument);
    FUZZ_CHECK(!decoded.error().message.empty());
    FUZZ_CHECK(is_utf8(decoded.error().message));
  }

  const auto counter = llmux::state::decode_counter(text);
  if (counter.ok()) FUZZ_CHECK(std::isfinite(*counter));

  const std::string masked = llmux::state::mask_exception_message(text);
  FUZZ_CHECK(is_utf8(masked));
  if (is_utf8(text)) FUZZ_CHECK(code_points(masked) == code_points(text));
  if (size >= 20) {
    int32_t status = 0;
    std::memcpy(&status, data + 16, sizeof status);
    const CooldownRecord built =
        llmux::state::make_cooldown_record(text, status, finite_or_zero(data), finite_or_zero(data + 8));
    FUZZ_CHECK(built.message == masked);
    check_round_trip(built);
  }
  return 0;
}
