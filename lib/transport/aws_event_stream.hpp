// -----------------------------------------------------------------------------
// File: transport/aws_event_stream.hpp
// -----------------------------------------------------------------------------
// Incremental decoder of AWS's binary event-stream framing
// (application/vnd.amazon.eventstream: Bedrock ConverseStream and
// InvokeModelWithResponseStream). Feed it bytes as they arrive, split
// anywhere (inside the 12-byte prelude too); it yields one message per frame:
//
//   total length (4 B BE) | headers length (4 B BE) | prelude CRC (4 B BE)
//   headers | payload | message CRC (4 B BE, over every preceding byte)
//
// Both CRC-32s are checked (zlib's crc32). Limits: headers <= 128 KiB,
// payload <= 24 MiB, at most 1024 headers, no duplicate header names. Any
// violation puts the decoder in a failed state with a message (error(),
// error_message()); it then refuses all further input until reset(). It never
// reads outside the bytes it was given and buffers at most one frame.
// Knows nothing of Bedrock's ":message-type"/":event-type" meaning: that is
// the provider's job (see EventStreamMessage::string_header).
// Not thread-safe; one decoder per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace llmux::transport {

// Wire value types of a header (the byte after the name).
enum class EventStreamHeaderType : uint8_t {
  kBoolTrue = 0,
  kBoolFalse = 1,
  kInt8 = 2,
  kInt16 = 3,
  kInt32 = 4,
  kInt64 = 5,
  kBytes = 6,      // 2-byte BE length + bytes
  kString = 7,     // 2-byte BE length + UTF-8 (not validated)
  kTimestamp = 8,  // int64 milliseconds since the Unix epoch
  kUuid = 9,       // 16 raw bytes
};

struct EventStreamHeader {
  std::string_view name;
  EventStreamHeaderType type = EventStreamHeaderType::kBoolTrue;
  // kBoolTrue/kBoolFalse: 1/0; kInt8..kInt64 (sign-extended), kTimestamp: the value.
  int64_t integer = 0;
  // kBytes, kString: the value bytes; kUuid: the 16 bytes.
  std::string_view bytes;

  bool is_bool() const { return type == EventStreamHeaderType::kBoolTrue || type == EventStreamHeaderType::kBoolFalse; }
};

// One decoded frame. Views point into the decoder's input or its buffer and
// are valid only during the callback.
struct EventStreamMessage {
  std::span<const EventStreamHeader> headers;  // wire order
  std::string_view payload;
  uint32_t prelude_crc = 0;
  uint32_t message_crc = 0;

  // The header named `name`, or nullptr.
  const EventStreamHeader* find(std::string_view name) const;
  // The value of string header `name` (e.g. ":message-type"); empty when it
  // is absent or not a string.
  std::string_view string_header(std::string_view name) const;
};

enum class EventStreamError : uint8_t {
  kNone,
  kLength,           // total/headers/payload length out of range or inconsistent
  kPreludeCrc,       // CRC of the first 8 bytes does not match
  kMessageCrc,       // CRC of the whole frame does not match
  kHeader,           // a header runs past the headers section, unknown value type, too many headers
  kDuplicateHeader,  // the same header name twice in one frame
};

// Appends one encoded frame (prelude, headers in the given order, payload,
// both CRCs) to `out`: for fakes, tests and benchmarks. Each header's value is
// read from the member its type uses (integer / bytes). Sizes beyond the
// format's fields (a name over 255 bytes, a value over 65535) are the caller's
// bug and are cut to fit.
void append_event_stream_message(std::string& out, std::span<const EventStreamHeader> headers,
                                 std::string_view payload);

class EventStreamDecoder {
 public:
  static constexpr size_t kPreludeBytes = 12;
  static constexpr size_t kMinMessageBytes = 16;  // prelude + message CRC
  static constexpr size_t kMaxHeadersBytes = 128 * 1024;
  static constexpr size_t kMaxPayloadBytes = 24 * 1024 * 1024;
  static constexpr size_t kMaxHeaders = 1024;

  // Feeds bytes; calls `on_message(const EventStreamMessage&)` for every
  // complete, valid frame (it may return void, or bool: false stops). Returns
  // false when the callback stopped decoding (the rest of `bytes` is dropped;
  // call reset() before reusing the decoder) or when the decoder is or became
  // failed (see error()); true otherwise.
  template <class F>
  bool feed(std::string_view bytes, F&& on_message);

  bool failed() const { return error_ != EventStreamError::kNone; }
  EventStreamError error() const { return error_; }
  // Why the decoder failed, e.g. "event-stream: message CRC mismatch (...)";
  // empty while it has not.
  const std::string& error_message() const { return error_message_; }
  // True when bytes of an unfinished frame are buffered (a stream ending here
  // was cut).
  bool has_partial_message() const { return !buffer_.empty(); }
  // Bytes currently buffered (at most one frame).
  size_t buffered() const { return buffer_.size(); }
  void reset();

 private:
  // The callback, type-erased so that the decoding logic lives in the .cpp.
  struct Sink {
    void* target;
    bool (*call)(void* target, const EventStreamMessage& message);
  };
  bool feed_impl(std::string_view bytes, Sink sink);
  // Validates a prelude (12 bytes); returns the frame's total length, or 0
  // after failing.
  size_t check_prelude(const char* prelude);
  // Decodes one whole frame of `frame.size()` bytes (prelude already checked)
  // and hands it to the sink. Returns false when the sink stopped or the frame
  // is invalid (then failed()).
  bool deliver(std::string_view frame, Sink& sink);
  void fail(EventStreamError error, std::string message);

  std::string buffer_;                     // a frame split across feeds
  std::vector<EventStreamHeader> headers_;  // reused for every frame
  EventStreamError error_ = EventStreamError::kNone;
  std::string error_message_;
};

template <class F>
bool EventStreamDecoder::feed(std::string_view bytes, F&& on_message) {
  using Fn = std::remove_reference_t<F>;
  Sink sink{const_cast<void*>(static_cast<const void*>(&on_message)),
            [](void* target, const EventStreamMessage& message) -> bool {
              Fn& fn = *static_cast<Fn*>(target);
              if constexpr (std::is_void_v<std::invoke_result_t<Fn&, const EventStreamMessage&>>) {
                fn(message);
                return true;
              } else {
                return static_cast<bool>(fn(message));
              }
            }};
  return feed_impl(bytes, sink);
}

}  // namespace llmux::transport
