// -----------------------------------------------------------------------------
// File: json/whitespace.hpp
// -----------------------------------------------------------------------------
// JSON's whitespace (RFC 8259: space, tab, LF, CR), narrower than ASCII
// whitespace: \v and \f are not whitespace in JSON text, so Abseil's ASCII
// strippers (common/strings.hpp) are not used on it.
#pragma once

#include <string_view>

namespace llmux::json {

inline constexpr std::string_view kWhitespace = " \t\n\r";

// `s` without trailing JSON whitespace. A raw token or value as simdjson
// hands it out runs to the next structural character, so it carries the
// whitespace that follows it.
inline std::string_view strip_trailing_whitespace(std::string_view s) {
  const size_t last = s.find_last_not_of(kWhitespace);
  return s.substr(0, last == std::string_view::npos ? 0 : last + 1);
}

}  // namespace llmux::json
