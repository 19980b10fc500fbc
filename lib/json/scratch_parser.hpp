// -----------------------------------------------------------------------------
// File: json/scratch_parser.hpp
// -----------------------------------------------------------------------------
// A simdjson on-demand parser plus a reusable padded buffer, for parsing text
// that arrives without simdjson's padding (provider bodies, SSE payloads).
// After warm-up a parse allocates nothing. Not thread-safe: keep one per
// thread (a function-local thread_local) and never nest two parses on the
// same instance — the second invalidates the first document.
#pragma once

#include <string>
#include <string_view>

#include <simdjson.h>

namespace llmux::json {

class ScratchParser {
 public:
  // Copies `text` into the padded buffer and starts iterating it. The
  // document (and every view from it) is valid until the next iterate().
  simdjson::error_code iterate(std::string_view text, simdjson::ondemand::document& doc) {
    if (buffer_.capacity() < text.size() + simdjson::SIMDJSON_PADDING) {
      buffer_.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    }
    buffer_.assign(text.data(), text.size());
    return parser_
        .iterate(simdjson::padded_string_view(buffer_.data(), buffer_.size(), buffer_.capacity()))
        .get(doc);
  }

  // Where a view into the current document (a raw token) sits in the text
  // given to iterate(): its offset.
  size_t offset_of(std::string_view view) const { return static_cast<size_t>(view.data() - buffer_.data()); }

 private:
  simdjson::ondemand::parser parser_;
  std::string buffer_;
};

}  // namespace llmux::json
