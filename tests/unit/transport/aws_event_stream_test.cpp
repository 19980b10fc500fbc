// The AWS event-stream decoder against the vectors of providers.md §5.8:
// botocore's test_eventstream.py (positive and negative), aws-c-event-stream's
// message_deserializer_test.c, and the two Bedrock-shaped frames; each fed
// whole, one byte at a time and split at every offset. Plus limits, malformed
// headers with valid CRCs, truncation, stopping, and the failed state.
#include "transport/aws_event_stream.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace llmux::transport {
namespace {

using T = EventStreamHeaderType;

std::string data_file(const std::string& rel) {
  const std::string path = std::string(LLMUX_TEST_DATA_DIR) + "/aws-event-stream/" + rel;
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Header {
  std::string name;
  T type = T::kBoolTrue;
  int64_t integer = 0;
  std::string bytes;
  bool operator==(const Header&) const = default;
};

struct Message {
  std::vector<Header> headers;
  std::string payload;
  uint32_t prelude_crc = 0;
  uint32_t message_crc = 0;
  bool operator==(const Message&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Message& m) {
  os << "{headers:[";
  for (const Header& h : m.headers) {
    os << h.name << "(" << static_cast<int>(h.type) << ")=" << h.integer << "/'" << h.bytes << "' ";
  }
  return os << "] payload='" << m.payload << "' crc=" << m.prelude_crc << "/" << m.message_crc << "}";
}

Message copy(const EventStreamMessage& m) {
  Message out;
  for (const EventStreamHeader& h : m.headers) {
    out.headers.push_back({std::string(h.name), h.type, h.integer, std::string(h.bytes)});
  }
  out.payload = std::string(m.payload);
  out.prelude_crc = m.prelude_crc;
  out.message_crc = m.message_crc;
  return out;
}

struct Outcome {
  std::vector<Message> messages;
  EventStreamError error = EventStreamError::kNone;
  bool partial = false;
};

// Feeds `input` in pieces cut at the ascending offsets `cuts`.
Outcome decode_split(std::string_view input, const std::vector<size_t>& cuts) {
  EventStreamDecoder decoder;
  Outcome out;
  size_t pos = 0;
  bool ok = true;
  auto feed = [&](std::string_view piece) {
    const bool r = decoder.feed(piece, [&](const EventStreamMessage& m) { out.messages.push_back(copy(m)); });
    if (!r) {
      // Only a failure stops a void callback; and a failed decoder stays so.
      CHECK(decoder.failed());
      ok = false;
    }
  };
  for (size_t cut : cuts) {
    if (!ok) break;
    feed(input.substr(pos, cut - pos));
    pos = cut;
  }
  if (ok) feed(input.substr(pos));
  out.error = decoder.error();
  out.partial = decoder.has_partial_message();
  if (decoder.failed()) {
    CHECK_FALSE(decoder.error_message().empty());
    CHECK(decoder.buffered() == 0);
    // Refuses more input, delivers nothing.
    size_t more = 0;
    CHECK_FALSE(decoder.feed(input, [&](const EventStreamMessage&) { ++more; }));
    CHECK(more == 0);
  }
  return out;
}

// Checks that `input` decodes to the same outcome whole, byte by byte, and cut
// in two at every offset; returns the whole-input outcome.
Outcome decode_every_way(std::string_view input) {
  const Outcome whole = decode_split(input, {});
  std::vector<size_t> bytewise;
  for (size_t i = 1; i < input.size(); ++i) bytewise.push_back(i);
  const Outcome one_by_one = decode_split(input, bytewise);
  CHECK(one_by_one.messages == whole.messages);
  CHECK(one_by_one.error == whole.error);
  CHECK(one_by_one.partial == whole.partial);
  for (size_t i = 0; i <= input.size(); ++i) {
    INFO("cut at " << i);
    const Outcome two = decode_split(input, {i});
    CHECK(two.messages == whole.messages);
    CHECK(two.error == whole.error);
    CHECK(two.partial == whole.partial);
  }
  return whole;
}

Header str(std::string name, std::string value) { return {std::move(name), T::kString, 0, std::move(value)}; }
Header integer(std::string name, T type, int64_t v) { return {std::move(name), type, v, ""}; }

struct Vector {
  const char* file;
  Message expected;
};

const std::vector<Vector>& positive_vectors() {
  static const std::vector<Vector> v = {
      {"botocore/positive/empty-message.bin", {{}, "", 0x05c248eb, 0x7d98c8ff}},
      {"botocore/positive/int8-header.bin", {{integer("byte", T::kInt8, -1)}, "", 0x29860158, 0xc2f869dc}},
      {"botocore/positive/int16-header.bin", {{integer("short", T::kInt16, -1)}, "", 0x710e923e, 0xb27cb6cc}},
      {"botocore/positive/int32-header.bin", {{integer("integer", T::kInt32, -1)}, "", 0x83e3f0e7, 0x8b8e12eb}},
      {"botocore/positive/int64-header.bin", {{integer("long", T::kInt64, -1)}, "", 0x5d4adb8d, 0x4bc232da}},
      {"botocore/positive/payload-no-headers.bin", {{}, "{'foo':'bar'}", 0xfd528c5a, 0xc3653936}},
      {"botocore/positive/payload-one-str-header.bin",
       {{str("content-type", "application/json")}, "{'foo':'bar'}", 0x07fd8396, 0x8d9c08b1}},
      {"botocore/positive/all-header-types.bin",
       {{integer("0", T::kBoolTrue, 1), integer("1", T::kBoolFalse, 0), integer("2", T::kInt8, 2),
         integer("3", T::kInt16, 3), integer("4", T::kInt32, 4), integer("5", T::kInt64, 5),
         {"6", T::kBytes, 0, "bytes"}, str("7", "utf8"), integer("8", T::kTimestamp, 8),
         {"9", T::kUuid, 0, "0123456789abcdef"}},
        "",
        0x03b5cb9c,
        0x63353671}},
      {"botocore/positive/error-message.bin",
       {{str(":message-type", "error"), str(":error-code", "code"), str(":error-message", "message")},
        "",
        0xbf23637e,
        0x6b6cea3d}},
      {"botocore/positive/event-id-header.bin",
       {{integer("event-id", T::kInt32, 0x0000a00c)}, "{'foo':'bar'}", 0x348bec7b, 0xd3890285}},
      {"botocore/positive/initial-response.bin",
       {{str(":message-type", "event"), str(":event-type", "initial-response"), str(":content-type", "text/json")},
        R"({"InitialResponse": "sometext"})",
        0xc5a3ddc6,
        0xf6982483}},
      {"aws-c-event-stream/outgoing-no-op-valid.bin", {{}, "", 0x05c248eb, 0x7d98c8ff}},
      {"aws-c-event-stream/outgoing-application-data-no-headers-valid.bin",
       {{}, "{'foo':'bar'}", 0xfd528c5a, 0xc3653936}},
      {"aws-c-event-stream/outgoing-application-one-compressed-header-pair-valid.bin",
       {{str("content-type", "application/json")}, "{'foo':'bar'}", 0x07fd8396, 0x8d9c08b1}},
      {"bedrock/content-block-delta.bin",
       {{str(":event-type", "contentBlockDelta"), str(":content-type", "application/json"),
         str(":message-type", "event")},
        R"({"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"})",
        0xc37babff,
        0xf2ace5ff}},
      {"bedrock/throttling-exception.bin",
       {{str(":exception-type", "throttlingException"), str(":content-type", "application/json"),
         str(":message-type", "exception")},
        R"({"message":"Too many requests, please wait before trying again."})",
        0x3590d5d3,
        0xe8ffb26a}},
  };
  return v;
}

TEST_CASE("every positive vector decodes, whole, byte by byte and split at every offset") {
  for (const Vector& v : positive_vectors()) {
    INFO(v.file);
    const std::string bytes = data_file(v.file);
    const Outcome out = decode_every_way(bytes);
    CHECK(out.error == EventStreamError::kNone);
    CHECK_FALSE(out.partial);
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0] == v.expected);
  }
}

TEST_CASE("all positive vectors in one stream decode in order, however it is cut") {
  std::string stream;
  std::vector<Message> expected;
  for (const Vector& v : positive_vectors()) {
    stream += data_file(v.file);
    expected.push_back(v.expected);
  }
  const Outcome out = decode_every_way(stream);
  CHECK(out.error == EventStreamError::kNone);
  CHECK_FALSE(out.partial);
  CHECK(out.messages == expected);
}

TEST_CASE("the Bedrock frames: typed header lookups") {
  const std::string bytes = data_file("bedrock/throttling-exception.bin");
  EventStreamDecoder decoder;
  int seen = 0;
  REQUIRE(decoder.feed(bytes, [&](const EventStreamMessage& m) {
    ++seen;
    CHECK(m.string_header(":message-type") == "exception");
    CHECK(m.string_header(":exception-type") == "throttlingException");
    CHECK(m.string_header(":event-type").empty());
    CHECK(m.find(":event-type") == nullptr);
    REQUIRE(m.find(":content-type") != nullptr);
    CHECK(m.find(":content-type")->type == T::kString);
  }));
  CHECK(seen == 1);
  // A non-string header is not returned by string_header.
  std::string all = data_file("botocore/positive/all-header-types.bin");
  REQUIRE(decoder.feed(all, [&](const EventStreamMessage& m) {
    CHECK(m.string_header("6").empty());  // bytes, not a string
    CHECK(m.string_header("7") == "utf8");
    REQUIRE(m.find("0") != nullptr);
    CHECK(m.find("0")->is_bool());
    CHECK(m.find("0")->integer == 1);
  }));
}

TEST_CASE("botocore's negative vectors fail cleanly, however they are cut") {
  const std::vector<std::pair<const char*, EventStreamError>> cases = {
      // headers length 0xff000102: over the 128 KiB limit (botocore: InvalidHeadersLength).
      {"botocore/negative/corrupted-header-length.bin", EventStreamError::kLength},
      // One header byte changed: the message CRC catches it (ChecksumMismatch).
      {"botocore/negative/corrupted-headers.bin", EventStreamError::kMessageCrc},
      // Total length 0x0100001d: within the 24 MiB payload limit (botocore's
      // was 16 MiB, hence its InvalidPayloadLength), so the prelude CRC catches it.
      {"botocore/negative/corrupted-length.bin", EventStreamError::kPreludeCrc},
      {"botocore/negative/corrupted-payload.bin", EventStreamError::kMessageCrc},
      {"botocore/negative/duplicate-header.bin", EventStreamError::kDuplicateHeader},
  };
  for (const auto& [file, error] : cases) {
    INFO(file);
    const Outcome out = decode_every_way(data_file(file));
    CHECK(out.error == error);
    CHECK(out.messages.empty());
    CHECK_FALSE(out.partial);
  }
}

TEST_CASE("a truncated frame is buffered, not an error, and not delivered") {
  const std::string bytes = data_file("bedrock/content-block-delta.bin");
  for (size_t n = 1; n < bytes.size(); ++n) {
    INFO("first " << n << " bytes");
    const Outcome out = decode_every_way(std::string_view(bytes).substr(0, n));
    CHECK(out.error == EventStreamError::kNone);
    CHECK(out.messages.empty());
    CHECK(out.partial);
  }
}

std::string frame(const std::vector<EventStreamHeader>& headers, std::string_view payload) {
  std::string out;
  append_event_stream_message(out, headers, payload);
  return out;
}

// A frame whose headers section is `raw` (any bytes), with correct lengths and CRCs.
std::string frame_with_raw_headers(std::string_view raw, std::string_view payload) {
  std::string out(12, '\0');
  out += raw;
  out += payload;
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((v >> (8 * (3 - i))) & 0xff);
  };
  put(0, static_cast<uint32_t>(out.size() + 4));
  put(4, static_cast<uint32_t>(raw.size()));
  put(8, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(out.data()), 8)));
  const auto crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(out.data()), out.size()));
  out.resize(out.size() + 4);
  put(out.size() - 4, crc);
  return out;
}

