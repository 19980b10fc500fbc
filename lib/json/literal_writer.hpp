// -----------------------------------------------------------------------------
// File: json/literal_writer.hpp
// -----------------------------------------------------------------------------
// JSON of a fixed shape, written with its keys and punctuation as literals of
// the caller (`R"(,"attempts":)"`) into a buffer with inline storage: a
// literal is one inline copy of a compile-time size, a value one append, no
// comma bookkeeping and no allocation for text that fits the inline storage.
// For hot fixed-shape objects (the "_llmux" metadata the C ABI writes per
// call); json::Writer stays the general way. Values are written byte for byte
// as json::Writer writes them (defined in writer.cpp, sharing its escaping
// and number formatting).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

namespace llmux::json {

class LiteralWriter {
 public:
  // JSON text the caller spells out: keys with their quotes and colons, commas, brackets.
  template <size_t N>
  void literal(const char (&text)[N]) {
    put(text, N - 1);  // without the terminating NUL
  }
  // As Writer::string.
  void string(std::string_view s);
  // As Writer::number(double): fmt's shortest round-trip form, null when not finite.
  void number(double d);
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  void number(T n) {
    const fmt::format_int text(n);
    put(text.data(), text.size());
  }
  void boolean(bool b) {
    if (b) {
      literal("true");
    } else {
      literal("false");
    }
  }

  // The text written so far (valid until the next write).
  std::string_view view() const { return {text_.data(), text_.size()}; }

 private:
  // One resize (inline: a capacity check) and a copy.
  void put(const char* p, size_t n) {
    const size_t at = text_.size();
    text_.resize(at + n);
    std::memcpy(text_.data() + at, p, n);
  }

  fmt::basic_memory_buffer<char, 1024> text_;
};

}  // namespace llmux::json
