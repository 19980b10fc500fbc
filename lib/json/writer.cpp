#include "json/writer.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>

#include <fmt/compile.h>

#include "json/literal_writer.hpp"
#include "json/whitespace.hpp"

namespace llmux::json {
namespace {

bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// Whether any of the 8 bytes in `w` needs escaping: one below 0x20, a '"' or a
// '\\' (the exact "has a byte less than n" / "has a zero byte" word tests).
bool word_needs_escape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  return (((w - kOnes * 0x20) & ~w & kHigh) | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'))) != 0;
}

// The index of the first byte of `s` at or after `i` that needs escaping, or s.size().
size_t next_escape(std::string_view s, size_t i) {
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (word_needs_escape(w)) break;
  }
  while (i < s.size() && !needs_escape(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

// Whether any byte of `s` needs escaping (next_escape(s, 0) != s.size()), a
// word at a time to the end: the last partial word is read again as the
// overlapping final word, a string shorter than a word is padded with bytes
// that need none. Most keys and values need no escaping; this is their cost.
bool any_needs_escape(std::string_view s) {
  constexpr size_t kWord = sizeof(uint64_t);
  uint64_t w = 0x0101010101010101ULL * 'a';
  if (s.size() < kWord) {
    if (!s.empty()) std::memcpy(&w, s.data(), s.size());  // an empty view's data() may be null
    return word_needs_escape(w);
  }
  size_t i = 0;
  for (; i + kWord <= s.size(); i += kWord) {
    std::memcpy(&w, s.data() + i, kWord);
    if (word_needs_escape(w)) return true;
  }
  if (i == s.size()) return false;
  std::memcpy(&w, s.data() + s.size() - kWord, kWord);
  return word_needs_escape(w);
}

// `prefix` (a ',' or nothing), `s` quoted and `suffix` (a ':' or nothing) when
// `s` needs no escaping: one resize and a copy, the common case of keys and
// values. False (nothing written) when it needs escaping.
void append_quoted(std::string& out, char prefix, std::string_view s, char suffix) {
  const size_t old = out.size();
  out.resize(old + (prefix != 0) + s.size() + 2 + (suffix != 0));
  char* p = out.data() + old;
  if (prefix) *p++ = prefix;
  *p++ = '"';
  if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view's data() may be null
  p += s.size();
  *p++ = '"';
  if (suffix) *p = suffix;
}

bool append_plain_string(std::string& out, char prefix, std::string_view s, char suffix) {
  if (any_needs_escape(s)) return false;
  append_quoted(out, prefix, s, suffix);
  return true;
}

// Room for fmt's shortest form of any double: sign, 17 digits, point, exponent ("-2.2250738585072014e-308").
using ShortestText = char[32];

// Finite `d` in fmt's shortest round-trip form ("{}"), in `text`. A whole
// number below 2^53 in magnitude (a cost of 0, a time to first token of -1)
// takes its integer digits, written by fmt::format_int at a fraction of the
// general algorithm's cost: every integer there is exactly a double whose
// neighbours are at most 1 away, so no shorter digits round-trip to it, and
// fmt writes numbers below 1e16 without an exponent. -0.0 keeps fmt's "-0".
std::string_view shortest(double d, ShortestText& text) {
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (d > -kExactIntegers && d < kExactIntegers && static_cast<double>(static_cast<int64_t>(d)) == d &&
      !(d == 0 && std::signbit(d))) {
    const fmt::format_int digits(static_cast<int64_t>(d));
    std::memcpy(text, digits.data(), digits.size());
    return {text, digits.size()};
  }
  const char* end = fmt::format_to(text, FMT_COMPILE("{}"), d);
  return {text, static_cast<size_t>(end - text)};
}

}  // namespace

Writer& Writer::raw_key(std::string_view escaped) {
  append_quoted(*out_, need_comma_ ? ',' : 0, escaped, ':');
  need_comma_ = false;
  return *this;
}

Writer& Writer::key(std::string_view k) {
  if (!append_plain_string(*out_, need_comma_ ? ',' : 0, k, ':')) {
    separate();
    append_json_string(*out_, k);
    out_->push_back(':');
  }
  need_comma_ = false;
  return *this;
}

Writer& Writer::string(std::string_view s) {
  if (!append_plain_string(*out_, need_comma_ ? ',' : 0, s, 0)) {
    separate();
    append_json_string(*out_, s);
  }
  return done();
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (append_plain_string(out, 0, s, 0)) return;
  out.push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = next_escape(s, 0); i < s.size(); i = next_escape(s, i + 1)) {
    const auto c = static_cast<unsigned char>(s[i]);
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

Writer& Writer::number(double d) {
  if (!std::isfinite(d)) return null();
  separate();
  // Into a buffer, then one append: formatting through a string's back_inserter costs a call per character.
  ShortestText text;
  out_->append(shortest(d, text));
  return done();
}

Writer& Writer::reopen_object(std::string_view object) {
  object = strip_trailing_whitespace(object);
  separate();
  out_->append(object.substr(0, object.size() - 1));  // without its '}'
  // "{}" (or "{ }") has no member for the next one to follow.
  need_comma_ = object.find_first_not_of(kWhitespace, 1) != object.size() - 1;
  return *this;
}

void LiteralWriter::string(std::string_view s) {
  if (!any_needs_escape(s)) {
    // One resize for the quotes and the text.
    const size_t at = text_.size();
    text_.resize(at + s.size() + 2);
    char* p = text_.data() + at;
    *p++ = '"';
    if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view's data() may be null
    p[s.size()] = '"';
    return;
  }
  std::string escaped;  // rare: the one escaping routine, then a copy
  append_json_string(escaped, s);
  put(escaped.data(), escaped.size());
}

void LiteralWriter::number(double d) {
  if (!std::isfinite(d)) return literal("null");
  ShortestText text;
  const std::string_view digits = shortest(d, text);
  put(digits.data(), digits.size());
}

}  // namespace llmux::json
