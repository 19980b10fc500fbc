// -----------------------------------------------------------------------------
// File: common/strings.hpp
// -----------------------------------------------------------------------------
// The one bridge between std::string_view and Debian's absl::string_view (its
// Abseil is built with a string_view of its own, see DEVELOPERS.md), and
// std::string_view forms of the Abseil string helpers llmux uses, so call
// sites neither convert by hand nor write these loops again. Header-only;
// users link absl::strings (llmux_common does).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/string_view.h>

namespace llmux {

inline absl::string_view to_absl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view to_std(absl::string_view s) { return {s.data(), s.size()}; }

// Without leading and/or trailing ASCII whitespace (" \t\n\v\f\r"). For the
// whitespace of JSON text alone, see json/whitespace.hpp.
inline std::string_view strip_ascii_whitespace(std::string_view s) {
  return to_std(absl::StripAsciiWhitespace(to_absl(s)));
}
inline std::string_view strip_trailing_ascii_whitespace(std::string_view s) {
  return to_std(absl::StripTrailingAsciiWhitespace(to_absl(s)));
}

// std::string_view::contains is C++23.
inline bool str_contains(std::string_view haystack, std::string_view needle) {
  return absl::StrContains(to_absl(haystack), to_absl(needle));
}

// ASCII case-insensitive comparisons (no locale).
inline bool starts_with_ignore_case(std::string_view text, std::string_view prefix) {
  return absl::StartsWithIgnoreCase(to_absl(text), to_absl(prefix));
}
inline bool equals_ignore_case(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(to_absl(a), to_absl(b));
}

inline std::string ascii_lower(std::string_view s) { return absl::AsciiStrToLower(to_absl(s)); }

// Length of the well-formed UTF-8 sequence starting at text[i] (1 to 4), or 0
// when none starts there (a stray continuation, overlong form, surrogate,
// beyond U+10FFFF, or truncated).
inline size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  const size_t len = b0 < 0x80 ? 1 : (b0 >= 0xC2 && b0 <= 0xDF) ? 2 : (b0 >= 0xE0 && b0 <= 0xEF) ? 3
                                                                : (b0 >= 0xF0 && b0 <= 0xF4) ? 4 : 0;
  if (len == 0 || i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  if (len >= 3) {
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 >= 0xA0) || (b0 == 0xF0 && b1 < 0x90) ||
        (b0 == 0xF4 && b1 >= 0x90)) {
      return 0;
    }
  }
  return len;
}

// `text` as valid UTF-8: each byte that does not start a well-formed
// sequence becomes U+FFFD. For messages that quote user input a parser may
// have decoded into invalid UTF-8.
inline std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (const size_t len = utf8_sequence_length(text, i); len != 0) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

}  // namespace llmux
