#include "transport/aws_event_stream.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace llmux::transport {

namespace {

uint32_t load_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

uint16_t load_be16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

uint64_t load_be64(const char* p) { return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4); }

uint32_t crc32_of(uint32_t crc, const char* p, size_t n) {
  // Frames are bounded far below 4 GiB, so one call per range suffices.
  return static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

void store_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void store_be_at(std::string& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((v >> (8 * (3 - i))) & 0xff);
}

}  // namespace

void append_event_stream_message(std::string& out, std::span<const EventStreamHeader> headers,
                                 std::string_view payload) {
  const size_t start = out.size();
  out.append(EventStreamDecoder::kPreludeBytes, '\0');
  for (const EventStreamHeader& h : headers) {
    const size_t name_len = std::min<size_t>(h.name.size(), 255);
    out.push_back(static_cast<char>(name_len));
    out.append(h.name.data(), name_len);
    out.push_back(static_cast<char>(h.type));
    const auto value = static_cast<uint64_t>(h.integer);
    switch (h.type) {
      case EventStreamHeaderType::kBoolTrue:
      case EventStreamHeaderType::kBoolFalse:
        break;
      case EventStreamHeaderType::kInt8:
        store_be(out, value, 1);
        break;
      case EventStreamHeaderType::kInt16:
        store_be(out, value, 2);
        break;
      case EventStreamHeaderType::kInt32:
        store_be(out, value, 4);
        break;
      case EventStreamHeaderType::kInt64:
      case EventStreamHeaderType::kTimestamp:
        store_be(out, value, 8);
        break;
      case EventStreamHeaderType::kBytes:
      case EventStreamHeaderType::kString: {
        const size_t n = std::min<size_t>(h.bytes.size(), 65535);
        store_be(out, n, 2);
        out.append(h.bytes.data(), n);
        break;
      }
      case EventStreamHeaderType::kUuid: {
        std::string uuid(h.bytes.substr(0, 16));
        uuid.resize(16, '\0');
        out += uuid;
        break;
      }
    }
  }
  const size_t headers_len = out.size() - start - EventStreamDecoder::kPreludeBytes;
  out.append(payload.data(), payload.size());
  const size_t total = out.size() - start + 4;
  store_be_at(out, start, static_cast<uint32_t>(total));
  store_be_at(out, start + 4, static_cast<uint32_t>(headers_len));
  store_be_at(out, start + 8, crc32_of(0, out.data() + start, 8));
  store_be(out, crc32_of(0, out.data() + start, out.size() - start), 4);
}

