// -----------------------------------------------------------------------------
// File: common/strings.hpp
// -----------------------------------------------------------------------------
// The one bridge between std::string_view and Debian's absl::string_view (its
// Abseil is built with a string_view of its own, see DEVELOPERS.md), and
// std::string_view forms of the Abseil string helpers llmux uses, so call
// sites neither convert by hand nor write these loops again. Header-only;
// users link absl::strings (llmux_common does).
#pragma once

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

// `text` as valid UTF-8: each byte that does not start a well-formed
// sequence (overlong, surrogate, beyond U+10FFFF, truncated) becomes U+FFFD.
// For messages that quote user input a parser may have decoded into invalid
// UTF-8 (yaml-cpp turns the escape "\\_" into a lone 0xA0 byte).
inline std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    size_t len = b0 < 0x80 ? 1 : (b0 >= 0xC2 && b0 <= 0xDF) ? 2 : (b0 >= 0xE0 && b0 <= 0xEF) ? 3
                                                             : (b0 >= 0xF0 && b0 <= 0xF4) ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok && len >= 3) {
      const auto b1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(b0 == 0xE0 && b1 < 0xA0) && !(b0 == 0xED && b1 >= 0xA0) && !(b0 == 0xF0 && b1 < 0x90) &&
           !(b0 == 0xF4 && b1 >= 0x90);
    }
    if (ok) {
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
