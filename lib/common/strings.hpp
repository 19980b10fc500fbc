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

}  // namespace llmux