const EventStreamHeader* EventStreamMessage::find(std::string_view name) const {
  for (const EventStreamHeader& h : headers) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

std::string_view EventStreamMessage::string_header(std::string_view name) const {
  const EventStreamHeader* h = find(name);
  return h != nullptr && h->type == EventStreamHeaderType::kString ? h->bytes : std::string_view{};
}

void EventStreamDecoder::reset() {
  buffer_.clear();
  headers_.clear();
  error_ = EventStreamError::kNone;
  error_message_.clear();
}

void EventStreamDecoder::fail(EventStreamError error, std::string message) {
  error_ = error;
  error_message_ = "event-stream: " + std::move(message);
  buffer_.clear();
  buffer_.shrink_to_fit();
}

size_t EventStreamDecoder::check_prelude(const char* prelude) {
  const uint32_t total = load_be32(prelude);
  const uint32_t headers_len = load_be32(prelude + 4);
  // Lengths first (as botocore does), then the prelude CRC.
  if (total < kMinMessageBytes) {
    fail(EventStreamError::kLength, fmt::format("total length {} is below the minimum of {}", total, kMinMessageBytes));
    return 0;
  }
  if (headers_len > kMaxHeadersBytes) {
    fail(EventStreamError::kLength,
         fmt::format("headers length {} exceeds the limit of {} bytes", headers_len, kMaxHeadersBytes));
    return 0;
  }
  if (headers_len > total - kMinMessageBytes) {
    fail(EventStreamError::kLength,
         fmt::format("headers length {} does not fit in a message of {} bytes", headers_len, total));
    return 0;
  }
  const size_t payload_len = total - kMinMessageBytes - headers_len;
  if (payload_len > kMaxPayloadBytes) {
    fail(EventStreamError::kLength,
         fmt::format("payload length {} exceeds the limit of {} bytes", payload_len, kMaxPayloadBytes));
    return 0;
  }
  const uint32_t expected = load_be32(prelude + 8);
  const uint32_t actual = crc32_of(0, prelude, 8);
  if (expected != actual) {
    fail(EventStreamError::kPreludeCrc,
         fmt::format("prelude CRC mismatch (frame says {:08x}, computed {:08x})", expected, actual));
    return 0;
  }
  return total;
}

bool EventStreamDecoder::deliver(std::string_view frame, Sink& sink) {
  const char* p = frame.data();
  const size_t total = frame.size();
  const size_t headers_len = load_be32(p + 4);
  const uint32_t prelude_crc = load_be32(p + 8);
  const uint32_t expected = load_be32(p + total - 4);
  // The message CRC covers every byte before it. check_prelude() proved that
  // `prelude_crc` is the CRC of bytes 0..7, so extend it over 8..total-5.
  const uint32_t actual = crc32_of(prelude_crc, p + 8, total - 12);
  if (expected != actual) {
    fail(EventStreamError::kMessageCrc,
         fmt::format("message CRC mismatch (frame says {:08x}, computed {:08x})", expected, actual));
    return false;
  }

  headers_.clear();
  const char* h = p + kPreludeBytes;
  const char* const end = h + headers_len;
  while (h < end) {
    if (headers_.size() == kMaxHeaders) {
      fail(EventStreamError::kHeader, fmt::format("more than {} headers in one message", kMaxHeaders));
      return false;
    }
    EventStreamHeader header;
    const size_t name_len = static_cast<unsigned char>(*h++);
    // The name plus its value-type byte must fit.
    if (static_cast<size_t>(end - h) < name_len + 1) {
      fail(EventStreamError::kHeader, "a header name runs past the headers section");
      return false;
    }
    header.name = std::string_view(h, name_len);
    h += name_len;
    const auto type = static_cast<uint8_t>(*h++);
    const size_t left = static_cast<size_t>(end - h);
    size_t value_len = 0;
    switch (type) {
      case 0:
      case 1:
        header.type = static_cast<EventStreamHeaderType>(type);
        header.integer = type == 0 ? 1 : 0;
        break;
      case 2:
        value_len = 1;
        break;
      case 3:
        value_len = 2;
        break;
      case 4:
        value_len = 4;
        break;
      case 5:
      case 8:
        value_len = 8;
        break;
      case 9:
        value_len = 16;
        break;
      case 6:
      case 7:
        if (left < 2) {
          fail(EventStreamError::kHeader,
               fmt::format("header '{}': value length runs past the headers section", header.name));
          return false;
        }
        value_len = 2 + load_be16(h);
        break;
      default:
        fail(EventStreamError::kHeader, fmt::format("header '{}': unknown value type {}", header.name, type));
        return false;
    }
    if (left < value_len) {
      fail(EventStreamError::kHeader, fmt::format("header '{}': value runs past the headers section", header.name));
      return false;
    }
    header.type = static_cast<EventStreamHeaderType>(type);
    switch (header.type) {
      case EventStreamHeaderType::kInt8:
        header.integer = static_cast<int8_t>(*h);
        break;
      case EventStreamHeaderType::kInt16:
        header.integer = static_cast<int16_t>(load_be16(h));
        break;
      case EventStreamHeaderType::kInt32:
        header.integer = static_cast<int32_t>(load_be32(h));
        break;
      case EventStreamHeaderType::kInt64:
      case EventStreamHeaderType::kTimestamp:
        header.integer = static_cast<int64_t>(load_be64(h));
        break;
      case EventStreamHeaderType::kBytes:
      case EventStreamHeaderType::kString:
        header.bytes = std::string_view(h + 2, value_len - 2);
        break;
      case EventStreamHeaderType::kUuid:
        header.bytes = std::string_view(h, 16);
        break;
      default:
        break;
    }
    h += value_len;
    // A frame has a handful of headers, so a linear scan beats hashing; the
    // header cap bounds the worst case.
    for (const EventStreamHeader& seen : headers_) {
      if (seen.name == header.name) {
        fail(EventStreamError::kDuplicateHeader, fmt::format("duplicate header '{}'", header.name));
        return false;
      }
    }
    headers_.push_back(header);
  }

  EventStreamMessage message;
  message.headers = headers_;
  message.payload = std::string_view(end, total - kMinMessageBytes - headers_len);
  message.prelude_crc = prelude_crc;
  message.message_crc = expected;
  return sink.call(sink.target, message);
}

bool EventStreamDecoder::feed_impl(std::string_view bytes, Sink sink) {
  if (failed()) return false;
  // Finish a frame split across earlier feeds: take just enough bytes for its
  // prelude, check it, then just enough for the whole frame.
  if (!buffer_.empty()) {
    if (buffer_.size() < kPreludeBytes) {
      const size_t take = std::min(kPreludeBytes - buffer_.size(), bytes.size());
      buffer_.append(bytes.data(), take);
      bytes.remove_prefix(take);
      if (buffer_.size() < kPreludeBytes) return true;
      if (check_prelude(buffer_.data()) == 0) return false;
    }
    const size_t total = load_be32(buffer_.data());
    const size_t take = std::min(total - buffer_.size(), bytes.size());
    buffer_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (buffer_.size() < total) return true;
    const bool go_on = deliver(buffer_, sink);
    if (failed()) return false;
    buffer_.clear();
    if (!go_on) return false;
  }
  // Whole frames straight from the input, without copying.
  while (bytes.size() >= kPreludeBytes) {
    const size_t total = check_prelude(bytes.data());
    if (total == 0) return false;
    if (bytes.size() < total) break;
    if (!deliver(bytes.substr(0, total), sink)) return false;
    bytes.remove_prefix(total);
  }
  // A frame (or prelude) started but not finished: keep it. Its prelude, when
  // complete, was already checked above, so the buffer never exceeds one
  // valid-looking frame.
  if (!bytes.empty()) {
    if (bytes.size() >= kPreludeBytes) buffer_.reserve(load_be32(bytes.data()));
    buffer_.append(bytes.data(), bytes.size());
  }
  return true;
}

}  // namespace llmux::transport