// A prelude claiming `total` and `headers_len`, with a correct prelude CRC.
std::string prelude(uint32_t total, uint32_t headers_len) {
  std::string out(12, '\0');
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((v >> (8 * (3 - i))) & 0xff);
  };
  put(0, total);
  put(4, headers_len);
  put(8, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(out.data()), 8)));
  return out;
}

TEST_CASE("the encoder reproduces the vectors byte for byte") {
  CHECK(frame({}, "") == data_file("botocore/positive/empty-message.bin"));
  std::vector<EventStreamHeader> h = {{":event-type", T::kString, 0, "contentBlockDelta"},
                                      {":content-type", T::kString, 0, "application/json"},
                                      {":message-type", T::kString, 0, "event"}};
  CHECK(frame(h, R"({"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"})") ==
        data_file("bedrock/content-block-delta.bin"));
  std::vector<EventStreamHeader> all = {
      {"0", T::kBoolTrue, 1, {}},  {"1", T::kBoolFalse, 0, {}},   {"2", T::kInt8, 2, {}},
      {"3", T::kInt16, 3, {}},     {"4", T::kInt32, 4, {}},       {"5", T::kInt64, 5, {}},
      {"6", T::kBytes, 0, "bytes"}, {"7", T::kString, 0, "utf8"}, {"8", T::kTimestamp, 8, {}},
      {"9", T::kUuid, 0, "0123456789abcdef"}};
  CHECK(frame(all, "") == data_file("botocore/positive/all-header-types.bin"));
}

