// -----------------------------------------------------------------------------
// File: transport/sse_parser_inl.hpp
// -----------------------------------------------------------------------------
// Template part of SseParser (included by sse_parser.hpp only).
#pragma once

#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace llmux::transport {

namespace sse_detail {

// Consumes a (possibly split) leading UTF-8 BOM. `carried` holds the BOM bytes
// seen so far (0..2, all a proper prefix of the BOM). Returns true once the
// question is settled: the BOM was removed from `carried`/`bytes`, or the
// input does not start with one (then `carried` keeps its bytes as the start
// of the first line). Returns false when all of `bytes` was a BOM prefix and
// was moved into `carried`.
bool consume_bom(std::string& carried, std::string_view& bytes);

// Position of the first `c` in [from, size), or size when there is none.
inline size_t find_byte(std::string_view s, size_t from, char c) {
  const void* hit = std::memchr(s.data() + from, c, s.size() - from);
  return hit ? static_cast<size_t>(static_cast<const char*>(hit) - s.data()) : s.size();
}

// Calls the user's handler; a handler returning void means "continue".
template <class F, class E>
bool invoke_handler(F& on_event, const E& event) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, const E&>>) {
    on_event(event);
    return true;
  } else {
    return static_cast<bool>(on_event(event));
  }
}

}  // namespace sse_detail

template <class F>
bool SseParser::feed(std::string_view bytes, F&& on_event) {
  if (!bom_checked_) {
    if (!sse_detail::consume_bom(line_, bytes)) return true;
    bom_checked_ = true;
  }
  const size_t n = bytes.size();
  size_t pos = 0;
  if (pending_cr_ && n > 0) {
    pending_cr_ = false;
    if (bytes[0] == '\n') pos = 1;  // second half of a CRLF split across feeds
  }
  // Cached positions of the next LF and CR at or after `pos` (n = none). Each
  // is re-searched only once passed, so CR-only or LF-only input stays O(n).
  size_t next_lf = 0;
  size_t next_cr = 0;
  bool searched = false;
  while (pos < n) {
    if (!searched || next_lf < pos) next_lf = sse_detail::find_byte(bytes, pos, '\n');
    if (!searched || next_cr < pos) next_cr = sse_detail::find_byte(bytes, pos, '\r');
    searched = true;
    const size_t end = next_lf < next_cr ? next_lf : next_cr;
    if (end == n) {
      line_.append(bytes.data() + pos, n - pos);  // unterminated: keep for the next feed
      return true;
    }
    bool keep_going;
    if (line_.empty()) {
      // The whole line is inside this feed: parse it in place, no copy.
      keep_going = on_line(bytes.substr(pos, end - pos), on_event);
    } else {
      line_.append(bytes.data() + pos, end - pos);
      keep_going = on_line(std::string_view(line_), on_event);
      line_.clear();
    }
    pos = end + 1;
    if (bytes[end] == '\r') {
      if (pos == n) {
        pending_cr_ = true;
      } else if (bytes[pos] == '\n') {
        ++pos;
      }
    }
    if (!keep_going) return false;
  }
  return true;
}

template <class F>
bool SseParser::on_line(std::string_view line, F& on_event) {
  if (line.empty()) {
    // Blank line: dispatch. Per spec an event whose data buffer is empty
    // (no data field seen) is not dispatched, but its buffers still reset.
    bool keep_going = true;
    if (!data_.empty()) {
      // data_ holds every data line followed by '\n'; the last one is dropped.
      SseEvent event{std::string_view(event_),
                     std::string_view(data_.data(), data_.size() - 1),
                     std::string_view(id_)};
      keep_going = sse_detail::invoke_handler(on_event, event);
    }
    data_.clear();
    event_.clear();
    id_.clear();
    has_fields_ = false;
    return keep_going;
  }
  if (line.front() == ':') return true;  // comment (keep-alive pings)

  std::string_view field = line;
  std::string_view value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  has_fields_ = true;
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    // Spec: an id containing NUL is ignored.
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
  // "retry" and unknown fields are ignored: we never reconnect an EventSource.
  return true;
}

}  // namespace llmux::transport
