// -----------------------------------------------------------------------------
// File: state/cooldown_record.hpp
// -----------------------------------------------------------------------------
// The value of deployment:{id}:cooldown and of LiteLLM's counters, byte for
// byte (reference litellm-shared-state.md §2.2, §3, §5).
//
// Written: what LiteLLM 1.110 writes, json.dumps with Python's defaults —
//   {"exception_received": "...", "status_code": "429", "timestamp": 1796173905.1354182, "cooldown_time": 30}
// ", " and ": " separators; ensure_ascii (every character outside
// ' '..'~' as \uXXXX, lower-case hex, astral ones as surrogate pairs; and
// \" \\ \n \r \t \b \f); floats as Python's repr (shortest round trip, exponent
// form below 1e-4 and from 1e16: 1e-05, 1e+16); the status code as a decimal
// string (1.110 ignores a cooldown whose status is not a string); the
// cooldown time as an int when it is one (LiteLLM keeps the configured type:
// cooldown_time 30 → 30, 30.5 → 30.5). Both LiteLLM 1.81 and 1.110 read it.
//
// Read: that JSON with any spacing (simdjson), or the Python repr dict
// LiteLLM 1.81 writes ({'exception_received': '...', 'status_code': '429',
// ...}: single or double quotes with \n \t \\ \' \xNN \uNNNN \UNNNNNNNN and
// octal escapes, True/False/None, ints, floats incl. 1e+16, nested literals
// in members llmux does not read). The status may be a string or an int.
// Members llmux does not know are ignored; a duplicated key keeps its last
// value (as Python does). Anything else is a kInvalidArgument naming the
// problem (never quoting the stored message).
//
// Plain functions and data; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "llmux/error.hpp"

namespace llmux::state {

struct CooldownRecord {
  std::string message;  // exception_received as stored (already masked), UTF-8
  int status_code = 0;
  double timestamp = 0;      // when the cooldown began, Unix epoch seconds
  double cooldown_time = 0;  // its length in seconds
  // Written as an int ("30", not "30.0"): as configured, or as read.
  bool cooldown_time_is_integer = false;

  bool operator==(const CooldownRecord&) const = default;
};

// LiteLLM's masking of exception_received (SensitiveDataMasker._mask_value
// with visible_prefix=50, visible_suffix=0, mask_char="*", used by
// CooldownCache._common_add_cooldown_logic): up to 50 characters are kept;
// a longer text keeps its first 50 and every further character becomes one
// '*'. Characters are Unicode code points, as Python counts them; invalid
// UTF-8 in `message` is first replaced by U+FFFD, one per maximal invalid
// subsequence (Python's errors="replace").
std::string mask_exception_message(std::string_view message);

// A record as LiteLLM builds one: the message masked, the cooldown time an
// int when it is integral.
CooldownRecord make_cooldown_record(std::string_view message, int status_code, double timestamp,
                                    double cooldown_time);

// The JSON text LiteLLM 1.110 would store for `record`. `record.message` is
// written as given (invalid UTF-8 is replaced by U+FFFD); timestamp and
// cooldown_time should be finite (a NaN or infinity is written as Python
// would, NaN / Infinity, which no LiteLLM reads back).
std::string encode_cooldown_record(const CooldownRecord& record);

// A stored cooldown value, JSON or Python repr.
Result<CooldownRecord> decode_cooldown_record(std::string_view text);

// A counter or spend value as Redis returns it after INCRBY / INCRBYFLOAT or
// LiteLLM's first SET: "150", "-2", "0.001125", "0.0", "1e-05". Anything
// else (empty, spaces, inf, nan, hex, trailing text) is kInvalidArgument.
Result<double> decode_counter(std::string_view text);

// json.dumps of a Python float: repr's shortest round-trip form ("0.1",
// "5.0", "1796173905.1354182", "1e-05", "1e+16"), NaN, Infinity, -Infinity.
std::string python_float_json(double value);

}  // namespace llmux::state