TEST_CASE("length limits are enforced from the prelude, before any body byte is buffered") {
  struct Case {
    uint32_t total;
    uint32_t headers;
  };
  for (const Case c : {Case{0, 0}, Case{15, 0}, Case{16, 1}, Case{100, 85},
                       Case{16 + 128 * 1024 + 1, 128 * 1024 + 1},
                       Case{static_cast<uint32_t>(16 + 24 * 1024 * 1024 + 1), 0}, Case{0xffffffffu, 0},
                       Case{0xffffffffu, 0xffffffffu}}) {
    INFO("total " << c.total << " headers " << c.headers);
    const Outcome out = decode_every_way(prelude(c.total, c.headers));
    CHECK(out.error == EventStreamError::kLength);
    CHECK(out.messages.empty());
  }
  // Exactly at the limits is fine as far as the prelude goes (the body is
  // simply awaited).
  EventStreamDecoder decoder;
  CHECK(decoder.feed(prelude(16 + 128 * 1024 + 24 * 1024 * 1024, 128 * 1024), [](const EventStreamMessage&) {}));
  CHECK_FALSE(decoder.failed());
  CHECK(decoder.has_partial_message());
}

TEST_CASE("the largest payload allowed decodes") {
  const std::string payload(EventStreamDecoder::kMaxPayloadBytes, 'x');
  const std::string bytes = frame({{":message-type", T::kString, 0, "event"}}, payload);
  EventStreamDecoder decoder;
  size_t got = 0;
  // In two pieces, so that the buffered path carries it.
  CHECK(decoder.feed(std::string_view(bytes).substr(0, 5), [&](const EventStreamMessage& m) { got = m.payload.size(); }));
  CHECK(decoder.feed(std::string_view(bytes).substr(5), [&](const EventStreamMessage& m) { got = m.payload.size(); }));
  CHECK(got == payload.size());
}

