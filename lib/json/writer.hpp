// -----------------------------------------------------------------------------
// File: json/writer.hpp
// -----------------------------------------------------------------------------
// The one way llmux writes JSON: compact text appended to a std::string the
// caller owns, commas placed by the writer, strings escaped by
// append_json_string. Raw insertion splices JSON text that is already valid
// (a provider's body, a caller's request member) without re-encoding it.
//
// The writer checks nothing about nesting: the caller writes a well-formed
// sequence (every begin_ has its end_, a key before each object member). It
// holds a pointer to the string and one flag, so it is cheap to create per
// call; not thread-safe (one writer per output string).
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace llmux::json {

// Appends `s` as a JSON string literal (with quotes) to `out`: `"`, `\` and
// control characters escaped (\n, \t, ... or \u00XX); other bytes, UTF-8
// included, copied as they are.
void append_json_string(std::string& out, std::string_view s);

class Writer {
 public:
  // Appends to `out` (nothing is cleared); `out` must outlive the writer.
  explicit Writer(std::string& out) : out_(&out) {}

  Writer& begin_object() { return open('{'); }
  Writer& end_object() { return close('}'); }
  Writer& begin_array() { return open('['); }
  Writer& end_array() { return close(']'); }

  // An object member's key; the next call writes its value.
  Writer& key(std::string_view k);
  // A key already escaped as the content of a JSON string (no quotes), e.g.
  // a key as it appears in a request body.
  Writer& raw_key(std::string_view escaped);

  Writer& string(std::string_view s);
  Writer& boolean(bool b) { return raw(b ? "true" : "false"); }
  Writer& null() { return raw("null"); }
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Writer& number(T n) {
    separate();
    const fmt::format_int text(n);  // into its own buffer: no formatting through a string's back_inserter
    out_->append(text.data(), text.size());
    return done();
  }
  // fmt's shortest round-trip form ("0.5", "1e-07", "2"); a NaN or an
  // infinity has no JSON form and is written as null.
  Writer& number(double d);

  // A value that is already JSON text.
  Writer& raw(std::string_view json) {
    separate();
    out_->append(json);
    return done();
  }
  // Members that are already JSON text ("a":1,"b":[2]) inside the current
  // object; nothing when empty.
  Writer& raw_members(std::string_view members) {
    if (members.empty()) return *this;
    return raw(members);
  }
  // Continues the JSON object `object` (its text, "{...}", trailing
  // whitespace allowed): appends it without its closing brace, so members
  // written next are added to it; end_object() closes it.
  Writer& reopen_object(std::string_view object);

  // A value, by type: string(), boolean() or number().
  Writer& value(std::string_view v) { return string(v); }
  Writer& value(const char* v) { return string(v); }
  Writer& value(bool v) { return boolean(v); }
  Writer& value(double v) { return number(v); }
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Writer& value(T v) {
    return number(v);
  }

  // key(k) and the value, by type.
  Writer& member(std::string_view k, std::string_view v) { return key(k).string(v); }
  Writer& member(std::string_view k, const char* v) { return key(k).string(v); }
  Writer& member(std::string_view k, bool v) { return key(k).boolean(v); }
  Writer& member(std::string_view k, double v) { return key(k).number(v); }
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Writer& member(std::string_view k, T v) {
    return key(k).number(v);
  }

 private:
  void separate() {
    if (need_comma_) out_->push_back(',');
  }
  Writer& done() {
    need_comma_ = true;
    return *this;
  }
  Writer& open(char c) {
    separate();
    out_->push_back(c);
    need_comma_ = false;
    return *this;
  }
  Writer& close(char c) {
    out_->push_back(c);
    return done();
  }

  std::string* out_;
  bool need_comma_ = false;  // a value was written at this level: the next one needs a comma
};

}  // namespace llmux::json
