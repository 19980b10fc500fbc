// -----------------------------------------------------------------------------
// File: transport/sse_parser.hpp
// -----------------------------------------------------------------------------
// Incremental Server-Sent Events framer (WHATWG EventSource rules). Feed it
// bytes as they arrive, split anywhere; it emits one event per blank line.
// Handles LF, CR and CRLF line ends (including a CR at the end of one read and
// the LF at the start of the next), a leading UTF-8 BOM, ':' comments,
// "field: value" with one optional space stripped, and multi-line data joined
// with '\n'. Knows nothing of OpenAI's "[DONE]": that is the provider's job.
// Not thread-safe; one parser per stream.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llmux::transport {

struct SseEvent {
  std::string_view event;  // "event:" field, empty when absent
  std::string_view data;   // data lines joined by '\n'
  std::string_view id;     // "id:" field
};

class SseParser {
 public:
  // Feeds bytes; calls `on_event(const SseEvent&)` for every complete event.
  // If on_event returns false, parsing stops and feed() returns false (the
  // rest of the input is dropped). Views are valid only during the callback.
  template <class F>
  bool feed(std::string_view bytes, F&& on_event);

  // True when bytes of an unfinished event are buffered (used to tell a clean
  // end of stream from a cut one).
  bool has_partial_event() const { return !line_.empty() || has_fields_; }
  // Bytes currently buffered.
  size_t buffered() const { return line_.size() + data_.size(); }
  void reset();

 private:
  // Processes one complete line (without its terminator). Returns false if the
  // callback asked to stop.
  template <class F>
  bool on_line(std::string_view line, F& on_event);

  std::string line_;   // partial line carried across feeds
  std::string data_;
  std::string event_;
  std::string id_;
  bool has_fields_ = false;
  bool pending_cr_ = false;   // last byte seen was CR: a following LF belongs to it
  bool bom_checked_ = false;
};

}  // namespace llmux::transport

#include "transport/sse_parser_inl.hpp"