TEST_CASE("malformed headers with valid CRCs are rejected, never read past the section") {
  const std::vector<std::pair<std::string, EventStreamError>> cases = {
      {std::string("\x04name\x0a", 6), EventStreamError::kHeader},             // unknown type 10
      {std::string("\x04name\xff", 6), EventStreamError::kHeader},             // unknown type 255
      {std::string("\x05name", 5), EventStreamError::kHeader},                 // name past the end
      {std::string("\x04name", 5), EventStreamError::kHeader},                 // no type byte
      {std::string("\x04name\x07\x00", 7), EventStreamError::kHeader},         // string length cut
      {std::string("\x04name\x07\x00\x05" "abcd", 11), EventStreamError::kHeader},  // string value cut
      {std::string("\x04name\x06\xff\xff" "ab", 9), EventStreamError::kHeader},     // bytes value cut
      {std::string("\x04name\x05\x00\x00\x00", 9), EventStreamError::kHeader},      // int64 cut
      {std::string("\x04name\x09" "0123456789abcde", 21), EventStreamError::kHeader},  // uuid cut
      {std::string("\x01" "a\x00\x01" "a\x01", 6), EventStreamError::kDuplicateHeader},
      {std::string("\x00\x00\x00\x00", 4), EventStreamError::kDuplicateHeader},  // two empty names
  };
  for (const auto& [raw, error] : cases) {
    INFO("headers " << raw.size() << " bytes");
    const Outcome out = decode_every_way(frame_with_raw_headers(raw, "{}"));
    CHECK(out.error == error);
    CHECK(out.messages.empty());
  }
  // Header count cap: 1025 distinct bool headers.
  std::string many;
  for (int i = 0; i < 1025; ++i) {
    many += '\x02';
    many += static_cast<char>('A' + i / 64);
    many += static_cast<char>('A' + i % 64);
    many += '\x00';
  }
  const Outcome out = decode_split(frame_with_raw_headers(many, ""), {});
  CHECK(out.error == EventStreamError::kHeader);
  // 1024 are fine.
  const Outcome fine = decode_split(frame_with_raw_headers(std::string_view(many).substr(0, 4 * 1024), ""), {});
  CHECK(fine.error == EventStreamError::kNone);
  REQUIRE(fine.messages.size() == 1);
  CHECK(fine.messages[0].headers.size() == 1024);
}

TEST_CASE("a bad frame mid-stream: earlier frames are delivered, then a clean error") {
  const std::string good = data_file("bedrock/content-block-delta.bin");
  std::string bad = good;
  bad[bad.size() - 10] ^= 0x01;  // inside the payload
  const Outcome out = decode_every_way(good + good + bad + good);
  CHECK(out.error == EventStreamError::kMessageCrc);
  CHECK(out.messages.size() == 2);
  // A bad prelude CRC mid-stream.
  std::string bad_prelude = good;
  bad_prelude[9] ^= 0x40;
  const Outcome out2 = decode_every_way(good + bad_prelude);
  CHECK(out2.error == EventStreamError::kPreludeCrc);
  CHECK(out2.messages.size() == 1);
}

TEST_CASE("stopping from the callback, and reset") {
  const std::string one = data_file("bedrock/content-block-delta.bin");
  const std::string stream = one + one + one;
  for (size_t cut : {size_t{0}, size_t{5}, one.size() + 3}) {
    EventStreamDecoder decoder;
    int seen = 0;
    auto stop_after_two = [&](const EventStreamMessage&) { return ++seen < 2; };
    bool went_on = decoder.feed(std::string_view(stream).substr(0, cut), stop_after_two);
    if (went_on) went_on = decoder.feed(std::string_view(stream).substr(cut), stop_after_two);
    CHECK_FALSE(went_on);
    CHECK_FALSE(decoder.failed());
    CHECK(seen == 2);
    decoder.reset();
    seen = 0;
    CHECK(decoder.feed(stream, [&](const EventStreamMessage&) { ++seen; }));
    CHECK(seen == 3);
  }
  // reset() also clears a failure.
  EventStreamDecoder decoder;
  CHECK_FALSE(decoder.feed(data_file("botocore/negative/corrupted-payload.bin"), [](const EventStreamMessage&) {}));
  CHECK(decoder.failed());
  CHECK(decoder.error_message().find("message CRC mismatch") != std::string::npos);
  decoder.reset();
  CHECK_FALSE(decoder.failed());
  CHECK(decoder.error_message().empty());
  int seen = 0;
  CHECK(decoder.feed(one, [&](const EventStreamMessage&) { ++seen; }));
  CHECK(seen == 1);
}

}  // namespace
}  // namespace llmux::transport
